"""Small synthetic data sets for the book's experiments, at least one per mechanism family.

Every data set here is made on the fly from a seed, so nothing is downloaded
and every reader sees exactly the same numbers. Each one is built so that the
claim of one chapter becomes visible in a short experiment on a laptop CPU:

* ``channel_selection``   (SE, ECA)    - only a few channels carry the class;
  the rest are louder noise. A channel gate should learn to keep the few.
* ``switching_channels``  (SE)         - which channels carry the class changes
  from image to image, so only a gate that depends on the input can keep them.
* ``switching_channels``  (SE)         - which group of channels carries the
  class changes from image to image; only a gate that looks at the image
  (SE's squeeze) can follow it, a fixed per-channel weighting cannot.
* ``object_in_clutter``   (CBAM, BAM, sSE) - a small shape hidden among blobs.
  ``meta["mask"]`` says where the shape is, to compare with an attention map.
* ``multi_scale_objects`` (Selective Kernel) - the same shapes drawn tiny and
  large; ``meta["scale"]`` lets you check which kernel branch wins at which size.
  ``enlarged_objects`` draws the same objects (shape, centre, noise) at
  several sizes, one data set per factor, as the SK paper enlarges its images.
* ``noisy_vibration``     (DRSN, shrinkage) - 1-D fault signals buried in noise
  at an exact signal-to-noise ratio; ``meta["clean"]`` holds the clean signals.
* ``shapes_segmentation`` (scSE) - shapes with a per-pixel label mask.
* ``long_range``          (non-local) - two markers far apart; the label says
  whether they match, which a small local CNN cannot see.

Train / test: call a generator twice with different ``seed`` values, e.g.
``train = channel_selection(seed=0)`` and ``test = channel_selection(seed=1)``.
The *task* (which channels matter, which marker patterns exist, the class
definitions) does not depend on ``seed``, so both halves pose the same problem.

Every generator returns a ``SyntheticDataset`` with ``x``, ``y``, ``meta``,
``num_classes`` and ``description``. They never touch PyTorch's global random
state: all randomness comes from a private ``torch.Generator``.
"""

import math
import numbers

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class SyntheticDataset(Dataset):
    """Tensors ``x`` (float32) and ``y`` (long) plus ``meta``, a dict of extras."""

    def __init__(self, x, y, meta, num_classes, description):
        self.x = x
        self.y = y
        self.meta = meta
        self.num_classes = num_classes
        self.description = description

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]

    def loader(self, batch_size=64, shuffle=True, seed=0):
        """A DataLoader whose shuffling order is fixed by ``seed``."""
        order = torch.Generator().manual_seed(seed)
        return DataLoader(self, batch_size=batch_size, shuffle=shuffle, generator=order)

    def __repr__(self):
        return (f"SyntheticDataset(n={len(self)}, x={tuple(self.x.shape)}, "
                f"num_classes={self.num_classes}: {self.description})")


# ----------------------------------------------------------------- checks

def _check(ok, func, message, **shown):
    """Raise a ValueError that names the call, what was expected and what came."""
    if not ok:
        args = ", ".join(f"{k}={v!r}" for k, v in shown.items())
        raise ValueError(f"{func}({args}): {message}")


def _check_int(func, name, value, low, high=None, high_label=None, **shown):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    ok = ok and value >= low and (high is None or value <= high)
    if high is None:
        expected = f"a whole number of at least {low}"
    else:
        expected = f"a whole number between {low} and {high_label or high}"
    _check(ok, func, f"{name} must be {expected}; got {value!r}", **{name: value}, **shown)


def _check_positive(func, name, value):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value > 0
    _check(ok, func, f"{name} must be a number greater than 0; got {value!r}", **{name: value})


def _balanced_labels(n, num_classes, gen):
    """(N,) labels with every class appearing n // num_classes or one more times."""
    return (torch.arange(n) % num_classes)[torch.randperm(n, generator=gen)]


def _uniform(shape, low, high, gen):
    return low + (high - low) * torch.rand(shape, generator=gen)


