"""Deep residual shrinkage networks (DRSN-CS and DRSN-CW).

Minghang Zhao, Shisheng Zhong, Xuyun Fu, Baoping Tang, Michael Pecht. "Deep
Residual Shrinkage Networks for Fault Diagnosis." IEEE Transactions on
Industrial Informatics 2020. DOI 10.1109/TII.2019.2943898. Volume 16(7),
pages 4681-4690; there is no arXiv version.

Shrinkage removes small, noise-like features with soft thresholding,

    y = sign(x) * max(|x| - tau, 0),

where the threshold tau is not a hyperparameter but is computed from the
features themselves by a small attention sub-network:

    a     = GAP(|x|)                       mean absolute value per channel, (B, C)
    alpha = sigmoid( FC( ReLU( BN( FC(a) ))))
    DRSN-CS (channel-shared):  one alpha per sample, the last FC has 1 unit,
            tau = alpha * mean_c a_c                   one threshold per sample
    DRSN-CW (channel-wise):    one alpha per channel, the last FC has C units,
            tau_c = alpha_c * a_c                      one threshold per channel

Because alpha lies in (0, 1), tau is positive. Whether a whole channel can
be zeroed depends on which mean tau is taken from:

- DRSN-CW cannot zero a channel that has a non-zero value. Its threshold
  comes from that channel alone: tau_c = alpha_c * a_c < a_c <= max_j |x_cj|
  (a mean never exceeds the maximum), so at least the value of largest
  magnitude lies outside [-tau_c, tau_c] and survives, shrunk by tau_c.
  (In floating point the sigmoid rounds to exactly 1 for logits above about
  17 in float32, 37 in float64; then tau_c = a_c, and only a channel whose
  values all have the same magnitude, where mean = max, is zeroed.)
- DRSN-CS can. Its one threshold is shared by all channels and comes from
  their average, tau = alpha * (1/C) sum_c a_c, which loud channels pull up:
  a quiet channel whose every |x_cj| <= tau is zeroed entirely, for example
  one channel of values near 0.1 beside seven of magnitude near 10, when
  alpha is near 1.

Both FC layers have C units (bar the last of DRSN-CS) and biases, as in the
authors' Keras script and their 1-D TFLearn code (DRSN_1D_TFLearn.rar); their
2-D TFLearn script, DRSN_TFLearn.py, gives the first layer C/4 units.

The residual shrinkage building unit (RSBU) applies shrinkage to the
residual branch of a pre-activation residual block:
BN, ReLU, conv, BN, ReLU, conv, shrinkage, then the identity is added.
The paper uses 3 x 1 kernels on 1-D vibration signals; ``Shrinkage`` accepts
(B, C, L) signals and (B, C, H, W) maps alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_batch_for_norm, check_feature_map, check_odd, check_positive
from ..functional import soft_threshold


class Shrinkage(nn.Module):
    """Soft thresholding with a learned, input-dependent threshold.

    Args:
        channels: C.
        channel_wise: True for DRSN-CW (a threshold per channel), False for
            DRSN-CS (one threshold shared by all channels of a sample).
    """

    def __init__(self, channels: int, channel_wise: bool = True):
        super().__init__()
        check_positive(f"Shrinkage(channels={channels})", "channels", channels)
        self.channels = channels
        self.channel_wise = channel_wise
        self.scale_net = nn.Sequential(
            nn.Linear(channels, channels),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Linear(channels, channels if channel_wise else 1),
            nn.Sigmoid(),
        )

    def threshold(self, x: torch.Tensor) -> torch.Tensor:
        """tau, shaped to broadcast over x: (B, C, 1[, 1]) for CW, (B, 1, 1[, 1]) for CS."""
        kind = "CW" if self.channel_wise else "CS"
        check_feature_map(f"Shrinkage[{kind}](channels={self.channels})", self.channels, x, spatial="L | H, W")
        check_batch_for_norm(f"Shrinkage[{kind}](channels={self.channels})", x, self.training)
        spatial_axes = tuple(range(2, x.dim()))
        abs_mean = x.abs().mean(dim=spatial_axes)  # a = GAP(|x|): (B, C, ...) -> (B, C)
        alpha = self.scale_net(abs_mean)  # (B, C) -> (B, C) for CW, (B, 1) for CS
        if self.channel_wise:
            tau = alpha * abs_mean  # tau_c = alpha_c * a_c: (B, C)
        else:
            tau = alpha * abs_mean.mean(dim=1, keepdim=True)  # tau = alpha * mean_c a_c: (B, 1)
        return tau.view(*tau.shape, *([1] * len(spatial_axes)))  # (B, C) -> (B, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return soft_threshold(x, self.threshold(x))  # same shape as x

    def extra_repr(self) -> str:
        return f"channels={self.channels}, channel_wise={self.channel_wise}"


class ResidualShrinkageUnit(nn.Module):
    """RSBU: a pre-activation residual block whose residual is shrunk before the sum.

    Args:
        in_channels, out_channels: channels in and out.
        stride: of the first convolution (2 halves the length or the map).
        channel_wise: DRSN-CW (True) or DRSN-CS (False).
        dims: 1 for signals (B, C, L), 2 for maps (B, C, H, W).
        kernel_size: 3, as in the paper.

    When the shape changes, the identity path is subsampled (stride) and
    zero-padded with channels, as the authors' code does, so the unit adds
    no parameters outside its residual branch.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int | None = None,
        stride: int = 1,
        channel_wise: bool = True,
        dims: int = 1,
        kernel_size: int = 3,
    ):
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        who = f"ResidualShrinkageUnit(in_channels={in_channels}, out_channels={out_channels})"
        if dims not in (1, 2):
            raise ValueError(f"{who}: dims must be 1 (signals) or 2 (images); got {dims!r}")
        if out_channels < in_channels:
            raise ValueError(f"{who}: the zero-padded identity needs out_channels >= in_channels")
        check_positive(who, "stride", stride)
        check_odd(who, "kernel_size", kernel_size)
        conv = nn.Conv1d if dims == 1 else nn.Conv2d
        norm = nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d
        self.in_channels, self.out_channels, self.stride, self.dims = in_channels, out_channels, stride, dims
        self.residual = nn.Sequential(
            norm(in_channels),
            nn.ReLU(),
            conv(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2),
            norm(out_channels),
            nn.ReLU(),
            conv(out_channels, out_channels, kernel_size, padding=kernel_size // 2),
            Shrinkage(out_channels, channel_wise),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = "L" if self.dims == 1 else "H, W"
        check_feature_map(f"ResidualShrinkageUnit(in_channels={self.in_channels})", self.in_channels, x, spatial)
        identity = x
        if self.stride > 1:  # keep every stride-th position, like a 1x1 pool with stride
            identity = identity[(..., *[slice(None, None, self.stride)] * self.dims)]
        extra = self.out_channels - self.in_channels
        if extra:  # zero channels, split evenly before and after
            pad = [0, 0] * self.dims + [extra // 2, extra - extra // 2]
            identity = F.pad(identity, pad)
        return self.residual(x) + identity  # (B, C_out, L / stride)
