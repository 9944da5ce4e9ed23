"""What a model attends to: pull the attention out of a network, and plot it.

``attention_record(model, x)`` runs one forward pass with hooks on every
attention module (``attn_edu.models.attention_modules``) and returns one
``LayerRecord`` per module call, holding what that module computed:

    channel_weights  (B, C)     SE, cSE, ECA gates; CBAM's M_c; BAM's sigma(M_c); scSE's cSE gate
    spatial_map      (B, h, w)  sSE, CBAM's M_s; BAM's sigma(M_s); scSE's sSE gate;
                                non-local: where the centre position looks
    branch_weights   (B, M, C)  SK's softmax over the branches
    threshold        (B, C)     DRSN-CW's tau per channel, (B, 1) for DRSN-CS
    affinity         (B, N, N') the non-local block's softmax(theta^T phi)

Four static plots draw them, each returning a matplotlib ``Figure`` that a
notebook shows as a PNG (no pyplot needed):

    plot_channel_weights(weights)              bars per channel, one row per sample
    plot_spatial_attention(image, attention)   the map upsampled onto the image
    plot_sk_branch_weights(weights)            stacked bars: each channel's share per branch
    plot_drsn_thresholds(signal, thresholds)   the signal with its +/- tau band, before and after
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from .. import modules
from ..functional import soft_threshold
from ..models import attention_modules
from ..modules.non_local import key_grid

__all__ = [
    "LayerRecord",
    "NotebookFigure",
    "attention_record",
    "plot_channel_weights",
    "plot_spatial_attention",
    "plot_sk_branch_weights",
    "plot_drsn_thresholds",
    "png_bytes",
]

BAR = "#4c72b0"
HIGHLIGHT = "#dd8452"


class NotebookFigure(Figure):
    """A matplotlib Figure that shows itself in a notebook as a PNG, with or without pyplot."""

    def _repr_png_(self) -> bytes:
        return png_bytes(self)


def png_bytes(fig: Figure, dpi: int = 90) -> bytes:
    """The figure rendered as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _figure(width: float, height: float) -> NotebookFigure:
    return NotebookFigure(figsize=(width, height), layout="constrained")


def _title(fig: Figure, text: str) -> None:
    """A title that states the finding, wrapped to the figure's width."""
    width = int(fig.get_figwidth() * 12)
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.split("\n")), fontsize=11)


def _array(value, who: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().to("cpu", torch.float32).numpy()
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"{who} expects a tensor or an array of numbers; got {type(value).__name__}") from None


def _shape(a: np.ndarray) -> str:
    return "(" + ", ".join(str(s) for s in a.shape) + ")"


def _pick(a: np.ndarray, sample: int, who: str) -> np.ndarray:
    if not 0 <= sample < a.shape[0]:
        raise ValueError(
            f"{who}: sample must be between 0 and {a.shape[0] - 1} for a batch of {a.shape[0]}; got {sample}"
        )
    return a[sample]


# ---------------------------------------------------------------------------
# Channel weights
# ---------------------------------------------------------------------------


