"""Wrong (and differently-right) answers to the exercises of cSE, sSE and scSE (chapter 04).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# scse-sse-forward: x * sigmoid(W_sq * x), one gate per position
# ---------------------------------------------------------------------------


class _SSEInit(nn.Module):
    """The given __init__ of the sSE exercise."""

    def __init__(self, channels):
        super().__init__()
        self.channels = channels
        self.squeeze = nn.Conv2d(channels, 1, kernel_size=1)


class SSESoftmaxOverPositions(_SSEInit):  # the gates compete: they sum to 1 over the map
    def forward(self, x):
        q = self.squeeze(x)
        return x * torch.softmax(q.flatten(1), dim=1).view_as(q)


class SSENoSigmoid(_SSEInit):
    def forward(self, x):
        return x * self.squeeze(x)


class SSEOneGatePerImage(_SSEInit):  # the gates averaged over the positions: a single number per image
    def forward(self, x):
        return x * torch.sigmoid(self.squeeze(x)).mean(dim=(2, 3), keepdim=True)


class SSEIgnoresBias(_SSEInit):
    def forward(self, x):
        return x * torch.sigmoid(F.conv2d(x, self.squeeze.weight))


class SSEResidual(_SSEInit):
    def forward(self, x):
        return x + x * torch.sigmoid(self.squeeze(x))


class SSEReturnsGate(_SSEInit):  # the map itself, (B, 1, H, W), not the recalibrated input
    def forward(self, x):
        return torch.sigmoid(self.squeeze(x))


class SSEChannelMean(_SSEInit):  # squeezes by averaging the channels: the learned W_sq is never used
    def forward(self, x):
        return x * torch.sigmoid(x.mean(dim=1, keepdim=True)) + 0 * self.squeeze.weight.sum()


class SSEHardGate(_SSEInit):  # a 0/1 mask: right where the gate is near 0 or 1, no gradient to W_sq
    def forward(self, x):
        return x * (self.squeeze(x) > 0).to(x.dtype)


class SSEDetachedGate(_SSEInit):  # right values, no gradient to the convolution
    def forward(self, x):
        return x * torch.sigmoid(self.squeeze(x)).detach()


class SSEInPlace(_SSEInit):
    def forward(self, x):
        gate = torch.sigmoid(self.squeeze(x))
        return x.mul_(gate) if not x.requires_grad else x * gate.detach() * 0 + x * gate


class SSECorrectEinsum(_SSEInit):  # correct, written differently
    def forward(self, x):
        q = torch.einsum("bchw,c->bhw", x, self.squeeze.weight.view(-1)) + self.squeeze.bias
        return x * (1 / (1 + torch.exp(-q)))[:, None]


# ---------------------------------------------------------------------------
# scse-forward and scse-fix: x * sigma(z^) (+ or max) x * sigma(q)
# ---------------------------------------------------------------------------


class _SCSEInit(nn.Module):
    """The given __init__ of the scSE exercise."""

    def __init__(self, channels, reduction=2, aggregation="sum"):
        super().__init__()
        hidden = channels // reduction
        self.channels = channels
        self.aggregation = aggregation
        self.cse = nn.ModuleDict({"down": nn.Linear(channels, hidden), "up": nn.Linear(hidden, channels)})
        self.sse = nn.ModuleDict({"squeeze": nn.Conv2d(channels, 1, kernel_size=1)})

    def channel_gate(self, x):  # sigma(z^): (B, C, 1, 1)
        return torch.sigmoid(self.cse.up(torch.relu(self.cse.down(x.mean(dim=(2, 3))))))[:, :, None, None]

    def spatial_gate(self, x):  # sigma(q): (B, 1, H, W)
        return torch.sigmoid(self.sse.squeeze(x))

    def combine(self, a, b):
        return torch.maximum(a, b) if self.aggregation == "max" else a + b


class SCSEProduct(_SCSEInit):  # the two recalibrated maps multiplied: x appears twice
    def forward(self, x):
        return (x * self.channel_gate(x)) * (x * self.spatial_gate(x))


class SCSEAlwaysSum(_SCSEInit):  # ignores aggregation="max"
    def forward(self, x):
        return x * self.channel_gate(x) + x * self.spatial_gate(x)


class SCSEAlwaysMax(_SCSEInit):  # ignores aggregation="sum"
    def forward(self, x):
        return torch.maximum(x * self.channel_gate(x), x * self.spatial_gate(x))


class SCSEMean(_SCSEInit):  # the average of the two maps, half the paper's sum
    def forward(self, x):
        both = torch.stack([x * self.channel_gate(x), x * self.spatial_gate(x)])
        return both.amax(dim=0) if self.aggregation == "max" else both.mean(dim=0)


class SCSEMaxOfGates(_SCSEInit):  # max of the gates, then times x: differs from the code wherever x < 0
    def forward(self, x):
        if self.aggregation == "max":
            return x * torch.maximum(self.channel_gate(x), self.spatial_gate(x))
        return x * self.channel_gate(x) + x * self.spatial_gate(x)


class SCSEChannelMaxPool(_SCSEInit):  # cSE squeezes with the maximum instead of the average
    def forward(self, x):
        s = torch.sigmoid(self.cse.up(torch.relu(self.cse.down(x.amax(dim=(2, 3))))))[:, :, None, None]
        return self.combine(x * s, x * self.spatial_gate(x))


class SCSENoReLU(_SCSEInit):
    def forward(self, x):
        s = torch.sigmoid(self.cse.up(self.cse.down(x.mean(dim=(2, 3)))))[:, :, None, None]
        return self.combine(x * s, x * self.spatial_gate(x))


class SCSESpatialSoftmax(_SCSEInit):  # sSE's gates as a softmax over the positions
    def forward(self, x):
        q = self.sse.squeeze(x)
        gate = torch.softmax(q.flatten(1), dim=1).view_as(q)
        return self.combine(x * self.channel_gate(x), x * gate)


class SCSESequential(_SCSEInit):  # sSE sees cSE's output instead of the same input
    def forward(self, x):
        by_channel = x * self.channel_gate(x)
        return self.combine(by_channel, by_channel * self.spatial_gate(by_channel))


class SCSEResidual(_SCSEInit):  # adds the input on top, as if scSE were a residual block
    def forward(self, x):
        return x + self.combine(x * self.channel_gate(x), x * self.spatial_gate(x))


class SCSECorrectFactored(_SCSEInit):  # correct: for the sum, x * (s + q) is the same as x * s + x * q
    def forward(self, x):
        s, q = self.channel_gate(x), self.spatial_gate(x)
        if self.aggregation == "max":
            return torch.where(x * s >= x * q, x * s, x * q)
        return x * (s + q)


class _FixInit(_SCSEInit):
    """The given __init__ of the find-the-bug exercise (no aggregation argument)."""

    def __init__(self, channels, reduction=2):
        super().__init__(channels, reduction)


def _as_fix(cls):
    """The same mistake with the blog's constructor."""
    return type(cls.__name__ + "Fix", (_FixInit,), {"forward": cls.forward})


