"""Deliberately wrong answers, each with one mistake a student could make.

``WRONG[exercise_id]`` maps a short description of the mistake to the wrong
answer. The tests require the grader to catch every one: the result must
not pass and must score below full marks. ``RIGHT`` holds different but
correct answers, which must get full marks (the grader must not be too
strict about how an answer is written).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------
# SE: the module of exercise se-forward (and, without biases, se-fix)
# ---------------------------------------------------------------------------


class _SEInit(nn.Module):
    """The given __init__ of the SE exercise."""

    def __init__(self, channels, reduction=16, bias=True):
        super().__init__()
        hidden = channels // reduction
        self.channels = channels
        self.reduction = reduction
        self.down = nn.Linear(channels, hidden, bias=bias)
        self.up = nn.Linear(hidden, channels, bias=bias)

    def gate_logits(self, z):
        return self.up(torch.relu(self.down(z)))


class SENoSigmoid(_SEInit):
    def forward(self, x):
        return x * self.gate_logits(x.mean(dim=(2, 3)))[:, :, None, None]


class SEMaxPool(_SEInit):
    def forward(self, x):
        return x * torch.sigmoid(self.gate_logits(x.amax(dim=(2, 3))))[:, :, None, None]


class SESoftmax(_SEInit):
    def forward(self, x):
        return x * torch.softmax(self.gate_logits(x.mean(dim=(2, 3))), dim=1)[:, :, None, None]


class SESumPool(_SEInit):  # the 1 / (H W) of Eq. 2 is missing
    def forward(self, x):
        return x * torch.sigmoid(self.gate_logits(x.sum(dim=(2, 3))))[:, :, None, None]


class SENoReLU(_SEInit):
    def forward(self, x):
        s = torch.sigmoid(self.up(self.down(x.mean(dim=(2, 3)))))
        return x * s[:, :, None, None]


class SEPoolOverHeightOnly(_SEInit):  # the wrong axis: a gate per column
    def forward(self, x):
        z = x.mean(dim=2)  # (B, C, W)
        s = torch.sigmoid(self.up(torch.relu(self.down(z.transpose(1, 2))))).transpose(1, 2)  # (B, C, W)
        return x * s[:, :, None, :]


class SEResidual(_SEInit):
    def forward(self, x):
        return x + x * torch.sigmoid(self.gate_logits(x.mean(dim=(2, 3))))[:, :, None, None]


class SEInPlace(_SEInit):
    def forward(self, x):
        s = torch.sigmoid(self.gate_logits(x.mean(dim=(2, 3))))[:, :, None, None]
        return x.mul_(s) if not x.requires_grad else x * s.detach() * 0 + x * s


class SEDetachedGate(_SEInit):  # right values, no gradient to the parameters
    def forward(self, x):
        return x * torch.sigmoid(self.gate_logits(x.mean(dim=(2, 3)))).detach()[:, :, None, None]


class SEFirstSampleGate(_SEInit):  # one gate for the whole batch
    def forward(self, x):
        s = torch.sigmoid(self.gate_logits(x.mean(dim=(2, 3))))
        return x * s[:1, :, None, None]


class SEIgnoresBias(_SEInit):
    def forward(self, x):
        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(F.linear(torch.relu(F.linear(z, self.down.weight)), self.up.weight))
        return x * s[:, :, None, None]


class SEFloat32Only(_SEInit):  # values right in float32, dtype not kept
    def forward(self, x):
        x = x.float()
        w = {k: v.float() for k, v in self.state_dict().items()}
        z = x.mean(dim=(2, 3))
        h = torch.relu(F.linear(z, w["down.weight"], w.get("down.bias")))
        s = torch.sigmoid(F.linear(h, w["up.weight"], w.get("up.bias")))
        return x * s[:, :, None, None]


class SEHardSigmoid(_SEInit):
    def forward(self, x):
        return x * F.hardsigmoid(self.gate_logits(x.mean(dim=(2, 3))))[:, :, None, None]


class SECorrectEinsum(_SEInit):  # correct, written differently
    def forward(self, x):
        b, c, h, w = x.shape
        z = x.reshape(b, c, h * w).sum(-1) / (h * w)
        hidden = torch.clamp(z @ self.down.weight.T + (self.down.bias if self.down.bias is not None else 0), min=0)
        s = 1 / (1 + torch.exp(-(hidden @ self.up.weight.T + (self.up.bias if self.up.bias is not None else 0))))
        return torch.einsum("bchw,bc->bchw", x, s)


class _SEBlogInit(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.down = nn.Linear(channels, channels // reduction, bias=False)
        self.up = nn.Linear(channels // reduction, channels, bias=False)


def _blog(cls):
    """The same mistake in the blog's bias-free block."""
    return type(cls.__name__ + "Blog", (_SEBlogInit,), {"forward": cls.forward, "gate_logits": _SEInit.gate_logits})


