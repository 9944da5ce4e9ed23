"""attn_edu.shapes: traces against shapes worked out by hand, against the
modules' own forward passes, and the broadcasting rule against PyTorch's."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import attn_edu
from attn_edu import profile
from attn_edu.models import SmallCNN
from attn_edu.shapes import explain_broadcast, format_shape, trace
from conftest import SMALL

# ---------------------------------------------------------------------------
# Every mechanism, step by step, with the shapes written out by hand
# ---------------------------------------------------------------------------

# name -> (input shape, kwargs, [(step, shape), ...]), each shape derived on paper
# from the module's equations, not by running the code.
BY_HAND = {
    # SE, C = 64, r = 16: 64 // 16 = 4 hidden units.
    "se": ((2, 64, 8, 8), {}, [
        ("input", (2, 64, 8, 8)), ("squeeze", (2, 64)), ("excitation down", (2, 4)), ("ReLU", (2, 4)),
        ("excitation up", (2, 64)), ("sigmoid", (2, 64)), ("scale", (2, 64, 8, 8)),
    ]),
    # cSE, C = 16, r = 2: 8 hidden units.
    "cse": ((2, 16, 5, 7), {}, [
        ("input", (2, 16, 5, 7)), ("squeeze", (2, 16)), ("excitation down", (2, 8)), ("ReLU", (2, 8)),
        ("excitation up", (2, 16)), ("sigmoid", (2, 16)), ("scale", (2, 16, 5, 7)),
    ]),
    # sSE: a 1x1 convolution to one map.
    "sse": ((3, 8, 4, 6), {}, [
        ("input", (3, 8, 4, 6)), ("squeeze", (3, 1, 4, 6)), ("sigmoid", (3, 1, 4, 6)), ("scale", (3, 8, 4, 6)),
    ]),
    "scse": ((2, 16, 4, 4), {}, [
        ("input", (2, 16, 4, 4)), ("cSE: squeeze", (2, 16)), ("cSE: excitation down", (2, 8)),
        ("cSE: ReLU", (2, 8)), ("cSE: excitation up", (2, 16)), ("cSE: sigmoid", (2, 16)),
        ("sSE: squeeze", (2, 1, 4, 4)), ("sSE: sigmoid", (2, 1, 4, 4)),
        ("cSE: scale", (2, 16, 4, 4)), ("sSE: scale", (2, 16, 4, 4)), ("sum", (2, 16, 4, 4)),
    ]),
    # CBAM, C = 32, r = 8: 4 hidden units; two descriptors (avg, max) share the MLP.
    "cbam": ((2, 32, 6, 6), {"reduction": 8}, [
        ("input", (2, 32, 6, 6)), ("channel avg-pool", (2, 32)), ("channel max-pool", (2, 32)),
        ("shared MLP down", (2, 2, 4)), ("ReLU", (2, 2, 4)), ("MLP up", (2, 2, 32)), ("sum", (2, 32)),
        ("sigmoid", (2, 32)), ("channel scale", (2, 32, 6, 6)), ("channel-wise mean", (2, 1, 6, 6)),
        ("channel-wise max", (2, 1, 6, 6)), ("concat", (2, 2, 6, 6)), ("7x7 conv", (2, 1, 6, 6)),
        ("BN", (2, 1, 6, 6)), ("sigmoid", (2, 1, 6, 6)), ("spatial scale", (2, 32, 6, 6)),
    ]),
    # BAM, C = 32, r = 4: 8 hidden units and channels in the bottleneck; two 3x3 convolutions, dilation 2.
    "bam": ((2, 32, 8, 8), {"reduction": 4, "dilation": 2}, [
        ("input", (2, 32, 8, 8)), ("channel: avg-pool", (2, 32)), ("channel: MLP down", (2, 8)),
        ("channel: ReLU", (2, 8)), ("channel: MLP up", (2, 32)), ("channel: BN", (2, 32)),
        ("channel: M_c(F)", (2, 32, 1, 1)),
        ("spatial: 1x1 conv down", (2, 8, 8, 8)), ("spatial: BN", (2, 8, 8, 8)), ("spatial: ReLU", (2, 8, 8, 8)),
        ("spatial: 3x3 conv dil 2", (2, 8, 8, 8)), ("spatial: BN", (2, 8, 8, 8)), ("spatial: ReLU", (2, 8, 8, 8)),
        ("spatial: 3x3 conv dil 2", (2, 8, 8, 8)), ("spatial: BN", (2, 8, 8, 8)), ("spatial: ReLU", (2, 8, 8, 8)),
        ("spatial: 1x1 conv to 1 map", (2, 1, 8, 8)), ("spatial: BN", (2, 1, 8, 8)),
        ("broadcast sum", (2, 32, 8, 8)), ("sigmoid", (2, 32, 8, 8)), ("scale", (2, 32, 8, 8)),
        ("residual add", (2, 32, 8, 8)),
    ]),
    # ECA, C = 64: k = psi(64) = |6/2 + 1/2|_odd = 3; the pooled channels as a sequence (B, 1, C).
    "eca": ((2, 64, 5, 5), {}, [
        ("input", (2, 64, 5, 5)), ("squeeze", (2, 64)), ("1-D conv across channels", (2, 1, 64)),
        ("sigmoid", (2, 1, 64)), ("scale", (2, 64, 5, 5)),
    ]),
    # SK, C = 64, stride 2 on 9x9: floor((9 + 2 pad - 2 dil - 1) / 2) + 1 = 5; d = max(64 // 4, 8) = 16.
    "sk": ((2, 64, 9, 9), {"groups": 8, "reduction": 4, "min_dim": 8, "stride": 2}, [
        ("input", (2, 64, 9, 9)), ("split branch 1 (3x3)", (2, 64, 5, 5)),
        ("split branch 2 (3x3 dil 2)", (2, 64, 5, 5)), ("fuse sum", (2, 64, 5, 5)),
        ("global pool", (2, 64, 1, 1)), ("fc to d", (2, 16, 1, 1)), ("BN+ReLU", (2, 16, 1, 1)),
        ("select logits", (2, 2, 64, 1, 1)), ("softmax over branches", (2, 2, 64, 1, 1)),
        ("weighted sum", (2, 64, 5, 5)),
    ]),
    # DRSN-CW on a signal (B, C, L): a threshold per channel.
    "drsn-cw": ((2, 8, 20), {}, [
        ("input", (2, 8, 20)), ("abs", (2, 8, 20)), ("GAP", (2, 8)), ("FC", (2, 8)), ("BN", (2, 8)),
        ("ReLU", (2, 8)), ("FC", (2, 8)), ("sigmoid", (2, 8)), ("threshold tau", (2, 8, 1)),
        ("soft threshold", (2, 8, 20)),
    ]),
    # DRSN-CS on a map: the last FC has one unit, one threshold per sample.
    "drsn-cs": ((2, 8, 4, 5), {}, [
        ("input", (2, 8, 4, 5)), ("abs", (2, 8, 4, 5)), ("GAP", (2, 8)), ("FC", (2, 8)), ("BN", (2, 8)),
        ("ReLU", (2, 8)), ("FC", (2, 1)), ("sigmoid", (2, 1)), ("threshold tau", (2, 1, 1, 1)),
        ("soft threshold", (2, 8, 4, 5)),
    ]),
    # Non-local, C = 16: embeddings of 8 channels, N = 6 * 4 = 24 positions.
    "nonlocal": ((2, 16, 6, 4), {}, [
        ("input", (2, 16, 6, 4)), ("theta", (2, 24, 8)), ("phi", (2, 24, 8)), ("g", (2, 24, 8)),
        ("affinity theta^T phi", (2, 24, 24)), ("softmax", (2, 24, 24)), ("weighted sum of g", (2, 24, 8)),
        ("W_z", (2, 16, 6, 4)), ("BN", (2, 16, 6, 4)), ("residual add", (2, 16, 6, 4)),
    ]),
}


def test_every_registered_mechanism_has_a_hand_computed_trace():
    assert sorted(BY_HAND) == attn_edu.available()


@pytest.mark.parametrize("name", sorted(BY_HAND))
def test_trace_matches_the_shapes_worked_out_by_hand(name):
    shape, kwargs, expected = BY_HAND[name]
    traced = trace(name, shape, **kwargs)
    assert [(s.name, s.shape) for s in traced] == expected


def test_nonlocal_subsampling_shrinks_the_keys_to_a_quarter():
    # 5 x 4 map: N = 20 queries; keys after a 2x2 max-pool with ceil: 3 x 2 = 6.
    traced = trace("nonlocal", (2, 16, 5, 4), subsample=True)
    assert traced["theta"].shape == (2, 20, 8)
    assert traced["phi"].shape == traced["g"].shape == (2, 6, 8)
    assert traced["affinity theta^T phi"].shape == (2, 20, 6)


def test_nonlocal_in_the_codes_order_pools_x_first_and_rounds_down():
    # 7 x 9 map: N = 63 queries; x pooled 2x2 rounding down: 3 x 4 = 12 keys.
    traced = trace("nonlocal", (2, 16, 7, 9), subsample="code")
    assert traced.names()[:5] == ["input", "theta", "max-pool x", "phi", "g"]
    assert traced["max-pool x"].shape == (2, 16, 3, 4)
    assert traced["phi"].shape == traced["g"].shape == (2, 12, 8)
    assert traced["affinity theta^T phi"].shape == (2, 63, 12)
    pooled = traced.names().index("max-pool x")
    assert traced["phi"].inputs == traced["g"].inputs == (pooled,)


def test_nonlocal_in_the_papers_order_pools_phi_and_g_and_rounds_up():
    traced = trace("nonlocal", (2, 16, 7, 9), subsample="paper")
    assert "max-pool x" not in traced.names()
    assert traced["phi"].shape == traced["g"].shape == (2, 4 * 5, 8)  # ceil(7/2) x ceil(9/2)
    assert traced["phi"].inputs == (0,)  # phi reads x itself


def test_cbam_with_four_pools_stacks_four_descriptors_and_without_spatial_stops_after_the_channel_gate():
    four = trace("cbam", (2, 32, 4, 4), reduction=8, pool_types=("avg", "max", "lp", "lse"))
    assert four["shared MLP down"].shape == (4, 2, 4)
    assert four.names()[1:5] == ["channel avg-pool", "channel max-pool", "channel LP-pool", "channel LSE-pool"]
    channel_only = trace("cbam", (2, 32, 4, 4), reduction=8, spatial=False)
    assert channel_only.names()[-1] == "channel scale"


def test_sk_with_three_branches_has_one_split_step_per_branch():
    traced = trace("sk", (2, 32, 6, 6), branches=3, groups=4, reduction=4, min_dim=8)
    assert traced.names()[1:4] == ["split branch 1 (3x3)", "split branch 2 (3x3 dil 2)", "split branch 3 (3x3 dil 3)"]
    assert traced["select logits"].shape == (2, 3, 32, 1, 1)


# ---------------------------------------------------------------------------
# A trace is a real forward pass of the module
# ---------------------------------------------------------------------------

# SMALL (every mechanism) plus the switches that change the steps.
VARIANTS = [(name, *SMALL[name]) for name in sorted(SMALL)] + [
    ("se", 16, {"reduction": 4, "bias": False}),
    ("scse", 16, {"aggregation": "max"}),
    ("cbam", 16, {"reduction": 4, "pool_types": ("avg", "max", "lp", "lse")}),
    ("cbam", 16, {"reduction": 4, "spatial_norm": False, "kernel_size": 3}),
    ("cbam", 16, {"reduction": 4, "spatial": False}),
    ("bam", 16, {"reduction": 4, "branch_norm": "official"}),
    ("bam", 16, {"reduction": 4, "combine": "product", "num_dilated": 0}),
    ("eca", 16, {"k_size": 5}),
    ("sk", 16, {"branches": 3, "groups": 4, "reduction": 4, "min_dim": 4, "stride": 2}),
    ("nonlocal", 8, {"subsample": True, "scale": True}),
    ("nonlocal", 8, {"subsample": "code", "scale": True}),
]


def _ids(variant):
    name, channels, kwargs = variant
    return f"{name}-{channels}-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("variant", VARIANTS, ids=[_ids(v) for v in VARIANTS])
def test_last_step_equals_the_module_output_exactly(variant):
    name, channels, kwargs = variant
    module = attn_edu.create(name, channels, **kwargs)
    traced = trace(module, (2, channels, 7, 5))
    module.eval()
    with torch.no_grad():
        expected = module(traced.input)
    assert torch.equal(traced.output, expected)
    assert traced.output_shape == tuple(expected.shape)


@pytest.mark.parametrize("variant", VARIANTS, ids=[_ids(v) for v in VARIANTS])
def test_parameters_per_step_add_up_to_the_module_and_to_the_formula(variant):
    name, channels, kwargs = variant
    traced = trace(name, (2, channels, 6, 6), **kwargs)
    assert sum(step.params for step in traced) == traced.parameters
    assert traced.parameters == profile.parameter_formula(name, channels, **kwargs)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_step_reads_earlier_steps_and_counts_its_elements(name):
    channels, kwargs = SMALL[name]
    traced = trace(name, (2, channels, 4, 3), **kwargs)
    assert traced[0].name == "input" and traced[0].inputs == ()
    for i, step in enumerate(traced):
        assert all(0 <= j < i for j in step.inputs)
        assert i == 0 or step.inputs, f"step {step.name} reads nothing"
        assert step.numel == math.prod(step.shape)
        assert step.value is not None and tuple(step.value.shape) == step.shape


def test_trace_leaves_the_module_in_training_mode_and_its_statistics_untouched():
    module = attn_edu.create("sk", 16, groups=4, reduction=4, min_dim=4)
    module.train()
    before = module.fuse[1].running_mean.clone()
    trace(module, (2, 16, 5, 5))
    assert all(m.training for m in module.modules())
    assert torch.equal(module.fuse[1].running_mean, before)


def test_a_batch_of_one_traces_in_eval_mode():
    assert trace("drsn-cw", (1, 8, 12))["threshold tau"].shape == (1, 8, 1)


def test_same_seed_same_input_and_a_given_tensor_is_used_as_is():
    assert torch.equal(trace("se", (2, 16, 3, 3), reduction=4).input, trace("se", (2, 16, 3, 3), reduction=4).input)
    x = torch.ones(1, 16, 2, 2)
    assert trace("se", x, reduction=4).input is x


def test_keep_values_false_keeps_only_the_output():
    traced = trace("cbam", (2, 16, 4, 4), reduction=4, keep_values=False)
    assert all(step.value is None for step in traced[:-1])
    assert traced.output is not None


# ---------------------------------------------------------------------------
# The generic fallback for any nn.Module
# ---------------------------------------------------------------------------


class ReadersGate(nn.Module):
    """A block a reader might write: a 1x1 conv, a sigmoid module and a gating multiply in forward."""

    def __init__(self, channels: int):
        super().__init__()
        self.score = nn.Conv2d(channels, 1, 1)
        self.squash = nn.Sigmoid()

    def forward(self, x):
        return x * self.squash(self.score(x))


def test_any_module_is_traced_by_its_leaves_named_by_path_and_class():
    block = ReadersGate(6)
    traced = trace(block, (2, 6, 5, 5))
    assert traced.names() == ["input", "score (Conv2d)", "squash (Sigmoid)", "output"]
    assert traced.shapes() == [(2, 6, 5, 5), (2, 1, 5, 5), (2, 1, 5, 5), (2, 6, 5, 5)]
    assert traced["score (Conv2d)"].params == 7
    assert traced["squash (Sigmoid)"].inputs == (1,)
    assert torch.equal(traced.output, block(traced.input))


def test_a_network_is_traced_with_its_attention_modules_as_single_steps():
    net = SmallCNN(3, 10, width=16, depth=2, attn="se", reduction=4)
    traced = trace(net, (2, 3, 8, 8))
    assert "features.block0.attn (SqueezeExcitation)" in traced.names()
    assert traced["features.block1.attn (SqueezeExcitation)"].shape == (2, 32, 4, 4)
    assert traced.output_shape == (2, 10)
    assert sum(step.params for step in traced) == traced.parameters


def test_a_single_layer_is_its_own_leaf():
    traced = trace(nn.Conv2d(3, 5, 3, padding=1), (1, 3, 4, 4))
    assert traced.names() == ["input", "Conv2d"]
    assert traced.output_shape == (1, 5, 4, 4)


# ---------------------------------------------------------------------------
# Renderings, lookup and errors
# ---------------------------------------------------------------------------


def test_text_html_and_svg_show_every_step_and_shape():
    traced = trace("se", (2, 64, 8, 8))
    text, page, picture = traced.text(), traced.html(), traced.svg()
    assert text.splitlines()[0] == "se on (2, 64, 8, 8): 7 steps, 580 parameters"
    assert str(traced) == text and traced._repr_html_() == page
    for step in traced:
        shape = format_shape(step.shape)
        assert step.name in text and shape in text
        assert step.name in page and shape in page
        assert shape in picture
    assert picture.startswith("<svg") and picture.endswith("</svg>")
    assert picture.count("<rect") == len(traced)


def test_the_diagram_draws_one_arrow_per_input():
    traced = trace("cbam", (2, 16, 4, 4), reduction=4)
    assert traced.svg().count("marker-end=") == sum(len(step.inputs) for step in traced)


def test_steps_are_found_by_position_or_by_name_and_a_wrong_name_lists_the_steps():
    traced = trace("eca", (2, 16, 4, 4))
    assert traced["squeeze"] is traced[1]
    assert len(traced[1:3]) == 2
    with pytest.raises(KeyError, match="its steps are: input, squeeze"):
        traced["excitation"]


def test_format_shape_writes_one_dimensional_shapes_without_a_trailing_comma():
    assert format_shape((64,)) == "(64)" and format_shape(torch.Size([2, 3])) == "(2, 3)"


@pytest.mark.parametrize("shape", [(2, 0, 4, 4), (2.0, 16, 4, 4), "2, 16", ()])
def test_an_unreadable_input_shape_says_what_was_expected(shape):
    with pytest.raises(ValueError, match="tuple of positive integers"):
        trace("se", shape, reduction=4)


def test_the_wrong_channel_count_gives_the_modules_own_message():
    expected = r"SqueezeExcitation\(channels=16\) expects input \(B, 16, H, W\); got \(2, 8, 4, 4\)"
    with pytest.raises(ValueError, match=expected):
        trace(attn_edu.create("se", 16, reduction=4), (2, 8, 4, 4))


def test_keyword_arguments_with_a_built_module_and_unknown_names_are_refused():
    with pytest.raises(TypeError, match="already has its configuration"):
        trace(attn_edu.create("se", 16, reduction=4), (2, 16, 4, 4), reduction=2)
    with pytest.raises(ValueError, match="unknown attention 'sea'"):
        trace("sea", (2, 16, 4, 4))
    with pytest.raises(TypeError, match="expects an nn.Module or a mechanism name"):
        trace(42, (2, 16, 4, 4))


# ---------------------------------------------------------------------------
# Broadcasting
# ---------------------------------------------------------------------------


def test_a_channel_gate_broadcasts_over_the_map():
    found = explain_broadcast((2, 64, 1, 1), (2, 64, 8, 8))
    assert found.ok and found.result == (2, 64, 8, 8)
    assert [ax.rule for ax in found.axes[:2]] == ["axis -1: left's 1 is copied 8 times",
                                                  "axis -2: left's 1 is copied 8 times"]


def test_a_gate_without_its_trailing_ones_does_not_broadcast_and_names_the_axis():
    found = explain_broadcast((2, 64), (2, 64, 8, 8))
    assert not found.ok and found.result is None
    assert found.message == ("(2, 64) and (2, 64, 8, 8) do not broadcast: axis -1 has size 64 on the left "
                             "and 8 on the right; sizes must be equal or one of them 1")


def test_a_missing_axis_is_added_in_front():
    found = explain_broadcast((64, 1, 1), (2, 64, 8, 8))
    assert found.result == (2, 64, 8, 8)
    assert found.axes[-1].left is None and "left has no such axis" in found.axes[-1].rule


def test_broadcast_text_and_picture_show_the_result():
    found = explain_broadcast((2, 1, 3, 5), (2, 4, 1, 1))
    assert "broadcast to (2, 4, 3, 5)" in found.text()
    assert found.svg().count("<rect") == 3 * 4


@settings(max_examples=60, deadline=None)
@given(left=st.lists(st.integers(1, 3), max_size=4), right=st.lists(st.integers(1, 3), max_size=4))
def test_broadcast_agrees_with_torch(left, right):
    try:
        expected = tuple(torch.broadcast_shapes(tuple(left), tuple(right)))
    except RuntimeError:
        expected = None
    assert explain_broadcast(left, right).result == expected
