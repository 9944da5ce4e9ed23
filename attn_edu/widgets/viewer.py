"""A widget around the static plots: pick a layer, a sample and a view.

``attention_viewer(model, x)`` records what every attention module of
``model`` computes on the batch ``x`` (``attention_record``) and shows one
layer at a time. The figure is drawn to a PNG and put into ``output``, an
``ipywidgets.Output``; ``figure`` keeps the matplotlib figure itself, so a
test can read its title and axes without a browser.
"""

from __future__ import annotations

import base64

import ipywidgets as widgets
import torch

from .plots import (
    LayerRecord,
    attention_record,
    plot_channel_weights,
    plot_drsn_thresholds,
    plot_sk_branch_weights,
    plot_spatial_attention,
    png_bytes,
)
from .static import settings_line, with_static_view

__all__ = ["AttentionViewer", "attention_viewer"]


class AttentionViewer(widgets.VBox):
    """Layer, sample and view controls over ``attention_record(model, x)``.

    Controls: ``layer`` (index into ``records``), ``sample``, ``view`` (the
    plots that apply to the layer) and ``channel`` (for DRSN thresholds).
    Outputs: ``output`` (the PNG), ``figure`` (the matplotlib figure) and
    ``message`` (a one-line note, e.g. a layer with nothing to plot).

    ``images``, (B, 3, H, W) or (B, 1, H, W), are what spatial maps are drawn
    over; by default ``x`` itself when it has 1 or 3 channels, else the mean
    over channels of the layer's own input.
    """

    def __init__(self, model: torch.nn.Module, x: torch.Tensor, images: torch.Tensor | None = None):
        self.records: list[LayerRecord] = attention_record(model, x)
        if not self.records:
            raise ValueError(
                f"attention_viewer: {type(model).__name__} has no attention module that attn_edu knows "
                f"(attn_edu.models.attention_modules found none); build it with attn=... or pass one module"
            )
        if images is None and x.dim() == 4 and x.shape[1] in (1, 3):
            images = x
        self.images = images
        style = {"description_width": "initial"}
        self.layer = widgets.Dropdown(
            options=[(f"{i}: {r.name} ({type(r.module).__name__})", i) for i, r in enumerate(self.records)],
            value=0, description="layer", style=style, layout=widgets.Layout(width="420px"),
        )
        self.sample = widgets.IntSlider(value=0, min=0, max=x.shape[0] - 1, description="sample",
                                        continuous_update=False, style=style)
        self.view = widgets.ToggleButtons(options=self._views(0) or ["nothing to plot"],
                                          style={"button_width": "120px"})
        self.channel = widgets.IntSlider(value=0, min=0, max=1, description="channel", continuous_update=False,
                                         style=style)
        self.message = widgets.HTML()
        self.output = widgets.Output()
        self.figure = None
        self._quiet = False
        self.layer.observe(self._layer_changed, names="value")
        for control in (self.sample, self.view, self.channel):
            control.observe(self.update, names="value")
        super().__init__([widgets.HBox([self.layer, self.sample]), widgets.HBox([self.view, self.channel]),
                          self.message, self.output])
        self._layer_changed()

    def static_html(self) -> str:
        """The layer, sample and view on show, with its figure, as HTML."""
        settings = {"layer": self.records[self.layer.value].name, "sample": self.sample.value, "view": self.view.value}
        images = [o["data"]["image/png"] for o in self.output.outputs if "image/png" in o.get("data", {})]
        figure = "".join(f'<img alt="{self.view.value}" src="data:image/png;base64,{png}">' for png in images)
        return settings_line(settings) + self.message.value + figure

    def _repr_mimebundle_(self, **kwargs):
        return with_static_view(super()._repr_mimebundle_(**kwargs), self.static_html())

    @property
    def record(self) -> LayerRecord:
        """The record of the layer on show."""
        return self.records[self.layer.value]

    def _views(self, index: int) -> list[str]:
        return self.records[index].views

    def _layer_changed(self, change=None) -> None:
        self._quiet = True
        try:
            views = self._views(self.layer.value) or ["nothing to plot"]
            if tuple(self.view.options) != tuple(views):
                self.view.options = views
                self.view.value = views[0]
            channels = self.record.input.shape[1]
            self.channel.max = max(channels - 1, 0)
            self.channel.value = min(self.channel.value, self.channel.max)
        finally:
            self._quiet = False
        self.update()

    def _image_for(self, record: LayerRecord, sample: int) -> torch.Tensor:
        """One picture to draw a spatial map over."""
        if self.images is not None:
            return self.images[sample] if self.images.dim() == 4 else self.images
        return record.input[sample].mean(dim=0)  # the layer's input, averaged over channels: (H, W)

    def update(self, change=None) -> None:
        """Draw the chosen view of the chosen layer and sample."""
        if self._quiet:
            return
        rec, sample, view = self.record, self.sample.value, self.view.value
        self.channel.layout.display = None if view == "thresholds" else "none"
        if view == "channel weights":
            fig = plot_channel_weights(rec.channel_weights, samples=[sample], layer=rec.name)
        elif view == "spatial map":
            fig = plot_spatial_attention(self._image_for(rec, sample), rec.spatial_map[sample], layer=rec.name)
        elif view == "branch weights":
            fig = plot_sk_branch_weights(rec.branch_weights, sample=sample, layer=rec.name)
        elif view == "thresholds":
            fig = plot_drsn_thresholds(rec.input, rec.threshold, sample=sample, channel=self.channel.value,
                                       layer=rec.name)
        else:
            self.figure = None
            self.output.outputs = ()
            self.message.value = f"{type(rec.module).__name__} has no plot here; its record holds the raw tensors."
            return
        self.message.value = ""
        self.figure = fig
        encoded = base64.b64encode(png_bytes(fig)).decode("ascii")
        self.output.outputs = ({
            "output_type": "display_data",
            "data": {"image/png": encoded, "text/plain": f"<{view} of {rec.name}>"},
            "metadata": {},
        },)


def attention_viewer(model: torch.nn.Module, x: torch.Tensor, images: torch.Tensor | None = None) -> AttentionViewer:
    """Browse what each attention module of ``model`` computes on the batch ``x``, layer by layer."""
    return AttentionViewer(model, x, images)
