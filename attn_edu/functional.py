"""Pure functions the book and the exercises build on.

Each function is small enough to read in one go and is checked in the tests
against an independent computation (for attention, against PyTorch's own
``torch.nn.functional.scaled_dot_product_attention``).
"""

from __future__ import annotations

import math

import torch

from ._checks import _shape

__all__ = [
    "global_avg_pool",
    "channel_pool",
    "eca_kernel_size",
    "soft_threshold",
    "scaled_dot_product_attention",
]


def global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """Average every channel over all its positions: the "squeeze" of SE.

    z_c = 1/(H W) * sum_{i,j} x_c(i, j)       (Hu et al. 2018, Eq. 2)

    Works for signals (B, C, L) and images (B, C, H, W); keeps the trailing
    axes as size 1 so the result broadcasts back against ``x``.
    """
    if x.dim() < 3:
        raise ValueError(f"global_avg_pool expects (B, C, L) or (B, C, H, W); got {_shape(x)}")
    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)  # (B, C, H, W) -> (B, C, 1, 1)


def channel_pool(x: torch.Tensor) -> torch.Tensor:
    """CBAM's channel pooling: the mean and the max over channels, stacked.

    Woo et al. (2018), Eq. 3: [AvgPool(F); MaxPool(F)], both taken along the
    channel axis. The result has two channels, mean first then max, as in the
    paper (the official code stacks max first; the order only permutes the
    input channels of the 7x7 convolution that follows).
    """
    if x.dim() != 4:
        raise ValueError(f"channel_pool expects (B, C, H, W); got {_shape(x)}")
    mean = x.mean(dim=1, keepdim=True)  # (B, C, H, W) -> (B, 1, H, W)
    peak = x.amax(dim=1, keepdim=True)  # (B, C, H, W) -> (B, 1, H, W)
    return torch.cat([mean, peak], dim=1)  # -> (B, 2, H, W)


def eca_kernel_size(channels: int, gamma: float = 2, b: float = 1) -> int:
    """ECA's adaptive kernel size k = psi(C) = | log2(C)/gamma + b/gamma |_odd.

    Wang et al. (2020), Eq. 12, with gamma = 2 and b = 1. ``|t|_odd`` is the
    odd number nearest to t. Where t lies exactly halfway between two odd
    numbers (t even) we round up, which is what the PyTorch listing in the
    paper (Fig. 3) does: ``t = int(abs((log(C, 2) + b) / gamma));
    k = t if t % 2 else t + 1``.

    That listing is in the paper, not in the repository (BangguWu/ECANet):
    there ``models/eca_module.py`` takes ``k_size`` as an argument (default
    3) and computes nothing from C, and ``main.py`` passes one kernel size
    per stage from ``--ksize``; the README's ECA-Net50 is trained with
    ``--ksize 3557``, i.e. k = 3, 5, 5, 7 for layer1 ... layer4, where this
    function gives 5, 5, 5, 7 (256, 512, 1024, 2048 channels).

    >>> [eca_kernel_size(c) for c in (64, 256, 512, 1024, 2048)]
    [3, 5, 5, 5, 7]
    """
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        raise ValueError(f"eca_kernel_size expects a positive integer channel count; got {channels!r}")
    if gamma <= 0:
        raise ValueError(f"eca_kernel_size expects gamma > 0; got {gamma!r}")
    t = abs(math.log2(channels) / gamma + b / gamma)
    # int() truncates t >= 0: an odd floor is already the nearest odd number,
    # an even floor is one below it.
    k = int(t)
    return k if k % 2 == 1 else k + 1


def soft_threshold(x: torch.Tensor, tau: torch.Tensor | float) -> torch.Tensor:
    """Soft thresholding, the shrinkage function of Zhao et al. (2020):

        y = x - tau   if x >  tau
        y = 0         if -tau <= x <= tau
        y = x + tau   if x < -tau

    written as sign(x) * max(|x| - tau, 0). ``tau`` must be non-negative and
    broadcast against ``x`` (a number, (B, 1, 1) or (B, C, 1, 1), ...).
    Its derivative is 1 outside the band and 0 inside.
    """
    tau = torch.as_tensor(tau, dtype=x.dtype, device=x.device)
    if not tau.is_meta and bool((tau < 0).any()):
        raise ValueError(f"soft_threshold expects tau >= 0; got a minimum of {tau.min().item():.4g}")
    return torch.sign(x) * torch.relu(x.abs() - tau)


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    scale: float | None = None,
    return_weights: bool = False,
):
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V     (Vaswani et al. 2017, Eq. 1)

    Shapes: q (..., L_q, d_k), k (..., L_k, d_k), v (..., L_k, d_v); the
    result is (..., L_q, d_v). ``mask`` broadcasts to (..., L_q, L_k) and
    follows ``torch.nn.functional.scaled_dot_product_attention``: a boolean
    mask is True where a query may attend, a float mask is added to the
    scores. ``scale`` defaults to 1 / sqrt(d_k); the non-local block passes
    ``scale=1.0`` because its embedded-Gaussian form has no scaling.

    A query whose every key is masked (a boolean mask row that is all False,
    or a float mask row that is all -inf) has nothing to attend to: the
    softmax of a row of -inf is 0/0. Like PyTorch (since 2.5), such a query
    gets the output 0, and its row of the returned weights is 0 too (it sums
    to 0, not 1). Gradients through such a row are 0, not NaN.
    """
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"scaled_dot_product_attention: q and k need the same last dimension d_k; "
            f"got q {tuple(q.shape)} and k {tuple(k.shape)}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: k and v need the same number of positions L_k; "
            f"got k {tuple(k.shape)} and v {tuple(v.shape)}"
        )
    d_k = q.shape[-1]
    # Python's math.sqrt of the integer d_k: a plain float, no tensor needed.
    scale = 1.0 / math.sqrt(d_k) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., L_q, d_k) @ (..., d_k, L_k) -> (..., L_q, L_k)
    no_key = None
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask
        no_key = torch.isneginf(scores).all(dim=-1, keepdim=True)  # queries with every key masked: (..., L_q, 1)
        scores = scores.masked_fill(no_key, 0.0)  # any finite value, so the softmax (and its gradient) is not NaN
    weights = torch.softmax(scores, dim=-1)  # each query's weights over the keys sum to 1
    if no_key is not None:
        weights = weights.masked_fill(no_key, 0.0)  # ... except a query with no key: weights 0, output 0
    out = weights @ v  # (..., L_q, L_k) @ (..., L_k, d_v) -> (..., L_q, d_v)
    return (out, weights) if return_weights else out
