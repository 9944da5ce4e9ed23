"""Tests for attn_edu.data: determinism, shapes, and that each data set's design holds."""

import time

import pytest
import torch

from attn_edu import data
from attn_edu.data import SyntheticDataset

SMALL = 300  # samples per call; enough for the statistics below, fast to make

NAMES = data.available()
CLASSIFICATION = [name for name in NAMES if name != "shapes_segmentation"]


def small(name, **kwargs):
    return data.make(name, n=SMALL, **kwargs)


def tensors_of(ds):
    """x, y and every tensor in meta, for comparing whole data sets."""
    meta = [v for _, v in sorted(ds.meta.items()) if torch.is_tensor(v)]
    return [ds.x, ds.y, *meta]


# ------------------------------------------------------------ determinism

@pytest.mark.parametrize("name", NAMES)
def test_same_seed_gives_identical_tensors(name):
    a, b = small(name, seed=3), small(name, seed=3)
    assert all(torch.equal(u, v) for u, v in zip(tensors_of(a), tensors_of(b), strict=True))


@pytest.mark.parametrize("name", NAMES)
def test_different_seed_gives_different_data(name):
    assert not torch.equal(small(name, seed=0).x, small(name, seed=1).x)


@pytest.mark.parametrize("name", NAMES)
def test_generator_leaves_global_torch_rng_untouched(name):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    small(name)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_task_definition_does_not_depend_on_sample_seed():
    # Train and test sets come from different seeds, so they must pose the same task.
    a, b = data.channel_selection(n=10, seed=0), data.channel_selection(n=10, seed=1)
    assert torch.equal(a.meta["informative"], b.meta["informative"])
    assert torch.equal(a.meta["levels"], b.meta["levels"])
    c, d = data.long_range(n=10, seed=0), data.long_range(n=10, seed=1)
    assert torch.equal(c.meta["templates"], d.meta["templates"])
    other = data.channel_selection(n=10, task_seed=1)
    assert not torch.equal(a.meta["informative"], other.meta["informative"])
    e, f = data.switching_channels(n=10, seed=0), data.switching_channels(n=10, seed=1)
    assert torch.equal(e.meta["groups"], f.meta["groups"]) and torch.equal(e.meta["levels"], f.meta["levels"])
    assert not torch.equal(e.meta["groups"], data.switching_channels(n=10, task_seed=1).meta["groups"])


# ------------------------------------------------------------ shapes, dtypes, labels

EXPECTED_X_SHAPE = {
    "channel_selection": (SMALL, 16, 16, 16),
    "switching_channels": (SMALL, 16, 16, 16),
    "object_in_clutter": (SMALL, 1, 32, 32),
    "multi_scale_objects": (SMALL, 1, 32, 32),
    "noisy_vibration": (SMALL, 1, 512),
    "shapes_segmentation": (SMALL, 1, 32, 32),
    "long_range": (SMALL, 1, 24, 24),
}


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_dtypes(name):
    ds = small(name)
    assert isinstance(ds, SyntheticDataset)
    assert tuple(ds.x.shape) == EXPECTED_X_SHAPE[name]
    assert ds.x.dtype == torch.float32 and ds.y.dtype == torch.long
    assert torch.isfinite(ds.x).all()
    expected_y = (SMALL, *ds.x.shape[2:]) if name == "shapes_segmentation" else (SMALL,)
    assert tuple(ds.y.shape) == expected_y
    assert isinstance(ds.num_classes, int) and isinstance(ds.description, str)
    assert ds.description and "\n" not in ds.description
    assert isinstance(ds.meta, dict)


@pytest.mark.parametrize("name", NAMES)
def test_labels_lie_in_class_range(name):
    ds = small(name)
    assert ds.y.min() >= 0 and ds.y.max() < ds.num_classes


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classes_are_balanced(name):
    ds = data.make(name, n=301)
    counts = torch.bincount(ds.y, minlength=ds.num_classes)
    assert counts.max() - counts.min() <= 1


def test_dataset_protocol_len_getitem_repr():
    ds = data.channel_selection(n=20)
    assert len(ds) == 20
    x, y = ds[5]
    assert torch.equal(x, ds.x[5]) and torch.equal(y, ds.y[5])
    assert "n=20" in repr(ds)


