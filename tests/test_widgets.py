"""attn_edu.widgets, headless: build each widget, set values as a reader
would, and check that the table, the figures and the pictures follow."""

from __future__ import annotations

import matplotlib.colors
import numpy as np
import pytest
import torch

import attn_edu
from attn_edu import profile
from attn_edu.models import SignalCNN1d, SmallCNN
from attn_edu.shapes import format_shape, trace
from attn_edu.widgets import (
    attention_record,
    attention_viewer,
    broadcast_explorer,
    explore,
    parse_shape,
    plot_channel_weights,
    plot_drsn_thresholds,
    plot_sk_branch_weights,
    plot_spatial_attention,
)
from attn_edu.widgets.explorer import LIVE_LIMIT

# ---------------------------------------------------------------------------
# explore()
# ---------------------------------------------------------------------------


def shown_shapes(widget) -> list[str]:
    return [format_shape(step.shape) for step in widget.trace]


def test_explorer_starts_on_se_at_the_default_sizes_with_every_shape_on_show():
    w = explore()
    assert w.mechanism.value == "se" and w.input_shape() == (2, 64, 32, 32)
    assert w.error is None and w.message.value == ""
    assert w.trace.names() == ["input", "squeeze", "excitation down", "ReLU", "excitation up", "sigmoid", "scale"]
    for shape in ("(2, 64, 32, 32)", "(2, 64)", "(2, 4)"):
        assert shape in w.table.value and shape in w.diagram.value
    assert "<svg" in w.diagram.value


def test_changing_channels_updates_table_diagram_and_costs():
    w = explore("se")
    w.channels.value = 48
    assert w.trace["squeeze"].shape == (2, 48)
    assert w.trace["excitation down"].shape == (2, 3)  # 48 // 16
    assert "(2, 48, 32, 32)" in w.table.value and "(2, 48, 32, 32)" in w.diagram.value
    assert "(2, 64, 32, 32)" not in w.table.value
    assert w.costs["parameters"] == profile.parameter_formula("se", 48) == 2 * 48 * 3 + 3 + 48
    assert f"{w.costs['parameters']:,}" in w.figures.value


@pytest.mark.parametrize("control, value, expected", [
    ("batch", 5, (5, 64, 32, 32)), ("height", 7, (2, 64, 7, 32)), ("width", 9, (2, 64, 32, 9)),
])
def test_batch_height_and_width_reach_every_step(control, value, expected):
    w = explore("cbam")
    getattr(w, control).value = value
    assert w.trace.input_shape == expected and w.trace.output_shape == expected
    assert format_shape(expected) in w.table.value
    assert w.costs["flops"] == profile.flops(w.module, expected)
    assert w.costs["bytes"]["bytes_total"] == profile.bytes_moved(w.module, expected)["bytes_total"]


def test_switching_mechanism_swaps_the_hyperparameter_controls_and_the_trace():
    w = explore("se")
    w.mechanism.value = "sk"
    assert set(w.hyperparameters) == {"branches", "groups", "reduction", "min_dim", "stride"}
    assert tuple(w.hyperparameter_box.children) == tuple(w.hyperparameters.values())
    assert w.trace.mechanism == "sk" and "fuse sum" in w.trace.names()
    w.mechanism.value = "sse"
    assert w.hyperparameters == {} and w.hyperparameter_box.children == ()