# ----------------------------------------------------------------- shapes
# Each shape is a rule on coordinates (u, v) that run from -1 to 1 across the
# shape's box (u down, v right), so one rule draws the shape at any size.

def _in_box(u, v):
    return (u.abs() < 1) & (v.abs() < 1)


_SHAPES = {
    "cross": lambda u, v: _in_box(u, v) & ((u.abs() < 0.2) | (v.abs() < 0.2)),
    "square": lambda u, v: _in_box(u, v) & (torch.maximum(u.abs(), v.abs()) > 0.6),
    "ring": lambda u, v: ((u**2 + v**2) > 0.55**2) & ((u**2 + v**2) < 1.0),
    "x": lambda u, v: _in_box(u, v) & ((u.abs() - v.abs()).abs() < 0.2),
    "bar": lambda u, v: _in_box(u, v) & (u.abs() < 0.25),
    "triangle": lambda u, v: _in_box(u, v) & (v.abs() <= (u + 1) / 2),
    "block": _in_box,
    "disk": lambda u, v: (u**2 + v**2) < 0.95**2,
}
OBJECT_SHAPES = ("cross", "square", "ring", "x", "bar", "triangle")
SEGMENT_SHAPES = ("block", "disk", "triangle")


def _draw(names, kind, cy, cx, half, height, width):
    """(N, H, W) bool masks: shape names[kind[i]] centred at (cy, cx).

    The box of a shape is 2 * half + 1 pixels wide; kind, cy, cx, half are (N,).
    """
    rows = torch.arange(height).view(1, -1, 1)
    cols = torch.arange(width).view(1, 1, -1)
    radius = half.view(-1, 1, 1) + 0.5
    u = (rows - cy.view(-1, 1, 1)) / radius  # (N, H, 1)
    v = (cols - cx.view(-1, 1, 1)) / radius  # (N, 1, W)
    mask = torch.zeros(len(kind), height, width, dtype=torch.bool)
    for i, name in enumerate(names):
        chosen = kind == i
        mask[chosen] = _SHAPES[name](u[chosen], v[chosen])
    return mask


def _random_centres(half, height, width, gen):
    """Centres (N,) rows and cols that keep a shape of size `half` inside the image."""
    cy = (_uniform(half.shape, 0, 1, gen) * (height - 2 * half)).long() + half
    cx = (_uniform(half.shape, 0, 1, gen) * (width - 2 * half)).long() + half
    return cy, cx


# ----------------------------------------------------------------- generators

def channel_selection(n=2000, channels=16, informative=4, num_classes=4, size=16,
                      signal=0.15, noise_std=3.0, *, seed=0, task_seed=0):
    """Channel attention (SE, ECA): few informative channels among loud noise.

    Each informative channel has a class-dependent mean (``signal`` times one of
    evenly spaced levels in [-1, 1]; every channel orders the classes
    differently) plus unit-variance pixel noise. All other channels are noise
    with standard deviation ``noise_std`` per pixel and a random per-image offset
    of the same size, so they are louder and look like they might matter.

    meta: ``informative`` (k,) long sorted channel indices; ``levels``
    (num_classes, k) the class means of those channels. ``task_seed`` fixes both.
    """
    f = "channel_selection"
    _check_int(f, "n", n, 1)
    _check_int(f, "channels", channels, 2)
    _check_int(f, "informative", informative, 1, channels, f"channels ({channels})",
               channels=channels)
    _check_int(f, "num_classes", num_classes, 2)
    _check_int(f, "size", size, 1)
    _check_positive(f, "signal", signal)
    _check_positive(f, "noise_std", noise_std)
    task = torch.Generator().manual_seed(task_seed)
    chosen = torch.randperm(channels, generator=task)[:informative].sort().values
    steps = torch.linspace(-1, 1, num_classes)
    levels = torch.stack([steps[torch.randperm(num_classes, generator=task)]
                          for _ in range(informative)], dim=1)  # (K, k)

    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes, gen)
    offset = noise_std * torch.randn(n, channels, 1, 1, generator=gen)
    x = offset + noise_std * torch.randn(n, channels, size, size, generator=gen)  # (N, C, H, W)
    clean = signal * levels[y].view(n, informative, 1, 1)
    x[:, chosen] = clean + torch.randn(n, informative, size, size, generator=gen)
    return SyntheticDataset(
        x, y, {"informative": chosen, "levels": levels}, num_classes,
        f"{informative} of {channels} channels carry the class; the rest are louder noise")


