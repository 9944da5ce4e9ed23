"""Wrong (and differently-right) answers to the exercises of the non-local block (chapter 10).

Merged into wrong_implementations.WRONG and RIGHT; see that module
for what the tests require of them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# ---------------------------------------------------------------------------
# nl-affinity-bytes
# ---------------------------------------------------------------------------


def _keys(height, width, subsample, rounding=math.ceil):
    return rounding(height / 2) * rounding(width / 2) if subsample else height * width


def bytes_rounded_down(height, width, subsample=False, itemsize=4):  # floor, as the official code's pooling
    return height * width * _keys(height, width, subsample, math.floor) * itemsize


def bytes_pooled_queries_too(height, width, subsample=False, itemsize=4):  # N' x N' instead of N x N'
    return _keys(height, width, subsample) ** 2 * itemsize


def bytes_ignores_itemsize(height, width, subsample=False, itemsize=4):  # counts numbers, not bytes
    return height * width * _keys(height, width, subsample)


def bytes_per_side(height, width, subsample=False, itemsize=4):  # (H W) x (H W / 2): pooled one side only
    return height * width * (height * width // 2 if subsample else height * width) * itemsize


def bytes_linear(height, width, subsample=False, itemsize=4):  # N, not N x N'
    return _keys(height, width, subsample) * itemsize


def bytes_by_loop(height, width, subsample=False, itemsize=4):  # correct: count the windows one by one
    rows = range(0, height, 2) if subsample else range(height)
    cols = range(0, width, 2) if subsample else range(width)
    return sum(1 for _ in rows for _ in cols) * height * width * itemsize


# ---------------------------------------------------------------------------
# nl-embedded-gaussian
# ---------------------------------------------------------------------------


def _flat(t):
    return t.flatten(2).transpose(1, 2)  # (B, C', H, W) -> (B, N, C')


def eg_softmax_over_queries(theta, phi, g):  # normalised over i instead of j
    weights = (_flat(theta) @ _flat(phi).transpose(1, 2)).softmax(dim=1)
    return (weights @ _flat(g)).transpose(1, 2).reshape(theta.shape)


def eg_scaled(theta, phi, g):  # the transformer's 1/sqrt(d): not Eq. 3
    scores = _flat(theta) @ _flat(phi).transpose(1, 2) / math.sqrt(theta.shape[1])
    return (scores.softmax(dim=-1) @ _flat(g)).transpose(1, 2).reshape(theta.shape)


def eg_dot_product(theta, phi, g):  # the dot-product instance: f / N, no softmax
    scores = _flat(theta) @ _flat(phi).transpose(1, 2)
    return (scores / scores.shape[-1] @ _flat(g)).transpose(1, 2).reshape(theta.shape)


def eg_no_transpose_back(theta, phi, g):  # (B, N, C') reshaped straight to (B, C', H, W)
    weights = (_flat(theta) @ _flat(phi).transpose(1, 2)).softmax(dim=-1)
    return (weights @ _flat(g)).reshape(theta.shape)


def eg_keys_as_values(theta, phi, g):  # sums phi instead of g
    weights = (_flat(theta) @ _flat(phi).transpose(1, 2)).softmax(dim=-1)
    return (weights @ _flat(phi)).transpose(1, 2).reshape(theta.shape)


def eg_einsum(theta, phi, g):  # correct, with einsum and an explicit exp / sum
    scores = torch.einsum("bci,bcj->bij", theta.flatten(2), phi.flatten(2))
    f = torch.exp(scores - scores.amax(dim=-1, keepdim=True))
    y = torch.einsum("bij,bcj->bci", f / f.sum(dim=-1, keepdim=True), g.flatten(2))
    return y.reshape(theta.shape)


# ---------------------------------------------------------------------------
# nl-block and nl-fix: the module
# ---------------------------------------------------------------------------


class _Init(nn.Module):
    def __init__(self, channels, reduction=2):
        super().__init__()
        inner = channels // reduction
        self.theta = nn.Conv2d(channels, inner, 1)
        self.phi = nn.Conv2d(channels, inner, 1)
        self.g = nn.Conv2d(channels, inner, 1)
        self.out = nn.Conv2d(inner, channels, 1)
        self.norm = nn.BatchNorm2d(channels)
        nn.init.zeros_(self.norm.weight)

    def weights(self, x, dim=-1, scale=1.0):
        q, k = _flat(self.theta(x)), _flat(self.phi(x))
        return (q @ k.transpose(1, 2) * scale).softmax(dim=dim)

    def finish(self, x, y):
        return self.norm(self.out(y.transpose(1, 2).reshape(x.shape[0], -1, *x.shape[2:]))) + x


class NLSoftmaxOverQueries(_Init):
    def forward(self, x):
        return self.finish(x, self.weights(x, dim=1) @ _flat(self.g(x)))


class NLNoResidual(_Init):
    def forward(self, x):
        return self.finish(x, self.weights(x) @ _flat(self.g(x))) - x


class NLNoNorm(_Init):
    def forward(self, x):
        y = self.weights(x) @ _flat(self.g(x))
        return self.out(y.transpose(1, 2).reshape(x.shape[0], -1, *x.shape[2:])) + x


class NLScaled(_Init):
    def forward(self, x):
        return self.finish(x, self.weights(x, scale=self.theta.out_channels ** -0.5) @ _flat(self.g(x)))


class NLReshapeWithoutTranspose(_Init):
    def forward(self, x):
        y = self.weights(x) @ _flat(self.g(x))  # (B, N, C')
        return self.norm(self.out(y.reshape(x.shape[0], -1, *x.shape[2:]))) + x


class NLKeysFromValues(_Init):
    def forward(self, x):
        q, k = _flat(self.theta(x)), _flat(self.g(x))
        return self.finish(x, (q @ k.transpose(1, 2)).softmax(dim=-1) @ _flat(self.g(x)))


class NLResidualInsideNorm(_Init):
    def forward(self, x):
        y = self.weights(x) @ _flat(self.g(x))
        return self.norm(self.out(y.transpose(1, 2).reshape(x.shape[0], -1, *x.shape[2:])) + x)


class NLInPlace(_Init):
    def forward(self, x):
        y = self.weights(x) @ _flat(self.g(x))
        return x.add_(self.norm(self.out(y.transpose(1, 2).reshape(x.shape[0], -1, *x.shape[2:]))))


class NLEinsum(_Init):  # correct, with einsum on (B, C', N)
    def forward(self, x):
        b, c, h, w = x.shape
        q, k, v = (m(x).reshape(b, -1, h * w) for m in (self.theta, self.phi, self.g))
        weights = torch.einsum("bci,bcj->bij", q, k).softmax(dim=-1)
        y = torch.einsum("bij,bcj->bci", weights, v).reshape(b, -1, h, w)
        return x + self.norm(self.out(y))


_MODULE_WRONG = {
    "softmax over the queries": NLSoftmaxOverQueries,
    "no residual connection": NLNoResidual,
    "no BatchNorm after W_z": NLNoNorm,
    "scaled by 1/sqrt(C/2)": NLScaled,
    "y reshaped without the transpose": NLReshapeWithoutTranspose,
    "keys from g instead of phi": NLKeysFromValues,
    "residual added before the BatchNorm": NLResidualInsideNorm,
    "adds to its input in place": NLInPlace,
}

WRONG: dict = {
    "nl-affinity-bytes": {
        "rounds an odd side down": bytes_rounded_down,
        "subsamples the queries too": bytes_pooled_queries_too,
        "counts numbers, not bytes": bytes_ignores_itemsize,
        "halves N' instead of quartering it": bytes_per_side,
        "N' numbers, not N x N'": bytes_linear,
    },
    "nl-embedded-gaussian": {
        "softmax over the queries": eg_softmax_over_queries,
        "scaled by 1/sqrt(d)": eg_scaled,
        "dot product instead of the embedded Gaussian": eg_dot_product,
        "no transpose back to a map": eg_no_transpose_back,
        "weights phi instead of g": eg_keys_as_values,
    },
    "nl-block": dict(_MODULE_WRONG),
    "nl-fix": dict(_MODULE_WRONG),
}

RIGHT: dict = {
    "nl-affinity-bytes": {"count the windows": bytes_by_loop},
    "nl-embedded-gaussian": {"einsum and a hand-written softmax": eg_einsum},
    "nl-block": {"einsum on (B, C', N)": NLEinsum},
    "nl-fix": {"einsum on (B, C', N)": NLEinsum},
}