# (mechanism, control, value, step, shape it must show): one change per hyperparameter.
HYPERPARAMETER_EFFECTS = [
    ("se", "reduction", 8, "excitation down", (2, 8)),
    ("cse", "reduction", 4, "excitation down", (2, 16)),
    ("scse", "reduction", 16, "cSE: excitation down", (2, 4)),
    ("cbam", "reduction", 4, "shared MLP down", (2, 2, 16)),
    ("cbam", "kernel_size", 3, "3x3 conv", (2, 1, 32, 32)),
    ("cbam", "pool_types", ("avg",), "shared MLP down", (1, 2, 4)),
    ("bam", "reduction", 8, "spatial: 1x1 conv down", (2, 8, 32, 32)),
    ("bam", "dilation", 2, "spatial: 3x3 conv dil 2", (2, 4, 32, 32)),
    ("eca", "k_size", 5, "1-D conv across channels", (2, 1, 64)),
    ("sk", "branches", 3, "split branch 3 (3x3 dil 3)", (2, 64, 32, 32)),
    ("sk", "stride", 2, "weighted sum", (2, 64, 16, 16)),
    ("sk", "min_dim", 8, "fc to d", (2, 8, 1, 1)),
    ("nonlocal", "subsample", True, "phi", (2, 256, 32)),
    ("nonlocal", "reduction", 4, "theta", (2, 1024, 16)),
]


@pytest.mark.parametrize("name, control, value, step, shape", HYPERPARAMETER_EFFECTS)
def test_each_hyperparameter_control_changes_the_trace(name, control, value, step, shape):
    w = explore(name)
    w.hyperparameters[control].value = value
    assert w.error is None
    assert w.trace[step].shape == shape
    assert format_shape(shape) in w.table.value
    assert w.costs["parameters"] == profile.parameter_formula(name, 64, **w.kwargs())


def test_switches_that_remove_steps_remove_them_from_table_and_diagram():
    w = explore("cbam")
    w.hyperparameters["spatial"].value = False
    assert w.trace.names()[-1] == "channel scale" and "spatial scale" not in w.table.value
    w = explore("bam")
    w.hyperparameters["num_dilated"].value = 0
    assert not any("dil" in name for name in w.trace.names())
    assert "dil 4" not in w.diagram.value


def test_eca_kernel_follows_gamma_and_b_until_fixed_by_hand():
    w = explore("eca", channels=64)
    assert w.module.k_size == 3 and not w.hyperparameters["gamma"].disabled
    w.hyperparameters["gamma"].value = 1.0  # k = |log2(64) / 1 + 1 / 1|_odd = |7|_odd = 7
    assert w.module.k_size == 7 and "k_size=7" in w.figures.value
    w.hyperparameters["k_size"].value = 5
    assert w.module.k_size == 5 and w.hyperparameters["gamma"].disabled and w.hyperparameters["b"].disabled


def test_explore_takes_starting_values_and_refuses_unknown_ones():
    w = explore("cbam", channels=128, batch=1, kernel_size=3, reduction=8)
    assert w.trace.input_shape[:2] == (1, 128) and "3x3 conv" in w.trace.names()
    assert explore("eca", k_size=None).hyperparameters["k_size"].value == 0
    assert explore("se", channels=1024).channels.value == 1024  # the slider grows to fit
    with pytest.raises(ValueError, match="se has no control for 'kernel_size'; its controls are: reduction, bias"):
        explore("se", kernel_size=3)
    with pytest.raises(ValueError, match="unknown mechanism 'sea'"):
        explore("sea")


# Every kind of invalid combination the controls can reach, and the words of its explanation.
INVALID = [
    ("se", {"channels": 8}, "reduction=16 leaves no hidden unit for channels=8"),
    ("cse", {"channels": 1}, "reduction=2 leaves no hidden unit for channels=1"),
    ("scse", {"reduction": 128}, "reduction=128 leaves no hidden unit for channels=64"),
    ("cbam", {"channels": 12}, "reduction=16 leaves no hidden unit for channels=12"),
    ("cbam", {"kernel_size": 4}, "kernel_size must be odd"),
    ("bam", {"reduction": 100}, "reduction=100 leaves no hidden unit for channels=64"),
    ("eca", {"k_size": 2}, "k_size must be odd"),
    ("sk", {"channels": 48}, "groups=32 must divide channels=48; try one of [1, 2, 4, 8, 16]"),
    ("sk", {"groups": 5}, "groups=5 must divide channels=64"),
    ("sk", {"reduction": 64, "channels": 32, "groups": 4}, "reduction=64 leaves no hidden unit for channels=32"),
    ("nonlocal", {"channels": 1}, "reduction=2 leaves no hidden unit for channels=1"),
    ("nonlocal", {"height": 64, "width": 64, "batch": 4}, "too many to run live here"),
    ("sk", {"batch": 16, "channels": 512, "height": 64, "width": 64}, "too many to run live here"),
]


