"""Networks that place each attention module where its paper does.

- ``resnet18/34/50/101`` and ``resnext50_32x4d`` (``attn="sk"``: SKNet-50),
  torchvision-compatible, in ``attn_edu.models.resnet``.
- ``SmallCNN``, ``SignalCNN1d``, ``SmallUNet``: CPU-sized networks for the
  book's experiments, in ``attn_edu.models.small``.
- ``attention_modules(model)``: the attention modules of any of them, in
  forward order, for the book's "look inside" steps.
"""

from .resnet import (
    ECA_RELEASED_KERNEL_SIZES,
    BasicBlock,
    Bottleneck,
    ResNet,
    SKBottleneck,
    attention_modules,
    nonlocal_positions,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnext50_32x4d,
)
from .small import SignalCNN1d, SmallCNN, SmallUNet

__all__ = [
    "ECA_RELEASED_KERNEL_SIZES",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "SKBottleneck",
    "SignalCNN1d",
    "SmallCNN",
    "SmallUNet",
    "attention_modules",
    "nonlocal_positions",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnext50_32x4d",
]