def plot_channel_weights(
    weights, samples=None, highlight=None, layer: str | None = None, title: str | None = None, labels=None
) -> NotebookFigure:
    """One bar per channel, one row of bars per sample.

    Args:
        weights: channel gates (B, C) or (B, C, 1, 1), or one sample's (C,).
        samples: which samples to draw (an index or a list); the first four by default.
        highlight: channel indices to draw in orange, e.g. the informative ones.
        layer: a name for the title.
        title: a title that states the finding; the averages are added below it.
        labels: one name per drawn row instead of "sample i" (e.g. "mean over the test set").
    """
    w = _array(weights, "plot_channel_weights")
    w = w.reshape(w.shape[0], -1) if w.ndim > 1 else w[None, :]
    if w.ndim != 2:
        raise ValueError(f"plot_channel_weights expects weights (B, C) or (B, C, 1, 1); got {_shape(w)}")
    batch, channels = w.shape
    if samples is None:
        samples = list(range(min(batch, 4)))
    samples = [samples] if isinstance(samples, int) else list(samples)
    rows = [_pick(w, s, "plot_channel_weights") for s in samples]
    marked = np.zeros(channels, dtype=bool)
    if highlight is not None:
        marked[np.asarray(list(highlight), dtype=int)] = True
    colours = np.where(marked, HIGHLIGHT, BAR)
    fig = _figure(max(8.0, min(12.0, 0.12 * channels + 2)), 1.4 + 1.5 * len(rows))
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    top = 1.0 if float(w.max()) <= 1.0 and float(w.min()) >= 0.0 else None
    names = [f"sample {s}" for s in samples] if labels is None else list(labels)
    for ax, name, row in zip(axes, names, rows):
        ax.bar(np.arange(channels), row, color=colours, width=0.8)
        ax.axhline(float(row.mean()), color="#444", lw=0.8, ls="--", label=f"mean {row.mean():.2f}")
        ax.set_ylabel("weight (gate)")
        ax.set_title(name, fontsize=9, loc="left")
        ax.legend(loc="upper right", fontsize=8, frameon=False)
        if top is not None:
            ax.set_ylim(0, 1)
    axes[-1].set_xlabel("channel c")
    chosen = np.stack(rows)
    where = f"{layer}: " if layer else ""
    if marked.any() and not marked.all():
        summary = (f"{where}highlighted channels average {chosen[:, marked].mean():.2f}, "
                   f"the others {chosen[:, ~marked].mean():.2f}")
    else:
        summary = f"{where}channel weights from {chosen.min():.2f} to {chosen.max():.2f} (mean {chosen.mean():.2f})"
    _title(fig, f"{title}\n({summary})" if title else summary)
    return fig


# ---------------------------------------------------------------------------
# Spatial attention maps
# ---------------------------------------------------------------------------


def _image(image, sample: int) -> np.ndarray:
    """An image as (H, W) or (H, W, 3) in [0, 1], from (H, W), (H, W, 3), (3, H, W) or (B, 3, H, W)."""
    a = _array(image, "plot_spatial_attention")
    if a.ndim == 4:
        a = _pick(a, sample, "plot_spatial_attention")
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
        a = np.moveaxis(a, 0, -1)  # (3, H, W) -> (H, W, 3)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] != 3):
        raise ValueError(f"plot_spatial_attention expects an image (H, W), (H, W, 3) or (3, H, W); got {_shape(a)}")
    low, high = float(a.min()), float(a.max())
    return (a - low) / (high - low) if high > low else np.zeros_like(a)


def _attention(attention_map, sample: int) -> np.ndarray:
    """A map (h, w) from (h, w), (1, h, w), (B, h, w) or (B, 1, h, w)."""
    a = _array(attention_map, "plot_spatial_attention")
    if a.ndim == 4:
        a = _pick(a, sample, "plot_spatial_attention")
    if a.ndim == 3:
        a = a[0] if a.shape[0] == 1 else _pick(a, sample, "plot_spatial_attention")
    if a.ndim != 2:
        raise ValueError(f"plot_spatial_attention expects attention_map (h, w) or (B, 1, h, w); got {_shape(a)}")
    return a


