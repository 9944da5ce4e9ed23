"""Measures the chapters compare finished models by.

A few epochs of training leave a small network's BatchNorm running
statistics unsettled: its test accuracy can swing by a tenth or more from
one epoch to the next, so one epoch's number says little. The chapters
therefore settle the statistics first and then measure:

- ``recalibrate_batchnorm(model, train_set)``: recompute every BatchNorm's
  running mean and variance as exact averages over the training set, with
  the weights fixed. Evaluation then uses statistics that match the final
  weights.
- ``dice_scores(model, dataset)`` and ``mean_dice``: the Dice coefficient
  of a segmentation, per class, 2 |P ∩ T| / (|P| + |T|).
- ``mask_contrast(maps, mask)``: how much higher a spatial attention map is
  on an object than off it, image by image (the mask may be finer than the
  map; it is pooled to the map's size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["recalibrate_batchnorm", "dice_scores", "mean_dice", "mask_contrast"]

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, train_set, batch_size: int = 256) -> nn.Module:
    """Recompute the running statistics of every BatchNorm in ``model`` on ``train_set``.

    Each BatchNorm's running mean and variance become the average of its
    batch statistics over one pass through the training set in order
    (``momentum=None`` is PyTorch's cumulative average). The weights do not
    change, and the model is returned in eval mode. A model without
    BatchNorm is returned unchanged, in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, _NORMS) and m.track_running_stats]
    if not norms:
        return model.eval()
    if len(train_set) < 2:
        raise ValueError(f"recalibrate_batchnorm needs at least 2 training examples; got {len(train_set)}")
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the batches below
    model.train()
    try:
        for start in range(0, len(train_set), batch_size):
            batch = train_set.x[start : start + batch_size]
            if len(batch) > 1:  # a batch of one has no variance
                model(batch)
    finally:
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
    return model.eval()


def _dice_counts(predicted: torch.Tensor, target: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(2 |P ∩ T|, |P| + |T|) per class, for label maps of the same shape."""
    if predicted.shape != target.shape:
        raise ValueError(f"dice needs predicted and target labels of one shape; got {tuple(predicted.shape)} "
                         f"and {tuple(target.shape)}")
    p = F.one_hot(predicted.long().flatten(), num_classes).bool()  # (N, K)
    t = F.one_hot(target.long().flatten(), num_classes).bool()
    overlap = 2 * (p & t).sum(dim=0)  # (K,)
    sizes = p.sum(dim=0) + t.sum(dim=0)  # (K,)
    return overlap, sizes


@torch.no_grad()
def dice_scores(model: nn.Module, dataset, batch_size: int = 256) -> torch.Tensor:
    """Dice coefficient of each class over the whole data set, (num_classes,).

    The model maps (B, C_in, H, W) to class scores (B, K, H, W); the
    dataset's ``y`` holds labels (B, H, W). Counts are summed over all
    images before dividing, so every pixel weighs the same. A class that is
    absent from both prediction and target scores 1.
    """
    model.eval()
    k = dataset.num_classes
    overlap, sizes = torch.zeros(k), torch.zeros(k)
    for start in range(0, len(dataset), batch_size):
        x, y = dataset.x[start : start + batch_size], dataset.y[start : start + batch_size]
        o, s = _dice_counts(model(x).argmax(dim=1), y, k)
        overlap, sizes = overlap + o, sizes + s
    return torch.where(sizes > 0, overlap / sizes.clamp(min=1), torch.ones(k))


def mean_dice(model: nn.Module, dataset, include_background: bool = False) -> float:
    """Mean Dice over the classes, without class 0 (the background) unless asked."""
    scores = dice_scores(model, dataset)
    return float((scores if include_background else scores[1:]).mean())


def mask_contrast(maps: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of each map on the object minus its mean off it, one number per image, (B,).

    ``maps`` is (B, 1, h, w) or (B, h, w), ``mask`` (B, H, W) boolean with H, W
    multiples of h, w. The mask is average-pooled to the map's size, so a map
    cell counts as "on the object" in proportion to how much of it the object
    covers. Positive: the map is higher on the object.
    """
    if maps.dim() == 4:
        if maps.shape[1] != 1:
            raise ValueError(f"mask_contrast expects maps (B, 1, h, w) or (B, h, w); got {tuple(maps.shape)}")
        maps = maps[:, 0]
    if maps.dim() != 3 or mask.dim() != 3 or maps.shape[0] != mask.shape[0]:
        raise ValueError(f"mask_contrast expects maps (B, h, w) and mask (B, H, W); got {tuple(maps.shape)} "
                         f"and {tuple(mask.shape)}")
    (h, w), (height, width) = maps.shape[1:], mask.shape[1:]
    if height % h or width % w:
        raise ValueError(f"mask_contrast: the mask's {height} x {width} must be a multiple of the map's {h} x {w}")
    cover = F.avg_pool2d(mask[:, None].float(), (height // h, width // w))[:, 0]  # (B, h, w), in [0, 1]
    on = (maps * cover).sum(dim=(1, 2)) / cover.sum(dim=(1, 2)).clamp(min=1e-12)
    off = (maps * (1 - cover)).sum(dim=(1, 2)) / (1 - cover).sum(dim=(1, 2)).clamp(min=1e-12)
    return on - off