# ---------------------------------------------------------------------------
# ECA
# ---------------------------------------------------------------------------


def _psi(channels, gamma=2, b=1):
    t = int(abs(math.log2(channels) / gamma + b / gamma))
    return t if t % 2 else t + 1


class _ECAInit(nn.Module):
    def __init__(self, channels, k_size=None, gamma=2, b=1):
        super().__init__()
        if k_size is None:
            k_size = _psi(channels, gamma, b)
        self.channels = channels
        self.k_size = k_size
        self.conv = nn.Conv1d(1, 1, kernel_size=k_size, padding=(k_size - 1) // 2, bias=False)


class ECANoSigmoid(_ECAInit):
    def forward(self, x):
        y = self.conv(x.mean(dim=(2, 3))[:, None, :])
        return x * y[:, 0, :, None, None]


class ECAMaxPool(_ECAInit):
    def forward(self, x):
        y = self.conv(x.amax(dim=(2, 3))[:, None, :])
        return x * torch.sigmoid(y)[:, 0, :, None, None]


class ECASpatialConv(_ECAInit):  # the blog's bug: pools channels, convolves positions
    def forward(self, x):
        b, c, h, w = x.shape
        y = self.conv(x.mean(dim=1).view(b, 1, h * w))
        return x * torch.sigmoid(y).view(b, 1, h, w)


class ECANoConv(_ECAInit):  # SE without excitation
    def forward(self, x):
        return x * torch.sigmoid(x.mean(dim=(2, 3)))[:, :, None, None] + 0 * self.conv.weight.sum()


class ECAFlippedKernel(_ECAInit):  # convolution instead of cross-correlation
    def forward(self, x):
        y = F.conv1d(x.mean(dim=(2, 3))[:, None, :], self.conv.weight.flip(-1), padding=(self.k_size - 1) // 2)
        return x * torch.sigmoid(y)[:, 0, :, None, None]


class ECASoftmax(_ECAInit):
    def forward(self, x):
        y = self.conv(x.mean(dim=(2, 3))[:, None, :])
        return x * torch.softmax(y, dim=-1)[:, 0, :, None, None]


class ECACircularPadding(_ECAInit):  # wraps around the channel ends instead of zero padding
    def forward(self, x):
        y = x.mean(dim=(2, 3))[:, None, :]
        p = (self.k_size - 1) // 2
        y = F.conv1d(F.pad(y, (p, p), mode="circular"), self.conv.weight)
        return x * torch.sigmoid(y)[:, 0, :, None, None]


class ECAInPlace(_ECAInit):
    def forward(self, x):
        y = torch.sigmoid(self.conv(x.mean(dim=(2, 3))[:, None, :]))[:, 0, :, None, None]
        return x.mul_(y) if not x.requires_grad else x * y


class ECACorrectUnfold(_ECAInit):  # correct, with explicit windows
    def forward(self, x):
        y = x.mean(dim=(2, 3))
        p = (self.k_size - 1) // 2
        windows = F.pad(y, (p, p)).unfold(1, self.k_size, 1)  # (B, C, k)
        logits = (windows * self.conv.weight[0, 0]).sum(-1)
        return x * torch.sigmoid(logits)[:, :, None, None]


class _ECABlogInit(nn.Module):
    def __init__(self, channels, gamma=2, b=1):
        super().__init__()
        k = _psi(channels, gamma, b)
        self.k_size = k
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)


class ECABlogEvenKernel(nn.Module):  # fixed the axis but kept the even kernel sizes
    def __init__(self, channels, gamma=2, b=1):
        super().__init__()
        t = int(abs((math.log2(channels) + b) / gamma))
        k = t if t % 2 == 0 else t + 1
        self.conv = nn.Conv1d(1, 1, kernel_size=k, padding=(k - 1) // 2, bias=False)

    def forward(self, x):
        b, c, h, w = x.shape
        y = self.conv(x.mean(dim=(2, 3)).view(b, 1, c))
        return x * torch.sigmoid(y[..., :c]).view(b, c, 1, 1)


def _eca_blog(cls):
    return type(cls.__name__ + "Blog", (_ECABlogInit,), {"forward": cls.forward})


# ---------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------


def sdpa_no_scale(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


def sdpa_scale_by_d(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


def sdpa_softmax_over_queries(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -2) @ v


def sdpa_mask_inverted(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


def sdpa_mask_zeroed(q, k, v, mask=None):  # zero scores still get weight
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, 0.0) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


def sdpa_float_mask_ignored(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None and mask.dtype == torch.bool:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, -1) @ v


def sdpa_scale_by_keys(q, k, v, mask=None):  # sqrt(L_k) instead of sqrt(d_k)
    scores = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-2])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1) @ v


def sdpa_weights_returned(q, k, v, mask=None):  # returns the weights, not the output
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask
    return torch.softmax(scores, -1)


def sdpa_correct_manual_softmax(q, k, v, mask=None):  # correct, with a stable softmax by hand
    scores = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = torch.where(mask, scores, float("-inf")) if mask.dtype == torch.bool else scores + mask
    scores = scores - scores.amax(dim=-1, keepdim=True)
    e = scores.exp()
    return (e / e.sum(dim=-1, keepdim=True)) @ v


WRONG = {
    "se-forward": {
        "missing sigmoid": SENoSigmoid,
        "max pooling instead of average": SEMaxPool,
        "softmax over the channels": SESoftmax,
        "sum instead of mean (missing 1/(HW))": SESumPool,
        "missing ReLU": SENoReLU,
        "pooling over one spatial axis only": SEPoolOverHeightOnly,
        "adds a residual": SEResidual,
        "changes its input in place": SEInPlace,
        "detached gate (no gradients)": SEDetachedGate,
        "one gate for the whole batch": SEFirstSampleGate,
        "ignores the biases": SEIgnoresBias,
        "always returns float32": SEFloat32Only,
        "hard sigmoid": SEHardSigmoid,
    },
    "se-fix": {
        "kept the softmax": _blog(SESoftmax),
        "kept the max pooling": _blog(SEMaxPool),
        "missing sigmoid": _blog(SENoSigmoid),
        "missing ReLU": _blog(SENoReLU),
        "sum instead of mean": _blog(SESumPool),
        "the wrong axis": _blog(SEPoolOverHeightOnly),
    },
    "eca-forward": {
        "missing sigmoid": ECANoSigmoid,
        "max pooling instead of average": ECAMaxPool,
        "convolves positions instead of channels": ECASpatialConv,
        "no convolution": ECANoConv,
        "flipped kernel": ECAFlippedKernel,
        "softmax over the channels": ECASoftmax,
        "circular padding": ECACircularPadding,
        "changes its input in place": ECAInPlace,
    },
    "eca-fix": {
        "kept the wrong axis": _eca_blog(ECASpatialConv),
        "kept the even kernels": ECABlogEvenKernel,
        "missing sigmoid": _eca_blog(ECANoSigmoid),
        "max pooling": _eca_blog(ECAMaxPool),
        "flipped kernel": _eca_blog(ECAFlippedKernel),
    },
    "se-squeeze": {
        "sum instead of mean": lambda x: x.sum(dim=tuple(range(2, x.dim())), keepdim=True),
        "max instead of mean": lambda x: x.amax(dim=tuple(range(2, x.dim())), keepdim=True),
        "drops the pooled axes": lambda x: x.mean(dim=tuple(range(2, x.dim()))),
        "only images (dims 2 and 3)": lambda x: x.mean(dim=(2, 3), keepdim=True),
        "pools over the channels too": lambda x: x.mean(dim=tuple(range(1, x.dim())), keepdim=True),
        "changes its input in place": lambda x: x.div_(1).mean(dim=tuple(range(2, x.dim())), keepdim=True)
        if not x.requires_grad
        else x.mean(dim=tuple(range(2, x.dim())), keepdim=True).detach(),
    },
    "se-parameters": {
        "no biases": lambda channels, reduction=16, bias=True: 2 * channels * (channels // reduction),
        "true division": lambda channels, reduction=16, bias=True: int(
            2 * channels * (channels / reduction) + (channels / reduction + channels) * bias
        ),
        "one layer only": lambda channels, reduction=16, bias=True: channels * (channels // reduction)
        + ((channels // reduction) if bias else 0),
        "ignores bias=False": lambda channels, reduction=16, bias=True: 2 * channels * (channels // reduction)
        + channels // reduction
        + channels,
    },
    "eca-kernel-size": {
        "round instead of odd": lambda channels, gamma=2, b=1: round(math.log2(channels) / gamma + b / gamma),
        "even kernels": lambda channels, gamma=2, b=1: (lambda t: t if t % 2 == 0 else t + 1)(
            int(math.log2(channels) / gamma + b / gamma)
        ),
        "rounds halfway cases down": lambda channels, gamma=2, b=1: (lambda t: t if t % 2 else max(1, t - 1))(
            int(math.log2(channels) / gamma + b / gamma)
        ),
        "ignores gamma and b": lambda channels, gamma=2, b=1: (lambda t: t if t % 2 else t + 1)(
            int(math.log2(channels) / 2 + 0.5)
        ),
        "returns a float": lambda channels, gamma=2, b=1: float(_psi(channels, gamma, b)) + 0.5,
    },
    "eca-cost": {
        "MACs without the batch": lambda channels, batch=1: (_psi(channels), channels * _psi(channels)),
        "parameters of SE": lambda channels, batch=1: (2 * channels * (channels // 16), batch * channels * _psi(channels)),
        "MACs without padding": lambda channels, batch=1: (
            _psi(channels),
            batch * (channels - _psi(channels) + 1) * _psi(channels),
        ),
        "a list, not a tuple of two": lambda channels, batch=1: [_psi(channels)],
    },
    "sdpa": {
        "missing scale": sdpa_no_scale,
        "scaled by d instead of sqrt(d)": sdpa_scale_by_d,
        "softmax over the queries": sdpa_softmax_over_queries,
        "mask inverted": sdpa_mask_inverted,
        "masked scores set to 0": sdpa_mask_zeroed,
        "float mask ignored": sdpa_float_mask_ignored,
        "scaled by sqrt(L_k)": sdpa_scale_by_keys,
        "returns the weights": sdpa_weights_returned,
    },
    "sdpa-fix": {
        "kept the softmax over the queries": sdpa_softmax_over_queries,
        "dropped the scale": sdpa_no_scale,
        "mask inverted": sdpa_mask_inverted,
        "masked scores set to 0": sdpa_mask_zeroed,
        "scaled by d": sdpa_scale_by_d,
    },
    "causal-mask": {
        "upper triangle": lambda length: torch.ones(length, length, dtype=torch.bool).triu(),
        "strictly below the diagonal": lambda length: torch.ones(length, length, dtype=torch.bool).tril(-1),
        "float instead of bool": lambda length: torch.ones(length, length).tril(),
        "True where masked out": lambda length: ~torch.ones(length, length, dtype=torch.bool).tril(),
    },
    "attention-flops": {
        "matrix products only": lambda length, dim: 4 * length * length * dim,
        "MACs, not FLOPs": lambda length, dim: 2 * length * length * dim + length * length + length * (3 * length - 1),
        "no scaling": lambda length, dim: 4 * length * length * dim + length * (3 * length - 1),
        "softmax as 3n": lambda length, dim: 4 * length * length * dim + length * length + 3 * length * length,
    },
}

RIGHT = {
    "se-forward": {"einsum and a hand-written sigmoid": SECorrectEinsum},
    "eca-forward": {"explicit windows": ECACorrectUnfold},
    "sdpa": {"hand-written stable softmax": sdpa_correct_manual_softmax},
    "se-squeeze": {"flatten then mean": lambda x: x.flatten(2).mean(-1).reshape(*x.shape[:2], *([1] * (x.dim() - 2)))},
    "eca-kernel-size": {"loop over odd numbers": lambda channels, gamma=2, b=1: min(
        range(1, 64, 2), key=lambda k: (abs(k - (math.log2(channels) + b) / gamma), -k)
    )},
}

# Chapters 04-08 and 10 keep their wrong answers in files of their own.
from . import wrong_04, wrong_05, wrong_06, wrong_07, wrong_08, wrong_10  # noqa: E402

for _chapter in (wrong_04, wrong_05, wrong_06, wrong_07, wrong_08, wrong_10):
    assert not set(_chapter.WRONG) & set(WRONG) and not set(_chapter.RIGHT) & set(RIGHT), _chapter.__name__
    WRONG.update(_chapter.WRONG)
    RIGHT.update(_chapter.RIGHT)