@pytest.mark.parametrize("name, settings, words", INVALID)
def test_an_invalid_combination_shows_one_line_and_no_traceback(name, settings, words):
    w = explore(name)
    for key, value in settings.items():
        control = getattr(w, key) if key in ("batch", "channels", "height", "width") else w.hyperparameters[key]
        control.value = value
    assert w.error is not None and words in w.error
    assert "\n" not in w.error and "Traceback" not in w.message.value
    assert words.split(";")[0] in w.message.value.replace("&#x27;", "'")
    assert w.trace is None and w.table.value == w.diagram.value == w.figures.value == ""


def test_fixing_an_invalid_combination_brings_the_table_back():
    w = explore("se", channels=8)
    assert w.error and w.table.value == ""
    w.hyperparameters["reduction"].value = 4
    assert w.error is None and w.message.value == ""
    assert w.trace["excitation down"].shape == (2, 2)


def test_the_live_limit_counts_the_affinity_matrix_of_the_nonlocal_block():
    w = explore("nonlocal", height=64, width=64)  # 2 x 4096 x 4096 = 2**25 > 2**24
    assert w.error and "B x N x N' = 2 x 4096 x 4096" in w.error and LIVE_LIMIT == 2**24
    w.hyperparameters["subsample"].value = True  # 2 x 4096 x 1024 = 2**23
    assert w.error is None and w.trace["affinity theta^T phi"].shape == (2, 4096, 1024)


@pytest.mark.parametrize("name", attn_edu.available())
def test_every_mechanism_explores_at_the_default_sizes_like_a_direct_trace(name):
    w = explore(name)
    assert w.error is None
    direct = trace(name, w.input_shape(), **w.kwargs())
    assert w.trace.names() == direct.names() and w.trace.shapes() == direct.shapes()
    assert all(shape in w.table.value for shape in shown_shapes(w))


# ---------------------------------------------------------------------------
# broadcast_explorer()
# ---------------------------------------------------------------------------


def test_broadcast_explorer_starts_with_the_se_gate():
    b = broadcast_explorer()
    assert b.broadcast.result == (2, 4, 3, 5)
    assert "broadcasts to (B, C, H, W) = (2, 4, 3, 5)" in b.result.value
    assert "<svg" in b.picture.value and "1\u21923" in b.picture.value


@pytest.mark.parametrize("preset, result", [
    (1, (2, 4, 3, 5)), (2, (2, 4, 3, 5)), (3, (2, 2, 4, 3, 5)), (4, None), (5, None),
])
def test_each_example_broadcasts_as_the_book_says(preset, result):
    b = broadcast_explorer()
    b.preset.value = b.preset.options[preset][1]
    assert b.broadcast.result == result
    assert ("does not broadcast" in b.result.value) == (result is None)


def test_typed_shapes_and_sizes_update_the_result_table_and_picture():
    b = broadcast_explorer()
    b.left.value, b.right.value = "(B, 1, H, W)", "B, C, 1, 1"
    b.height.value = 7
    assert b.broadcast.result == (2, 4, 7, 5)
    assert "(B, C, H, W) = (2, 4, 7, 5)" in b.result.value
    assert "left&#x27;s 1 is copied 4 times" in b.table.value
    b.right.value = "C, 1"
    assert b.broadcast.result is None and "axis -2 has size 7 on the left and 4 on the right" in b.result.value


