"""Shape tracing: every tensor of a mechanism's forward pass, step by step.

``trace(module_or_name, input_shape, **kw)`` runs one real forward pass and
returns a ``Trace``: the ordered steps of the mechanism, each with

    name     the step in the paper's words ("squeeze", "excitation down", ...)
    op       what it computes, with the paper's symbol ("z_c in Eq. 2")
    shape    the shape of the tensor it produces
    numel    its number of elements
    params   the parameters used at that step
    inputs   the indices of the steps it reads (for the data-flow diagram)

For the registered mechanisms (``attn_edu.available()``) the steps are
written out by hand below, one small function per paper, and run the
module's own layers on a random input one at a time. The last step's tensor
equals ``module(x)`` exactly; the tests check this, so a trace that drifts
from its module fails. Any other ``nn.Module`` (a reader's own block, a whole
network) is traced with forward hooks on its leaf modules; registered
attention modules inside it count as leaves.

    >>> from attn_edu.shapes import trace
    >>> print(trace("se", (2, 64, 8, 8)))
    se on (2, 64, 8, 8): 7 steps, 580 parameters
    #  step             shape          elements  params  operation
    0  input            (2, 64, 8, 8)     8,192       0  U, the feature map
    1  squeeze          (2, 64)             128       0  global average pool over H, W: z_c in Eq. 2
    2  excitation down  (2, 4)                8     260  W_1 z: FC 64 -> 4 (C/r), Eq. 3
    3  ReLU             (2, 4)                8       0  delta in Eq. 3
    4  excitation up    (2, 64)             128     320  W_2 (...): FC 4 -> 64, Eq. 3
    5  sigmoid          (2, 64)             128       0  s = sigma(...): one weight per channel, Eq. 3
    6  scale            (2, 64, 8, 8)     8,192       0  x~_c = s_c * u_c, Eq. 4: s as (B, C, 1, 1) broadcasts over H, W

``explain_broadcast(left, right)`` spells out PyTorch's broadcasting rule
for two shapes, axis by axis, for the introductory chapter.

Traces run in inference mode (``module.eval()``, no gradients), as
``attn_edu.profile`` counts; the module's own mode is restored afterwards.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from . import modules
from ._checks import check_feature_map
from .functional import soft_threshold
from .modules.cbam import _spatial_pool
from .registry import create

__all__ = ["Step", "Trace", "trace", "Broadcast", "BroadcastAxis", "explain_broadcast", "format_shape"]


def format_shape(shape) -> str:
    """(2, 64, 8, 8) -> '(2, 64, 8, 8)'; a 1-D shape keeps no trailing comma: '(64)'."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