def switching_channels(n=2000, channels=16, group_size=4, num_classes=4, size=16,
                       signal=1.0, brightness=4.0, offset_std=1.0, noise_std=6.0, *,
                       seed=0, task_seed=0):
    """Input-dependent channel attention (SE against a fixed gate): which channels
    carry the class changes from image to image.

    The channels are split into groups of ``group_size``. In every image one
    group, drawn at random, carries the class: each of its channels has the
    class's mean (``signal`` times one of evenly spaced levels in [-1, 1], the
    same level in every channel of the group) plus unit-variance pixel noise.
    The other channels are noise: their mean is ``brightness`` plus a random
    per-image offset of std ``offset_std``, and their pixels have std
    ``noise_std``, so they are louder and shift the class means of any
    network that reads them.

    So the carrying group is the group whose channel averages over the whole
    image are lowest: at the class level rather than near ``brightness``
    (with the defaults this holds in every image; tests/test_data.py checks
    it). A gate that sees those averages (SE's squeeze) can find the group.
    Because it changes from image to image, a weighting that is the same for
    every image cannot single it out, and a network without a gate has to
    read the loud channels along with the quiet ones.

    meta: ``groups`` (G, group_size) long, the channels of each group, and
    ``levels`` (num_classes,) the class means before ``signal``, both fixed by
    ``task_seed``; ``group`` (N,) long, the carrying group of each image;
    ``informative`` (N, group_size) long, its channels, sorted; ``mask``
    (N, C) bool, True on them.
    """
    f = "switching_channels"
    _check_int(f, "n", n, 1)
    _check_int(f, "channels", channels, 2)
    _check_int(f, "group_size", group_size, 1, channels // 2, f"channels // 2 ({channels // 2})",
               channels=channels)
    _check(channels % group_size == 0, f, f"channels must be a multiple of group_size "
           f"({group_size}); got {channels}", channels=channels, group_size=group_size)
    _check_int(f, "num_classes", num_classes, 2)
    _check_int(f, "size", size, 1)
    for name, value in (("signal", signal), ("brightness", brightness),
                        ("offset_std", offset_std), ("noise_std", noise_std)):
        _check_positive(f, name, value)
    task = torch.Generator().manual_seed(task_seed)
    groups = torch.randperm(channels, generator=task).view(-1, group_size).sort(dim=1).values  # (G, k)
    levels = torch.linspace(-1, 1, num_classes)[torch.randperm(num_classes, generator=task)]  # (K,)

    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes, gen)
    group = torch.randint(len(groups), (n,), generator=gen)
    chosen = groups[group]  # (N, k)
    mask = torch.zeros(n, channels, dtype=torch.bool)
    mask[torch.arange(n)[:, None], chosen] = True
    offset = brightness + offset_std * torch.randn(n, channels, 1, 1, generator=gen)
    x = offset + noise_std * torch.randn(n, channels, size, size, generator=gen)  # (N, C, H, W)
    clean = signal * levels[y].view(n, 1, 1, 1) + torch.randn(n, channels, size, size, generator=gen)
    x = torch.where(mask[:, :, None, None], clean, x)
    return SyntheticDataset(
        x, y, {"groups": groups, "levels": levels, "group": group, "informative": chosen, "mask": mask},
        num_classes,
        f"one group of {group_size} of {channels} channels carries the class; which one changes per image")


