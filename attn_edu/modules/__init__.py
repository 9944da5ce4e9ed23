"""Reference implementations, one file per paper, written to be read."""

from .bam import BAM
from .cbam import CBAM, ChannelGate, SpatialGate
from .drsn import ResidualShrinkageUnit, Shrinkage
from .eca import EfficientChannelAttention
from .non_local import NonLocalBlock
from .scse import ChannelSE, ConcurrentSE, SpatialSE
from .se import SqueezeExcitation
from .sk import SelectiveKernel

__all__ = [
    "BAM",
    "CBAM",
    "ChannelGate",
    "ChannelSE",
    "ConcurrentSE",
    "EfficientChannelAttention",
    "NonLocalBlock",
    "ResidualShrinkageUnit",
    "SelectiveKernel",
    "Shrinkage",
    "SpatialGate",
    "SpatialSE",
    "SqueezeExcitation",
]