# ---------------------------------------------------------------------------
# The trace: a list of steps with a text, an HTML and an SVG rendering
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One tensor of the forward pass: what made it, its shape and what it cost in parameters."""

    name: str
    op: str
    shape: tuple[int, ...]
    numel: int
    params: int
    inputs: tuple[int, ...] = ()
    value: torch.Tensor | None = field(default=None, repr=False, compare=False)


class Trace(Sequence):
    """The ordered steps of one forward pass; index by position or by step name.

    Attributes:
        mechanism: the registered name ("se") or the module's class name.
        module: the module that ran.
        input: the input tensor x; ``output`` is the last step's tensor, equal to ``module(x)``.
        parameters: the module's trainable parameters, all of them.
    """

    def __init__(self, mechanism: str, module: nn.Module, x: torch.Tensor, steps: list[Step]):
        self.mechanism = mechanism
        self.module = module
        self.input = x
        self.steps = list(steps)
        self.parameters = sum(p.numel() for p in module.parameters() if p.requires_grad)

    # -- the list interface ------------------------------------------------

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, key):
        if isinstance(key, str):
            for step in self.steps:
                if step.name == key:
                    return step
            raise KeyError(f"{self.mechanism} has no step {key!r}; its steps are: {', '.join(self.names())}")
        return self.steps[key]

    def names(self) -> list[str]:
        """The step names, in order."""
        return [step.name for step in self.steps]

    def shapes(self) -> list[tuple[int, ...]]:
        """The output shape of every step, in order."""
        return [step.shape for step in self.steps]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.input.shape)

    @property
    def output(self) -> torch.Tensor:
        return self.steps[-1].value

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.steps[-1].shape

    def _title(self) -> str:
        return (
            f"{self.mechanism} on {format_shape(self.input_shape)}: "
            f"{len(self)} steps, {self.parameters:,} parameters"
        )

    # -- renderings ------------------------------------------------------

    def text(self) -> str:
        """A plain-text table, for terminals and tests."""
        header = ("#", "step", "shape", "elements", "params", "operation")
        rows = [
            (str(i), s.name, format_shape(s.shape), f"{s.numel:,}", f"{s.params:,}", s.op)
            for i, s in enumerate(self.steps)
        ]
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(5)]
        right = (True, False, False, True, True)

        def line(row):
            cells = [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row[:5], widths, right)]
            return "  ".join(cells + [row[5]]).rstrip()

        return "\n".join([self._title(), line(header), *(line(r) for r in rows)])

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<Trace {self._title()}>"

    def html(self) -> str:
        """An HTML table, for notebooks."""
        cell = 'style="padding:1px 8px;text-align:{}"'
        head = "".join(
            f"<th {cell.format(a)}>{h}</th>"
            for h, a in (("#", "right"), ("step", "left"), ("shape", "left"), ("elements", "right"),
                         ("params", "right"), ("operation", "left"))
        )
        body = []
        for i, s in enumerate(self.steps):
            body.append(
                "<tr>"
                f"<td {cell.format('right')}>{i}</td>"
                f"<td {cell.format('left')}><b>{html.escape(s.name)}</b></td>"
                f"<td {cell.format('left')}><code>{format_shape(s.shape)}</code></td>"
                f"<td {cell.format('right')}>{s.numel:,}</td>"
                f"<td {cell.format('right')}>{s.params:,}</td>"
                f"<td {cell.format('left')}>{html.escape(s.op)}</td>"
                "</tr>"
            )
        return (
            '<table class="attn-edu-trace" style="border-collapse:collapse;font-size:12px">'
            f'<caption style="text-align:left;font-weight:bold">{html.escape(self._title())}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def svg(self) -> str:
        """A diagram of the data flow, one box per step with its shape written in it.

        Steps are placed in rows by their distance from the input; an arrow
        joins each step to the steps it reads. Arrows that skip rows (the
        input carried to the final scaling, say) run down lanes on the left.
        Boxes with parameters are shaded orange.
        """
        return _diagram(self.steps)


# ---------------------------------------------------------------------------
# The data-flow diagram
# ---------------------------------------------------------------------------

_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _LANE = 176, 36, 12, 26, 9


def _diagram(steps: list[Step]) -> str:
    row = []
    for s in steps:
        row.append(1 + max((row[j] for j in s.inputs), default=-1))
    rows: dict[int, list[int]] = {}
    for i, r in enumerate(row):
        rows.setdefault(r, []).append(i)
    long_edges = [(j, i) for i, s in enumerate(steps) for j in s.inputs if row[i] - row[j] > 1]
    lane_of = {edge: k for k, edge in enumerate(long_edges)}
    margin = 8 + _LANE * len(long_edges)
    widest = max(len(members) for members in rows.values())
    content_w = widest * _BOX_W + (widest - 1) * _GAP_X
    width = margin + content_w + 8
    height = len(rows) * (_BOX_H + _GAP_Y) + 8

    where = {}  # step -> (left x, top y)
    for r, members in rows.items():
        used = len(members) * _BOX_W + (len(members) - 1) * _GAP_X
        left = margin + (content_w - used) / 2
        for k, i in enumerate(members):
            where[i] = (left + k * (_BOX_W + _GAP_X), 8 + r * (_BOX_H + _GAP_Y))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" class="attn-edu-diagram">',
        '<defs><marker id="attn-edu-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555"/></marker></defs>',
    ]
    for i, s in enumerate(steps):
        x, y = where[i]
        for k, j in enumerate(s.inputs):
            tx = x + _BOX_W * (k + 1) / (len(s.inputs) + 1)  # spread the arrowheads over the box top
            sx, sy = where[j][0] + _BOX_W / 2, where[j][1] + _BOX_H
            if (j, i) in lane_of:
                lane_x = 6 + _LANE * lane_of[(j, i)]
                drop = sy + 4 + (lane_of[(j, i)] % 3) * 4
                above = y - _GAP_Y / 2 + (lane_of[(j, i)] % 3) * 3
                d = f"M{sx:.1f},{sy:.1f} V{drop:.1f} H{lane_x:.1f} V{above:.1f} H{tx:.1f} V{y:.1f}"
            else:
                d = f"M{sx:.1f},{sy:.1f} L{tx:.1f},{y:.1f}"
            parts.append(f'<path d="{d}" fill="none" stroke="#555" stroke-width="1.2" '
                         f'marker-end="url(#attn-edu-arrow)"/>')
    for i, s in enumerate(steps):
        x, y = where[i]
        fill = "#dbe9f6" if not s.inputs else ("#fde3c8" if s.params else "#eeeeee")
        parts.append(
            f'<g><title>{html.escape(s.op)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_BOX_W}" height="{_BOX_H}" rx="5" fill="{fill}" stroke="#888"/>'
            f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 14:.1f}" font-size="11" font-weight="bold" '
            f'text-anchor="middle">{html.escape(_fit(s.name, 28))}</text>'
            f'<text x="{x + _BOX_W / 2:.1f}" y="{y + 29:.1f}" font-size="11" font-family="monospace" '
            f'text-anchor="middle">{format_shape(s.shape)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _fit(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


# ---------------------------------------------------------------------------
# Recording the steps
# ---------------------------------------------------------------------------


def _count(params) -> int:
    """Parameters of a module, of several modules, or a plain number."""
    if params is None:
        return 0
    if isinstance(params, int):
        return params
    if isinstance(params, nn.Module):
        params = [params]
    return sum(p.numel() for m in params for p in m.parameters())


class _Recorder:
    """Collects steps; each tensor it records remembers its step, so later steps can name their inputs."""

    def __init__(self):
        self.steps: list[Step] = []
        self._step_of: dict[int, int] = {}

    def __call__(self, name: str, op: str, value: torch.Tensor, params=None, inputs=None) -> torch.Tensor:
        if inputs is None:
            sources = (len(self.steps) - 1,) if self.steps else ()
        else:
            sources = tuple(self._step_of[id(t)] for t in inputs)
        value = value.detach()
        self.steps.append(Step(name, op, tuple(value.shape), value.numel(), _count(params), sources, value))
        self._step_of[id(value)] = len(self.steps) - 1
        return value


def _name(module: nn.Module) -> str:
    return f"{type(module).__name__}(channels={module.channels})"


# ---------------------------------------------------------------------------
# One tracer per paper. Each repeats its module's forward pass with the
# module's own layers, in the same order and with the same operations, so
# the last tensor equals module(x) bit for bit.
# ---------------------------------------------------------------------------


def _trace_se(m: nn.Module, x: torch.Tensor, rec: _Recorder, paper: str = "hu") -> None:
    """SE (Hu et al. 2018, Eq. 2-4) and cSE (Roy et al. 2018): the same six steps."""
    check_feature_map(_name(m), m.channels, x)
    c, h = m.channels, m.down.out_features
    w_down, w_up = ("W_1", "W_2") if paper == "hu" else ("W_2", "W_1")  # Roy et al. swap the names
    u = rec("input", "U, the feature map", x, inputs=())
    z = rec("squeeze", "global average pool over H, W: z_c in Eq. 2", u.mean(dim=(2, 3)))
    d = rec("excitation down", f"{w_down} z: FC {c} -> {h} (C/r), Eq. 3", m.down(z), params=m.down)
    a = rec("ReLU", "delta in Eq. 3", torch.relu(d))
    e = rec("excitation up", f"{w_up} (...): FC {h} -> {c}, Eq. 3", m.up(a), params=m.up)
    s = rec("sigmoid", "s = sigma(...): one weight per channel, Eq. 3", torch.sigmoid(e))
    rec(
        "scale",
        "x~_c = s_c * u_c, Eq. 4: s as (B, C, 1, 1) broadcasts over H, W",
        u * s[:, :, None, None],
        inputs=(u, s),
    )


def _trace_cse(m, x, rec):
    _trace_se(m, x, rec, paper="roy")


def _trace_sse(m: modules.SpatialSE, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    u = rec("input", "U, the feature map", x, inputs=())
    q = rec("squeeze", f"q = W_sq * U: 1x1 conv {m.channels} -> 1 channel", m.squeeze(u), params=m.squeeze)
    s = rec("sigmoid", "sigma(q): one weight per position", torch.sigmoid(q))
    rec("scale", "sigma(q) * u_c for every channel: (B, 1, H, W) broadcasts over C", u * s, inputs=(u, s))


def _trace_scse(m: modules.ConcurrentSE, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    c, h = m.channels, m.cse.down.out_features
    u = rec("input", "U, the feature map", x, inputs=())
    z = rec("cSE: squeeze", "global average pool over H, W", u.mean(dim=(2, 3)), inputs=(u,))
    d = rec("cSE: excitation down", f"W_2 z: FC {c} -> {h} (C/r)", m.cse.down(z), params=m.cse.down)
    a = rec("cSE: ReLU", "delta", torch.relu(d))
    e = rec("cSE: excitation up", f"W_1 (...): FC {h} -> {c}", m.cse.up(a), params=m.cse.up)
    s = rec("cSE: sigmoid", "sigma(z^): one weight per channel", torch.sigmoid(e))
    q = rec("sSE: squeeze", f"q = W_sq * U: 1x1 conv {c} -> 1", m.sse.squeeze(u), params=m.sse.squeeze, inputs=(u,))
    t = rec("sSE: sigmoid", "sigma(q): one weight per position", torch.sigmoid(q))
    by_channel = rec("cSE: scale", "U^_cSE: (B, C, 1, 1) broadcasts over H, W", u * s[:, :, None, None], inputs=(u, s))
    by_position = rec("sSE: scale", "U^_sSE: (B, 1, H, W) broadcasts over C", u * t, inputs=(u, t))
    if m.aggregation == "sum":
        rec("sum", "U^_scSE = U^_cSE + U^_sSE", by_channel + by_position, inputs=(by_channel, by_position))
    else:
        rec("max", "element-wise max of U^_cSE and U^_sSE (official code)",
            torch.maximum(by_channel, by_position), inputs=(by_channel, by_position))


_POOL_NAMES = {
    "avg": ("channel avg-pool", "F^c_avg: average over H, W"),
    "max": ("channel max-pool", "F^c_max: maximum over H, W"),
    "lp": ("channel LP-pool", "L2 norm over H, W (official code)"),
    "lse": ("channel LSE-pool", "log-sum-exp over H, W (official code)"),
}


def _trace_cbam(m: modules.CBAM, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    gate = m.channel_gate
    c, h, n = m.channels, gate.mlp[0].out_features, len(gate.pool_types)
    f = rec("input", "F, the feature map", x, inputs=())
    pooled = [rec(*_POOL_NAMES[kind], _spatial_pool(f, kind), inputs=(f,)) for kind in gate.pool_types]
    # The MLP is shared: it runs once per descriptor; the step shows the results stacked, (n, B, ...).
    downs = [gate.mlp[0](p) for p in pooled]
    d = rec("shared MLP down", f"W_0: FC {c} -> {h} (C/r), on each of the {n} descriptors",
            torch.stack(downs), params=gate.mlp[0], inputs=pooled)
    relus = [gate.mlp[1](t) for t in downs]
    a = rec("ReLU", "delta in Eq. 2", torch.stack(relus), inputs=(d,))
    ups = [gate.mlp[2](t) for t in relus]
    e = rec("MLP up", f"W_1: FC {h} -> {c}, on each descriptor", torch.stack(ups), params=gate.mlp[2], inputs=(a,))
    logits = rec("sum", "MLP(F^c_avg) + MLP(F^c_max), Eq. 2", sum(ups), inputs=(e,))
    mc = rec("sigmoid", "M_c(F) = sigma(...), Eq. 2", torch.sigmoid(logits))
    f1 = rec("channel scale", "F' = M_c(F) (x) F, Eq. 1: (B, C, 1, 1) broadcasts over H, W",
             f * mc[:, :, None, None], inputs=(f, mc))
    if m.spatial_gate is None:
        return
    sg = m.spatial_gate
    k = sg.kernel_size
    mean = rec("channel-wise mean", "AvgPool(F') along C, Eq. 3", f1.mean(dim=1, keepdim=True), inputs=(f1,))
    peak = rec("channel-wise max", "MaxPool(F') along C, Eq. 3", f1.amax(dim=1, keepdim=True), inputs=(f1,))
    both = rec("concat", "[AvgPool; MaxPool]: two maps", torch.cat([mean, peak], dim=1), inputs=(mean, peak))
    conv = rec(f"{k}x{k} conv", f"f^{{{k}x{k}}}: 2 maps -> 1, padding {k // 2} keeps H x W",
               sg.conv(both), params=sg.conv)
    if isinstance(sg.norm, nn.BatchNorm2d):
        conv = rec("BN", "BatchNorm after the convolution (official code)", sg.norm(conv), params=sg.norm)
    ms = rec("sigmoid", "M_s(F') = sigma(...), Eq. 3", torch.sigmoid(conv))
    rec("spatial scale", "F'' = M_s(F') (x) F', Eq. 1: (B, 1, H, W) broadcasts over C", f1 * ms, inputs=(f1, ms))


def _conv_name(conv: nn.Conv2d) -> str:
    k = conv.kernel_size[0]
    name = f"{k}x{k} conv"
    if conv.dilation[0] > 1:
        name += f" dil {conv.dilation[0]}"
    return name


def _trace_bam(m: modules.BAM, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    c = m.channels
    f = rec("input", "F, the feature map", x, inputs=())
    # Channel branch, Eq. 3: AvgPool, MLP (W_0, ReLU, W_1), BN, reshape to (B, C, 1, 1).
    t = rec("channel: avg-pool", "AvgPool(F) over H, W, Eq. 3", f.mean(dim=(2, 3)), inputs=(f,))
    linears = [layer for layer in m.channel_branch.mlp if isinstance(layer, nn.Linear)]
    for layer in m.channel_branch.mlp:
        if isinstance(layer, nn.Linear):
            first = layer is linears[0]
            label = "channel: MLP down" if first else "channel: MLP up"
            op = f"{'W_0, b_0' if first else 'W_1, b_1'}: FC {layer.in_features} -> {layer.out_features}"
            t = rec(label, op, layer(t), params=layer)
        elif isinstance(layer, nn.BatchNorm1d):
            t = rec("channel: BN (hidden)", "BatchNorm of the hidden layer (official code)", layer(t), params=layer)
        elif isinstance(layer, nn.ReLU):
            t = rec("channel: ReLU", "ReLU of the hidden layer", layer(t))
    if isinstance(m.channel_branch.norm, nn.BatchNorm1d):
        t = rec("channel: BN", "the BN of Eq. 3", m.channel_branch.norm(t), params=m.channel_branch.norm)
    mc = rec("channel: M_c(F)", "reshape (B, C) -> (B, C, 1, 1)", t[:, :, None, None])
    # Spatial branch, Eq. 4: f_0 (1x1, C -> C/r), dilated 3x3 convolutions, f_3 (1x1, C/r -> 1), BN.
    convs = [layer for layer in m.spatial_branch.body if isinstance(layer, nn.Conv2d)]
    t, conv_index, source = f, 0, (f,)
    for layer in m.spatial_branch.body:
        if isinstance(layer, nn.Conv2d):
            last = layer is convs[-1]
            what = "down" if conv_index == 0 else ("to 1 map" if last else "")
            label = f"spatial: {_conv_name(layer)}" + (f" {what}" if what else "")
            op = f"f_{conv_index}: {layer.in_channels} -> {layer.out_channels} channels"
            if layer.dilation[0] > 1:
                op += f", dilation {layer.dilation[0]} and padding {layer.padding[0]} keep H x W"
            t = rec(label, op, layer(t), params=layer, inputs=source)
            conv_index += 1
        elif isinstance(layer, nn.BatchNorm2d):
            outer = layer.num_features == 1
            t = rec("spatial: BN", "the outer BN of Eq. 4" if outer else "BatchNorm", layer(t), params=layer)
        elif isinstance(layer, nn.ReLU):
            t = rec("spatial: ReLU", "ReLU", layer(t))
        source = None
    ms = t
    if m.combine == "sum":
        logits = rec("broadcast sum", "M_c(F) + M_s(F), Eq. 2: (B, C, 1, 1) + (B, 1, H, W)", mc + ms, inputs=(mc, ms))
    else:
        logits = rec("broadcast product", "M_c(F) * M_s(F) (official code): (B, C, 1, 1) * (B, 1, H, W)",
                     mc * ms, inputs=(mc, ms))
    att = rec("sigmoid", "M(F) = sigma(...), Eq. 2", torch.sigmoid(logits))
    scaled = rec("scale", "F (x) M(F)", f * att, inputs=(f, att))
    rec("residual add", "F' = F + F (x) M(F), Eq. 1", f + scaled, inputs=(f, scaled))


def _trace_eca(m: modules.EfficientChannelAttention, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    k = m.k_size
    u = rec("input", "X, the feature map", x, inputs=())
    y = rec("squeeze", "y = GAP(X): average over H, W", u.mean(dim=(2, 3)))
    y = rec(
        "1-D conv across channels",
        f"C1D_k(y), k = {k}: y as a sequence (B, 1, C); each channel sees its {k} neighbours, Eq. 9",
        m.conv(y[:, None, :]),
        params=m.conv,
    )
    w = rec("sigmoid", "omega = sigma(...): one weight per channel, Eq. 9", torch.sigmoid(y))
    rec("scale", "X~ = omega * X: omega as (B, C, 1, 1) broadcasts over H, W",
        u * w[:, 0, :, None, None], inputs=(u, w))


def _trace_sk(m: modules.SelectiveKernel, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    c, d, n = m.channels, m.hidden, m.branches
    u = rec("input", "X, the feature map", x, inputs=())
    branches = []
    for i, path in enumerate(m.paths):
        conv = path[0]
        dil = conv.dilation[0]
        label = f"split branch {i + 1} (3x3" + (f" dil {dil})" if dil > 1 else ")")
        field_size = 2 * dil + 1
        op = f"{conv.groups}-group 3x3 conv" + (f", dilation {dil} (sees {field_size}x{field_size})" if dil > 1 else "")
        if conv.stride[0] > 1:
            op += f", stride {conv.stride[0]}"
        branches.append(rec(label, op + ", BN, ReLU", path(u), params=path, inputs=(u,)))
    split = torch.stack(branches, dim=1)  # M x (B, C, H, W) -> (B, M, C, H, W), as the module does
    fused = rec("fuse sum", f"U = sum of the {n} branches, Eq. 1", split.sum(dim=1), inputs=branches)
    s = rec("global pool", "s_c: average over H, W, Eq. 2", fused.mean(dim=(2, 3), keepdim=True))
    fc, bn, relu = m.fuse
    t = rec("fc to d", f"W s: 1x1 conv {c} -> d = max(C/r, L) = {d}, Eq. 3-4", fc(s), params=fc)
    z = rec("BN+ReLU", "z = delta(B(W s)), Eq. 3", relu(bn(t)), params=bn)
    logits = rec(
        "select logits",
        f"A z, B z, ...: 1x1 conv {d} -> M*C = {n * c}, viewed as (B, M, C, 1, 1)",
        m.select(z).view(x.shape[0], n, c, 1, 1),
        params=m.select,
    )
    weights = rec("softmax over branches", "a_c, b_c, ...: softmax across the M branches, per channel, Eq. 5",
                  torch.softmax(logits, dim=1))
    rec("weighted sum", "V_c = a_c U~_c + b_c U^_c + ..., Eq. 6", (weights * split).sum(dim=1),
        inputs=(weights, *branches))


def _trace_drsn(m: modules.Shrinkage, x: torch.Tensor, rec: _Recorder) -> None:
    kind = "CW" if m.channel_wise else "CS"
    check_feature_map(f"Shrinkage[{kind}](channels={m.channels})", m.channels, x, spatial="L | H, W")
    axes = tuple(range(2, x.dim()))
    fc1, bn, relu, fc2, sigmoid = m.scale_net
    u = rec("input", "x, the features to denoise", x, inputs=())
    ab = rec("abs", "|x|", u.abs())
    a = rec("GAP", "a = GAP(|x|): mean absolute value per channel", ab.mean(dim=axes))
    t = rec("FC", f"FC {fc1.in_features} -> {fc1.out_features}", fc1(a), params=fc1)
    t = rec("BN", "BatchNorm", bn(t), params=bn)
    t = rec("ReLU", "ReLU", relu(t))
    shared = "" if m.channel_wise else " (one per sample, CS)"
    t = rec("FC", f"FC {fc2.in_features} -> {fc2.out_features}{shared}", fc2(t), params=fc2)
    alpha = rec("sigmoid", "alpha in (0, 1)", sigmoid(t))
    if m.channel_wise:
        tau = alpha * a
        op = "tau_c = alpha_c * a_c, one per channel (CW); shaped to broadcast over x"
    else:
        tau = alpha * a.mean(dim=1, keepdim=True)
        op = "tau = alpha * mean_c a_c, one per sample (CS); shaped to broadcast over x"
    tau = rec("threshold tau", op, tau.view(*tau.shape, *([1] * len(axes))), inputs=(alpha, a))
    rec("soft threshold", "y = sign(x) * max(|x| - tau, 0)", soft_threshold(u, tau), inputs=(u, tau))


def _trace_nonlocal(m: modules.NonLocalBlock, x: torch.Tensor, rec: _Recorder) -> None:
    check_feature_map(_name(m), m.channels, x)
    batch, c, height, width = x.shape
    inner = m.inner
    u = rec("input", "x, the feature map", x, inputs=())
    flat = f"flattened to N = H*W = {height * width} positions"
    q = rec("theta", f"queries: 1x1 conv {c} -> {inner} (C/2), {flat}", m.theta(u).flatten(2).transpose(1, 2),
            params=m.theta, inputs=(u,))
    source, pooled = u, ""
    if m.subsample == "code":  # the official code: pool x, then phi and g on the pooled map
        source = rec("max-pool x", "x^: 2x2 max pool of x, stride 2, rounding down (official code)",
                     m.pool_input(u), inputs=(u,))
        pooled = ", on the pooled x^"
    keys, values = m.phi(source), m.g(source)
    if m.subsample == "paper":  # the paper: phi and g, then pool each
        keys = torch.nn.functional.max_pool2d(keys, 2, ceil_mode=True)
        values = torch.nn.functional.max_pool2d(values, 2, ceil_mode=True)
        pooled = ", then 2x2 max pool, rounding up (Sec. 3.3)"
    n_keys = keys.shape[2] * keys.shape[3]
    k = rec("phi", f"keys: 1x1 conv {c} -> {inner}{pooled}, flattened to N' = {n_keys}",
            keys.flatten(2).transpose(1, 2), params=m.phi, inputs=(source,))
    v = rec("g", f"values: 1x1 conv {c} -> {inner}{pooled}, flattened to N' = {n_keys}",
            values.flatten(2).transpose(1, 2), params=m.g, inputs=(source,))
    factor = 1.0 / math.sqrt(inner) if m.scale else 1.0
    scaled = f", times 1/sqrt({inner})" if m.scale else ""
    scores = rec("affinity theta^T phi", f"theta(x_i)^T phi(x_j) for every pair of positions{scaled}, Eq. 3",
                 (q @ k.transpose(-2, -1)) * factor, inputs=(q, k))
    weights = rec("softmax", "f / C(x): softmax over the keys j, Eq. 1", torch.softmax(scores, dim=-1))
    y = rec("weighted sum of g", "y_i = sum_j softmax_ij g(x_j), Eq. 1", weights @ v, inputs=(weights, v))
    y = rec("W_z", f"y as (B, {inner}, H, W), 1x1 conv {inner} -> {c}",
            m.out(y.transpose(1, 2).reshape(batch, inner, height, width)), params=m.out)
    y = rec("BN", "BatchNorm of W_z (scale initialised to 0)", m.norm(y), params=m.norm)
    rec("residual add", "z = W_z y + x, Eq. 6", y + u, inputs=(y, u))


# Subclasses first: ConcurrentSE holds a ChannelSE, but is traced as a whole.
_TRACERS = (
    (modules.SqueezeExcitation, _trace_se),
    (modules.ChannelSE, _trace_cse),
    (modules.SpatialSE, _trace_sse),
    (modules.ConcurrentSE, _trace_scse),
    (modules.CBAM, _trace_cbam),
    (modules.BAM, _trace_bam),
    (modules.EfficientChannelAttention, _trace_eca),
    (modules.SelectiveKernel, _trace_sk),
    (modules.Shrinkage, _trace_drsn),
    (modules.NonLocalBlock, _trace_nonlocal),
)
_ATTENTION_TYPES = tuple(t for t, _ in _TRACERS)


def _tracer_for(module: nn.Module):
    for kind, tracer in _TRACERS:
        if isinstance(module, kind):
            return tracer
    return None


# ---------------------------------------------------------------------------
# The generic fallback: forward hooks on the leaves of any module
# ---------------------------------------------------------------------------


def _leaves(module: nn.Module, prefix: str = ""):
    """(path, module) for every leaf; registered attention modules count as leaves."""
    children = list(module.named_children())
    if not children or (prefix and isinstance(module, _ATTENTION_TYPES)):
        yield prefix, module
        return
    for name, child in children:
        yield from _leaves(child, f"{prefix}.{name}" if prefix else name)


def _first_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        return _first_tensor(list(value.values()))
    return None


def _trace_hooks(module: nn.Module, x: torch.Tensor, rec: _Recorder) -> None:
    rec("input", "x", x, inputs=())
    known = {id(x): 0}  # a leaf whose input is an earlier step's tensor is drawn from that step
    alive = [x]  # keep the tensors in `known` alive, so that their ids are not reused

    def hook_for(path: str):
        def hook(leaf, args, output):
            out = _first_tensor(output)
            if out is None:
                return
            sources = [known[id(a)] for a in args if isinstance(a, torch.Tensor) and id(a) in known]
            inputs = tuple(rec.steps[i].value for i in sources) or None
            name = f"{path} ({type(leaf).__name__})" if path else type(leaf).__name__
            op = f"{type(leaf).__name__}({leaf.extra_repr()})"
            rec(name, _fit(op, 100), out, params=leaf, inputs=inputs)
            known[id(out)] = len(rec.steps) - 1
            alive.append(out)

        return hook

    handles = [leaf.register_forward_hook(hook_for(path)) for path, leaf in _leaves(module)]
    try:
        out = _first_tensor(module(x))
    finally:
        for handle in handles:
            handle.remove()
    if out is None:
        raise TypeError(f"trace expects the module to return a tensor; {type(module).__name__} returned none")
    last = rec.steps[-1].value
    if not (last.shape == out.shape and torch.equal(last, out)):
        # The module did work outside its leaves (a residual add, a gating multiply): show its output too.
        rec("output", f"what {type(module).__name__}.forward returns", out, inputs=None)


# ---------------------------------------------------------------------------
# trace()
# ---------------------------------------------------------------------------


def _check_input_shape(input_shape) -> tuple[int, ...]:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
        raise ValueError(f"trace expects input_shape as a tuple of positive integers, e.g. (2, 64, 32, 32); "
                         f"got {input_shape!r}")
    return shape


def trace(module_or_name, input_shape, *, seed: int = 0, keep_values: bool = True, **kwargs) -> Trace:
    """Run one forward pass and record every step: its name, operation, shape, elements and parameters.

    Args:
        module_or_name: a registered name ("se", "cbam", ...; see ``attn_edu.available()``),
            built with ``attn_edu.create(name, input_shape[1], **kwargs)``, or any ``nn.Module``.
        input_shape: (B, C, H, W), or (B, C, L) for the DRSN shrinkage; a tensor is used as the input itself.
        seed: the random input is ``torch.randn(input_shape)`` drawn with this seed.
        keep_values: keep every step's tensor in ``step.value``; False keeps only the
            output's, to save memory on large inputs.
        **kwargs: the mechanism's hyperparameters, when it is given by name.

    Registered mechanisms are traced step by step in the paper's words; any other
    module through forward hooks on its leaf modules, named by attribute path and
    class. Runs in eval mode without gradients and restores the module's mode.
    """
    if isinstance(module_or_name, str):
        shape = _check_input_shape(input_shape.shape if isinstance(input_shape, torch.Tensor) else input_shape)
        if len(shape) < 2:
            raise ValueError(f"trace expects input_shape (B, C, H, W) with the channels second; got {shape}")
        module = create(module_or_name, shape[1], **kwargs)
        label = module_or_name.lower().replace("_", "-")
    elif isinstance(module_or_name, nn.Module):
        if kwargs:
            raise TypeError(f"trace: keyword arguments configure a mechanism given by name; "
                            f"a built module already has its configuration; got {sorted(kwargs)}")
        module, label = module_or_name, type(module_or_name).__name__
    else:
        raise TypeError(
            f"trace expects an nn.Module or a mechanism name such as 'se'; got {type(module_or_name).__name__}"
        )

    if isinstance(input_shape, torch.Tensor):
        x = input_shape
    else:
        shape = _check_input_shape(input_shape)
        reference = next(module.parameters(), None)
        dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
        device = reference.device if reference is not None else "cpu"
        x = torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype).to(device)

    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    rec = _Recorder()
    try:
        with torch.no_grad():
            tracer = _tracer_for(module)
            (tracer or _trace_hooks)(module, x, rec)
    finally:
        for m, training in modes:
            m.training = training
    steps = rec.steps
    if not keep_values:
        steps = [replace(step, value=None) for step in steps[:-1]] + steps[-1:]
    return Trace(label, module, x, steps)


# ---------------------------------------------------------------------------
# Broadcasting, explained
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastAxis:
    """One axis, counted from the right (-1 is the last): the two sizes, the result and the rule used."""

    position: int
    left: int | None
    right: int | None
    result: int | None
    rule: str


@dataclass(frozen=True)
class Broadcast:
    """Whether two shapes broadcast, the result, and why, axis by axis."""

    left: tuple[int, ...]
    right: tuple[int, ...]
    result: tuple[int, ...] | None
    axes: tuple[BroadcastAxis, ...]

    @property
    def ok(self) -> bool:
        return self.result is not None

    @property
    def message(self) -> str:
        """One line: the result, or the first axis that does not match."""
        a, b = format_shape(self.left), format_shape(self.right)
        if self.ok:
            stretched = [ax for ax in self.axes if ax.left != ax.right]
            how = "; ".join(ax.rule for ax in stretched) if stretched else "the shapes are equal, nothing is stretched"
            return f"{a} and {b} broadcast to {format_shape(self.result)}: {how}"
        bad = next(ax for ax in self.axes if ax.result is None)
        return (f"{a} and {b} do not broadcast: axis {bad.position} has size {bad.left} on the left and "
                f"{bad.right} on the right; sizes must be equal or one of them 1")

    def text(self) -> str:
        lines = [self.message, "axis  left  right  result  rule"]
        for ax in self.axes:
            cells = [str(ax.position), _size(ax.left), _size(ax.right), _size(ax.result)]
            lines.append(f"{cells[0]:>4}  {cells[1]:>4}  {cells[2]:>5}  {cells[3]:>6}  {ax.rule}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def svg(self) -> str:
        """The two shapes aligned from the right, and the result: one cell per axis.

        Grey: sizes equal. Orange: a size-1 axis copied to match. Dashed: a
        missing axis, added in front as size 1. Red: sizes that cannot match.
        """
        cell_w, cell_h, label_w = 58, 30, 64
        n = len(self.axes)
        width, height = max(label_w + n * cell_w + 10, 330), 3 * (cell_h + 14) + 26
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
                 f'font-family="sans-serif" class="attn-edu-broadcast">']
        rows = (("left", "left"), ("right", "right"), ("result", "result"))
        for r, (label, attr) in enumerate(rows):
            y = 6 + r * (cell_h + 14)
            parts.append(f'<text x="4" y="{y + cell_h / 2 + 4}" font-size="12">{label}</text>')
            for k, ax in enumerate(reversed(self.axes)):  # leftmost axis first
                x = label_w + k * cell_w
                size = getattr(ax, attr)
                other = ax.right if attr == "left" else ax.left
                dash, fill, text = "", "#eeeeee", _size(size)
                if attr != "result" and size is None:
                    dash, fill = ' stroke-dasharray="4 3"', "#ffffff"
                    text = "(1)" if other in (None, 1) else f"(1)\u2192{other}"
                elif attr != "result" and ax.result is None:
                    fill = "#f4b6b6"
                elif attr != "result" and size == 1 and other not in (None, 1):
                    fill, text = "#fdd9a8", f"1\u2192{other}"
                elif attr == "result" and size is None:
                    fill, text = "#f4b6b6", "\u2717"
                parts.append(f'<rect x="{x}" y="{y}" width="{cell_w - 6}" height="{cell_h}" rx="4" '
                             f'fill="{fill}" stroke="#888"{dash}/>'
                             f'<text x="{x + (cell_w - 6) / 2}" y="{y + cell_h / 2 + 4}" font-size="12" '
                             f'text-anchor="middle">{html.escape(text)}</text>')
        parts.append(f'<text x="4" y="{height - 8}" font-size="10" fill="#555">orange: a 1 copied to match; '
                     f'dashed: an axis added in front; red: sizes that clash</text>')
        parts.append("</svg>")
        return "".join(parts)


def _size(value) -> str:
    return "-" if value is None else str(value)


def explain_broadcast(left, right) -> Broadcast:
    """PyTorch's broadcasting rule for two shapes, one axis at a time.

    Shapes are aligned at their last axis. On each axis the sizes must be
    equal, or one of them 1 (that tensor's values are reused along the
    axis), or missing (the shorter shape gets a new axis of size 1 in
    front). The result is checked against ``torch.broadcast_shapes``.

    >>> explain_broadcast((2, 64, 1, 1), (2, 64, 8, 8)).result
    (2, 64, 8, 8)
    """
    for who, shape in (("left", left), ("right", right)):
        if any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in shape):
            raise ValueError(f"explain_broadcast: the {who} shape must hold whole numbers >= 0; got {tuple(shape)!r}")
    left, right = tuple(left), tuple(right)
    n = max(len(left), len(right))
    axes, result = [], []
    for position in range(-1, -n - 1, -1):
        a = left[position] if -position <= len(left) else None
        b = right[position] if -position <= len(right) else None
        if a is None or b is None:
            size, present = (b, "left") if a is None else (a, "right")
            missing = "left" if a is None else "right"
            rule = f"axis {position}: {missing} has no such axis, gets one of size 1, stretched to {size}"
            if size == 1:
                rule = f"axis {position}: {missing} has no such axis, gets one of size 1"
        elif a == b:
            size, rule = a, f"axis {position}: both {a}"
        elif a == 1:
            size, rule = b, f"axis {position}: left's 1 is copied {b} times"
        elif b == 1:
            size, rule = a, f"axis {position}: right's 1 is copied {a} times"
        else:
            size, rule = None, f"axis {position}: {a} and {b} differ and neither is 1"
        axes.append(BroadcastAxis(position, a, b, size, rule))
        result.append(size)
    ok = all(s is not None for s in result)
    final = tuple(reversed(result)) if ok else None
    try:
        expected = tuple(torch.broadcast_shapes(left, right))
    except RuntimeError:
        expected = None
    assert expected == final, f"explain_broadcast disagrees with torch.broadcast_shapes for {left} and {right}"
    return Broadcast(left, right, final, tuple(axes))
