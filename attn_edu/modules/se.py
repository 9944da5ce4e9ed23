"""Squeeze-and-Excitation (SE).

Jie Hu, Li Shen, Gang Sun. "Squeeze-and-Excitation Networks." CVPR 2018.
arXiv:1709.01507. Extended version with Samuel Albanie and Enhua Wu: IEEE
Transactions on Pattern Analysis and Machine Intelligence 2020.

For a feature map U with C channels of size H x W:

    squeeze   z_c = 1/(H W) * sum_{i,j} u_c(i, j)              (Eq. 2)
    excite    s   = sigma( W_2 delta( W_1 z ) )                 (Eq. 3)
    scale     x~_c = s_c * u_c                                  (Eq. 4)

with W_1 in R^{(C/r) x C}, W_2 in R^{C x (C/r)}, delta = ReLU, sigma = sigmoid
and reduction ratio r = 16 by default.

Paper and official code: Eq. 3 is written without bias terms, but the
released SE-ResNet models use fully connected layers with biases, and the
published parameter count of SE-ResNet-50 (28.09M, in Table 4 of the CBAM
paper, Woo et al. 2018) includes them. We follow the
released models (``bias=True``); ``bias=False`` gives the equation as written.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_feature_map, hidden_units


class SqueezeExcitation(nn.Module):
    """SE block: reweight each channel by a gate computed from all channels.

    Args:
        channels: C, the number of input (and output) channels.
        reduction: r, the bottleneck ratio; the hidden layer has C // r units.
        bias: biases in the two fully connected layers (released models: True).
    """

    def __init__(self, channels: int, reduction: int = 16, bias: bool = True):
        super().__init__()
        who = f"SqueezeExcitation(channels={channels}, reduction={reduction})"
        hidden = hidden_units(who, channels, reduction)
        self.channels = channels
        self.reduction = reduction
        self.who = f"SqueezeExcitation(channels={channels})"
        self.down = nn.Linear(channels, hidden, bias=bias)  # W_1 in Eq. 3
        self.up = nn.Linear(hidden, channels, bias=bias)  # W_2 in Eq. 3

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The channel weights s of Eq. 3, shaped (B, C, 1, 1) to broadcast over x."""
        check_feature_map(self.who, self.channels, x)
        z = x.mean(dim=(2, 3))  # squeeze, z in Eq. 2: (B, C, H, W) -> (B, C)
        hidden = torch.relu(self.down(z))  # delta(W_1 z): (B, C) -> (B, C/r)
        s = torch.sigmoid(self.up(hidden))  # sigma(W_2 ...): (B, C/r) -> (B, C)
        return s[:, :, None, None]  # (B, C) -> (B, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)  # scale, Eq. 4: (B, C, H, W) * (B, C, 1, 1) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}"
