"""attn_edu.evaluation: settled BatchNorm statistics, Dice and mask contrast."""

import pytest
import torch
from torch import nn

from attn_edu import data
from attn_edu.evaluation import dice_scores, mask_contrast, mean_dice, recalibrate_batchnorm
from attn_edu.models import SmallCNN


def test_recalibrated_statistics_are_the_training_set_averages():
    train = data.channel_selection(n=64, seed=0)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(16, 4, 1), nn.BatchNorm2d(4))
    recalibrate_batchnorm(model, train, batch_size=64)  # one batch: the statistics of the whole set
    features = model[0](train.x)
    torch.testing.assert_close(model[1].running_mean, features.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(model[1].running_var, features.var(dim=(0, 2, 3), unbiased=True))
    assert not model.training and model[1].momentum == 0.1  # eval mode, momentum restored


def test_recalibration_keeps_the_weights_and_is_repeatable():
    train = data.channel_selection(n=100, seed=0)
    torch.manual_seed(0)
    model = SmallCNN(16, 4, width=8, depth=2, attn="se", reduction=4)
    before = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k and "num_batches" not in k}
    first = recalibrate_batchnorm(model, train, batch_size=32)(train.x[:5])
    second = recalibrate_batchnorm(model, train, batch_size=32)(train.x[:5])
    torch.testing.assert_close(first, second)  # depends on the data, not on the statistics before
    for key, value in before.items():
        torch.testing.assert_close(model.state_dict()[key], value)


def test_recalibration_skips_a_last_batch_of_one_and_refuses_a_single_example():
    train = data.channel_selection(n=5, seed=0)
    model = nn.Sequential(nn.Conv2d(16, 2, 1), nn.BatchNorm2d(2))
    recalibrate_batchnorm(model, train, batch_size=4)  # batches of 4 and 1: the 1 is skipped
    assert torch.isfinite(model[1].running_var).all()
    with pytest.raises(ValueError, match="at least 2"):
        recalibrate_batchnorm(model, data.channel_selection(n=1, seed=0))


class _Oracle(nn.Module):
    """Scores that reproduce a fixed label map exactly."""

    def __init__(self, labels, num_classes):
        super().__init__()
        self.labels, self.k = labels, num_classes

    def forward(self, x):
        return nn.functional.one_hot(self.labels[: len(x)], self.k).permute(0, 3, 1, 2).float()


def test_dice_is_one_for_a_perfect_segmentation_and_counts_overlap_exactly():
    seg = data.shapes_segmentation(n=6, seed=0)
    assert torch.equal(dice_scores(_Oracle(seg.y, 4), seg), torch.ones(4))
    wrong = seg.y.clone()
    wrong[0, 0, 0] = (wrong[0, 0, 0] + 1) % 4  # one pixel moved from class a to class b
    a, b = int(seg.y[0, 0, 0]), int(wrong[0, 0, 0])
    scores = dice_scores(_Oracle(wrong, 4), seg)
    size = lambda c: int((seg.y == c).sum())
    assert scores[a] == pytest.approx(2 * (size(a) - 1) / (2 * size(a) - 1))
    assert scores[b] == pytest.approx(2 * size(b) / (2 * size(b) + 1))
    assert mean_dice(_Oracle(wrong, 4), seg) == pytest.approx(float(scores[1:].mean()))


def test_mask_contrast_pools_the_mask_to_the_map():
    mask = torch.zeros(2, 8, 8, dtype=torch.bool)
    mask[:, :4, :4] = True  # the top-left quarter
    maps = torch.zeros(2, 1, 2, 2)
    maps[0, 0, 0, 0] = 1.0  # image 0: high on the object
    maps[1, 0, 1, 1] = 1.0  # image 1: high off it
    torch.testing.assert_close(mask_contrast(maps, mask), torch.tensor([1.0, -1 / 3]))
    with pytest.raises(ValueError, match="multiple"):
        mask_contrast(torch.zeros(2, 3, 3), mask)
