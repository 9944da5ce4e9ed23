"""The non-local block (embedded Gaussian).

Xiaolong Wang, Ross Girshick, Abhinav Gupta, Kaiming He. "Non-local Neural
Networks." CVPR 2018. arXiv:1711.07971.

A non-local operation lets every position i see every position j:

    y_i = 1/C(x) * sum_j f(x_i, x_j) g(x_j)                       (Eq. 1)
    f(x_i, x_j) = exp( theta(x_i)^T phi(x_j) ),  C(x) = sum_j f     (Eq. 3, embedded Gaussian)
    so  y = softmax( theta(x)^T phi(x) ) g(x)
    z_i = W_z y_i + x_i                                            (Eq. 6, the block)

theta, phi and g are 1x1 convolutions to C/2 channels; W_z is a 1x1
convolution back to C channels followed by BatchNorm whose scale is
initialised to zero, so a freshly inserted block is the identity and does
not disturb a pre-trained network. With N = H W positions the affinity
matrix is N x N.

This is scaled dot-product attention (Vaswani et al. 2017) with queries
theta(x), keys phi(x), values g(x) and no 1/sqrt(d) scaling.

Subsampling (Sec. 3.3). To save computation the keys and values can come
from x^, a subsampled x (for example by pooling), instead of x:

    y_i = 1/C(x^) * sum_j f(x_i, x^_j) g(x^_j).

The paper implements this by adding a max pooling layer after phi and g
(Fig. 2), 2x2 in space, so there are N' = N/4 keys. The official code pools
in a different place, and ``subsample`` offers both orders:

- ``subsample=True``, or ``"paper"``: the paper's order. phi and g run on all
  N positions, then each of their maps is max-pooled with a 2x2 window and
  stride 2. The paper does not say how an odd H or W is rounded; we round
  up (``ceil_mode=True``): N' = ceil(H/2) * ceil(W/2), the last window of an
  odd side holds one row (column), every position lies in some window, and
  a 1 x 1 map still works.
- ``subsample="code"``: the official code's order (facebookresearch/
  video-nonlocal-net, ``lib/models/nonlocal_helper.py``,
  ``spacetime_nonlocal``): x itself is max-pooled first (window and stride
  2 in H and W, 1 in time, no padding), and phi and g run on the pooled
  map, doing a quarter of the work. Caffe2 rounds a pooled size down, so
  N' = floor(H/2) * floor(W/2): the last row (column) of an odd side is
  never a key, and H and W must be at least 2.

Max pooling does not commute with a 1x1 convolution (max(w a, w b) is not
w max(a, b) when w mixes channels or is negative), so the two orders give
different keys and values even when H and W are even.

Paper and official code: the released configuration (``lib/core/config.py``)
scales the affinities by (C/2)^(-1/2) (``NONLOCAL.USE_SCALE``) and
subsamples (``NONLOCAL.USE_MAXPOOL``). Defaults here follow the equations
(``scale=False``, ``subsample=False``); ``scale=True`` with
``subsample="code"`` gives the code's forward computation. The paper's
video models use 3-D (space-time) convolutions; this block works on 2-D
maps (B, C, H, W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_feature_map, hidden_units
from ..functional import scaled_dot_product_attention


def key_grid(height: int, width: int, subsample: bool | str = False) -> tuple[int, int]:
    """(H', W'), the grid the keys and values come from; N' = H' * W'.

    >>> key_grid(7, 9), key_grid(7, 9, "paper"), key_grid(7, 9, "code")
    ((7, 9), (4, 5), (3, 4))
    """
    order = pooling_order("key_grid", subsample)
    if order == "paper":
        return math.ceil(height / 2), math.ceil(width / 2)  # ceil_mode=True
    if order == "code":
        return height // 2, width // 2  # Caffe2's MaxPool without padding rounds down
    return height, width


def pooling_order(who: str, subsample) -> bool | str:
    """False, "paper" or "code" for an accepted ``subsample``; a ValueError that lists them otherwise."""
    if subsample is False or subsample is True:
        return "paper" if subsample else False
    if isinstance(subsample, str) and subsample in ("paper", "code"):
        return subsample
    raise ValueError(
        f"{who}: subsample must be False (no pooling), True or 'paper' (2x2 max pool after phi and g, "
        f"rounding up, Sec. 3.3), or 'code' (2x2 max pool of x before phi and g, rounding down, as "
        f"video-nonlocal-net does); got {subsample!r}"
    )


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block with a residual connection.

    Args:
        channels: C.
        reduction: the embedding has C // reduction channels (2, as in the paper).
        subsample: False (default): every position is a key. True or "paper":
            2x2 max pooling after phi and g, N' = ceil(H/2) ceil(W/2).
            "code": 2x2 max pooling of x before phi and g, as the official
            code does, N' = floor(H/2) floor(W/2) (needs H, W >= 2).
            ``self.subsample`` holds False, "paper" or "code".
        scale: divide the affinities by sqrt(C // reduction), as the official code does.
        zero_init: initialise W_z's BatchNorm scale to 0 so the block starts as the identity.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 2,
        subsample: bool | str = False,
        scale: bool = False,
        zero_init: bool = True,
    ):
        super().__init__()
        who = f"NonLocalBlock(channels={channels}, reduction={reduction})"
        inner = hidden_units(who, channels, reduction)
        self.channels = channels
        self.inner = inner
        self.subsample = pooling_order(who, subsample)
        self.scale = scale
        self.theta = nn.Conv2d(channels, inner, 1)  # queries
        self.phi = nn.Conv2d(channels, inner, 1)  # keys
        self.g = nn.Conv2d(channels, inner, 1)  # values
        self.out = nn.Conv2d(inner, channels, 1)  # W_z
        self.norm = nn.BatchNorm2d(channels)
        if zero_init:
            nn.init.zeros_(self.norm.weight)

    def pool_input(self, x: torch.Tensor) -> torch.Tensor:
        """x^ of the official code's order: x max-pooled 2x2, stride 2, rounding down."""
        height, width = x.shape[-2:]
        if height < 2 or width < 2:
            raise ValueError(
                f"NonLocalBlock(channels={self.channels}, subsample='code') max-pools x with a 2x2 window, "
                f"rounding down as the official code does, so it needs H >= 2 and W >= 2; "
                f"got {tuple(x.shape)}. subsample='paper' rounds up and accepts any size."
            )
        return F.max_pool2d(x, 2)  # (B, C, H, W) -> (B, C, H // 2, W // 2)

    def keys_and_values(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """phi and g as maps, each (B, C/2, H', W'); ``key_grid`` gives H', W'."""
        if self.subsample == "code":
            x = self.pool_input(x)  # x^: (B, C, H, W) -> (B, C, H // 2, W // 2)
        keys, values = self.phi(x), self.g(x)  # (B, C, h, w) -> (B, C/2, h, w), on x or x^
        if self.subsample == "paper":
            keys = F.max_pool2d(keys, 2, ceil_mode=True)  # (B, C/2, H, W) -> (B, C/2, ceil(H/2), ceil(W/2))
            values = F.max_pool2d(values, 2, ceil_mode=True)
        return keys, values

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y reshaped to a map (B, C/2, H, W), and the affinities softmax(theta^T phi), (B, N, N')."""
        check_feature_map(f"NonLocalBlock(channels={self.channels})", self.channels, x)
        batch, _, height, width = x.shape
        keys, values = self.keys_and_values(x)  # (B, C/2, H', W') each
        queries = self.theta(x).flatten(2).transpose(1, 2)  # (B, C/2, H, W) -> (B, N, C/2)
        keys = keys.flatten(2).transpose(1, 2)  # (B, C/2, H', W') -> (B, N', C/2)
        values = values.flatten(2).transpose(1, 2)  # (B, C/2, H', W') -> (B, N', C/2)
        factor = 1.0 / math.sqrt(self.inner) if self.scale else 1.0
        y, weights = scaled_dot_product_attention(queries, keys, values, scale=factor, return_weights=True)  # (B, N, C/2)
        y = y.transpose(1, 2).reshape(batch, self.inner, height, width)  # (B, N, C/2) -> (B, C/2, H, W)
        return y, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attention(x)
        return self.norm(self.out(y)) + x  # z = W_z y + x: (B, C/2, H, W) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, inner={self.inner}, subsample={self.subsample!r}, scale={self.scale}"
