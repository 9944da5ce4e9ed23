"""Widgets and plots for the book, built on ipywidgets 8 and matplotlib; all of it works offline.

Explore shapes:

- ``explore(name=None, **settings)``: a mechanism, its sizes and hyperparameters; a live
  table of every traced tensor, its parameters, FLOPs and bytes moved, and a data-flow diagram.
- ``broadcast_explorer(left=None, right=None)``: two shapes, whether and how they broadcast.

See what a model attends to:

- ``attention_record(model, x)``: what each attention module computed on a batch.
- ``plot_channel_weights``, ``plot_spatial_attention``, ``plot_sk_branch_weights``,
  ``plot_drsn_thresholds``: static matplotlib figures.
- ``attention_viewer(model, x, images=None)``: those plots with layer, sample and view controls.

Every widget keeps its controls and outputs as attributes (``w.channels``,
``w.table``, ...), so a test sets a value as a reader would and reads the
result; see ``tests/test_widgets.py``.
"""

from .broadcast import BroadcastExplorer, broadcast_explorer, parse_shape
from .explorer import Explorer, explore
from .plots import (
    LayerRecord,
    attention_record,
    plot_channel_weights,
    plot_drsn_thresholds,
    plot_sk_branch_weights,
    plot_spatial_attention,
)
from .viewer import AttentionViewer, attention_viewer

__all__ = [
    "AttentionViewer",
    "BroadcastExplorer",
    "Explorer",
    "LayerRecord",
    "attention_record",
    "attention_viewer",
    "broadcast_explorer",
    "explore",
    "parse_shape",
    "plot_channel_weights",
    "plot_drsn_thresholds",
    "plot_sk_branch_weights",
    "plot_spatial_attention",
]
