"""Block diagrams for the chapters: where a mechanism sits in a network.

``block_diagram`` draws a left-to-right chain of boxes with arrows, one box
highlighted, and optionally the identity path of a residual block. Every
mechanism chapter uses it for its first figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def block_diagram(
    boxes: list[str],
    highlight: tuple[str, ...] = (),
    residual: bool = False,
    title: str = "",
    notes: dict[str, str] | None = None,
) -> Figure:
    """A chain of labelled boxes, left to right.

    Args:
        boxes: the labels, in order; use "\\n" for a second line.
        highlight: labels to draw in colour (the mechanism).
        residual: draw an identity path from before the first box to a "+"
            after the last one, as in a residual block.
        title: the figure title; state the point of the figure.
        notes: text written under a box (for example its output shape).
    """
    if not boxes:
        raise ValueError("block_diagram needs at least one box")
    notes = notes or {}
    width, gap = 1.5, 0.45
    fig, ax = plt.subplots(figsize=(max(6.0, len(boxes) * (width + gap) * 0.95 + 1.5), 2.6))
    x = 0.6
    centres = []
    for label in boxes:
        colour = "#f4a261" if label in highlight else "#dfe7f2"
        ax.add_patch(FancyBboxPatch((x, 0.0), width, 1.0, boxstyle="round,pad=0.05", fc=colour, ec="#34495e"))
        ax.text(x + width / 2, 0.5, label, ha="center", va="center", fontsize=9)
        if label in notes:
            ax.text(x + width / 2, -0.3, notes[label], ha="center", va="top", fontsize=8, color="#555555")
        centres.append(x + width / 2)
        x += width + gap
    arrow = dict(arrowstyle="-|>", mutation_scale=12, color="#34495e")
    ax.add_patch(FancyArrowPatch((0.0, 0.5), (0.6, 0.5), **arrow))
    ax.text(0.0, 0.62, "x", fontsize=10)
    for left, right in zip(centres, centres[1:]):
        ax.add_patch(FancyArrowPatch((left + width / 2 + 0.05, 0.5), (right - width / 2 - 0.05, 0.5), **arrow))
    end = centres[-1] + width / 2 + 0.05
    if residual:
        plus = end + 0.45
        ax.add_patch(FancyArrowPatch((end, 0.5), (plus - 0.15, 0.5), **arrow))
        ax.text(plus, 0.5, "+", ha="center", va="center", fontsize=16)
        ax.plot([0.3, 0.3, plus, plus], [0.5, 1.45, 1.45, 0.68], color="#34495e", lw=1.2)
        ax.text((0.3 + plus) / 2, 1.52, "identity", ha="center", fontsize=8)
        ax.add_patch(FancyArrowPatch((plus + 0.15, 0.5), (plus + 0.6, 0.5), **arrow))
        end = plus + 0.6
    else:
        ax.add_patch(FancyArrowPatch((end, 0.5), (end + 0.5, 0.5), **arrow))
        end += 0.5
    ax.set_xlim(-0.1, end + 0.2)
    ax.set_ylim(-0.8, 1.9)
    ax.axis("off")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    plt.close(fig)  # the caller decides where to show it
    return fig