def plot_spatial_attention(image, attention_map, sample: int = 0, alpha: float = 0.55,
                           layer: str | None = None, mask=None) -> NotebookFigure:
    """The image, the attention map at its own resolution, and the map upsampled onto the image.

    Args:
        image: (H, W), (H, W, 3), (3, H, W), or a batch (B, 3, H, W); rescaled to [0, 1] for display.
        attention_map: (h, w), or a batch (B, 1, h, w) / (B, h, w); upsampled bilinearly to H x W.
        sample: which sample of a batch to draw.
        alpha: opacity of the map over the image.
        layer: a name for the title.
        mask: optional ground truth (H, W) or a batch (B, H, W), True on the object; its outline
            is drawn in cyan on the input and on the overlay.
    """
    picture = _image(image, sample)
    att = _attention(attention_map, sample)
    height, width = picture.shape[:2]
    up = F.interpolate(torch.from_numpy(att)[None, None], size=(height, width), mode="bilinear",
                       align_corners=False)[0, 0].numpy()
    grey = picture if picture.ndim == 2 else picture.mean(axis=-1)
    fig = _figure(11, 3.8)
    left, middle, right = fig.subplots(1, 3)
    left.imshow(picture, cmap="gray" if picture.ndim == 2 else None)
    left.set_title("input", fontsize=10)
    shown = middle.imshow(att, cmap="magma")
    middle.set_title(f"attention map ({att.shape[0]} x {att.shape[1]})", fontsize=10)
    middle.set_xlabel("x (map cells)")
    middle.set_ylabel("y (map cells)")
    fig.colorbar(shown, ax=middle, shrink=0.8, label="attention weight")
    right.imshow(grey, cmap="gray")
    over = right.imshow(up, cmap="magma", alpha=alpha)
    right.set_title(f"upsampled to {height} x {width} on the input", fontsize=10)
    fig.colorbar(over, ax=right, shrink=0.8, label="attention weight")
    for ax in (left, right):
        ax.set_xlabel("x (pixels)")
        ax.set_ylabel("y (pixels)")
    if mask is not None:
        outline = _array(mask, "plot_spatial_attention").astype(float)
        if outline.ndim == 3:
            outline = _pick(outline, sample, "plot_spatial_attention")
        if outline.shape != (height, width):
            raise ValueError(f"plot_spatial_attention expects a mask of the image's size {height} x {width}; "
                             f"got {_shape(outline)}")
        for ax in (left, right):
            ax.contour(outline, levels=[0.5], colors="cyan", linewidths=1.2)
        left.set_title("input (object outlined)", fontsize=10)
    row, col = np.unravel_index(int(np.argmax(att)), att.shape)
    where = f"{layer}: " if layer else ""
    pixel_row, pixel_col = int((row + 0.5) * height / att.shape[0]), int((col + 0.5) * width / att.shape[1])
    _title(fig, f"{where}attention peaks at row {row}, column {col} of the map (pixel row {pixel_row}, "
                f"column {pixel_col}); weights range from {att.min():.2f} to {att.max():.2f}")
    return fig


# ---------------------------------------------------------------------------
# SK branch weights
# ---------------------------------------------------------------------------


def _branch_labels(m: int) -> list[str]:
    """Branch i of SK is a 3x3 kernel with dilation i + 1: its field is (2i + 3) x (2i + 3)."""
    return [f"branch {i + 1} ({2 * i + 3}x{2 * i + 3} field)" for i in range(m)]


def plot_sk_branch_weights(weights, sample: int = 0, branch_labels=None, layer: str | None = None) -> NotebookFigure:
    """For every channel, the share of each branch as stacked bars (they sum to 1).

    Args:
        weights: SK's select weights (B, M, C, 1, 1) or (B, M, C), or one sample's (M, C).
        sample: which sample of a batch to draw.
        branch_labels: one label per branch; by default its receptive field (3x3, 5x5, ...).
    """
    w = _array(weights, "plot_sk_branch_weights")
    if w.ndim == 5:
        w = w[..., 0, 0]
    if w.ndim == 3:
        w = _pick(w, sample, "plot_sk_branch_weights")
    if w.ndim != 2:
        raise ValueError(
            f"plot_sk_branch_weights expects weights (B, M, C, 1, 1), (B, M, C) or (M, C); got {_shape(w)}"
        )
    branches, channels = w.shape
    labels = list(branch_labels) if branch_labels is not None else _branch_labels(branches)
    if len(labels) != branches:
        raise ValueError(f"plot_sk_branch_weights: {branches} branches need {branches} labels; got {len(labels)}")
    fig = _figure(max(6.0, min(12.0, 0.12 * channels + 2)), 3.4)
    ax = fig.subplots()
    bottom = np.zeros(channels)
    colours = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"]
    for i in range(branches):
        ax.bar(np.arange(channels), w[i], bottom=bottom, color=colours[i % len(colours)], width=0.85, label=labels[i])
        bottom += w[i]
    ax.set_xlabel("channel c")
    ax.set_ylabel("branch weight (sums to 1 per channel)")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=8, ncols=min(branches, 3), frameon=False)
    wins = np.bincount(w.argmax(axis=0), minlength=branches)
    counts = ", ".join(f"branch {i + 1} in {n}" for i, n in enumerate(wins))
    where = f"{layer}: " if layer else ""
    _title(fig, f"{where}largest weight per channel: {counts} (of {channels} channels)")
    return fig