class FixKeptProduct(_FixInit):  # fixed the softmax, kept the product
    def forward(self, x):
        return (x * self.channel_gate(x)) * (x * self.spatial_gate(x))


class FixKeptSoftmax(_FixInit):  # fixed the product, kept the softmax
    def forward(self, x):
        q = self.sse.squeeze(x)
        return x * self.channel_gate(x) + x * torch.softmax(q.flatten(1), dim=1).view_as(q)


class FixSoftmaxOverChannels(_FixInit):  # a softmax over q's single channel: every gate is exactly 1
    def forward(self, x):
        return x * self.channel_gate(x) + x * torch.softmax(self.sse.squeeze(x), dim=1)


class FixProductOfGates(_FixInit):  # multiplies the gates, not the maps: x * s * q
    def forward(self, x):
        return x * self.channel_gate(x) * self.spatial_gate(x)


# ---------------------------------------------------------------------------
# scse-parameters: (2*C*h + h + C) + (C + 1), h = C // r
# ---------------------------------------------------------------------------


def params_weights_only(channels, reduction=2):  # the paper's count: no biases
    hidden = channels // reduction
    return 2 * channels * hidden + channels


def params_no_sse_bias(channels, reduction=2):
    hidden = channels // reduction
    return 2 * channels * hidden + hidden + channels + channels