def test_unreadable_shapes_say_which_letters_are_allowed():
    b = broadcast_explorer()
    b.left.value = "B, K, 1"
    assert b.error == "cannot read 'K' in 'B, K, 1': use whole numbers or the letters B, C, H, W, M"
    assert b.picture.value == "" and "cannot read" in b.result.value


def test_parse_shape_reads_numbers_letters_and_an_empty_shape():
    sizes = {"B": 2, "C": 8}
    assert parse_shape("(B, c, 1, 1)", sizes) == ((2, 8, 1, 1), ("B", "C", "1", "1"))
    assert parse_shape("[3 4]", sizes) == ((3, 4), ("3", "4"))
    assert parse_shape("()", sizes) == ((), ())


# ---------------------------------------------------------------------------
# Static plots
# ---------------------------------------------------------------------------


def bar_heights(ax) -> np.ndarray:
    return np.array([patch.get_height() for patch in ax.patches])


def test_channel_weights_draw_one_bar_per_channel_per_sample_and_mark_highlights():
    weights = torch.linspace(0, 1, 3 * 8).reshape(3, 8, 1, 1)
    fig = plot_channel_weights(weights, highlight=[0, 7], layer="block 1")
    axes = fig.axes
    assert len(axes) == 3
    np.testing.assert_allclose(bar_heights(axes[1]), weights[1].flatten().numpy(), rtol=1e-6)
    colours = [matplotlib.colors.to_hex(p.get_facecolor()) for p in axes[0].patches]
    assert colours[0] == colours[7] != colours[3]
    marked = weights.flatten(1)[:, [0, 7]].mean().item()
    assert fig.get_suptitle().startswith(f"block 1: highlighted channels average {marked:.2f}")
    assert axes[-1].get_xlabel() == "channel c" and axes[0].get_ylabel() == "weight (gate)"


def test_spatial_attention_is_upsampled_to_the_image_size():
    image = torch.rand(3, 40, 24)
    attention = torch.zeros(1, 1, 5, 3)
    attention[0, 0, 4, 1] = 1.0
    fig = plot_spatial_attention(image, attention)
    picture, native, overlay = fig.axes[0], fig.axes[1], fig.axes[2]
    assert picture.images[0].get_array().shape == (40, 24, 3)
    assert native.images[0].get_array().shape == (5, 3)
    assert overlay.images[1].get_array().shape == (40, 24)
    # cell (4, 1) of a 5 x 3 map covers pixel rows 32-40 and columns 8-16: its centre is (36, 12)
    assert "peaks at row 4, column 1 of the map (pixel row 36, column 12)" in fig.get_suptitle()
    assert any(ax.get_ylabel() == "attention weight" for ax in fig.axes)  # the colour bars


def test_spatial_attention_outlines_the_true_mask_on_the_input_and_the_overlay():
    mask = torch.zeros(2, 40, 24, dtype=torch.bool)
    mask[1, 10:20, 5:15] = True
    fig = plot_spatial_attention(torch.rand(2, 3, 40, 24), torch.rand(2, 1, 5, 3), sample=1, mask=mask)
    picture, overlay = fig.axes[0], fig.axes[2]
    for ax in (picture, overlay):
        (outline,) = [c for c in ax.collections if c.get_edgecolor().size]  # one contour at the mask's edge
        points = np.concatenate([path.vertices for path in outline.get_paths()])
        assert points[:, 0].min() >= 4 and points[:, 0].max() <= 15  # x: columns 5-14, give or take half a pixel
        assert points[:, 1].min() >= 9 and points[:, 1].max() <= 20  # y: rows 10-19
    with pytest.raises(ValueError, match="mask of the image's size"):
        plot_spatial_attention(torch.rand(3, 40, 24), torch.rand(5, 3), mask=torch.zeros(20, 12))


