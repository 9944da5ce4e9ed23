"""Convolutional Block Attention Module (CBAM).

Sanghyun Woo, Jongchan Park, Joon-Young Lee, In So Kweon. "CBAM: Convolutional
Block Attention Module." ECCV 2018. arXiv:1807.06521.

CBAM refines a feature map F in R^{C x H x W} in two steps, channel first:

    F'  = M_c(F)  (x) F                                            (Eq. 1)
    F'' = M_s(F') (x) F'

    M_c(F) = sigma( MLP(AvgPool(F)) + MLP(MaxPool(F)) )           (Eq. 2)
           = sigma( W_1 delta(W_0 F^c_avg) + W_1 delta(W_0 F^c_max) )
    M_s(F) = sigma( f^{7x7}( [AvgPool(F); MaxPool(F)] ) )          (Eq. 3)

The MLP is shared by both pooled descriptors, with C/r hidden units and
r = 16. In M_s the pooling runs along the channel axis, giving two maps of
size H x W; the 7x7 convolution is padded by 3 so the map keeps its size.

Paper and official code (Jongchan/attention-module):
- The official MLP has biases (``nn.Linear``), as here.
- The official spatial gate puts a BatchNorm (momentum 0.01) after the 7x7
  convolution, which has no bias; Eq. 3 shows neither. We follow the code;
  ``spatial_norm=False`` gives Eq. 3 with a plain convolution instead, which
  we give a bias (the paper does not say whether it has one).
- The official code can also pool with the LP norm ("lp", p = 2) and with
  log-sum-exp ("lse"); ``pool_types`` accepts them. The paper uses avg and max.
- The official channel pool stacks [max; mean]; we stack [mean; max] as in
  Eq. 3. This only permutes the two input channels of the 7x7 convolution.
- Initialisation, on which the paper says nothing: the official ResNet
  (``MODELS/model_resnet.py``, the loop over ``state_dict()`` keys at the end
  of ``ResNet.__init__``) sets every weight whose key contains "bn" to 0
  if the key also contains "SpatialGate" and to 1 otherwise, every bias to 0
  (the MLP's and the BatchNorms' included), and draws every weight whose key
  contains "conv" with ``kaiming_normal(mode='fan_out')``. The projection
  shortcuts (keys "downsample.0" and "downsample.1") match neither and keep
  the framework's defaults. With the spatial gate's BatchNorm at
  weight 0 and bias 0 its output is 0 whatever the input, so the official
  spatial gate starts as sigmoid(0) = 0.5 everywhere: it halves F' uniformly
  until training moves the BatchNorm weight. ``spatial_zero_init=True``
  (``SpatialGate(zero_init=True)``) sets that BatchNorm's weight and bias to
  0; the default keeps PyTorch's (weight 1, bias 0). The other parts of the
  code's init (zero MLP biases, Kaiming convolutions) are not reproduced.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import _shape, check_feature_map, check_odd, hidden_units
from ..functional import channel_pool

POOL_TYPES = ("avg", "max", "lp", "lse")


def _spatial_pool(x: torch.Tensor, kind: str) -> torch.Tensor:
    """One descriptor per channel, pooled over all H x W positions: (B, C, H, W) -> (B, C)."""
    flat = x.flatten(2)  # (B, C, H, W) -> (B, C, H*W)
    if kind == "avg":
        return flat.mean(dim=2)
    if kind == "max":
        return flat.amax(dim=2)
    if kind == "lp":
        return flat.pow(2).sum(dim=2).sqrt()  # what F.lp_pool2d(x, 2, (H, W)) computes
    return torch.logsumexp(flat, dim=2)  # "lse"


class ChannelGate(nn.Module):
    """M_c of Eq. 2: which channels matter, from pooled descriptors through one shared MLP."""

    def __init__(self, channels: int, reduction: int = 16, pool_types: tuple[str, ...] = ("avg", "max")):
        super().__init__()
        who = f"ChannelGate(channels={channels}, reduction={reduction})"
        hidden = hidden_units(who, channels, reduction)
        pool_types = tuple(pool_types)
        if not pool_types or any(p not in POOL_TYPES for p in pool_types):
            raise ValueError(f"{who}: pool_types must be a non-empty subset of {POOL_TYPES}; got {pool_types}")
        self.channels = channels
        self.pool_types = pool_types
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden),  # W_0: C -> C/r
            nn.ReLU(),  # delta
            nn.Linear(hidden, channels),  # W_1: C/r -> C
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the gate M_c(F), shaped (B, C, 1, 1)."""
        check_feature_map(f"ChannelGate(channels={self.channels})", self.channels, x)
        logits = sum(self.mlp(_spatial_pool(x, kind)) for kind in self.pool_types)  # (B, C)
        return torch.sigmoid(logits)[:, :, None, None]  # (B, C) -> (B, C, 1, 1)


