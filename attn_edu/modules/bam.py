"""Bottleneck Attention Module (BAM).

Jongchan Park, Sanghyun Woo, Joon-Young Lee, In So Kweon. "BAM: Bottleneck
Attention Module." BMVC 2018. arXiv:1807.06514.

BAM computes a channel map and a spatial map side by side from the same
input F in R^{C x H x W}, and adds their logits:

    F' = F + F (x) M(F)                                            (Eq. 1)
    M(F) = sigma( M_c(F) + M_s(F) )                                (Eq. 2)
    M_c(F) = BN( MLP( AvgPool(F) ) )                               (Eq. 3)
           = BN( W_1 (W_0 AvgPool(F) + b_0) + b_1 )
    M_s(F) = BN( f_3^{1x1}( f_2^{3x3}( f_1^{3x3}( f_0^{1x1}(F) ))))   (Eq. 4)

M_c is (B, C, 1, 1) and M_s is (B, 1, H, W); both broadcast to
(B, C, H, W) before the sum. Defaults: reduction r = 16 for both branches,
dilation d = 4 for the two 3x3 convolutions (padding 4 keeps H x W).
The paper places BAM at the bottlenecks of a network: in ResNet, at the end
of stages 1, 2 and 3.

Paper and official code (Jongchan/attention-module) differ in two places:
- Combination. The code returns (1 + sigma(M_c * M_s)) * F, a product of
  the two branches. ``combine="sum"`` (default) is Eq. 2,
  ``combine="product"`` the code.
- Where the normalisation sits. Eq. 3-4 put one BN at the end of each
  branch. The code puts BN + ReLU after the hidden layer of the MLP and
  after each hidden convolution, and none at the end. The paper does not
  write the non-linearities of the hidden layers; with
  ``branch_norm="paper"`` (default) the MLP's hidden layer has a ReLU, the
  hidden convolutions have BN + ReLU as in the code, and each branch ends
  with BN. ``branch_norm="official"`` builds the branches as the code does.
Both choices leave the parameter count of a BAM-ResNet-50 at 25.92M.

Two more things in the released MODELS/bam.py that this module does not
copy: its channel branch pools with an H x H window of stride H, which is
global average pooling only on square maps (here every map is averaged
whole), and its channel branch's constructor assigns a name defined nowhere,
so as released it raises NameError.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_batch_for_norm, check_choice, check_feature_map, check_positive, hidden_units


class BAMChannel(nn.Module):
    """M_c of Eq. 3: a logit per channel, (B, C, H, W) -> (B, C, 1, 1)."""

    def __init__(self, channels: int, reduction: int = 16, branch_norm: str = "paper"):
        super().__init__()
        hidden = hidden_units(f"BAM(channels={channels}, reduction={reduction})", channels, reduction)
        official = branch_norm == "official"
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden),  # W_0, b_0: C -> C/r
            nn.BatchNorm1d(hidden) if official else nn.Identity(),
            nn.ReLU(),
            nn.Linear(hidden, channels),  # W_1, b_1: C/r -> C
        )
        self.norm = nn.Identity() if official else nn.BatchNorm1d(channels)  # the BN of Eq. 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = x.mean(dim=(2, 3))  # AvgPool(F): (B, C, H, W) -> (B, C)
        return self.norm(self.mlp(pooled))[:, :, None, None]  # (B, C) -> (B, C, 1, 1)


class BAMSpatial(nn.Module):
    """M_s of Eq. 4: a logit per position, (B, C, H, W) -> (B, 1, H, W)."""

    def __init__(
        self, channels: int, reduction: int = 16, dilation: int = 4, num_dilated: int = 2, branch_norm: str = "paper"
    ):
        super().__init__()
        hidden = hidden_units(f"BAM(channels={channels}, reduction={reduction})", channels, reduction)
        check_positive(f"BAM(channels={channels})", "dilation", dilation)
        if isinstance(num_dilated, bool) or not isinstance(num_dilated, int) or num_dilated < 0:
            raise ValueError(f"BAM(channels={channels}): num_dilated must be a whole number >= 0; got {num_dilated!r}")
        layers = [nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU()]  # f_0: C -> C/r
        for _ in range(num_dilated):  # f_1, f_2: 3x3, dilation d, padding d keeps H x W
            layers += [nn.Conv2d(hidden, hidden, 3, padding=dilation, dilation=dilation), nn.BatchNorm2d(hidden), nn.ReLU()]
        layers.append(nn.Conv2d(hidden, 1, 1))  # f_3: C/r -> 1
        if branch_norm == "paper":
            layers.append(nn.BatchNorm2d(1))  # the outer BN of Eq. 4
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)  # (B, C, H, W) -> (B, 1, H, W)


class BAM(nn.Module):
    """Bottleneck Attention Module: F + F * sigma(M_c(F) + M_s(F)).

    Args:
        channels: C.
        reduction: r for both branches (16).
        dilation: d of the 3x3 convolutions in the spatial branch (4).
        num_dilated: how many dilated 3x3 convolutions (2).
        combine: "sum" (paper, Eq. 2) or "product" (official code).
        branch_norm: "paper" or "official"; see the module docstring.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        dilation: int = 4,
        num_dilated: int = 2,
        combine: str = "sum",
        branch_norm: str = "paper",
    ):
        super().__init__()
        who = f"BAM(channels={channels})"
        check_choice(who, "combine", combine, ("sum", "product"))
        check_choice(who, "branch_norm", branch_norm, ("paper", "official"))
        self.channels = channels
        self.combine = combine
        self.channel_branch = BAMChannel(channels, reduction, branch_norm)
        self.spatial_branch = BAMSpatial(channels, reduction, dilation, num_dilated, branch_norm)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """M(F), the full 3-D attention map, (B, C, H, W)."""
        check_feature_map(f"BAM(channels={self.channels})", self.channels, x)
        check_batch_for_norm(f"BAM(channels={self.channels})", x, self.training)
        channel_logits = self.channel_branch(x)  # M_c(F): (B, C, 1, 1)
        spatial_logits = self.spatial_branch(x)  # M_s(F): (B, 1, H, W)
        if self.combine == "sum":
            return torch.sigmoid(channel_logits + spatial_logits)  # broadcast -> (B, C, H, W)
        return torch.sigmoid(channel_logits * spatial_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x * self.attention(x)  # F' = F + F (x) M(F): (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, combine={self.combine!r}"
