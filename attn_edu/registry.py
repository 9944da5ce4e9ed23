"""Build any mechanism by its short name: ``attn_edu.create("se", 64)``.

Every registered module takes the channel count first, then its own keyword
arguments, and maps (B, C, H, W) to (B, C, H, W).
"""

from __future__ import annotations

from functools import partial

from torch import nn

from . import modules

_REGISTRY = {
    "se": modules.SqueezeExcitation,
    "cse": modules.ChannelSE,
    "sse": modules.SpatialSE,
    "scse": modules.ConcurrentSE,
    "cbam": modules.CBAM,
    "bam": modules.BAM,
    "eca": modules.EfficientChannelAttention,
    "sk": modules.SelectiveKernel,
    "drsn-cs": partial(modules.Shrinkage, channel_wise=False),
    "drsn-cw": partial(modules.Shrinkage, channel_wise=True),
    "nonlocal": modules.NonLocalBlock,
}


def available() -> list[str]:
    """The names ``create`` accepts, sorted."""
    return sorted(_REGISTRY)


def create(name: str, channels: int, **kwargs) -> nn.Module:
    """Build the attention module called ``name`` for ``channels`` channels.

    >>> create("eca", 256)
    EfficientChannelAttention(
      channels=256, k_size=5
      (conv): Conv1d(1, 1, kernel_size=(5,), stride=(1,), padding=(2,), bias=False)
    )
    """
    key = name.lower().replace("_", "-") if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(f"unknown attention {name!r}; available: {', '.join(available())}")
    return _REGISTRY[key](channels, **kwargs)