def test_sk_branch_weights_stack_to_one_per_channel():
    weights = torch.softmax(torch.randn(2, 3, 6, 1, 1), dim=1)
    fig = plot_sk_branch_weights(weights, sample=1)
    ax = fig.axes[0]
    tops = np.array([p.get_y() + p.get_height() for p in ax.patches]).reshape(3, 6)
    np.testing.assert_allclose(tops[-1], 1.0, rtol=1e-5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "branch 1 (3x3 field)", "branch 2 (5x5 field)", "branch 3 (7x7 field)"]
    wins = np.bincount(weights[1, :, :, 0, 0].argmax(dim=0).numpy(), minlength=3)
    assert f"branch 1 in {wins[0]}, branch 2 in {wins[1]}, branch 3 in {wins[2]}" in fig.get_suptitle()


def test_drsn_plot_reports_the_share_of_values_inside_the_band():
    signal = torch.tensor([[[-2.0, -0.5, 0.0, 0.4, 3.0]]])
    fig = plot_drsn_thresholds(signal, torch.tensor([[[1.0]]]))
    assert fig.get_suptitle() == "tau = 1.000 zeroes 60% of channel 0's values (sample 0)"
    after = fig.axes[1].lines[1].get_ydata()
    np.testing.assert_allclose(after, [-1.0, 0.0, 0.0, 0.0, 2.0])
    assert fig.axes[1].get_xlabel() == "position (time step)"


@pytest.mark.parametrize("call, words", [
    (lambda: plot_channel_weights(torch.rand(2, 4), samples=[5]), "sample must be between 0 and 1"),
    (lambda: plot_spatial_attention(torch.rand(4, 5, 6), torch.rand(3, 3)), "expects an image"),
    (lambda: plot_sk_branch_weights(torch.rand(3, 4), branch_labels=["a"]), "3 branches need 3 labels"),
    (lambda: plot_drsn_thresholds(torch.rand(2, 3, 10), torch.rand(2, 5)), "one value per sample or per channel"),
])
def test_plots_explain_wrong_shapes(call, words):
    with pytest.raises(ValueError, match=words):
        call()


def test_figures_show_themselves_as_png_in_a_notebook():
    assert plot_channel_weights(torch.rand(1, 4))._repr_png_().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------
# attention_record() and attention_viewer()
# ---------------------------------------------------------------------------

SMALL_NETS = {
    "se": {"reduction": 4}, "cse": {}, "eca": {}, "sse": {}, "scse": {}, "cbam": {"reduction": 4},
    "bam": {"reduction": 4}, "sk": {"groups": 4, "reduction": 4, "min_dim": 8}, "nonlocal": {},
}
EXPECTED_VIEWS = {
    "se": ["channel weights"], "cse": ["channel weights"], "eca": ["channel weights"], "sse": ["spatial map"],
    "scse": ["channel weights", "spatial map"], "cbam": ["channel weights", "spatial map"],
    "bam": ["channel weights", "spatial map"], "sk": ["branch weights"], "nonlocal": ["spatial map"],
}


@pytest.mark.parametrize("name", sorted(SMALL_NETS))
def test_attention_record_keeps_one_record_per_module_with_the_right_shapes(name):
    net = SmallCNN(3, 5, width=8, depth=2, attn=name, **SMALL_NETS[name]).train()
    x = torch.randn(3, 3, 8, 8)
    records = attention_record(net, x)
    assert [r.name for r in records] == ["features.block0.attn", "features.block1.attn"]
    assert all(m.training for m in net.modules())
    for record, channels, size in zip(records, (8, 16), (8, 4)):
        assert record.views == EXPECTED_VIEWS[name]
        assert record.input.shape == (3, channels, size, size)
        if record.channel_weights is not None:
            assert record.channel_weights.shape == (3, channels)
        if record.spatial_map is not None:
            assert record.spatial_map.shape == (3, size, size)
        if record.branch_weights is not None:
            assert record.branch_weights.shape == (3, 2, channels)
            torch.testing.assert_close(record.branch_weights.sum(dim=1), torch.ones(3, channels))


