"""The shape explorer: pick a mechanism and its sizes, see every tensor, its cost and its data flow.

``explore(name)`` returns an ``Explorer``, an ``ipywidgets.VBox`` whose
controls and outputs are attributes, so a test (or a chapter) can set a
value as a reader would and read what the widget shows::

    w = explore("se")
    w.channels.value = 48
    w.trace["squeeze"].shape          # (2, 48)
    "(2, 48, 32, 32)" in w.table.value

An invalid combination (C smaller than r, an even kernel, SK groups that do
not divide C) shows the library's own one-line explanation in ``w.message``
and leaves the table, figures and diagram empty; nothing raises.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from .. import profile
from ..modules.non_local import key_grid
from ..registry import available, create
from ..shapes import Trace, format_shape, trace
from .static import settings_line, side_by_side, with_static_view

__all__ = ["Explorer", "explore", "MECHANISM_TITLES", "LIVE_LIMIT"]

MECHANISM_TITLES = {
    "se": "Squeeze-and-Excitation (Hu et al. 2018)",
    "cse": "channel SE (Roy et al. 2018)",
    "sse": "spatial SE (Roy et al. 2018)",
    "scse": "concurrent spatial and channel SE (Roy et al. 2018)",
    "cbam": "CBAM (Woo et al. 2018)",
    "bam": "BAM (Park et al. 2018)",
    "eca": "ECA (Wang et al. 2020)",
    "sk": "Selective Kernel (Li et al. 2019)",
    "drsn-cs": "DRSN shrinkage, channel-shared (Zhao et al. 2020)",
    "drsn-cw": "DRSN shrinkage, channel-wise (Zhao et al. 2020)",
    "nonlocal": "non-local block (Wang et al. 2018)",
}

# The largest tensor one live update may build, in elements (2**24 float32 = 64 MiB):
# beyond it an update takes more than about half a second on a laptop CPU.
LIVE_LIMIT = 2**24

_STYLE = {"description_width": "initial"}


def _slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(
        value=value, min=low, max=max(high, value), description=description, continuous_update=False,
        style=_STYLE, layout=widgets.Layout(width="290px"),
    )


def _choice(description: str, options, value) -> widgets.Dropdown:
    return widgets.Dropdown(options=options, value=value, description=description, style=_STYLE,
                            layout=widgets.Layout(width="290px"))


def _check(description: str, value: bool) -> widgets.Checkbox:
    return widgets.Checkbox(value=value, description=description, style=_STYLE, indent=False,
                            layout=widgets.Layout(width="220px"))


def _hyperparameter_controls(name: str) -> dict[str, widgets.ValueWidget]:
    """The controls for one mechanism's keyword arguments of ``attn_edu.create``, at their defaults.

    The ranges deliberately include invalid values (r above C, even kernels,
    groups that do not divide C) so a reader can meet the explanations.
    """
    if name == "se":
        return {"reduction": _slider("reduction r", 16, 1, 128), "bias": _check("biases in the FC layers", True)}
    if name == "cse":
        return {"reduction": _slider("reduction r", 2, 1, 128)}
    if name == "scse":
        return {"reduction": _slider("reduction r", 2, 1, 128),
                "aggregation": _choice("combine by", [("sum (paper)", "sum"), ("max (code)", "max")], "sum")}
    if name == "cbam":
        pools = [("avg + max (paper)", ("avg", "max")), ("avg", ("avg",)), ("max", ("max",)),
                 ("avg + max + lp + lse", ("avg", "max", "lp", "lse"))]
        return {
            "reduction": _slider("reduction r", 16, 1, 128),
            "kernel_size": _slider("spatial kernel k", 7, 1, 11),
            "pool_types": _choice("channel pools", pools, ("avg", "max")),
            "spatial": _check("spatial gate", True),
            "spatial_norm": _check("BN after the k x k conv", True),
        }
    if name == "bam":
        return {
            "reduction": _slider("reduction r", 16, 1, 128),
            "dilation": _slider("dilation d", 4, 1, 8),
            "num_dilated": _slider("dilated 3x3 convs", 2, 0, 4),
            "combine": _choice("combine by", [("sum (paper)", "sum"), ("product (code)", "product")], "sum"),
            "branch_norm": _choice("branch BN", [("paper", "paper"), ("official code", "official")], "paper"),
        }
    if name == "eca":
        kernels = [("auto: k = psi(C)", 0)] + [(str(k), k) for k in range(1, 10)]
        return {
            "k_size": _choice("kernel size k", kernels, 0),
            "gamma": widgets.FloatSlider(value=2.0, min=0.5, max=4.0, step=0.5, description="gamma",
                                         continuous_update=False, style=_STYLE, layout=widgets.Layout(width="290px")),
            "b": widgets.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.5, description="b",
                                     continuous_update=False, style=_STYLE, layout=widgets.Layout(width="290px")),
        }
    if name == "sk":
        return {
            "branches": _slider("branches M", 2, 1, 4),
            "groups": _slider("groups G", 32, 1, 64),
            "reduction": _slider("reduction r", 16, 1, 64),
            "min_dim": _slider("minimum d, L", 32, 1, 64),
            "stride": _slider("stride", 1, 1, 2),
        }
    if name == "nonlocal":
        return {
            "reduction": _slider("reduction", 2, 1, 16),
            "subsample": _check("subsample keys (2x2 max-pool)", False),
            "scale": _check("scale by 1/sqrt(C/2)", False),
        }
    return {}  # sse, drsn-cs, drsn-cw: nothing to choose beyond the channels


def _largest_tensor(name: str, shape: tuple[int, ...], kwargs: dict) -> tuple[int, str]:
    """The size of the biggest tensor a trace builds, and how it is made up."""
    b, c, h, w = shape
    if name == "nonlocal":
        keys_h, keys_w = key_grid(h, w, kwargs.get("subsample", False))
        keys = keys_h * keys_w
        return b * h * w * keys, f"the affinity matrix B x N x N' = {b} x {h * w} x {keys}"
    if name == "sk":
        m = kwargs.get("branches", 2)
        return b * m * c * h * w, f"the stacked branches B x M x C x H x W = {b} x {m} x {c} x {h} x {w}"
    return b * c * h * w, f"the input B x C x H x W = {b} x {c} x {h} x {w}"


class Explorer(widgets.VBox):
    """Every tensor of one mechanism, live: controls, a shape table, costs and a data-flow diagram.

    Controls: ``mechanism``, ``batch``, ``channels``, ``height``, ``width``,
    and ``hyperparameters`` (a dict of the current mechanism's controls,
    keyed by the keyword argument of ``attn_edu.create``).

    Outputs: ``message`` (one line when a combination is invalid, else
    empty), ``figures`` (parameters, FLOPs, bytes moved), ``table`` (the
    traced steps) and ``diagram`` (an inline SVG of the data flow), all
    ``ipywidgets.HTML``. After each update ``trace``, ``costs`` and
    ``module`` hold what was shown, and ``error`` the message (or None).
    """

    def __init__(self, name: str | None = None, *, batch: int = 2, channels: int = 64, height: int = 32,
                 width: int = 32, **hyperparameters):
        names = available()
        name = "se" if name is None else str(name).lower().replace("_", "-")
        if name not in names:
            raise ValueError(f"explore: unknown mechanism {name!r}; choose one of {', '.join(names)}")
        self.mechanism = widgets.Dropdown(
            options=[(f"{n}: {MECHANISM_TITLES.get(n, n)}", n) for n in names], value=name,
            description="mechanism", style=_STYLE, layout=widgets.Layout(width="480px"),
        )
        self.batch = _slider("B (batch)", batch, 1, 16)
        self.channels = _slider("C (channels)", channels, 1, 512)
        self.height = _slider("H (height)", height, 1, 64)
        self.width = _slider("W (width)", width, 1, 64)
        self.all_hyperparameters = {n: _hyperparameter_controls(n) for n in names}
        self._set_hyperparameters(name, hyperparameters)

        self.message = widgets.HTML()
        self.figures = widgets.HTML()
        self.table = widgets.HTML(layout=widgets.Layout(overflow="auto"))
        self.diagram = widgets.HTML(layout=widgets.Layout(overflow="auto", max_height="720px"))
        self.hyperparameter_box = widgets.HBox(layout=widgets.Layout(flex_flow="row wrap"))
        self.trace: Trace | None = None
        self.costs: dict | None = None
        self.module = None
        self.error: str | None = None
        self._cache_key = None

        for control in (self.batch, self.channels, self.height, self.width):
            control.observe(self.update, names="value")
        for controls in self.all_hyperparameters.values():
            for control in controls.values():
                control.observe(self.update, names="value")
        self.mechanism.observe(self._mechanism_changed, names="value")

        super().__init__([
            self.mechanism,
            widgets.HBox([self.batch, self.channels, self.height, self.width],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.hyperparameter_box,
            self.message,
            self.figures,
            widgets.HBox([self.table, self.diagram],
                         layout=widgets.Layout(flex_flow="row wrap", align_items="flex-start")),
        ])
        self._show_controls()
        self.update()

    # -- the static view, for pages without a kernel ----------------------

    def static_html(self) -> str:
        """The settings, costs, shape table and data-flow diagram on show, as HTML."""
        settings = {"mechanism": self.mechanism.value, "B": self.batch.value, "C": self.channels.value,
                    "H": self.height.value, "W": self.width.value, **self.kwargs()}
        return settings_line(settings) + self.message.value + self.figures.value + side_by_side(
            self.table.value, self.diagram.value)

    def _repr_mimebundle_(self, **kwargs):
        return with_static_view(super()._repr_mimebundle_(**kwargs), self.static_html())

    # -- controls ----------------------------------------------------------

    @property
    def hyperparameters(self) -> dict[str, widgets.ValueWidget]:
        """The current mechanism's controls, keyed by keyword argument."""
        return self.all_hyperparameters[self.mechanism.value]

    def _set_hyperparameters(self, name: str, values: dict) -> None:
        controls = self.all_hyperparameters[name]
        for key, value in values.items():
            if key not in controls:
                offered = ", ".join(controls) or "none"
                raise ValueError(f"explore: {name} has no control for {key!r}; its controls are: {offered}")
            control = controls[key]
            if key == "k_size" and value is None:
                value = 0
            if isinstance(control, widgets.IntSlider):
                control.max = max(control.max, value)
                control.min = min(control.min, value)
            control.value = value

    def kwargs(self) -> dict:
        """The keyword arguments for ``attn_edu.create`` that the controls describe."""
        values = {key: control.value for key, control in self.hyperparameters.items()}
        if values.get("k_size") == 0:  # ECA: "auto" means k = psi(C) from gamma and b
            del values["k_size"]
        elif "k_size" in values:  # a fixed k ignores gamma and b
            del values["gamma"], values["b"]
        return values

    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch.value, self.channels.value, self.height.value, self.width.value)

    def _show_controls(self) -> None:
        self.hyperparameter_box.children = tuple(self.hyperparameters.values())

    def _mechanism_changed(self, change=None) -> None:
        self._show_controls()
        self.update()

    # -- one update: build, trace, count, render ------------------------------

    def update(self, change=None) -> None:
        """Rebuild the module if needed, trace it, count its cost and redraw; show a message if invalid."""
        name, shape = self.mechanism.value, self.input_shape()
        if "gamma" in self.hyperparameters:  # ECA: gamma and b only matter when k comes from the formula
            fixed = self.hyperparameters["k_size"].value != 0
            self.hyperparameters["gamma"].disabled = self.hyperparameters["b"].disabled = fixed
        kwargs = self.kwargs()
        try:
            size, what = _largest_tensor(name, shape, kwargs)
            if size > LIVE_LIMIT:
                raise ValueError(
                    f"{what} is {size:,} numbers, too many to run live here (limit {LIVE_LIMIT:,}); "
                    f"lower B, H or W"
                )
            key = (name, shape[1], tuple(sorted(kwargs.items())))
            if key != self._cache_key:
                self.module, self._cache_key = None, None
                self.module = create(name, shape[1], **kwargs)
                self._cache_key = key
            traced = trace(self.module, shape, keep_values=False)
            traced.mechanism = name
            counted = profile.flops(self.module, shape)
            moved = profile.bytes_moved(self.module, shape)
        except (ValueError, TypeError, RuntimeError, NotImplementedError) as err:
            self._show_error(err)
            return
        self.trace, self.error = traced, None
        self.costs = {"parameters": profile.count_parameters(self.module), "flops": counted, "bytes": moved}
        self.message.value = ""
        self.figures.value = self._figures_html()
        self.table.value = traced.html()
        self.diagram.value = traced.svg()

    def _show_error(self, err: Exception) -> None:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        self.error = first
        self.trace, self.costs = None, None
        self.message.value = (
            f'<div style="color:#b00020;font-weight:bold">Not a valid combination: {html.escape(first)}</div>'
        )
        self.figures.value = self.table.value = self.diagram.value = ""

    def _figures_html(self) -> str:
        flops, moved, module = self.costs["flops"], self.costs["bytes"], self.module
        reads = {1: "once", 2: "twice"}.get(moved["passes_read"], f"{moved['passes_read']} times")
        cells = [
            ("module", f"{type(module).__name__}({html.escape(module.extra_repr())})"),
            ("parameters", f"{self.costs['parameters']:,}"),
            ("FLOPs", f"{profile.human(flops['flops_total'])} "
                      f"({profile.human(flops['flops_matmul'])} in products, "
                      f"{profile.human(flops['flops_elementwise'])} element-wise)"),
            ("bytes moved", f"{profile.human(moved['bytes_total'], 'B')} in float32 (x read {reads})"),
            ("FLOP per byte", f"{moved['arithmetic_intensity']:.2f}"),
            ("output", format_shape(self.trace.output_shape)),
        ]
        row = "".join(
            f'<td style="padding:2px 12px 2px 0"><span style="color:#666">{k}</span><br><b>{v}</b></td>'
            for k, v in cells
        )
        return f'<table class="attn-edu-costs" style="font-size:12px"><tr>{row}</tr></table>'


def explore(name: str | None = None, **settings) -> Explorer:
    """The shape explorer for mechanism ``name`` (SE when None).

    ``settings`` set the starting values: ``batch``, ``channels``, ``height``,
    ``width`` and the mechanism's hyperparameters, e.g.
    ``explore("cbam", channels=128, kernel_size=3)``.
    """
    return Explorer(name, **settings)
