"""The broadcasting explorer for the introductory chapter.

Every gating module multiplies a small tensor into a big one: SE's gate
(B, C, 1, 1) into the map (B, C, H, W), CBAM's spatial gate (B, 1, H, W)
into the same map. ``broadcast_explorer()`` lets a reader type two shapes,
in numbers or in the letters B, C, H, W, M, and see whether they broadcast,
the result, and which axes are copied, in words and in a picture.
"""

from __future__ import annotations

import html
import re

import ipywidgets as widgets

from ..shapes import Broadcast, explain_broadcast, format_shape
from .static import settings_line, side_by_side, with_static_view

__all__ = ["BroadcastExplorer", "broadcast_explorer", "parse_shape", "PRESETS"]

# (label, left, right): the broadcasts the book meets, and two classic mistakes.
PRESETS = (
    ("SE: channel gate times the map", "B, C, 1, 1", "B, C, H, W"),
    ("sSE, CBAM: spatial gate times the map", "B, 1, H, W", "B, C, H, W"),
    ("BAM: channel logits plus spatial logits", "B, C, 1, 1", "B, 1, H, W"),
    ("SK: branch weights times the stacked branches", "B, M, C, 1, 1", "B, M, C, H, W"),
    ("mistake: a gate without its trailing 1, 1", "B, C", "B, C, H, W"),
    ("mistake: ECA's (B, 1, C) before reshaping", "B, 1, C", "B, C, H, W"),
)

SYMBOLS = ("B", "C", "H", "W", "M")