def object_in_clutter(n=2000, size=32, num_classes=4, object_size=7, clutter=8,
                      noise=0.3, *, seed=0):
    """Spatial attention (CBAM, BAM, sSE): one small shape among distractor blobs.

    The class is the shape (``OBJECT_SHAPES[:num_classes]``: cross, square,
    ring, x, bar, triangle), drawn at brightness 1 at a random place over
    ``clutter`` soft Gaussian blobs and pixel noise of std ``noise``.

    meta: ``mask`` (N, H, W) bool, the object's pixels; ``center`` (N, 2) long,
    its (row, col); ``shape_names`` the class names.
    """
    f = "object_in_clutter"
    _check_int(f, "n", n, 1)
    _check_int(f, "num_classes", num_classes, 2, len(OBJECT_SHAPES))
    _check_int(f, "object_size", object_size, 3, size, f"size ({size})", size=size)
    _check(object_size % 2 == 1, f, f"object_size must be odd so the shape has a centre "
           f"pixel; got {object_size}", object_size=object_size)
    _check_int(f, "clutter", clutter, 0)
    _check_positive(f, "noise", noise)
    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes, gen)
    half = torch.full((n,), object_size // 2)
    cy, cx = _random_centres(half, size, size, gen)
    mask = _draw(OBJECT_SHAPES, y, cy, cx, half, size, size)  # (N, H, W)

    # Gaussian blobs; exp(-(dy^2 + dx^2)) = exp(-dy^2) * exp(-dx^2), so draw rows and cols apart.
    grid = torch.arange(size, dtype=torch.float32)
    by, bx = _uniform((2, n, clutter, 1), 0, size - 1, gen)
    width = _uniform((n, clutter, 1), 1.0, 2.0, gen)
    height = _uniform((n, clutter, 1), 0.5, 1.0, gen)
    gy = height * torch.exp(-((grid - by) ** 2) / (2 * width**2))  # (N, B, H)
    gx = torch.exp(-((grid - bx) ** 2) / (2 * width**2))  # (N, B, W)
    background = torch.einsum("nbh,nbw->nhw", gy, gx)  # (N, H, W)
    x = torch.where(mask, 1.0, background) + noise * torch.randn(n, size, size, generator=gen)
    return SyntheticDataset(
        x.unsqueeze(1), y,
        {"mask": mask, "center": torch.stack([cy, cx], 1),
         "shape_names": OBJECT_SHAPES[:num_classes]},
        num_classes, "a small shape at a random place among blurry distractor blobs")


def multi_scale_objects(n=2000, size=32, num_classes=4, min_size=5, max_size=27,
                        noise=0.3, *, seed=0):
    """Selective kernels (SK): the same shapes drawn at very different sizes.

    Each image holds one shape (``OBJECT_SHAPES[:num_classes]``) whose box is
    an odd side length between ``min_size`` and ``max_size`` pixels, chosen
    uniformly, on pixel noise of std ``noise``.

    meta: ``scale`` (N,) long, side length in pixels; ``center`` (N, 2) long;
    ``mask`` (N, H, W) bool; ``shape_names``.
    """
    f = "multi_scale_objects"
    _check_int(f, "n", n, 1)
    _check_int(f, "num_classes", num_classes, 2, len(OBJECT_SHAPES))
    _check_int(f, "min_size", min_size, 3)
    _check_int(f, "max_size", max_size, min_size, size, f"size ({size})",
               min_size=min_size, size=size)
    low, high = min_size // 2, (max_size - 1) // 2  # half-widths of odd sizes in range
    _check(low <= high, f, "there must be an odd side length between min_size and "
           f"max_size; got {min_size} and {max_size}", min_size=min_size, max_size=max_size)
    _check_positive(f, "noise", noise)
    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes, gen)
    half = torch.randint(low, high + 1, (n,), generator=gen)
    cy, cx = _random_centres(half, size, size, gen)
    mask = _draw(OBJECT_SHAPES, y, cy, cx, half, size, size)  # (N, H, W)
    x = mask.float() + noise * torch.randn(n, size, size, generator=gen)
    return SyntheticDataset(
        x.unsqueeze(1), y,
        {"scale": 2 * half + 1, "center": torch.stack([cy, cx], 1), "mask": mask,
         "shape_names": OBJECT_SHAPES[:num_classes]},
        num_classes, f"shapes drawn from {min_size} to {max_size} pixels wide")


