"""Wrong (and differently-right) answers to the exercises of Selective Kernel (chapter 07).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# ---------------------------------------------------------------------------
# sk-module and sk-fix: the layers named as in attn_edu.modules.SelectiveKernel
# ---------------------------------------------------------------------------


class _SKInit(nn.Module):
    """An SK convolution's layers, built right; the subclasses get forward (or one layer) wrong."""

    dilation = staticmethod(lambda m: m + 1)  # branch m: 3x3 with dilation m + 1
    fuse_bias = False

    def __init__(self, channels, branches=2, groups=32, reduction=16, min_dim=32, stride=1):
        super().__init__()
        d = max(channels // reduction, min_dim)
        self.channels, self.branches, self.stride = channels, branches, stride
        self.paths = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, stride, padding=self.dilation(m), dilation=self.dilation(m),
                          groups=groups, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
            )
            for m in range(branches)
        )
        self.fuse = nn.Sequential(nn.Conv2d(channels, d, 1, bias=self.fuse_bias), nn.BatchNorm2d(d), nn.ReLU())
        self.select = nn.Conv2d(d, branches * channels, 1, bias=False)

    def split(self, x):
        return torch.stack([path(x) for path in self.paths], dim=1)  # (B, M, C, H', W')

    def logits(self, z):
        return self.select(z).view(z.shape[0], self.branches, self.channels, 1, 1)


class SKSoftmaxOverChannels(_SKInit):
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=2) * u).sum(dim=1)


class SKFuseWithoutNorm(_SKInit):  # the fuse's BatchNorm defined but skipped
    def forward(self, x):
        u = self.split(x)
        z = self.fuse[2](self.fuse[0](u.sum(dim=1).mean(dim=(2, 3), keepdim=True)))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class SKSigmoidPerBranch(_SKInit):  # SE's gate on every branch: the weights need not sum to 1
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return (torch.sigmoid(self.logits(z)) * u).sum(dim=1)