class SpatialGate(nn.Module):
    """M_s of Eq. 3: where to look, from the channel-wise mean and max maps.

    Args:
        kernel_size: of the convolution (7; must be odd).
        norm: BatchNorm after the convolution, as in the official code.
        zero_init: set the BatchNorm's weight and bias to 0, as the official
            ResNet does, so a fresh gate outputs sigmoid(0) = 0.5 everywhere.
    """

    def __init__(self, kernel_size: int = 7, norm: bool = True, zero_init: bool = False):
        super().__init__()
        check_odd("SpatialGate", "kernel_size", kernel_size)
        if zero_init and not norm:
            raise ValueError(
                "SpatialGate: zero_init=True (CBAM's spatial_zero_init) sets the BatchNorm's weight and bias "
                "to 0, as the official code does; with norm=False (CBAM's spatial_norm=False) there is no "
                "BatchNorm. Use norm=True, or zero_init=False."
            )
        self.kernel_size = kernel_size
        # f^{7x7}: 2 maps in, 1 map out; padding 3 keeps H x W.
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=not norm)
        self.norm = nn.BatchNorm2d(1, momentum=0.01) if norm else nn.Identity()
        if zero_init:  # BN(...) = 0 * (...) + 0 = 0, so M_s = sigmoid(0) = 0.5 at the start
            nn.init.zeros_(self.norm.weight)
            nn.init.zeros_(self.norm.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Returns the gate M_s(F), shaped (B, 1, H, W)."""
        if x.dim() != 4:
            raise ValueError(f"SpatialGate expects input (B, C, H, W); got {_shape(x)}")
        pooled = channel_pool(x)  # [AvgPool(F); MaxPool(F)]: (B, C, H, W) -> (B, 2, H, W)
        return torch.sigmoid(self.norm(self.conv(pooled)))  # (B, 2, H, W) -> (B, 1, H, W)


class CBAM(nn.Module):
    """Channel gate, then spatial gate, each multiplied into the feature map.

    Args:
        channels: C.
        reduction: r of the channel MLP (16).
        kernel_size: of the spatial convolution (7; must be odd).
        pool_types: descriptors for the channel gate, from "avg", "max", "lp", "lse".
        spatial: set False for the channel-only ablation ("CBAM without spatial").
        spatial_norm: BatchNorm after the 7x7 convolution, as in the official code.
        spatial_zero_init: start the spatial gate's BatchNorm at weight 0 and
            bias 0, as the official ResNet's initialisation does: the fresh
            spatial gate is 0.5 everywhere. Needs spatial_norm=True.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        kernel_size: int = 7,
        pool_types: tuple[str, ...] = ("avg", "max"),
        spatial: bool = True,
        spatial_norm: bool = True,
        spatial_zero_init: bool = False,
    ):
        super().__init__()
        self.channels = channels
        self.channel_gate = ChannelGate(channels, reduction, pool_types)
        self.spatial_gate = SpatialGate(kernel_size, spatial_norm, spatial_zero_init) if spatial else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(f"CBAM(channels={self.channels})", self.channels, x)
        x = x * self.channel_gate(x)  # F' = M_c(F) (x) F: (B, C, H, W) * (B, C, 1, 1)
        if self.spatial_gate is not None:
            x = x * self.spatial_gate(x)  # F'' = M_s(F') (x) F': (B, C, H, W) * (B, 1, H, W)
        return x

    def extra_repr(self) -> str:
        return f"channels={self.channels}"