# ------------------------------------------------------------ loader, make, available

def test_loader_with_same_seed_gives_same_first_batch():
    ds = data.object_in_clutter(n=100)
    xa, ya = next(iter(ds.loader(batch_size=16, seed=7)))
    xb, yb = next(iter(ds.loader(batch_size=16, seed=7)))
    xc, _ = next(iter(ds.loader(batch_size=16, seed=8)))
    assert xa.shape == (16, 1, 32, 32) and ya.shape == (16,)
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(xa, xc)


def test_loader_without_shuffle_keeps_order():
    ds = data.long_range(n=50)
    x, y = next(iter(ds.loader(batch_size=10, shuffle=False)))
    assert torch.equal(x, ds.x[:10]) and torch.equal(y, ds.y[:10])


def test_available_lists_all_seven_and_make_builds_them():
    assert set(NAMES) == {"channel_selection", "switching_channels", "object_in_clutter",
                          "multi_scale_objects", "noisy_vibration", "shapes_segmentation", "long_range"}
    ds = data.make("noisy_vibration", n=8, length=128, seed=2)
    assert torch.equal(ds.x, data.noisy_vibration(n=8, length=128, seed=2).x)


def test_make_with_unknown_name_lists_available_names():
    with pytest.raises(ValueError) as err:
        data.make("cifar10")
    assert "cifar10" in str(err.value)
    assert all(name in str(err.value) for name in NAMES)


# ------------------------------------------------------------ helpful errors

@pytest.mark.parametrize("call, expected", [
    (lambda: data.channel_selection(informative=20, channels=16),
     "channel_selection(informative=20, channels=16): informative must be a whole number "
     "between 1 and channels (16); got 20"),
    (lambda: data.channel_selection(n=0), "n must be a whole number of at least 1; got 0"),
    (lambda: data.switching_channels(group_size=5),
     "switching_channels(channels=16, group_size=5): channels must be a multiple of group_size (5); got 16"),
    (lambda: data.switching_channels(group_size=16),
     "group_size must be a whole number between 1 and channels // 2 (8); got 16"),
    (lambda: data.switching_channels(brightness=0), "brightness must be a number greater than 0; got 0"),
    (lambda: data.object_in_clutter(n=100.0), "n must be a whole number"),
    (lambda: data.object_in_clutter(num_classes=9), "num_classes must be a whole number between 2 and 6; got 9"),
    (lambda: data.object_in_clutter(object_size=6), "object_size must be odd"),
    (lambda: data.multi_scale_objects(max_size=40), "max_size must be a whole number between 5 and size (32); got 40"),
    (lambda: data.noisy_vibration(snr_db=float("nan")), "snr_db must be a finite number"),
    (lambda: data.noisy_vibration(num_classes=1), "num_classes must be a whole number between 2 and 5; got 1"),
    (lambda: data.shapes_segmentation(noise=-1), "noise must be a number greater than 0; got -1"),
    (lambda: data.long_range(size=10), "size must be a whole number of at least 16; got 10"),
])
def test_bad_arguments_raise_value_error_with_helpful_message(call, expected):
    with pytest.raises(ValueError) as err:
        call()
    assert expected in str(err.value)


# ------------------------------------------------------------ design properties

def _nearest_class_mean_accuracy(train_features, train_y, test_features, test_y, num_classes):
    means = torch.stack([train_features[train_y == k].mean(0) for k in range(num_classes)])
    predicted = torch.cdist(test_features, means).argmin(1)
    return (predicted == test_y).float().mean().item()


def test_channel_selection_only_informative_channels_carry_the_class():
    train, test = data.channel_selection(n=800, seed=0), data.channel_selection(n=800, seed=1)
    informative = train.meta["informative"]
    noise = torch.tensor([c for c in range(16) if c not in informative.tolist()])
    assert len(informative) == 4 and len(noise) == 12

    def accuracy(channels):
        features = [d.x[:, channels].mean(dim=(2, 3)) for d in (train, test)]  # (N, k)
        return _nearest_class_mean_accuracy(features[0], train.y, features[1], test.y, 4)

    assert accuracy(informative) > 0.9
    assert accuracy(noise) < 0.4  # chance is 0.25
    variance = train.x.var(dim=(0, 2, 3))  # (C,)
    assert variance[noise].min() > 2 * variance[informative].max()