def params_sse_to_c_channels(channels, reduction=2):  # a 1x1 convolution C -> C, not C -> 1
    hidden = channels // reduction
    return 2 * channels * hidden + hidden + channels + channels * channels + channels


def params_float_hidden(channels, reduction=2):  # h = C / r without rounding down
    hidden = channels / reduction
    return 2 * channels * hidden + hidden + channels + channels + 1


def params_cse_only(channels, reduction=2):
    hidden = channels // reduction
    return 2 * channels * hidden + hidden + channels


def params_blog_reduction(channels, reduction=16):  # the blog's default r = 16
    hidden = channels // reduction
    return 2 * channels * hidden + hidden + channels + channels + 1


def params_correct_formula(channels, reduction=2):  # correct, as one expression
    h = channels // reduction
    return h * (2 * channels + 1) + 2 * channels + 1


WRONG = {
    "scse-sse-forward": {
        "softmax over the positions": SSESoftmaxOverPositions,
        "missing sigmoid": SSENoSigmoid,
        "one gate per image": SSEOneGatePerImage,
        "ignores the bias of W_sq": SSEIgnoresBias,
        "adds the input back": SSEResidual,
        "returns the gate": SSEReturnsGate,
        "channel mean instead of W_sq": SSEChannelMean,
        "hard 0/1 gate": SSEHardGate,
        "gate detached from the graph": SSEDetachedGate,
        "changes its input in place": SSEInPlace,
    },
    "scse-forward": {
        "multiplies the two maps": SCSEProduct,
        "always the sum": SCSEAlwaysSum,
        "always the maximum": SCSEAlwaysMax,
        "average instead of sum": SCSEMean,
        "maximum of the gates, not of the maps": SCSEMaxOfGates,
        "cSE squeezes with the maximum": SCSEChannelMaxPool,
        "cSE without ReLU": SCSENoReLU,
        "sSE with a softmax over the positions": SCSESpatialSoftmax,
        "sSE after cSE, not beside it": SCSESequential,
        "adds the input back": SCSEResidual,
    },
    "scse-fix": {
        "kept the product": FixKeptProduct,
        "kept the softmax": FixKeptSoftmax,
        "softmax over the single channel": FixSoftmaxOverChannels,
        "product of the gates": FixProductOfGates,
        "the maximum (official code), not the sum": _as_fix(SCSEAlwaysMax),
        "average instead of sum": _as_fix(SCSEMean),
        "sSE after cSE, not beside it": _as_fix(SCSESequential),
    },
    "scse-parameters": {
        "weights only, no biases": params_weights_only,
        "no bias in sSE": params_no_sse_bias,
        "sSE as a 1x1 convolution to C channels": params_sse_to_c_channels,
        "h = C / r not rounded down": params_float_hidden,
        "cSE only": params_cse_only,
        "the blog's reduction of 16": params_blog_reduction,
    },
}

RIGHT = {
    "scse-sse-forward": {"einsum and a hand-written sigmoid": SSECorrectEinsum},
    "scse-forward": {"x times the summed gates": SCSECorrectFactored},
    "scse-fix": {"x times the summed gates": _as_fix(SCSECorrectFactored)},
    "scse-parameters": {"one expression": params_correct_formula},
}