# ---------------------------------------------------------------------------
# DRSN thresholds
# ---------------------------------------------------------------------------


def plot_drsn_thresholds(signal, thresholds, sample: int = 0, channel: int = 0,
                         layer: str | None = None) -> NotebookFigure:
    """One channel of a signal with its +/- tau band, and what soft thresholding leaves of it.

    Args:
        signal: the input of the shrinkage, (B, C, L) or (B, C, H, W) (flattened to a sequence),
            or one sample's (C, L), or one channel's (L,).
        thresholds: tau as the module returns it, (B, C, 1) / (B, 1, 1) or (B, C) / (B, 1),
            one sample's (C,), or a number.
        sample, channel: which sample and channel to draw.
    """
    x = _array(signal, "plot_drsn_thresholds")
    if x.ndim == 1:
        x = x[None, None]
    elif x.ndim == 2:
        x = x[None]
    x = x.reshape(x.shape[0], x.shape[1], -1)  # (B, C, L) or (B, C, H*W)
    flattened = _array(signal, "plot_drsn_thresholds").ndim == 4
    batch, channels, _ = x.shape
    tau = _array(thresholds, "plot_drsn_thresholds")
    if tau.ndim == 0:
        tau = np.full((batch, 1), float(tau), dtype=np.float32)
    elif tau.ndim == 1:
        tau = tau[None]
    tau = tau.reshape(tau.shape[0], -1)
    if tau.shape[1] not in (1, channels) or tau.shape[0] not in (1, batch):
        raise ValueError(f"plot_drsn_thresholds: thresholds must have one value per sample or per channel "
                         f"of the signal {_shape(x)}; got {_shape(tau)}")
    if not 0 <= channel < channels:
        raise ValueError(f"plot_drsn_thresholds: channel must be between 0 and {channels - 1}; got {channel}")
    row = _pick(x, sample, "plot_drsn_thresholds")[channel]
    t = float(tau[min(sample, tau.shape[0] - 1), channel if tau.shape[1] > 1 else 0])
    shrunk = soft_threshold(torch.from_numpy(row), t).numpy()
    position = np.arange(row.size)
    fig = _figure(9, 4.6)
    before, after = fig.subplots(2, 1, sharex=True)
    before.plot(position, row, color=BAR, lw=1)
    before.axhspan(-t, t, color=HIGHLIGHT, alpha=0.25, label=f"|x| <= tau = {t:.3f}: set to 0")
    before.set_ylabel("activation x")
    before.set_title("before: the input with its threshold band", fontsize=10, loc="left")
    before.legend(loc="upper right", fontsize=8)
    after.plot(position, row, color="#bbbbbb", lw=0.8, label="before")
    after.plot(position, shrunk, color=BAR, lw=1.2, label="after: sign(x) max(|x| - tau, 0)")
    after.set_ylabel("activation y")
    after.set_xlabel("position (flattened H x W)" if flattened else "position (time step)")
    after.set_title("after soft thresholding", fontsize=10, loc="left")
    after.legend(loc="upper right", fontsize=8)
    zeroed = float((shrunk == 0).mean())
    where = f"{layer}: " if layer else ""
    _title(fig, f"{where}tau = {t:.3f} zeroes {100 * zeroed:.0f}% of channel {channel}'s values (sample {sample})")
    return fig


# ---------------------------------------------------------------------------
# Pulling the attention out of a model
# ---------------------------------------------------------------------------


