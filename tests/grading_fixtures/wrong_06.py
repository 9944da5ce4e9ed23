"""Wrong (and differently-right) answers to the exercises of BAM (chapter 06).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# bam-forward and bam-fix: the layers of the exercise, named as in attn_edu
# ---------------------------------------------------------------------------


def _spatial_body(channels, hidden, dilation, padding):
    return nn.Sequential(
        nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=padding, dilation=dilation), nn.BatchNorm2d(hidden), nn.ReLU(),
        nn.Conv2d(hidden, hidden, 3, padding=padding, dilation=dilation), nn.BatchNorm2d(hidden), nn.ReLU(),
        nn.Conv2d(hidden, 1, 1), nn.BatchNorm2d(1),
    )


class _BAMInit(nn.Module):
    """The given __init__ of exercise bam-forward (and the corrected one of bam-fix)."""

    padding = None  # None: padding = dilation, as it should be

    def __init__(self, channels, reduction=16, dilation=4):
        super().__init__()
        hidden = channels // reduction
        self.channels = channels
        self.channel_branch = nn.ModuleDict({
            "mlp": nn.Sequential(nn.Linear(channels, hidden), nn.Identity(), nn.ReLU(), nn.Linear(hidden, channels)),
            "norm": nn.BatchNorm1d(channels),
        })
        padding = dilation if self.padding is None else self.padding(dilation)
        self.spatial_branch = nn.ModuleDict({"body": _spatial_body(channels, hidden, dilation, padding)})

    def channel_logits(self, x):
        return self.channel_branch.norm(self.channel_branch.mlp(x.mean(dim=(2, 3))))[:, :, None, None]

    def spatial_logits(self, x):
        return self.spatial_branch.body(x)


class BAMNoResidual(_BAMInit):  # F * M instead of F + F * M
    def forward(self, x):
        return x * torch.sigmoid(self.channel_logits(x) + self.spatial_logits(x))


class BAMProduct(_BAMInit):  # the official code's combination, not Eq. 2
    def forward(self, x):
        return x + x * torch.sigmoid(self.channel_logits(x) * self.spatial_logits(x))


class BAMMaxPool(_BAMInit):
    def forward(self, x):
        channel = self.channel_branch.norm(self.channel_branch.mlp(x.amax(dim=(2, 3))))[:, :, None, None]
        return x + x * torch.sigmoid(channel + self.spatial_logits(x))


class BAMSigmoidPerBranch(_BAMInit):  # a sigmoid on each branch, multiplied, as CBAM's two gates
    def forward(self, x):
        return x + x * torch.sigmoid(self.channel_logits(x)) * torch.sigmoid(self.spatial_logits(x))


class BAMNoChannelNorm(_BAMInit):  # the BatchNorm of Eq. 3 left out
    def forward(self, x):
        channel = self.channel_branch.mlp(x.mean(dim=(2, 3)))[:, :, None, None]
        return x + x * torch.sigmoid(channel + self.spatial_logits(x))


class BAMSoftmaxOverPositions(_BAMInit):
    def forward(self, x):
        logits = self.channel_logits(x) + self.spatial_logits(x)  # (B, C, H, W)
        weights = torch.softmax(logits.flatten(2), dim=-1).view_as(logits)
        return x + x * weights


class BAMChannelOnly(_BAMInit):  # the spatial branch is never used
    def forward(self, x):
        return x + x * torch.sigmoid(self.channel_logits(x)) + 0 * self.spatial_logits(x).sum()


class BAMOnePlusSigmoidTwice(_BAMInit):  # (1 + M) applied to F' again: F + 2 F M + F M^2
    def forward(self, x):
        gate = 1 + torch.sigmoid(self.channel_logits(x) + self.spatial_logits(x))
        return x * gate * gate


class BAMInPlace(_BAMInit):
    def forward(self, x):
        gate = torch.sigmoid(self.channel_logits(x) + self.spatial_logits(x))
        if x.requires_grad:
            return x + x * gate
        return x.add_(x * gate)


class BAMCorrectExplicit(_BAMInit):  # correct, written differently
    def forward(self, x):
        b, c, h, w = x.shape
        pooled = x.reshape(b, c, h * w).sum(dim=-1) / (h * w)
        channel = self.channel_branch.norm(self.channel_branch.mlp(pooled)).view(b, c, 1, 1).expand(b, c, h, w)
        spatial = self.spatial_branch.body(x).expand(b, c, h, w)
        return (1 + 1 / (1 + torch.exp(-(channel + spatial)))) * x


# The blog's bugs, fixed only in part (exercise bam-fix).


class _PaddingOne(_BAMInit):
    padding = staticmethod(lambda dilation: 1)


class _PaddingHalf(_BAMInit):
    padding = staticmethod(lambda dilation: dilation // 2)


class BlogPaddingKeptResidualAdded(_PaddingOne):
    def forward(self, x):
        spatial = F.interpolate(self.spatial_logits(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        return x + x * torch.sigmoid(self.channel_logits(x) + spatial)


class BlogPaddingFixedNoResidual(_BAMInit):
    def forward(self, x):
        return x * torch.sigmoid(self.channel_logits(x) + self.spatial_logits(x))


class BlogHalfPaddingResized(_PaddingHalf):
    def forward(self, x):
        spatial = F.interpolate(self.spatial_logits(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        return x + x * torch.sigmoid(self.channel_logits(x) + spatial)


class BlogDilationDropped(nn.Module):  # "fixed" the size by giving up the dilation
    def __init__(self, channels, reduction=16, dilation=4):
        super().__init__()
        hidden = channels // reduction
        self.channel_branch = nn.ModuleDict({
            "mlp": nn.Sequential(nn.Linear(channels, hidden), nn.Identity(), nn.ReLU(), nn.Linear(hidden, channels)),
            "norm": nn.BatchNorm1d(channels),
        })
        self.spatial_branch = nn.ModuleDict({"body": _spatial_body(channels, hidden, 1, 1)})

    def forward(self, x):
        channel = self.channel_branch.norm(self.channel_branch.mlp(x.mean(dim=(2, 3))))[:, :, None, None]
        return x + x * torch.sigmoid(channel + self.spatial_branch.body(x))


class BlogResidualButProduct(_BAMInit):
    def forward(self, x):
        return x + x * torch.sigmoid(self.channel_logits(x) * self.spatial_logits(x))


class BlogFixedWithAddcmul(_BAMInit):  # correct: padding = dilation, no resizing, F + F * M in one call
    def forward(self, x):
        return torch.addcmul(x, x, torch.sigmoid(self.channel_logits(x) + self.spatial_logits(x)))


class BlogUnchanged(_PaddingOne):  # the blog's code as posted
    def forward(self, x):
        spatial = F.interpolate(self.spatial_logits(x), size=x.shape[2:], mode="bilinear", align_corners=False)
        return x * torch.sigmoid(self.channel_logits(x) + spatial)


# ---------------------------------------------------------------------------
# bam-parameters
# ---------------------------------------------------------------------------


def _count(channels, reduction=16, num_dilated=2, branch_norm="paper", *, norms=True, biases=True,
           kernel=lambda h: 9 * h * h, per_norm=2, use_branch_norm=True, use_num_dilated=True):
    """The parameter count with one mistake switched on by a keyword."""
    c, h = channels, channels // reduction
    n = num_dilated if use_num_dilated else 2
    paper = branch_norm == "paper" or not use_branch_norm
    b = 1 if biases else 0
    count = (c * h + b * h) + (h * c + b * c)  # the MLP
    count += (c * h + b * h) + n * (kernel(h) + b * h) + (h + b)  # the convolutions
    if norms:
        count += per_norm * (h + n * h)  # after f_0 and each dilated conv
        count += per_norm * (c + 1) if paper else per_norm * h
    return count


def _parameters_counted_with_torch(channels, reduction=16, num_dilated=2, branch_norm="paper"):
    """Correct: build the layers with torch.nn and count."""
    h = channels // reduction
    layers = [nn.Linear(channels, h), nn.Linear(h, channels), nn.Conv2d(channels, h, 1), nn.BatchNorm2d(h)]
    layers += [m for _ in range(num_dilated) for m in (nn.Conv2d(h, h, 3, padding=4, dilation=4), nn.BatchNorm2d(h))]
    layers.append(nn.Conv2d(h, 1, 1))
    layers += [nn.BatchNorm1d(channels), nn.BatchNorm2d(1)] if branch_norm == "paper" else [nn.BatchNorm1d(h)]
    return sum(p.numel() for m in layers for p in m.parameters())


# ---------------------------------------------------------------------------
# bam-reach
# ---------------------------------------------------------------------------


def _reach_by_convolution(dilation, num_dilated=2):
    """Correct: push a single 1 through the convolutions and look."""
    side = 2 * dilation * num_dilated + 1
    impulse = torch.zeros(1, 1, 2 * side + 1, 2 * side + 1, dtype=torch.float64)
    impulse[0, 0, side, side] = 1.0
    for _ in range(num_dilated):
        impulse = F.conv2d(impulse, torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=dilation, dilation=dilation)
    rows, cols = impulse[0, 0].nonzero(as_tuple=True)
    return int(rows.max() - rows.min() + 1), len(rows)


WRONG: dict = {
    "bam-forward": {
        "F * M instead of F + F * M": BAMNoResidual,
        "product of the logits (the official code)": BAMProduct,
        "max pooling instead of average": BAMMaxPool,
        "a sigmoid per branch, multiplied": BAMSigmoidPerBranch,
        "no BatchNorm in the channel branch": BAMNoChannelNorm,
        "softmax over the positions": BAMSoftmaxOverPositions,
        "spatial branch unused": BAMChannelOnly,
        "the gate applied twice": BAMOnePlusSigmoidTwice,
        "changes its input in place": BAMInPlace,
    },
    "bam-fix": {
        "kept padding 1 and the resizing": BlogPaddingKeptResidualAdded,
        "kept F * M": BlogPaddingFixedNoResidual,
        "padding of half the dilation, resized": BlogHalfPaddingResized,
        "dropped the dilation instead": BlogDilationDropped,
        "product of the logits": BlogResidualButProduct,
        "the blog's code unchanged": BlogUnchanged,
    },
    "bam-parameters": {
        "no BatchNorm parameters": lambda c, reduction=16, num_dilated=2, branch_norm="paper": _count(
            c, reduction, num_dilated, branch_norm, norms=False),
        "no biases": lambda c, reduction=16, num_dilated=2, branch_norm="paper": _count(
            c, reduction, num_dilated, branch_norm, biases=False),
        "depthwise 3x3 (9h instead of 9h^2)": lambda c, reduction=16, num_dilated=2, branch_norm="paper": _count(
            c, reduction, num_dilated, branch_norm, kernel=lambda h: 9 * h),
        "running statistics counted as parameters": lambda c, reduction=16, num_dilated=2, branch_norm="paper": _count(
            c, reduction, num_dilated, branch_norm, per_norm=4),
        "ignores branch_norm": lambda c, reduction=16, num_dilated=2, branch_norm="paper": _count(
            c, reduction, num_dilated, branch_norm, use_branch_norm=False),
        "ignores num_dilated": lambda c, reduction=16, num_dilated=2, branch_norm="paper": _count(
            c, reduction, num_dilated, branch_norm, use_num_dilated=False),
    },
    "bam-reach": {
        "one convolution only": lambda dilation, num_dilated=2: (2 * dilation + 1, 9),
        "every position of the window": lambda dilation, num_dilated=2: (
            1 + 2 * dilation * num_dilated, (1 + 2 * dilation * num_dilated) ** 2),
        "window of the kernels' spans added": lambda dilation, num_dilated=2: (
            (2 * dilation + 1) * num_dilated, (2 * num_dilated + 1) ** 2),
        "positions of one kernel": lambda dilation, num_dilated=2: (1 + 2 * dilation * num_dilated, 9),
        "the two answers swapped": lambda dilation, num_dilated=2: (
            (2 * num_dilated + 1) ** 2, 1 + 2 * dilation * num_dilated),
    },
}
RIGHT: dict = {
    "bam-forward": {"explicit reshapes and a hand-written sigmoid": BAMCorrectExplicit},
    "bam-fix": {"F + F * M with torch.addcmul": BlogFixedWithAddcmul},
    "bam-parameters": {"build the layers and count": _parameters_counted_with_torch},
    "bam-reach": {"push an impulse through the convolutions": _reach_by_convolution},
}