class SKMaxPool(_SKInit):
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).amax(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class SKPoolsTheInput(_SKInit):  # the descriptor taken from X instead of the fused U
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(x.mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class SKFirstBranchOnly(_SKInit):  # the fuse sees only the 3x3 branch
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u[:, 0].mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class SKInterleavedSelect(_SKInit):  # select's outputs read as (C, M) instead of (M, C)
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        logits = self.select(z).view(x.shape[0], self.channels, self.branches, 1, 1).transpose(1, 2)
        return (torch.softmax(logits, dim=1) * u).sum(dim=1)


class SKDoublingDilation(_SKInit):  # dilations 1, 2, 4, ... instead of 1, 2, 3, ...
    dilation = staticmethod(lambda m: 2**m)

    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class SKEqualMixing(_SKInit):  # the select step left out: every branch weighted 1 / M
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return u.mean(dim=1) + 0 * self.logits(z).sum()


class SKInPlace(_SKInit):
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        out = (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)
        if x.requires_grad or self.stride != 1:
            return out
        return x.copy_(out)


class SKCorrectExplicit(_SKInit):  # correct, written differently
    def forward(self, x):
        outputs = [path(x) for path in self.paths]
        fused = outputs[0]
        for extra in outputs[1:]:
            fused = fused + extra
        b, c = fused.shape[:2]
        s = fused.reshape(b, c, -1).sum(dim=-1) / fused[0, 0].numel()  # (B, C)
        z = self.fuse(s[:, :, None, None])
        logits = self.select(z).reshape(b, self.branches, c)  # (B, M, C)
        e = torch.exp(logits - logits.amax(dim=1, keepdim=True))
        weights = e / e.sum(dim=1, keepdim=True)
        return sum(weights[:, m, :, None, None] * outputs[m] for m in range(self.branches))


# The blog's bugs, fixed only in part (exercise sk-fix).


class _BlogFuse(_SKInit):
    """The blog's layers: the fuse has no BatchNorm, so its layer names differ from the reference's."""

    def __init__(self, channels, branches=2, groups=32, reduction=16, min_dim=32):
        super().__init__(channels, branches, groups, reduction, min_dim)
        d = max(channels // reduction, min_dim)
        self.fuse = nn.Sequential(nn.Conv2d(channels, d, 1, bias=False), nn.ReLU())


class BlogUnchanged(_BlogFuse):
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=2) * u).sum(dim=1)


class BlogSoftmaxFixedOnly(_BlogFuse):
    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class BlogNormAddedOnly(SKSoftmaxOverChannels):
    pass


class BlogNormAfterReLU(_SKInit):
    def forward(self, x):
        u = self.split(x)
        z = self.fuse[1](self.fuse[2](self.fuse[0](u.sum(dim=1).mean(dim=(2, 3), keepdim=True))))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class BlogFuseWithBias(_SKInit):  # BatchNorm added, but the conv before it given a bias too
    fuse_bias = True

    def forward(self, x):
        u = self.split(x)
        z = self.fuse(u.sum(dim=1).mean(dim=(2, 3), keepdim=True))
        return (torch.softmax(self.logits(z), dim=1) * u).sum(dim=1)


class BlogSoftmaxOverPositions(_SKInit):  # "fixed" the normalisation by pooling after a softmax over H x W
    def forward(self, x):
        u = self.split(x)
        fused = u.sum(dim=1)
        s = (torch.softmax(fused.flatten(2), dim=-1) * fused.flatten(2)).sum(-1)[:, :, None, None]
        return (torch.softmax(self.logits(self.fuse(s)), dim=1) * u).sum(dim=1)


# ---------------------------------------------------------------------------
# sk-parameters
# ---------------------------------------------------------------------------


def _count(channels, branches=2, groups=32, reduction=16, min_dim=32, *, taps=lambda m: 9, grouped=True,
           norm=2, fuse_bias=0, select_bias=0, use_branches=True):
    """The parameter count with one mistake switched on by a keyword."""
    c, m = channels, branches if use_branches else 2
    d = max(c // reduction, min_dim)
    per_group = c // groups if grouped else c
    count = sum(c * per_group * taps(i) + norm * c for i in range(m))  # the branches
    count += c * d + fuse_bias * d + norm * d  # fuse: 1x1 conv and BatchNorm
    count += d * m * c + select_bias * m * c  # select
    return count


def _parameters_counted_with_torch(channels, branches=2, groups=32, reduction=16, min_dim=32):
    """Correct: build the layers with torch.nn and count."""
    d = max(channels // reduction, min_dim)
    layers = [nn.Conv2d(channels, channels, 3, groups=groups, bias=False) for _ in range(branches)]
    layers += [nn.BatchNorm2d(channels) for _ in range(branches)]
    layers += [nn.Conv2d(channels, d, 1, bias=False), nn.BatchNorm2d(d), nn.Conv2d(d, branches * channels, 1, bias=False)]
    return sum(p.numel() for layer in layers for p in layer.parameters())


def _signature(**mistake):
    return lambda channels, branches=2, groups=32, reduction=16, min_dim=32: _count(
        channels, branches, groups, reduction, min_dim, **mistake)


WRONG: dict = {
    "sk-hidden": {
        "min instead of max": lambda channels, reduction=16, min_dim=32: min(channels // reduction, min_dim),
        "C / r rounded up": lambda channels, reduction=16, min_dim=32: max(math.ceil(channels / reduction), min_dim),
        "returns a float": lambda channels, reduction=16, min_dim=32: max(channels / reduction, min_dim),
        "L fixed at 32": lambda channels, reduction=16, min_dim=32: max(channels // reduction, 32),
        "C times r": lambda channels, reduction=16, min_dim=32: max(channels * reduction, min_dim),
    },
    "sk-parameters": {
        "dense 3x3 convolutions (groups ignored)": _signature(grouped=False),
        "the second branch counted as a 5x5 kernel": _signature(taps=lambda i: (2 * i + 3) ** 2),
        "no BatchNorm parameters": _signature(norm=0),
        "running statistics counted as parameters": _signature(norm=4),
        "a bias in the fuse and the select convolutions": _signature(fuse_bias=1, select_bias=1),
        "always two branches": _signature(use_branches=False),
    },
    "sk-module": {
        "softmax over the channels": SKSoftmaxOverChannels,
        "the fuse's BatchNorm skipped": SKFuseWithoutNorm,
        "a sigmoid per branch": SKSigmoidPerBranch,
        "max pooling instead of average": SKMaxPool,
        "descriptor pooled from the input, not from U": SKPoolsTheInput,
        "fuse sees the first branch only": SKFirstBranchOnly,
        "select outputs read as (C, M)": SKInterleavedSelect,
        "dilations 1, 2, 4 instead of 1, 2, 3": SKDoublingDilation,
        "equal weights, no select": SKEqualMixing,
        "writes its output into the input": SKInPlace,
    },
    "sk-fix": {
        "the blog's code unchanged": BlogUnchanged,
        "fixed the softmax, kept the fuse without BatchNorm": BlogSoftmaxFixedOnly,
        "added the BatchNorm, kept the softmax over channels": BlogNormAddedOnly,
        "BatchNorm after the ReLU": BlogNormAfterReLU,
        "a bias before the BatchNorm": BlogFuseWithBias,
        "softmax over the positions": BlogSoftmaxOverPositions,
    },
}
RIGHT: dict = {
    "sk-hidden": {"int() of a true division": lambda channels, reduction=16, min_dim=32: max(int(channels / reduction),
                                                                                           min_dim)},
    "sk-parameters": {"build the layers and count": _parameters_counted_with_torch},
    "sk-module": {"a list of branches and a hand-written softmax": SKCorrectExplicit},
}