def enlarged_objects(n=500, factors=(1.0, 1.5, 2.0), size=32, num_classes=4, min_size=5, max_size=13,
                     noise=0.3, *, seed=0):
    """Selective kernels (SK): the same objects drawn at several sizes, as the SK paper enlarges its images.

    Each object (a shape of ``OBJECT_SHAPES[:num_classes]``, its centre, its
    box, an odd side between ``min_size`` and ``max_size`` pixels, and its
    pixel noise of std ``noise``) is drawn once. For every factor f in
    ``factors`` the shape is drawn again with its box f times as wide,
    around the same centre and on the same noise, so that only the object's
    size changes. Centres keep the largest version inside the image.

    Returns ``{f: SyntheticDataset}``, one data set per factor, with x
    (N, 1, H, W) and the same y. meta: ``factor`` (f); ``side`` (N,) float,
    the box's side in pixels at that factor; ``center`` (N, 2) long;
    ``mask`` (N, H, W) bool; ``shape_names``. At factor 1 an object is drawn
    exactly as ``multi_scale_objects`` draws one of its side.
    """
    f = "enlarged_objects"
    _check_int(f, "n", n, 1)
    _check_int(f, "num_classes", num_classes, 2, len(OBJECT_SHAPES))
    _check_int(f, "min_size", min_size, 3)
    _check_int(f, "max_size", max_size, min_size, size, f"size ({size})", min_size=min_size, size=size)
    _check(min_size // 2 <= (max_size - 1) // 2, f, "there must be an odd side length between min_size and "
           f"max_size; got {min_size} and {max_size}", min_size=min_size, max_size=max_size)
    _check_positive(f, "noise", noise)
    factors = tuple(factors)
    _check(len(factors) > 0 and all(isinstance(v, numbers.Real) and not isinstance(v, bool) and v > 0
                                    for v in factors),
           f, f"factors must be one or more numbers greater than 0; got {factors!r}", factors=factors)
    largest = (max_size // 2 * 2 + 1) * max(factors)  # the widest box, in pixels
    _check(largest <= size, f, f"the largest object, {max_size // 2 * 2 + 1} pixels times {max(factors)}, "
           f"must fit in the image of {size} pixels; got {largest:g}", max_size=max_size, factors=factors, size=size)
    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes, gen)
    half = torch.randint(min_size // 2, (max_size - 1) // 2 + 1, (n,), generator=gen)
    radius = half + 0.5  # from the centre pixel's middle to the box's edge, at factor 1
    reach = (radius * max(factors) - 0.5).ceil().long()  # half-width, in whole pixels, of the largest box
    cy, cx = _random_centres(reach, size, size, gen)
    pixel_noise = noise * torch.randn(n, size, size, generator=gen)
    views = {}
    for factor in factors:
        mask = _draw(OBJECT_SHAPES, y, cy, cx, radius * factor - 0.5, size, size)  # (N, H, W)
        views[factor] = SyntheticDataset(
            (mask.float() + pixel_noise).unsqueeze(1), y,
            {"factor": factor, "side": 2 * radius * factor, "center": torch.stack([cy, cx], 1), "mask": mask,
             "shape_names": OBJECT_SHAPES[:num_classes]},
            num_classes, f"the same {n} shapes enlarged {factor:g} times")
    return views


FAULTS = ("healthy", "inner_race", "outer_race", "ball", "cage")
_FAULT_PERIOD = (None, 21.0, 33.0, 47.0, 70.0)  # samples between impacts


def noisy_vibration(n=2000, length=512, num_classes=4, snr_db=-5.0, *, seed=0):
    """Shrinkage (DRSN): vibration signals of machine faults in heavy noise.

    Every signal has a slow shaft rotation. A fault (``FAULTS``) adds a train
    of impacts, each ringing a resonance at 0.2 cycles per sample and dying
    out; the class is set by how often impacts repeat (``healthy`` has none).
    Each clean signal is scaled to unit power, then Gaussian noise is scaled
    so that 10 * log10(signal power / noise power) equals ``snr_db`` exactly
    for every sample. x is (N, 1, L).

    meta: ``clean`` (N, 1, L) the signals before noise; ``snr_db`` (float);
    ``fault_names``.
    """
    f = "noisy_vibration"
    _check_int(f, "n", n, 1)
    _check_int(f, "length", length, 64)
    _check_int(f, "num_classes", num_classes, 2, len(FAULTS))
    _check(isinstance(snr_db, numbers.Real) and math.isfinite(snr_db), f,
           f"snr_db must be a finite number of decibels; got {snr_db!r}", snr_db=snr_db)
    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, num_classes, gen)
    t = torch.arange(length, dtype=torch.float64)
    shaft = torch.sin(2 * math.pi * t / 90 + _uniform((n, 1), 0, 2 * math.pi, gen))

    # Impacts: a train of spikes, one every `period` samples (with small speed changes).
    period = torch.tensor([p or 1.0 for p in _FAULT_PERIOD], dtype=torch.float64)[y]
    period = period * _uniform(n, 0.97, 1.03, gen).double()
    impacts = math.ceil(length / min(p for p in _FAULT_PERIOD if p)) + 1
    start = _uniform(n, 0, 1, gen).double() * period
    when = (start[:, None] + period[:, None] * torch.arange(impacts)).round().long()  # (N, M)
    strength = _uniform((n, impacts), 0.7, 1.3, gen).double()
    strength[(y == 0)[:, None] | (when >= length)] = 0.0  # healthy: no impacts
    spikes = torch.zeros(n, length, dtype=torch.float64)
    spikes.scatter_add_(1, when.clamp(max=length - 1), strength)  # (N, L)
    # Each spike rings the machine's resonance (0.2 cycles per sample), which dies away.
    k = torch.arange(48, dtype=torch.float64)
    ring = torch.exp(-k / 6) * torch.sin(2 * math.pi * 0.2 * k)
    kernel = ring.flip(0).float().view(1, 1, -1)
    impulses = F.conv1d(spikes.float().unsqueeze(1), kernel, padding=len(k) - 1)
    impulses = impulses[:, 0, :length].double()  # (N, L)
    clean = 0.5 * shaft + impulses
    clean = clean / clean.pow(2).mean(dim=1, keepdim=True).sqrt()  # unit power

    noise = torch.randn(n, length, generator=gen).double()
    noise = noise * (10 ** (-snr_db / 20) / noise.pow(2).mean(dim=1, keepdim=True).sqrt())
    x = (clean + noise).float().unsqueeze(1)
    return SyntheticDataset(
        x, y, {"clean": clean.float().unsqueeze(1), "snr_db": float(snr_db),
               "fault_names": FAULTS[:num_classes]},
        num_classes, f"fault impact trains on a shaft signal, buried in noise at {snr_db} dB")