def parse_shape(text: str, sizes: dict[str, int]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """'(B, C, 1, 1)' -> ((2, 4, 1, 1), ('B', 'C', '1', '1')) with sizes {'B': 2, 'C': 4, ...}.

    Brackets are optional; entries are whole numbers or the letters in ``sizes``.
    """
    inner = text.strip().strip("()[]").strip()
    if not inner:
        return (), ()
    tokens = [t.strip() for t in re.split(r"[,\s]+", inner) if t.strip()]
    values = []
    for token in tokens:
        if token.isdigit():
            values.append(int(token))
        elif token.upper() in sizes:
            values.append(sizes[token.upper()])
        else:
            letters = ", ".join(sizes)
            raise ValueError(f"cannot read {token!r} in {text!r}: use whole numbers or the letters {letters}")
    return tuple(values), tuple(t.upper() if not t.isdigit() else t for t in tokens)


def symbolic_result(result: Broadcast, left_names, right_names) -> str:
    """The result written with the letters the reader typed: '(B, C, H, W)'."""
    names = []
    for ax in reversed(result.axes):
        k = ax.position
        a = left_names[k] if -k <= len(left_names) else None
        b = right_names[k] if -k <= len(right_names) else None
        if a is None or (ax.left == 1 and ax.result != 1):
            names.append(b)
        else:
            names.append(a)
    return "(" + ", ".join(names) + ")"


class BroadcastExplorer(widgets.VBox):
    """Two shapes in, the broadcast result (or why not) out, with a table and a picture.

    Controls: ``preset`` (the book's examples), ``left`` and ``right`` (text
    such as "B, C, 1, 1"), and the sizes the letters stand for: ``batch``,
    ``channels``, ``height``, ``width``, ``branches``.

    Outputs (``ipywidgets.HTML``): ``result`` (one line), ``table`` (axis by
    axis) and ``picture`` (SVG). ``broadcast`` holds the last
    ``attn_edu.shapes.Broadcast`` and ``error`` a message for unreadable input.
    """

    def __init__(self, left: str | None = None, right: str | None = None):
        self.preset = widgets.Dropdown(
            options=[(label, (a, b)) for label, a, b in PRESETS], value=(PRESETS[0][1], PRESETS[0][2]),
            description="example", style={"description_width": "initial"}, layout=widgets.Layout(width="460px"),
        )
        self.left = widgets.Text(value=left or PRESETS[0][1], description="left", continuous_update=False)
        self.right = widgets.Text(value=right or PRESETS[0][2], description="right", continuous_update=False)
        small = {"continuous_update": False, "style": {"description_width": "initial"},
                 "layout": widgets.Layout(width="200px")}
        self.batch = widgets.IntSlider(value=2, min=1, max=8, description="B", **small)
        self.channels = widgets.IntSlider(value=4, min=1, max=16, description="C", **small)
        self.height = widgets.IntSlider(value=3, min=1, max=16, description="H", **small)
        self.width = widgets.IntSlider(value=5, min=1, max=16, description="W", **small)
        self.branches = widgets.IntSlider(value=2, min=1, max=4, description="M", **small)
        self.result = widgets.HTML()
        self.table = widgets.HTML()
        self.picture = widgets.HTML()
        self.broadcast: Broadcast | None = None
        self.error: str | None = None
        self._quiet = False

        self.preset.observe(self._preset_chosen, names="value")
        for control in (self.left, self.right, self.batch, self.channels, self.height, self.width, self.branches):
            control.observe(self.update, names="value")
        super().__init__([
            self.preset,
            widgets.HBox([self.left, self.right]),
            widgets.HBox([self.batch, self.channels, self.height, self.width, self.branches],
                         layout=widgets.Layout(flex_flow="row wrap")),
            self.result,
            widgets.HBox([self.picture, self.table], layout=widgets.Layout(flex_flow="row wrap")),
        ])
        self.update()

    def static_html(self) -> str:
        """The two shapes, the sizes, the result, the picture and the table on show, as HTML."""
        settings = {"left": self.left.value, "right": self.right.value, **self.sizes()}
        return settings_line(settings) + self.result.value + side_by_side(self.picture.value, self.table.value)

    def _repr_mimebundle_(self, **kwargs):
        return with_static_view(super()._repr_mimebundle_(**kwargs), self.static_html())

    def sizes(self) -> dict[str, int]:
        values = (self.batch, self.channels, self.height, self.width, self.branches)
        return {symbol: control.value for symbol, control in zip(SYMBOLS, values)}

    def _preset_chosen(self, change) -> None:
        self._quiet = True  # one update for both new shapes, not one per text box
        try:
            self.left.value, self.right.value = change["new"]
        finally:
            self._quiet = False
        self.update()

    def update(self, change=None) -> None:
        """Read both shapes, apply the rule and redraw."""
        if self._quiet:
            return
        try:
            a, a_names = parse_shape(self.left.value, self.sizes())
            b, b_names = parse_shape(self.right.value, self.sizes())
            self.broadcast = explain_broadcast(a, b)
        except ValueError as err:
            self.broadcast, self.error = None, str(err).splitlines()[0]
            self.result.value = f'<div style="color:#b00020">{html.escape(self.error)}</div>'
            self.table.value = self.picture.value = ""
            return
        self.error = None
        found = self.broadcast
        if found.ok:
            words = f"{symbolic_result(found, a_names, b_names)} = {format_shape(found.result)}"
            verdict = f'<b style="color:#1b7a2a">broadcasts to {html.escape(words)}</b>'
        else:
            verdict = '<b style="color:#b00020">does not broadcast</b>'
        shapes = f"{format_shape(a)} and {format_shape(b)}"
        self.result.value = (
            f"<div>{shapes}: {verdict}</div><div style='font-size:12px'>{html.escape(found.message)}</div>"
        )
        rows = "".join(
            f"<tr><td>{ax.position}</td><td>{_cell(ax.left)}</td><td>{_cell(ax.right)}</td>"
            f"<td>{_cell(ax.result)}</td><td style='text-align:left'>{html.escape(ax.rule)}</td></tr>"
            for ax in found.axes
        )
        self.table.value = (
            '<table style="font-size:12px"><thead><tr><th>axis</th><th>left</th><th>right</th>'
            f"<th>result</th><th style='text-align:left'>rule</th></tr></thead><tbody>{rows}</tbody></table>"
        )
        self.picture.value = found.svg()


def _cell(value) -> str:
    return "-" if value is None else str(value)


def broadcast_explorer(left: str | None = None, right: str | None = None) -> BroadcastExplorer:
    """Pick two shapes, such as "B, C, 1, 1" and "B, C, H, W", and see how they broadcast."""
    return BroadcastExplorer(left, right)
