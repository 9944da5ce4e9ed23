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
matrix is N x N. Optionally phi and g are followed by a 2x2 max pooling
("subsampling" in Sec. 3.3), which divides the number of keys by 4.

This is scaled dot-product attention (Vaswani et al. 2017) with queries
theta(x), keys phi(x), values g(x) and no 1/sqrt(d) scaling.

Paper and official code (facebookresearch/video-nonlocal-net): the
released configurations scale the affinities by (C/2)^(-1/2)
(``NONLOCAL.USE_SCALE``) and subsample with max pooling. Defaults here
follow the equations (``scale=False``, ``subsample=False``); both switches
reproduce the code. The paper's video models use 3-D (space-time)
convolutions; this block works on 2-D maps (B, C, H, W).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_feature_map, hidden_units
from ..functional import scaled_dot_product_attention


class NonLocalBlock(nn.Module):
    """Embedded-Gaussian non-local block with a residual connection.

    Args:
        channels: C.
        reduction: the embedding has C // reduction channels (2, as in the paper).
        subsample: 2x2 max pooling after phi and g.
        scale: divide the affinities by sqrt(C // reduction), as the official code does.
        zero_init: initialise W_z's BatchNorm scale to 0 so the block starts as the identity.
    """

    def __init__(
        self, channels: int, reduction: int = 2, subsample: bool = False, scale: bool = False, zero_init: bool = True
    ):
        super().__init__()
        inner = hidden_units(f"NonLocalBlock(channels={channels}, reduction={reduction})", channels, reduction)
        self.channels = channels
        self.inner = inner
        self.subsample = subsample
        self.scale = scale
        self.theta = nn.Conv2d(channels, inner, 1)  # queries
        self.phi = nn.Conv2d(channels, inner, 1)  # keys
        self.g = nn.Conv2d(channels, inner, 1)  # values
        self.out = nn.Conv2d(inner, channels, 1)  # W_z
        self.norm = nn.BatchNorm2d(channels)
        if zero_init:
            nn.init.zeros_(self.norm.weight)

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """y reshaped to a map (B, C/2, H, W), and the affinities softmax(theta^T phi), (B, N, N')."""
        check_feature_map(f"NonLocalBlock(channels={self.channels})", self.channels, x)
        batch, _, height, width = x.shape
        keys, values = self.phi(x), self.g(x)  # (B, C, H, W) -> (B, C/2, H, W)
        if self.subsample:
            keys, values = F.max_pool2d(keys, 2, ceil_mode=True), F.max_pool2d(values, 2, ceil_mode=True)
        queries = self.theta(x).flatten(2).transpose(1, 2)  # (B, C/2, H, W) -> (B, N, C/2)
        keys = keys.flatten(2).transpose(1, 2)  # -> (B, N', C/2)
        values = values.flatten(2).transpose(1, 2)  # -> (B, N', C/2)
        factor = 1.0 / math.sqrt(self.inner) if self.scale else 1.0
        y, weights = scaled_dot_product_attention(queries, keys, values, scale=factor, return_weights=True)  # (B, N, C/2)
        y = y.transpose(1, 2).reshape(batch, self.inner, height, width)  # (B, N, C/2) -> (B, C/2, H, W)
        return y, weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.attention(x)
        return self.norm(self.out(y)) + x  # z = W_z y + x: (B, C/2, H, W) -> (B, C, H, W)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, inner={self.inner}, subsample={self.subsample}, scale={self.scale}"