def shapes_segmentation(n=1000, size=32, num_classes=4, shapes_per_image=3, noise=0.4,
                        *, seed=0):
    """Segmentation (scSE): label every pixel as background or a shape type.

    Shapes are ``SEGMENT_SHAPES[:num_classes - 1]`` (block, disk, triangle),
    5 to 11 pixels wide, all equally bright, at random places; later shapes
    cover earlier ones. ``y`` is the (N, H, W) long mask: 0 = background,
    i = SEGMENT_SHAPES[i - 1].

    meta: ``class_names`` ("background", then the shape names).
    """
    f = "shapes_segmentation"
    _check_int(f, "n", n, 1)
    _check_int(f, "size", size, 12)
    _check_int(f, "num_classes", num_classes, 2, len(SEGMENT_SHAPES) + 1)
    _check_int(f, "shapes_per_image", shapes_per_image, 1)
    _check_positive(f, "noise", noise)
    gen = torch.Generator().manual_seed(seed)
    names = SEGMENT_SHAPES[:num_classes - 1]
    y = torch.zeros(n, size, size, dtype=torch.long)  # (N, H, W)
    for _ in range(shapes_per_image):
        kind = torch.randint(len(names), (n,), generator=gen)
        half = torch.randint(2, 6, (n,), generator=gen)
        cy, cx = _random_centres(half, size, size, gen)
        mask = _draw(names, kind, cy, cx, half, size, size)
        y = torch.where(mask, kind.view(-1, 1, 1) + 1, y)
    x = (y > 0).float() + noise * torch.randn(n, size, size, generator=gen)
    return SyntheticDataset(x.unsqueeze(1), y, {"class_names": ("background",) + names},
                            num_classes, "random shapes with a per-pixel class mask")