def test_switching_channels_one_group_per_image_and_it_changes_between_images():
    ds = data.switching_channels(n=SMALL)
    groups, group, informative, mask = (ds.meta[k] for k in ("groups", "group", "informative", "mask"))
    assert groups.shape == (4, 4)
    assert torch.equal(groups.flatten().sort().values, torch.arange(16))  # the groups split the channels
    assert informative.shape == (SMALL, 4) and mask.shape == (SMALL, 16) and mask.dtype == torch.bool
    assert torch.equal(informative, groups[group])
    assert (mask.sum(1) == 4).all() and torch.equal(mask.gather(1, informative), torch.ones(SMALL, 4, dtype=torch.bool))
    counts = torch.bincount(group, minlength=4)
    assert (counts > SMALL // 8).all()  # every group carries the class in many images


def test_switching_channels_carrying_group_is_visible_in_the_channel_averages():
    # What SE's squeeze sees: one average per channel. The carrying group is the
    # group with the lowest average in every image, and its channels sit far
    # below the noise channels' brightness.
    ds = data.switching_channels(n=800)
    z = ds.x.mean(dim=(2, 3))  # (N, C)
    per_group = z[:, ds.meta["groups"]].mean(dim=2)  # (N, G)
    assert torch.equal(per_group.argmin(dim=1), ds.meta["group"])
    mask = ds.meta["mask"]
    assert z[mask].abs().max() < 2.0  # carrying: the class level (at most signal = 1) plus a little noise
    assert z[~mask].mean() > 3.5  # noise: brightness 4 on average


def test_switching_channels_class_is_in_the_carrying_channels_only():
    train, test = data.switching_channels(n=800, seed=0), data.switching_channels(n=800, seed=1)

    def accuracy(features):
        return _nearest_class_mean_accuracy(features(train), train.y, features(test), test.y, 4)

    def carrying(d):  # the average of the carrying channels: (N, 1)
        return (d.x.mean(dim=(2, 3)) * d.meta["mask"]).sum(1, keepdim=True) / 4

    def every_channel(d):  # all 16 averages, as a gate-less reader sees them: (N, C)
        return d.x.mean(dim=(2, 3))

    assert accuracy(carrying) > 0.95
    assert accuracy(every_channel) < 0.5  # the loud noise channels swamp the class (chance is 0.25)
    levels = train.meta["levels"]
    assert torch.equal(levels.sort().values, torch.linspace(-1, 1, 4))


def test_object_in_clutter_mask_marks_a_bright_object_inside_the_image():
    ds = data.object_in_clutter(n=SMALL)
    mask, center = ds.meta["mask"], ds.meta["center"]
    assert mask.shape == (SMALL, 32, 32) and mask.dtype == torch.bool
    assert (mask.sum(dim=(1, 2)) > 0).all()
    assert ((center >= 3) & (center <= 28)).all()  # a 7-pixel object fits around its centre
    rows, cols = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    far_row = (rows - center[:, 0, None, None]).abs() > 3
    far_col = (cols - center[:, 1, None, None]).abs() > 3
    assert not (mask & (far_row | far_col)).any()  # nothing outside the 7x7 box
    image = ds.x[:, 0]
    assert image[mask].mean() - image[~mask].mean() > 0.5


def test_object_in_clutter_classes_are_different_shapes():
    ds = data.object_in_clutter(n=40)
    offsets = torch.arange(-3, 4)  # the 7x7 box around each object's centre
    rows = ds.meta["center"][:, 0, None, None] + offsets[None, :, None]
    cols = ds.meta["center"][:, 1, None, None] + offsets[None, None, :]
    boxes = ds.meta["mask"][torch.arange(40)[:, None, None], rows, cols]  # (N, 7, 7)
    drawings = []
    for k in range(ds.num_classes):
        of_class = boxes[ds.y == k]
        assert (of_class == of_class[0]).all()  # one class, one drawing
        drawings.append(of_class[0])
    assert len({tuple(d.flatten().tolist()) for d in drawings}) == ds.num_classes


def test_multi_scale_objects_cover_small_and_large_scales():
    ds = data.multi_scale_objects(n=SMALL)
    scale = ds.meta["scale"]
    assert scale.min() >= 5 and scale.max() <= 27 and (scale % 2 == 1).all()
    assert (scale <= 9).sum() > SMALL // 10 and (scale >= 21).sum() > SMALL // 10
    # the hollow square fills its box, so its mask's extent is exactly the scale
    square = ds.y == ds.meta["shape_names"].index("square")
    mask = ds.meta["mask"][square]
    height = mask.any(dim=2).sum(dim=1)
    width = mask.any(dim=1).sum(dim=1)
    assert torch.equal(height, scale[square]) and torch.equal(width, scale[square])


@pytest.mark.parametrize("snr_db", [-10.0, -5.0, 0.0, 7.5])
def test_noisy_vibration_hits_the_requested_snr_for_every_sample(snr_db):
    ds = data.noisy_vibration(n=100, snr_db=snr_db)
    clean, noisy = ds.meta["clean"].double(), ds.x.double()
    measured = 10 * torch.log10(clean.pow(2).mean(-1) / (noisy - clean).pow(2).mean(-1))
    assert (measured - snr_db).abs().max() < 1e-3
    assert ds.meta["snr_db"] == snr_db


def test_noisy_vibration_classes_differ_in_impact_rate():
    ds = data.noisy_vibration(n=200)
    clean = ds.meta["clean"][:, 0]
    assert torch.allclose(clean.pow(2).mean(-1), torch.ones(200), atol=1e-4)  # unit power
    # the impacts ring at 0.2 cycles/sample: the energy there grows with the impact rate
    spectrum = torch.fft.rfft(clean).abs().pow(2)  # (N, L // 2 + 1)
    band = spectrum[:, int(0.15 * 512):int(0.25 * 512)].sum(-1)
    per_class = [band[ds.y == k].mean().item() for k in range(ds.num_classes)]
    assert per_class[0] < 1e-2 * per_class[1]  # healthy: no impacts (only leakage)
    assert per_class[1] > per_class[2] > per_class[3]  # faster impacts, more energy


def test_shapes_segmentation_mask_has_every_class_and_matches_image():
    ds = data.shapes_segmentation(n=SMALL)
    present = torch.bincount(ds.y.flatten(), minlength=ds.num_classes)
    assert (present > 0).all() and len(present) == ds.num_classes == 4
    assert ((ds.y > 0).flatten(1).any(1)).all()  # every image holds a shape
    assert ds.meta["class_names"] == ("background", "block", "disk", "triangle")
    image = ds.x[:, 0]
    assert image[ds.y > 0].mean() - image[ds.y == 0].mean() > 0.8


def test_long_range_markers_are_far_apart_and_label_says_whether_they_match():
    ds = data.long_range(n=SMALL)
    assert torch.bincount(ds.y).tolist() == [SMALL // 2, SMALL // 2]
    positions = ds.meta["positions"]  # (N, 2 markers, (row, col))
    column_gap = positions[:, 1, 1] - positions[:, 0, 1]
    assert (column_gap >= 24 / 2).all()
    pattern = ds.meta["pattern"]
    assert torch.equal((pattern[:, 0] == pattern[:, 1]).long(), ds.y)
    templates = ds.meta["templates"]  # (P, 5, 5)
    assert len({tuple(t.flatten().tolist()) for t in templates}) == len(templates)
    # the image really shows the recorded pattern at the recorded place
    for i in range(10):
        for m in range(2):
            r, c = positions[i, m].tolist()
            patch = ds.x[i, 0, r - 2:r + 3, c - 2:c + 3]
            assert torch.corrcoef(torch.stack([patch.flatten(),
                                               templates[pattern[i, m]].flatten()]))[0, 1] > 0.8


def test_long_range_cannot_be_solved_by_counting_patterns():
    # Every image holds two markers; the set of patterns shown is the only clue,
    # so a per-pattern count (what local features plus averaging see) gives
    # matches as a 2 in one slot and mismatches as two 1s: linear sums of the counts
    # cannot separate them, which is the point of the data set.
    ds = data.long_range(n=SMALL)
    counts = torch.nn.functional.one_hot(ds.meta["pattern"], 4).sum(1)  # (N, P)
    assert (counts.sum(1) == 2).all()
    assert torch.equal((counts.max(1).values == 2).long(), ds.y)


def test_default_sizes_are_fast_enough_for_a_notebook():
    for name in NAMES:
        start = time.perf_counter()
        data.make(name)
        assert time.perf_counter() - start < 3.0, name


# ------------------------------------------------------------ enlarged_objects (chapter 7)

def test_enlarged_objects_change_only_the_size_of_each_object():
    views = data.enlarged_objects(n=60, factors=(1.0, 1.5, 2.0), seed=4)
    assert list(views) == [1.0, 1.5, 2.0]
    one, two = views[1.0], views[2.0]
    for view in views.values():
        assert view.x.shape == (60, 1, 32, 32) and torch.equal(view.y, one.y)
        assert torch.equal(view.meta["center"], one.meta["center"])
        noise = view.x[:, 0] - view.meta["mask"].float()  # the same noise under every version
        assert torch.allclose(noise, one.x[:, 0] - one.meta["mask"].float(), atol=1e-6)
    assert torch.allclose(two.meta["side"], 2 * one.meta["side"])
    area = {f: v.meta["mask"].flatten(1).sum(1).float() for f, v in views.items()}
    assert ((area[1.5] > area[1.0]) & (area[2.0] > area[1.5])).all()
    ratio = area[2.0] / area[1.0]
    assert 3.0 < ratio.mean() < 5.0  # twice as wide: about four times the area


def test_enlarged_objects_at_factor_one_are_drawn_as_multi_scale_objects_draws_them():
    view = data.enlarged_objects(n=40, factors=(1.0, 2.0), seed=2)[1.0]
    half = ((view.meta["side"] - 1) / 2).long()
    cy, cx = view.meta["center"].unbind(1)
    redrawn = data._draw(data.OBJECT_SHAPES, view.y, cy, cx, half, 32, 32)
    assert torch.equal(view.meta["mask"], redrawn)
    side = view.meta["side"]
    assert side.min() >= 5 and side.max() <= 13 and (side % 2 == 1).all()


def test_enlarged_objects_keep_the_largest_version_inside_the_image():
    views = data.enlarged_objects(n=200, factors=(1.0, 2.0), seed=1)
    largest = views[2.0]
    reach = (largest.meta["side"] / 2).ceil().long()  # from the centre pixel to the box's edge, rounded up
    centre = largest.meta["center"]
    assert ((centre - reach[:, None] + 1) >= 0).all() and ((centre + reach[:, None] - 1) <= 31).all()
    square = largest.y == largest.meta["shape_names"].index("square")  # a square fills its box
    width = largest.meta["mask"][square].any(dim=1).sum(dim=1)
    assert (width.float() - largest.meta["side"][square]).abs().max() <= 1


@pytest.mark.parametrize("kwargs, expected", [
    ({"factors": ()}, "factors must be one or more numbers greater than 0; got ()"),
    ({"factors": (1.0, -2.0)}, "factors must be one or more numbers greater than 0"),
    ({"max_size": 17}, "the largest object, 17 pixels times 2.0, must fit in the image of 32 pixels; got 34"),
    ({"min_size": 9, "max_size": 8}, "max_size must be a whole number between 9 and size (32); got 8"),
])
def test_enlarged_objects_explain_bad_arguments(kwargs, expected):
    with pytest.raises(ValueError) as err:
        data.enlarged_objects(n=4, **kwargs)
    assert expected in str(err.value)


def test_enlarged_objects_are_seeded_and_leave_the_global_rng_alone():
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    a, b = data.enlarged_objects(n=20, seed=3), data.enlarged_objects(n=20, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(a[f].x, b[f].x) for f in a)
    assert not torch.equal(a[1.0].x, data.enlarged_objects(n=20, seed=4)[1.0].x)
