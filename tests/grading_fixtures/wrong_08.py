"""Wrong (and differently-right) answers to the exercises of deep residual shrinkage (chapter 08).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# drsn-threshold
# ---------------------------------------------------------------------------


def _shape_like(tau, x):
    return tau.reshape(*tau.shape, *[1] * (x.dim() - 2))


def threshold_signed_mean(x, alpha):  # the mean of x where the paper has the mean of |x|
    a = x.flatten(2).mean(dim=2)
    return _shape_like(alpha * (a if alpha.shape[1] > 1 else a.mean(dim=1, keepdim=True)), x)


def threshold_always_per_channel(x, alpha):  # ignores CS: each channel's own mean, broadcast to (B, C)
    return _shape_like(alpha * x.abs().flatten(2).mean(dim=2), x)


def threshold_flat(x, alpha):  # (B, C) or (B, 1): does not broadcast over x
    a = x.abs().flatten(2).mean(dim=2)
    return alpha * (a if alpha.shape[1] > 1 else a.mean(dim=1, keepdim=True))


def threshold_from_max(x, alpha):  # the largest |x| instead of the mean
    a = x.abs().flatten(2).amax(dim=2)
    return _shape_like(alpha * (a if alpha.shape[1] > 1 else a.amax(dim=1, keepdim=True)), x)


def threshold_cs_sum(x, alpha):  # CS: the sum over the channels instead of the mean
    a = x.abs().flatten(2).mean(dim=2)
    return _shape_like(alpha * (a if alpha.shape[1] > 1 else a.sum(dim=1, keepdim=True)), x)


def threshold_alpha_only(x, alpha):  # forgot the mean magnitude: tau = alpha
    return _shape_like(alpha, x)


def threshold_by_einsum(x, alpha):  # correct, written differently
    b, c = x.shape[:2]
    magnitude = x.abs().reshape(b, c, -1)
    if alpha.shape[1] == 1:
        a = magnitude.reshape(b, 1, -1).sum(dim=-1) / magnitude[0].numel()
    else:
        a = magnitude.sum(dim=-1) / magnitude.shape[-1]
    return torch.einsum("bc,bc->bc", alpha, a).reshape(b, alpha.shape[1], *[1] * (x.dim() - 2))


# ---------------------------------------------------------------------------
# drsn-shrinkage and drsn-fix: the layers of the exercise, named as in attn_edu
# ---------------------------------------------------------------------------


class _ShrinkageInit(nn.Module):
    """The given __init__ of exercise drsn-shrinkage (drsn-fix's has no channel_wise, CW only)."""

    def __init__(self, channels, channel_wise=True):
        super().__init__()
        self.channels = channels
        self.channel_wise = channel_wise
        self.scale_net = nn.Sequential(
            nn.Linear(channels, channels),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Linear(channels, channels if channel_wise else 1),
            nn.Sigmoid(),
        )

    def mean_magnitude(self, x):
        return x.abs().mean(dim=tuple(range(2, x.dim())))  # (B, C)

    def tau(self, a, alpha, x):
        tau = alpha * a if self.channel_wise else alpha * a.mean(dim=1, keepdim=True)
        return tau.reshape(*tau.shape, *[1] * (x.dim() - 2))


class ShrinkageSignedMean(_ShrinkageInit):  # GAP of x instead of |x|
    def forward(self, x):
        a = x.mean(dim=tuple(range(2, x.dim())))
        tau = self.tau(a, self.scale_net(a), x)
        return torch.sign(x) * torch.relu(x.abs() - tau)


class ShrinkageHard(_ShrinkageInit):  # hard thresholding: survivors keep their full size
    def forward(self, x):
        a = self.mean_magnitude(x)
        tau = self.tau(a, self.scale_net(a), x)
        return x * (x.abs() > tau)


class ShrinkageCSPerChannel(_ShrinkageInit):  # CS with each channel's own mean (the hybrid, one way round)
    def forward(self, x):
        a = self.mean_magnitude(x)
        tau = self.scale_net(a) * a
        tau = tau.reshape(*tau.shape, *[1] * (x.dim() - 2))
        return torch.sign(x) * torch.relu(x.abs() - tau)


class ShrinkageCWSharedMean(_ShrinkageInit):  # CW scales times the mean over all channels (the other hybrid)
    def forward(self, x):
        a = self.mean_magnitude(x)
        tau = self.scale_net(a) * a.mean(dim=1, keepdim=True)
        tau = tau.reshape(*tau.shape, *[1] * (x.dim() - 2))
        return torch.sign(x) * torch.relu(x.abs() - tau)


class ShrinkageNoSigmoid(_ShrinkageInit):  # alpha from the FC layers without the sigmoid
    def forward(self, x):
        a = self.mean_magnitude(x)
        tau = self.tau(a, self.scale_net[:-1](a), x)
        return torch.sign(x) * torch.relu(x.abs() - tau)


class ShrinkageReLU(_ShrinkageInit):  # ReLU(x - tau): negative features are lost
    def forward(self, x):
        a = self.mean_magnitude(x)
        return torch.relu(x - self.tau(a, self.scale_net(a), x))


class ShrinkageNoSign(_ShrinkageInit):  # max(|x| - tau, 0) without the sign
    def forward(self, x):
        a = self.mean_magnitude(x)
        return torch.relu(x.abs() - self.tau(a, self.scale_net(a), x))


class ShrinkageAlphaOnly(_ShrinkageInit):  # tau = alpha, without the mean magnitude
    def forward(self, x):
        a = self.mean_magnitude(x)
        alpha = self.scale_net(a)
        tau = alpha.reshape(*alpha.shape, *[1] * (x.dim() - 2))
        return torch.sign(x) * torch.relu(x.abs() - tau)


class ShrinkageInPlace(_ShrinkageInit):
    def forward(self, x):
        a = self.mean_magnitude(x)
        tau = self.tau(a, self.scale_net(a), x)
        if x.requires_grad:
            return torch.sign(x) * torch.relu(x.abs() - tau)
        shrunk = torch.relu(x.abs() - tau)
        return x.sign_().mul_(shrunk)


class ShrinkageCorrectWhere(_ShrinkageInit):  # correct, written case by case as in Eq. 9
    def forward(self, x):
        b, c = x.shape[:2]
        a = x.abs().reshape(b, c, -1).mean(dim=-1)
        alpha = self.scale_net(a)
        tau = alpha * a if self.channel_wise else alpha * a.mean(dim=1, keepdim=True)
        tau = tau.view(b, -1, *[1] * (x.dim() - 2)).expand_as(x)
        return torch.where(x > tau, x - tau, torch.where(x < -tau, x + tau, torch.zeros_like(x)))


class _BlogInit(nn.Module):
    """The constructor of exercise drsn-fix (CW only)."""

    def __init__(self, channels):
        super().__init__()
        self.scale_net = nn.Sequential(
            nn.Linear(channels, channels), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Linear(channels, channels), nn.Sigmoid(),
        )


class BlogUnchanged(_BlogInit):  # the blog's code as posted
    def forward(self, x):
        average = x.mean(dim=2)
        tau = (self.scale_net(average) * average).unsqueeze(2)
        return x * (x.abs() > tau)


class BlogPoolingFixedOnly(_BlogInit):  # |x| pooled, still hard thresholding
    def forward(self, x):
        average = x.abs().mean(dim=2)
        tau = (self.scale_net(average) * average).unsqueeze(2)
        return x * (x.abs() > tau)


class BlogThresholdFixedOnly(_BlogInit):  # soft thresholding, still the signed mean
    def forward(self, x):
        average = x.mean(dim=2)
        tau = (self.scale_net(average) * average).unsqueeze(2)
        return torch.sign(x) * torch.relu(x.abs() - tau)


class BlogAbsOfSignedMean(_BlogInit):  # |mean(x)| instead of mean(|x|): positive, but too small
    def forward(self, x):
        average = x.mean(dim=2).abs()
        tau = (self.scale_net(average) * average).unsqueeze(2)
        return torch.sign(x) * torch.relu(x.abs() - tau)


class BlogScaleFromSignedMean(_BlogInit):  # alpha from the signed mean, tau from |x|
    def forward(self, x):
        magnitude = x.abs().mean(dim=2)
        tau = (self.scale_net(x.mean(dim=2)) * magnitude).unsqueeze(2)
        return torch.sign(x) * torch.relu(x.abs() - tau)


class BlogReLU(_BlogInit):  # pooling fixed, then ReLU(x - tau)
    def forward(self, x):
        average = x.abs().mean(dim=2)
        tau = (self.scale_net(average) * average).unsqueeze(2)
        return torch.relu(x - tau)


# ---------------------------------------------------------------------------
# drsn-rsbu
# ---------------------------------------------------------------------------


class _RSBUInit(nn.Module):
    """The layers of exercise drsn-rsbu, with a correct shrinkage at the end of the branch."""

    def __init__(self, in_channels, out_channels, stride=1, channel_wise=True):
        super().__init__()
        self.stride, self.extra = stride, out_channels - in_channels
        self.residual = nn.Sequential(
            nn.BatchNorm1d(in_channels),
            nn.ReLU(),
            nn.Conv1d(in_channels, out_channels, 3, stride, padding=1),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(),
            nn.Conv1d(out_channels, out_channels, 3, padding=1),
            ShrinkageCorrectWhere(out_channels, channel_wise),
        )

    def identity(self, x, before=None):
        before = self.extra // 2 if before is None else before
        return F.pad(x[..., :: self.stride], (0, 0, before, self.extra - before))


class RSBUNoIdentity(_RSBUInit):  # the residual branch alone
    def forward(self, x):
        return self.residual(x)


class RSBUPaddedAfter(_RSBUInit):  # all the zero channels after the input's
    def forward(self, x):
        return self.residual(x) + self.identity(x, before=0)


class RSBUExtraBefore(_RSBUInit):  # for an odd number of new channels, the extra one before
    def forward(self, x):
        return self.residual(x) + self.identity(x, before=self.extra - self.extra // 2)


class RSBUShrinkAfterSum(_RSBUInit):  # the shrinkage applied after the identity is added
    def forward(self, x):
        return self.residual[-1](self.residual[:-1](x) + self.identity(x))


class RSBUReLUAfterSum(_RSBUInit):  # a post-activation habit: ReLU after the sum
    def forward(self, x):
        return torch.relu(self.residual(x) + self.identity(x))


class RSBUAveragePooledIdentity(_RSBUInit):  # the identity averaged over windows of `stride` positions
    def forward(self, x):
        identity = F.avg_pool1d(x, self.stride, self.stride, ceil_mode=True) if self.stride > 1 else x
        identity = F.pad(identity, (0, 0, self.extra // 2, self.extra - self.extra // 2))
        return self.residual(x) + identity


class RSBUOffsetIdentity(_RSBUInit):  # keeps every stride-th position starting from the last one
    def forward(self, x):
        kept = x.flip(-1)[..., :: self.stride].flip(-1)
        return self.residual(x) + F.pad(kept, (0, 0, self.extra // 2, self.extra - self.extra // 2))


class RSBUCorrectCat(_RSBUInit):  # correct: a 1-wide average pool and concatenated zeros
    def forward(self, x):
        kept = F.avg_pool1d(x, kernel_size=1, stride=self.stride)
        b, _, length = kept.shape
        before = kept.new_zeros(b, self.extra // 2, length)
        after = kept.new_zeros(b, self.extra - self.extra // 2, length)
        return self.residual(x) + torch.cat([before, kept, after], dim=1)


# ---------------------------------------------------------------------------
# drsn-parameters
# ---------------------------------------------------------------------------


def _count(channels, channel_wise=True, *, norm=2, biases=True, hidden=None, use_kind=True):
    """The parameter count with one mistake switched on by a keyword."""
    c = channels
    h = c if hidden is None else hidden
    out = c if (channel_wise or not use_kind) else 1
    b = 1 if biases else 0
    return (c * h + b * h) + norm * h + (h * out + b * out)


def _parameters_counted_with_torch(channels, channel_wise=True):
    """Correct: build the layers with torch.nn and count."""
    layers = [nn.Linear(channels, channels), nn.BatchNorm1d(channels), nn.Linear(channels, channels if channel_wise else 1)]
    return sum(p.numel() for m in layers for p in m.parameters())


WRONG: dict = {
    "drsn-threshold": {
        "mean of x instead of |x|": threshold_signed_mean,
        "always per channel (CS ignored)": threshold_always_per_channel,
        "shape (B, C), does not broadcast over x": threshold_flat,
        "largest |x| instead of the mean": threshold_from_max,
        "CS: sum over the channels": threshold_cs_sum,
        "tau = alpha": threshold_alpha_only,
    },
    "drsn-parameters": {
        "no BatchNorm parameters": lambda channels, channel_wise=True: _count(channels, channel_wise, norm=0),
        "running statistics counted as parameters": lambda channels, channel_wise=True: _count(
            channels, channel_wise, norm=4),
        "no biases": lambda channels, channel_wise=True: _count(channels, channel_wise, biases=False),
        "ignores channel_wise": lambda channels, channel_wise=True: _count(channels, channel_wise, use_kind=False),
        "an SE-style bottleneck of C // 16": lambda channels, channel_wise=True: _count(
            channels, channel_wise, hidden=max(channels // 16, 1)),
    },
    "drsn-shrinkage": {
        "mean of x instead of |x|": ShrinkageSignedMean,
        "hard thresholding": ShrinkageHard,
        "CS with each channel's own mean": ShrinkageCSPerChannel,
        "CW scales times the mean over all channels": ShrinkageCWSharedMean,
        "no sigmoid": ShrinkageNoSigmoid,
        "ReLU(x - tau)": ShrinkageReLU,
        "no sign": ShrinkageNoSign,
        "tau = alpha": ShrinkageAlphaOnly,
        "changes its input in place": ShrinkageInPlace,
    },
    "drsn-fix": {
        "the blog's code unchanged": BlogUnchanged,
        "fixed the pooling only": BlogPoolingFixedOnly,
        "fixed the thresholding only": BlogThresholdFixedOnly,
        "|mean(x)| instead of mean(|x|)": BlogAbsOfSignedMean,
        "scale from the signed mean": BlogScaleFromSignedMean,
        "ReLU(x - tau)": BlogReLU,
    },
    "drsn-rsbu": {
        "no identity": RSBUNoIdentity,
        "zero channels all after": RSBUPaddedAfter,
        "odd extra channel before": RSBUExtraBefore,
        "shrinkage after the sum": RSBUShrinkAfterSum,
        "ReLU after the sum": RSBUReLUAfterSum,
        "identity averaged over stride positions": RSBUAveragePooledIdentity,
        "identity positions counted from the end": RSBUOffsetIdentity,
    },
}

RIGHT: dict = {
    "drsn-threshold": {"sums and einsum": threshold_by_einsum},
    "drsn-parameters": {"build the layers and count": _parameters_counted_with_torch},
    "drsn-shrinkage": {"Eq. 9 case by case": ShrinkageCorrectWhere},
    "drsn-rsbu": {"a 1-wide average pool and concatenated zeros": RSBUCorrectCat},
}