def long_range(n=2000, size=24, patterns=4, marker_size=5, noise=0.3, *,
               seed=0, task_seed=0):
    """Non-local blocks: do two far-apart markers match?

    One marker sits in the left quarter of the image and one in the right
    quarter, so they are at least half the image width apart. Each marker is
    one of ``patterns`` fixed +-1 patterns (chosen by ``task_seed``). The label
    is 1 when both markers show the same pattern, 0 otherwise (exactly half
    each). A CNN that only looks locally and then averages cannot tell.

    meta: ``positions`` (N, 2, 2) long, (row, col) of the left and right marker
    centres; ``pattern`` (N, 2) long, which pattern each shows; ``templates``
    (patterns, s, s) the patterns themselves.
    """
    f = "long_range"
    _check_int(f, "n", n, 1)
    _check_int(f, "patterns", patterns, 2)
    _check_int(f, "marker_size", marker_size, 1)
    _check(marker_size % 2 == 1, f, f"marker_size must be odd; got {marker_size}",
           marker_size=marker_size)
    half = marker_size // 2
    _check_int(f, "size", size, 4 * (half + 2), marker_size=marker_size)
    _check_positive(f, "noise", noise)
    task = torch.Generator().manual_seed(task_seed)
    bits = torch.randint(2, (patterns, marker_size, marker_size), generator=task)
    templates = 2.0 * bits - 1.0  # (P, s, s)

    gen = torch.Generator().manual_seed(seed)
    y = _balanced_labels(n, 2, gen)
    first = torch.randint(patterns, (n,), generator=gen)
    other = (first + torch.randint(1, patterns, (n,), generator=gen)) % patterns
    second = torch.where(y == 1, first, other)
    rows = torch.randint(half + 1, size - half - 1, (n, 2), generator=gen)
    inset = torch.randint(half + 1, size // 4, (n, 2), generator=gen)
    cols = torch.stack([inset[:, 0], size - 1 - inset[:, 1]], dim=1)

    x = noise * torch.randn(n, size, size, generator=gen)  # (N, H, W)
    offsets = torch.arange(-half, half + 1)
    batch = torch.arange(n).view(-1, 1, 1)
    for side, pattern in enumerate((first, second)):
        r = rows[:, side].view(-1, 1, 1) + offsets.view(1, -1, 1)
        c = cols[:, side].view(-1, 1, 1) + offsets.view(1, 1, -1)
        x[batch, r, c] += templates[pattern]
    return SyntheticDataset(
        x.unsqueeze(1), y,
        {"positions": torch.stack([rows, cols], dim=2), "pattern": torch.stack([first, second], 1),
         "templates": templates},
        2, "label 1 when the two far-apart markers show the same pattern")


# ----------------------------------------------------------------- lookup

_GENERATORS = {
    "channel_selection": channel_selection,
    "switching_channels": switching_channels,
    "object_in_clutter": object_in_clutter,
    "multi_scale_objects": multi_scale_objects,
    "noisy_vibration": noisy_vibration,
    "shapes_segmentation": shapes_segmentation,
    "long_range": long_range,
}


def available():
    """Names of all data sets, for use with ``make``."""
    return list(_GENERATORS)


def make(name, **kwargs):
    """Build a data set by name, e.g. ``make("long_range", n=500, seed=1)``."""
    if name not in _GENERATORS:
        raise ValueError(f"make({name!r}): unknown data set; available: {', '.join(available())}")
    return _GENERATORS[name](**kwargs)