def test_recorded_gates_are_the_modules_own():
    net = SmallCNN(3, 5, width=8, depth=1, attn="se", reduction=4).eval()
    record = attention_record(net, torch.randn(2, 3, 6, 6))[0]
    with torch.no_grad():
        torch.testing.assert_close(record.channel_weights, record.module.gate(record.input).flatten(1))


def test_attention_record_reads_drsn_thresholds_and_a_lone_module():
    records = attention_record(SignalCNN1d(1, 3, width=4, depth=2, attn="drsn-cs"), torch.randn(2, 1, 32))
    assert [r.threshold.shape for r in records] == [(2, 1), (2, 1)]
    alone = attention_record(attn_edu.create("drsn-cw", 6), torch.randn(2, 6, 10))
    assert alone[0].name == "Shrinkage" and alone[0].threshold.shape == (2, 6)


def test_viewer_follows_layer_sample_and_view():
    net = SmallCNN(3, 5, width=8, depth=2, attn="cbam", reduction=4)
    v = attention_viewer(net, torch.randn(3, 3, 8, 8))
    assert list(v.view.options) == ["channel weights", "spatial map"]
    assert v.figure.get_suptitle().startswith("features.block0.attn: channel weights")
    png = v.output.outputs[0]["data"]["image/png"]
    v.sample.value = 2
    assert v.figure.axes[0].get_title(loc="left") == "sample 2"
    v.view.value = "spatial map"
    assert v.figure.axes[0].images[0].get_array().shape == (8, 8, 3)  # drawn over the input image
    v.layer.value = 1
    assert v.figure.get_suptitle().startswith("features.block1.attn: attention peaks")
    assert v.output.outputs[0]["data"]["image/png"] != png


def test_viewer_shows_sk_branches_and_drsn_thresholds_per_channel():
    sk_net = SmallCNN(3, 5, width=8, depth=1, attn="sk", groups=4, reduction=4, min_dim=8)
    v = attention_viewer(sk_net, torch.randn(2, 3, 8, 8))
    assert list(v.view.options) == ["branch weights"] and "largest weight per channel" in v.figure.get_suptitle()
    v = attention_viewer(SignalCNN1d(1, 3, width=4, depth=1, attn="drsn-cw"), torch.randn(2, 1, 32))
    assert list(v.view.options) == ["thresholds"] and v.channel.max == 3
    v.channel.value = 2
    assert "of channel 2's values" in v.figure.get_suptitle()


def test_viewer_without_attention_modules_says_so():
    with pytest.raises(ValueError, match="has no attention module that attn_edu knows"):
        attention_viewer(SmallCNN(3, 5, width=8, depth=1), torch.randn(2, 3, 8, 8))


# ---------------------------------------------------------------------------
# Static views: what a page without a kernel (the HTML book) shows
# ---------------------------------------------------------------------------

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_the_explorer_displays_a_static_view_of_its_current_state_beside_the_live_widget():
    e = explore("se")
    bundle = e._repr_mimebundle_()
    assert WIDGET_VIEW in bundle  # JupyterLab shows the live widget
    static = bundle["text/html"]
    assert "C = 64" in static and e.table.value in static and e.diagram.value in static
    e.channels.value = 32
    static = e._repr_mimebundle_()["text/html"]
    assert "C = 32" in static and "(2, 32, 32, 32)" in static


def test_the_broadcast_explorer_and_the_viewer_display_static_views():
    b = broadcast_explorer()
    static = b._repr_mimebundle_()["text/html"]
    assert b.result.value in static and b.table.value in static and b.picture.value in static
    net = SmallCNN(3, 5, width=8, depth=1, attn="se", reduction=4)
    v = attention_viewer(net, torch.randn(2, 3, 8, 8))
    static = v._repr_mimebundle_()["text/html"]
    assert '<img alt="channel weights" src="data:image/png;base64,' in static
