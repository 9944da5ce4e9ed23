"""attn_edu.data: deterministic synthetic data sets, each built so one
mechanism's claim can be seen."""

import math

import pytest
import torch

from attn_edu import data

SMALL = {
    "channel_selection": {"n": 400},
    "object_in_clutter": {"n": 200},
    "multi_scale_objects": {"n": 200},
    "noisy_vibration": {"n": 200},
    "shapes_segmentation": {"n": 100},
    "long_range": {"n": 200},
}
NAMES = sorted(SMALL)


def build(name, seed=0, **overrides):
    return data.make(name, seed=seed, **{**SMALL[name], **overrides})


def test_available_lists_every_generator():
    assert sorted(data.available()) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_data_and_another_seed_different_data(name):
    a, b, c = build(name, 3), build(name, 3), build(name, 4)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    assert not torch.equal(a.x, c.x)


@pytest.mark.parametrize("name", NAMES)
def test_generating_leaves_the_global_random_state_alone(name):
    before = torch.random.get_rng_state()
    build(name)
    assert torch.equal(before, torch.random.get_rng_state())


@pytest.mark.parametrize("name", NAMES)
def test_shapes_dtypes_and_label_range(name):
    ds = build(name)
    n = SMALL[name]["n"]
    assert len(ds) == n and ds.x.dtype == torch.float32 and ds.y.dtype == torch.long
    assert ds.x.shape[0] == ds.y.shape[0] == n
    assert ds.y.min() >= 0 and ds.y.max() < ds.num_classes
    assert torch.isfinite(ds.x).all()
    assert isinstance(ds.description, str) and ds.description
    x, y = ds[0]
    assert x.shape == ds.x.shape[1:] and y.shape == ds.y.shape[1:]


@pytest.mark.parametrize("name", [n for n in NAMES if n != "shapes_segmentation"])
def test_classes_are_balanced(name):
    ds = build(name)
    counts = torch.bincount(ds.y, minlength=ds.num_classes)
    assert counts.max() - counts.min() <= 1


def nearest_class_mean_accuracy(features, labels, num_classes):
    half = len(labels) // 2
    centres = torch.stack([features[:half][labels[:half] == k].mean(0) for k in range(num_classes)])
    predicted = torch.cdist(features[half:], centres).argmin(dim=1)
    return (predicted == labels[half:]).float().mean().item()


def test_channel_selection_only_the_informative_channels_carry_the_class():
    ds = data.channel_selection(n=2000, seed=0)
    informative = ds.meta["informative"]
    assert len(informative) == 4 and informative.unique().numel() == 4
    noise = torch.tensor([c for c in range(16) if c not in informative.tolist()])
    means = ds.x.mean(dim=(2, 3))  # (N, C)
    assert nearest_class_mean_accuracy(means[:, informative], ds.y, 4) > 0.9
    assert nearest_class_mean_accuracy(means[:, noise], ds.y, 4) < 0.4  # chance is 0.25
    assert ds.x[:, noise].std() > 2 * ds.x[:, informative].std()  # the noise is louder


def test_channel_selection_train_and_test_pose_the_same_task():
    a, b = data.channel_selection(n=50, seed=0), data.channel_selection(n=50, seed=1)
    assert torch.equal(a.meta["informative"], b.meta["informative"])


def test_noisy_vibration_has_exactly_the_requested_snr():
    for snr in (-5.0, 0.0, 7.5):
        ds = data.noisy_vibration(n=50, snr_db=snr)
        clean = ds.meta["clean"].double()
        noise = ds.x.double() - clean
        measured = 10 * torch.log10(clean.pow(2).mean(dim=(1, 2)) / noise.pow(2).mean(dim=(1, 2)))
        assert torch.allclose(measured, torch.full_like(measured, snr), atol=1e-3)
        assert ds.x.shape == (50, 1, 512)


def test_object_in_clutter_mask_marks_the_bright_object():
    ds = data.object_in_clutter(n=200)
    mask = ds.meta["mask"]
    assert mask.shape == (200, 32, 32) and mask.any(dim=(1, 2)).all()
    inside = ds.x[:, 0][mask].mean()
    outside = ds.x[:, 0][~mask].mean()
    assert inside > outside + 0.5
    rows, cols = ds.meta["center"].unbind(1)
    grid = torch.arange(32)
    half = 7 // 2  # the default object_size is 7
    near_row = (grid[None, :] - rows[:, None]).abs() <= half  # (N, H)
    near_col = (grid[None, :] - cols[:, None]).abs() <= half  # (N, W)
    box = near_row[:, :, None] & near_col[:, None, :]
    assert not (mask & ~box).any()  # every object pixel lies in the box around the centre


def test_multi_scale_objects_span_small_and_large_sizes():
    ds = data.multi_scale_objects(n=400)
    scale = ds.meta["scale"]
    assert scale.min() <= 7 and scale.max() >= 25 and (scale % 2 == 1).all()
    areas = ds.meta["mask"].sum(dim=(1, 2)).float()
    small, large = areas[scale <= 9].mean(), areas[scale >= 21].mean()
    assert large > 4 * small


def test_shapes_segmentation_masks_contain_background_and_every_shape():
    ds = data.shapes_segmentation(n=100)
    assert ds.y.shape == (100, 32, 32)
    assert set(ds.y.unique().tolist()) == set(range(ds.num_classes))
    assert (ds.x[:, 0][ds.y > 0].mean() - ds.x[:, 0][ds.y == 0].mean()) > 0.5


def test_long_range_markers_are_far_apart_and_the_label_is_whether_they_match():
    ds = data.long_range(n=400)
    cols = ds.meta["positions"][:, :, 1]  # (N, 2)
    assert ((cols[:, 1] - cols[:, 0]) >= 32 // 2).all()
    same = ds.meta["pattern"][:, 0] == ds.meta["pattern"][:, 1]
    assert torch.equal(same.long(), ds.y)
    assert ds.y.float().mean() == 0.5


def test_loader_shuffles_the_same_way_for_the_same_seed():
    ds = data.channel_selection(n=100)
    first = lambda seed: next(iter(ds.loader(batch_size=10, seed=seed)))[1]
    assert torch.equal(first(5), first(5))
    assert not torch.equal(first(5), first(6))


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError) as info:
        data.make("imagenet")
    assert all(name in str(info.value) for name in NAMES)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: data.channel_selection(informative=20, channels=16), "informative"),
        (lambda: data.object_in_clutter(object_size=6), "odd"),
        (lambda: data.noisy_vibration(snr_db=math.inf), "finite"),
        (lambda: data.long_range(marker_size=4), "odd"),
        (lambda: data.channel_selection(n=0), "n"),
    ],
)
def test_bad_arguments_are_explained(call, words):
    with pytest.raises(ValueError, match=words):
        call()
