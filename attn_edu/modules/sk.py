"""Selective Kernel convolution (SK).

Xiang Li, Wenhai Wang, Xiaolin Hu, Jian Yang. "Selective Kernel Networks."
CVPR 2019. arXiv:1903.06586.

An SK convolution lets each channel choose its receptive field. With M = 2
branches and an input X in R^{H' x W' x C'}:

    Split   U~ = F~(X): 3x3 grouped convolution, BN, ReLU
            U^ = F^(X): "5x5" grouped convolution, BN, ReLU, built as a
                 3x3 convolution with dilation 2
    Fuse    U = U~ + U^                                            (Eq. 1)
            s_c = 1/(H W) sum_{i,j} U_c(i, j)                       (Eq. 2)
            z = delta( B( W s ) ),  W in R^{d x C}                  (Eq. 3)
            d = max(C / r, L)                                       (Eq. 4)
    Select  a_c = e^{A_c z} / (e^{A_c z} + e^{B_c z}),  b_c = 1 - a_c   (Eq. 5)
            V_c = a_c U~_c + b_c U^_c                               (Eq. 6)

delta is ReLU and B batch normalisation. The softmax of Eq. 5 runs across
the branches, separately for every channel c: the weights of one channel sum
to 1 over the branches. For M branches, branch m uses a 3x3 kernel with
dilation m + 1. SKNet-50 uses M = 2, G = 32 groups, r = 16 and L = 32.

Notes on the official code (Caffe, implus/SKNet): the fuse layer W is a 1x1
convolution followed by BN, so it carries no bias (BN's shift plays that
role); the select matrices A, B have no bias either, as in Eq. 5. Unlike
the other modules here, SK replaces a convolution rather than following
one, so it can also change the resolution with ``stride``.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_batch_for_norm, check_feature_map, check_selective_kernel


class SelectiveKernel(nn.Module):
    """SK convolution: M dilated grouped branches, mixed per channel by a softmax.

    Args:
        channels: C, input and output channels.
        branches: M, the number of kernels to choose from (2: 3x3 and "5x5").
        groups: G of the grouped convolutions (32); must divide ``channels``.
        reduction: r in d = max(C / r, L) (16).
        min_dim: L in d = max(C / r, L) (32).
        stride: of the branch convolutions (1 keeps H x W).
    """

    def __init__(
        self,
        channels: int,
        branches: int = 2,
        groups: int = 32,
        reduction: int = 16,
        min_dim: int = 32,
        stride: int = 1,
    ):
        super().__init__()
        who = f"SelectiveKernel(channels={channels})"
        self.channels = channels
        self.branches = branches
        self.hidden = check_selective_kernel(who, channels, branches, groups, reduction, min_dim, stride)  # d, Eq. 4
        self.paths = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, stride, padding=m + 1, dilation=m + 1, groups=groups, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
            )
            for m in range(branches)  # branch m: 3x3 with dilation m + 1 (receptive field 3, 5, 7, ...)
        )
        self.fuse = nn.Sequential(
            nn.Conv2d(channels, self.hidden, 1, bias=False),  # W in Eq. 3
            nn.BatchNorm2d(self.hidden),  # B
            nn.ReLU(),  # delta
        )
        self.select = nn.Conv2d(self.hidden, branches * channels, 1, bias=False)  # A, B, ... stacked

    def branch_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The split maps (B, M, C, H, W) and the select weights (B, M, C, 1, 1)."""
        check_feature_map(f"SelectiveKernel(channels={self.channels})", self.channels, x)
        check_batch_for_norm(f"SelectiveKernel(channels={self.channels})", x, self.training)
        split = torch.stack([path(x) for path in self.paths], dim=1)  # M x (B, C, H, W) -> (B, M, C, H, W)
        fused = split.sum(dim=1)  # U, Eq. 1: (B, M, C, H, W) -> (B, C, H, W)
        s = fused.mean(dim=(2, 3), keepdim=True)  # Eq. 2: (B, C, H, W) -> (B, C, 1, 1)
        z = self.fuse(s)  # Eq. 3: (B, C, 1, 1) -> (B, d, 1, 1)
        logits = self.select(z).view(x.shape[0], self.branches, self.channels, 1, 1)  # (B, d, 1, 1) -> (B, M, C, 1, 1)
        weights = torch.softmax(logits, dim=1)  # Eq. 5: across branches, per channel
        return split, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split, weights = self.branch_weights(x)
        return (weights * split).sum(dim=1)  # Eq. 6: (B, M, C, H, W) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, branches={self.branches}, d={self.hidden}"
