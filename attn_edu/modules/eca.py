"""Efficient Channel Attention (ECA).

Qilong Wang, Banggu Wu, Pengfei Zhu, Peihua Li, Wangmeng Zuo, Qinghua Hu.
"ECA-Net: Efficient Channel Attention for Deep Convolutional Neural
Networks." CVPR 2020. arXiv:1910.03151.

ECA keeps SE's squeeze and gate but drops its bottleneck MLP: each
channel's weight comes from its k nearest neighbouring channels through a
1-D convolution whose k weights are shared by all channels.

    y       = GAP(X)                     one value per channel, (B, C)
    omega   = sigma( C1D_k(y) )          (Eq. 9): a 1-D convolution across channels
    X~      = omega * X                  channel-wise scale
    k = psi(C) = | log2(C)/gamma + b/gamma |_odd,  gamma = 2, b = 1   (Eq. 12)

The convolution has no bias, padding (k - 1) / 2 keeps C values, and k must
be odd. The module has just k parameters.

Paper and official code (BangguWu/ECANet): the formula above is the
paper's (Eq. 12, computed in the listing of its Fig. 3); the repository
never evaluates it. Its ``eca_layer`` takes ``k_size`` (3 by default) and
its training script one k per stage from ``--ksize``. The formula gives
k = 5 for 256, 512 and 1024 channels and k = 7 for 2048, but the released
ECA-ResNet-50 was trained with k = 3, 5, 5, 7 (the README's
``--ksize 3557``), which is where the abstract's "80 parameters" come from.
Pass ``k_size`` to fix k; leave it ``None`` for the formula.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_feature_map, check_odd, check_positive
from ..functional import eca_kernel_size


class EfficientChannelAttention(nn.Module):
    """ECA: channel weights from a k-wide 1-D convolution over the pooled channels.

    Args:
        channels: C.
        k_size: the kernel size k; odd. ``None`` computes k = psi(C) from gamma and b.
        gamma, b: the constants of psi (2 and 1).
    """

    def __init__(self, channels: int, k_size: int | None = None, gamma: float = 2, b: float = 1):
        super().__init__()
        who = f"EfficientChannelAttention(channels={channels})"
        check_positive(who, "channels", channels)
        if k_size is None:
            k_size = eca_kernel_size(channels, gamma, b)
        check_odd(who, "k_size", k_size)
        self.channels = channels
        self.k_size = k_size
        # C1D_k: one input "channel" (the sequence of C pooled values), one output, k taps.
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """omega, one weight per channel, (B, C, 1, 1)."""
        check_feature_map(f"EfficientChannelAttention(channels={self.channels})", self.channels, x)
        y = x.mean(dim=(2, 3))  # GAP: (B, C, H, W) -> (B, C)
        y = self.conv(y[:, None, :])  # channels as a sequence: (B, 1, C) -> (B, 1, C)
        return torch.sigmoid(y)[:, 0, :, None, None]  # (B, 1, C) -> (B, C, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)  # (B, C, H, W) * (B, C, 1, 1)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, k_size={self.k_size}"