@dataclass
class LayerRecord:
    """What one attention module computed in a forward pass; fields it does not have are None."""

    name: str
    module: nn.Module
    input: torch.Tensor
    channel_weights: torch.Tensor | None = None
    spatial_map: torch.Tensor | None = None
    branch_weights: torch.Tensor | None = None
    threshold: torch.Tensor | None = None
    affinity: torch.Tensor | None = None

    @property
    def views(self) -> list[str]:
        """The plots that apply: "channel weights", "spatial map", "branch weights", "thresholds"."""
        found = [("channel weights", self.channel_weights), ("spatial map", self.spatial_map),
                 ("branch weights", self.branch_weights), ("thresholds", self.threshold)]
        return [view for view, value in found if value is not None]


def _record(name: str, m: nn.Module, x: torch.Tensor) -> LayerRecord:
    """Recompute what module ``m`` attends to on its input ``x`` with its own methods."""
    rec = LayerRecord(name, m, x.detach())
    if isinstance(m, (modules.SqueezeExcitation, modules.ChannelSE, modules.EfficientChannelAttention)):
        rec.channel_weights = m.gate(x).flatten(1)  # (B, C, 1, 1) -> (B, C)
    elif isinstance(m, modules.SpatialSE):
        rec.spatial_map = m.gate(x)[:, 0]  # (B, 1, H, W) -> (B, H, W)
    elif isinstance(m, modules.ConcurrentSE):
        rec.channel_weights = m.cse.gate(x).flatten(1)
        rec.spatial_map = m.sse.gate(x)[:, 0]
    elif isinstance(m, modules.CBAM):
        gate = m.channel_gate(x)  # M_c(F): (B, C, 1, 1)
        rec.channel_weights = gate.flatten(1)
        if m.spatial_gate is not None:
            rec.spatial_map = m.spatial_gate(x * gate)[:, 0]  # M_s(F'): (B, H, W)
    elif isinstance(m, modules.BAM):
        # BAM's own map is sigma(M_c + M_s), (B, C, H, W); each branch alone through the sigmoid is easier to read.
        rec.channel_weights = torch.sigmoid(m.channel_branch(x)).flatten(1)
        rec.spatial_map = torch.sigmoid(m.spatial_branch(x))[:, 0]
    elif isinstance(m, modules.SelectiveKernel):
        _, weights = m.branch_weights(x)  # (B, M, C, 1, 1)
        rec.branch_weights = weights[..., 0, 0]
    elif isinstance(m, modules.Shrinkage):
        rec.threshold = m.threshold(x).reshape(x.shape[0], -1)  # (B, C) for CW, (B, 1) for CS
    elif isinstance(m, modules.NonLocalBlock):
        _, weights = m.attention(x)  # (B, N, N')
        rec.affinity = weights
        height, width = x.shape[2:]
        keys_h, keys_w = key_grid(height, width, m.subsample)  # (H', W') of the keys
        centre = (height // 2) * width + width // 2
        rec.spatial_map = weights[:, centre].reshape(x.shape[0], keys_h, keys_w)  # where the centre looks
    return rec


def attention_record(model: nn.Module, x: torch.Tensor) -> list[LayerRecord]:
    """Run ``model`` on ``x`` once and return what each of its attention modules computed.

    The modules are those of ``attn_edu.models.attention_modules(model)`` (or
    ``model`` itself when it is one), in the order the forward pass calls
    them. The pass runs in eval mode without gradients; the model's mode is
    restored afterwards.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"attention_record expects an nn.Module; got {type(model).__name__}")
    found = attention_modules(model) or ([model] if _tracks(model) else [])
    paths = {id(m): name for name, m in model.named_modules()}
    records: list[LayerRecord] = []

    def hook_for(name: str):
        def hook(module, args, output):
            records.append(_record(name, module, args[0]))

        return hook

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(hook_for(paths.get(id(m)) or type(m).__name__)) for m in found]
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes:
            m.training = training
    return records


def _tracks(m: nn.Module) -> bool:
    return isinstance(m, (modules.SqueezeExcitation, modules.ChannelSE, modules.SpatialSE, modules.ConcurrentSE,
                          modules.CBAM, modules.BAM, modules.EfficientChannelAttention, modules.SelectiveKernel,
                          modules.Shrinkage, modules.NonLocalBlock))
