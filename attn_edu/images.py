"""A real photograph and feature maps computed from it, for the derivations.

The chapters derive each mechanism on a real input rather than on random
numbers: the photograph of Grace Hopper that ships with matplotlib (so it is
always there, offline), turned into a feature map by a fixed, seeded bank of
convolution filters. The filters are not trained; they respond to edges,
colours and blobs, which is enough to give channels with different
statistics and a spatial layout a reader can recognise.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import cbook
from matplotlib import image as mpimg


def grace_hopper(size: int = 64) -> torch.Tensor:
    """The photograph as a (1, 3, size, size) float tensor with values in [0, 1]."""
    if size < 8:
        raise ValueError(f"grace_hopper(size={size}): size must be at least 8 pixels")
    with cbook.get_sample_data("grace_hopper.jpg") as file:
        pixels = np.asarray(mpimg.imread(file, format="jpg"), dtype=np.float32) / 255.0  # (H, W, 3)
    image = torch.from_numpy(pixels).permute(2, 0, 1)[None]  # (H, W, 3) -> (1, 3, H, W)
    side = min(image.shape[2:])  # centre square crop, then resize
    top, left = (image.shape[2] - side) // 2, (image.shape[3] - side) // 2
    image = image[:, :, top : top + side, left : left + side]
    return F.interpolate(image, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def feature_map(channels: int = 16, size: int = 64, seed: int = 0) -> torch.Tensor:
    """A (1, channels, size, size) feature map: the photograph through fixed 5x5 filters and a ReLU.

    The same ``channels``, ``size`` and ``seed`` always give the same map.
    """
    if channels < 1:
        raise ValueError(f"feature_map(channels={channels}): channels must be at least 1")
    generator = torch.Generator().manual_seed(seed)
    filters = torch.randn(channels, 3, 5, 5, generator=generator)
    filters = filters - filters.mean(dim=(2, 3), keepdim=True)  # zero-mean filters respond to edges...
    filters[::4] += 0.15  # ...and every fourth also to brightness, so channel means differ
    image = grace_hopper(size)
    return torch.relu(F.conv2d(image, filters, padding=2))  # (1, 3, S, S) -> (1, channels, S, S)
