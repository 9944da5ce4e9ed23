"""attn_edu.profile: parameter formulas against counting, FLOPs against
PyTorch's FlopCounterMode, the model of bytes moved, and the cost table."""

from __future__ import annotations

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

import attn_edu
from attn_edu import profile
from conftest import SMALL

NAMES = attn_edu.available()


def counted_flops(module: torch.nn.Module, shape) -> int:
    """What PyTorch counts: conv, linear, matmul and bmm, as 2 FLOPs per MAC."""
    module.eval()  # inference, and BatchNorm1d accepts a batch of 1
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.randn(shape))
    return counter.get_total_flops()


# ---------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------

# (name, channels, kwargs): every main keyword argument of every mechanism.
GRID = [
    ("se", 64, {}),
    ("se", 64, {"reduction": 4}),
    ("se", 50, {"reduction": 16, "bias": False}),
    ("se", 3, {"reduction": 3}),
    ("cse", 64, {}),
    ("cse", 33, {"reduction": 4}),
    ("sse", 1, {}),
    ("sse", 64, {}),
    ("scse", 64, {}),
    ("scse", 31, {"reduction": 8, "aggregation": "max"}),
    ("cbam", 64, {}),
    ("cbam", 64, {"reduction": 8, "kernel_size": 3}),
    ("cbam", 64, {"pool_types": ("avg",)}),
    ("cbam", 64, {"pool_types": ("avg", "max", "lp", "lse")}),
    ("cbam", 64, {"spatial": False}),
    ("cbam", 64, {"spatial_norm": False, "kernel_size": 5}),
    ("bam", 64, {}),
    ("bam", 64, {"branch_norm": "official"}),
    ("bam", 64, {"combine": "product", "dilation": 2}),
    ("bam", 48, {"reduction": 4, "num_dilated": 0}),
    ("bam", 48, {"reduction": 4, "num_dilated": 3, "branch_norm": "official"}),
    ("eca", 64, {}),
    ("eca", 2048, {}),
    ("eca", 64, {"k_size": 9}),
    ("eca", 100, {"gamma": 1, "b": 2}),
    ("sk", 64, {}),
    ("sk", 64, {"branches": 3, "groups": 8}),
    ("sk", 64, {"reduction": 4, "min_dim": 8}),
    ("sk", 48, {"groups": 16, "stride": 2}),
    ("sk", 12, {"branches": 1, "groups": 1, "reduction": 2, "min_dim": 1}),
    ("drsn-cs", 64, {}),
    ("drsn-cw", 64, {}),
    ("drsn-cs", 1, {}),
    ("drsn-cw", 7, {}),
    ("nonlocal", 64, {}),
    ("nonlocal", 64, {"reduction": 4, "subsample": True, "scale": True}),
    ("nonlocal", 64, {"zero_init": False}),
    ("nonlocal", 64, {"subsample": "code", "scale": True}),
]


def test_the_grid_covers_every_registered_mechanism():
    assert {name for name, _, _ in GRID} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_name_has_a_formula(name):
    channels, kwargs = SMALL[name]
    assert profile.parameter_formula(name, channels, **kwargs) > 0


@pytest.mark.parametrize("name, channels, kwargs", GRID)
def test_formula_equals_counting(name, channels, kwargs):
    module = attn_edu.create(name, channels, **kwargs)
    assert profile.parameter_formula(name, channels, **kwargs) == profile.count_parameters(module)


@pytest.mark.parametrize(
    "name, channels, kwargs, expected",
    [
        ("se", 256, {}, 2 * 256 * 16 + 16 + 256),  # SE-ResNet-50, stage 2
        ("se", 256, {"bias": False}, 2 * 256 * 16),
        ("cse", 64, {}, 2 * 64 * 32 + 32 + 64),
        ("sse", 64, {}, 65),
        ("eca", 256, {}, 5),  # k = psi(256) = 5
        ("eca", 2048, {}, 7),
        ("cbam", 256, {}, 2 * 256 * 16 + 16 + 256 + 2 * 7 * 7 + 2),
        ("drsn-cw", 16, {}, 2 * 16**2 + 4 * 16),
        ("drsn-cs", 16, {}, 16**2 + 4 * 16 + 1),
        ("nonlocal", 64, {}, 3 * (64 * 32 + 32) + 32 * 64 + 64 + 2 * 64),
    ],
)
def test_formula_matches_the_papers_arithmetic(name, channels, kwargs, expected):
    assert profile.parameter_formula(name, channels, **kwargs) == expected


def test_eca_resnet50_adds_80_parameters_with_the_released_kernel_sizes():
    # 3, 4, 6, 3 blocks with k = 3, 5, 5, 7 (the README's --ksize 3557).
    total = sum(
        blocks * profile.parameter_formula("eca", c, k_size=k)
        for blocks, c, k in [(3, 256, 3), (4, 512, 5), (6, 1024, 5), (3, 2048, 7)]
    )
    assert total == 80


@st.composite
def configurations(draw):
    """A valid (name, channels, kwargs) for any registered mechanism."""
    name = draw(st.sampled_from(NAMES))
    reduction = draw(st.sampled_from([1, 2, 3, 4, 8, 16]))
    channels = draw(st.integers(reduction, 96))
    if name == "se":
        return name, channels, {"reduction": reduction, "bias": draw(st.booleans())}
    if name in ("cse", "scse"):
        kwargs = {"reduction": reduction}
        if name == "scse":
            kwargs["aggregation"] = draw(st.sampled_from(["sum", "max"]))
        return name, channels, kwargs
    if name == "sse":
        return name, channels, {}
    if name == "cbam":
        pools = draw(st.lists(st.sampled_from(["avg", "max", "lp", "lse"]), min_size=1, max_size=4, unique=True))
        return name, channels, {
            "reduction": reduction,
            "kernel_size": draw(st.sampled_from([1, 3, 5, 7])),
            "pool_types": tuple(pools),
            "spatial": draw(st.booleans()),
            "spatial_norm": draw(st.booleans()),
        }
    if name == "bam":
        return name, channels, {
            "reduction": reduction,
            "dilation": draw(st.integers(1, 4)),
            "num_dilated": draw(st.integers(0, 3)),
            "combine": draw(st.sampled_from(["sum", "product"])),
            "branch_norm": draw(st.sampled_from(["paper", "official"])),
        }
    if name == "eca":
        if draw(st.booleans()):
            return name, channels, {"k_size": draw(st.sampled_from([1, 3, 5, 7, 9]))}
        return name, channels, {"gamma": draw(st.sampled_from([1, 2, 3])), "b": draw(st.sampled_from([0, 1, 2]))}
    if name == "sk":
        groups = draw(st.sampled_from([1, 2, 4, 8]))
        channels = groups * draw(st.integers(1, 8))
        return name, channels, {
            "branches": draw(st.integers(1, 3)),
            "groups": groups,
            "reduction": draw(st.integers(1, channels)),
            "min_dim": draw(st.integers(1, 40)),
            "stride": draw(st.integers(1, 3)),
        }
    if name.startswith("drsn"):
        return name, channels, {}
    return name, channels, {  # nonlocal
        "reduction": reduction,
        "subsample": draw(st.sampled_from([False, True, "paper", "code"])),
        "scale": draw(st.booleans()),
        "zero_init": draw(st.booleans()),
    }


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_property_formula_equals_counting(config):
    name, channels, kwargs = config
    module = attn_edu.create(name, channels, **kwargs)
    assert profile.parameter_formula(name, channels, **kwargs) == profile.count_parameters(module)


def test_count_parameters_counts_only_trainable_parameters():
    module = attn_edu.create("se", 64, reduction=4)
    assert profile.count_parameters(module) == 2 * 64 * 16 + 16 + 64
    module.down.weight.requires_grad_(False)
    assert profile.count_parameters(module) == 64 * 16 + 16 + 64


def test_count_parameters_counts_a_shared_parameter_once():
    layer = torch.nn.Linear(4, 4)
    assert profile.count_parameters(torch.nn.Sequential(layer, layer)) == 20


def test_count_parameters_rejects_a_non_module():
    with pytest.raises(TypeError, match="expects a torch.nn.Module; got Tensor"):
        profile.count_parameters(torch.zeros(3))


@pytest.mark.parametrize(
    "name, channels, kwargs",
    [
        ("se", 8, {"reduction": 16}),  # no hidden unit
        ("cbam", 16, {"kernel_size": 4}),  # even kernel
        ("cbam", 16, {"reduction": 4, "pool_types": ("avg", "median")}),
        ("bam", 16, {"reduction": 4, "combine": "mean"}),
        ("bam", 16, {"reduction": 4, "dilation": 0}),
        ("eca", 16, {"k_size": 4}),
        ("scse", 8, {"aggregation": "min"}),
        ("sk", 24, {"groups": 16}),  # groups must divide channels
        ("nonlocal", 1, {}),
        ("nonlocal", 8, {"subsample": "yes"}),
        ("drsn-cw", 0, {}),
    ],
)
def test_formula_rejects_what_the_module_rejects(name, channels, kwargs):
    with pytest.raises(ValueError) as from_module:
        attn_edu.create(name, channels, **kwargs)
    with pytest.raises(ValueError) as from_formula:
        profile.parameter_formula(name, channels, **kwargs)
    assert str(from_formula.value).split(":")[0] == str(from_module.value).split(":")[0]


def test_formula_rejects_unknown_names_and_keywords():
    with pytest.raises(ValueError, match="unknown attention 'sa'; available: bam, cbam"):
        profile.parameter_formula("sa", 64)
    with pytest.raises(TypeError, match="reduction"):
        profile.parameter_formula("eca", 64, reduction=16)


def test_formula_accepts_the_registrys_spellings():
    assert profile.parameter_formula("DRSN_CW", 8) == profile.parameter_formula("drsn-cw", 8)


# ---------------------------------------------------------------------------
# FLOPs
# ---------------------------------------------------------------------------

# Configurations beyond SMALL that change the counted work.
VARIANTS = [
    ("se", 16, {"reduction": 4, "bias": False}),
    ("cbam", 16, {"reduction": 4, "pool_types": ("avg", "max", "lp", "lse"), "kernel_size": 3}),
    ("cbam", 16, {"reduction": 4, "spatial": False}),
    ("cbam", 16, {"reduction": 4, "spatial_norm": False}),
    ("bam", 16, {"reduction": 4, "branch_norm": "official", "combine": "product"}),
    ("bam", 16, {"reduction": 4, "num_dilated": 0}),
    ("bam", 16, {"reduction": 4, "num_dilated": 3}),
    ("eca", 16, {"k_size": 7}),
    ("sk", 16, {"branches": 3, "groups": 2, "reduction": 4, "min_dim": 4, "stride": 2}),
    ("nonlocal", 8, {"subsample": True, "scale": True}),
    ("nonlocal", 16, {"reduction": 4, "subsample": True}),
    ("nonlocal", 8, {"subsample": "code", "scale": True}),
]
CONFIGS = [(name, *SMALL[name]) for name in NAMES] + VARIANTS
SHAPES = [(2, 7, 5), (1, 1, 1), (3, 8, 8)]  # (B, H, W)


def too_small_to_pool_first(kwargs, h, w):
    """The official code's order pools x 2x2 rounding down: a side of 1 leaves no key."""
    return kwargs.get("subsample") == "code" and min(h, w) < 2


def expect_both_to_reject(module, name, shape, kwargs):
    with pytest.raises(ValueError, match="needs H >= 2 and W >= 2"):
        module.eval()(torch.randn(shape))
    with pytest.raises(ValueError, match="needs H >= 2 and W >= 2"):
        profile.flops(name, shape, **kwargs)


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
@pytest.mark.parametrize("b, h, w", SHAPES)
def test_flops_matmul_equals_flop_counter_mode(name, channels, kwargs, b, h, w):
    module = attn_edu.create(name, channels, **kwargs)
    shape = (b, channels, h, w)
    if too_small_to_pool_first(kwargs, h, w):
        expect_both_to_reject(module, name, shape, kwargs)
        return
    assert profile.flops(name, shape, **kwargs)["flops_matmul"] == counted_flops(module, shape)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations(), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))
def test_property_flops_matmul_equals_flop_counter_mode(config, b, h, w):
    name, channels, kwargs = config
    module = attn_edu.create(name, channels, **kwargs)
    shape = (b, channels, h, w)
    if too_small_to_pool_first(kwargs, h, w):
        expect_both_to_reject(module, name, shape, kwargs)
        return
    assert profile.flops(name, shape, **kwargs)["flops_matmul"] == counted_flops(module, shape)


@pytest.mark.parametrize("name", ["drsn-cs", "drsn-cw"])
def test_flops_of_shrinkage_on_signals(name):
    module = attn_edu.create(name, 8)
    assert profile.flops(name, (2, 8, 30))["flops_matmul"] == counted_flops(module, (2, 8, 30))


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_flops_of_a_module_equal_flops_of_its_name(name, channels, kwargs):
    module = attn_edu.create(name, channels, **kwargs)
    shape = (2, channels, 6, 5)
    by_module, by_name = profile.flops(module, shape), profile.flops(name, shape, **kwargs)
    assert by_module == by_name


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_flops_result_adds_up(name, channels, kwargs):
    result = profile.flops(name, (2, channels, 6, 5), **kwargs)
    assert result["flops_matmul"] == 2 * result["macs"]
    assert result["flops_total"] == result["flops_matmul"] + result["flops_elementwise"]
    assert sum(step["macs"] for step in result["breakdown"]) == result["macs"]
    assert sum(step["flops_elementwise"] for step in result["breakdown"]) == result["flops_elementwise"]
    assert "multiply-accumulates" in result["units"] and "2 * macs" in result["units"]


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_flops_output_shape_is_the_modules(name, channels, kwargs):
    module = attn_edu.create(name, channels, **kwargs).eval()
    shape = (2, channels, 7, 5)
    with torch.no_grad():
        out = module(torch.randn(shape))
    assert profile.flops(module, shape)["output_shape"] == tuple(out.shape)


def test_se_flops_by_hand():
    # B = 2, C = 64, r = 16 (h = 4), 8 x 8: N = 64.
    b, c, h, n = 2, 64, 4, 64
    result = profile.flops("se", (b, c, 8, 8))
    assert result["macs"] == b * (c * h + h * c)
    mean, biases, relu, sigmoid, scale = b * c * n, b * (h + c), b * h, b * c, b * c * n
    assert result["flops_elementwise"] == mean + biases + relu + sigmoid + scale


def test_eca_and_sse_flops_by_hand():
    eca = profile.flops("eca", (1, 256, 56, 56), k_size=5)
    assert eca["macs"] == 256 * 5
    assert eca["flops_elementwise"] == 256 * 3136 + 256 + 256 * 3136  # mean, sigmoid, scale
    sse = profile.flops("sse", (1, 256, 56, 56))
    assert sse["macs"] == 3136 * 256
    assert sse["flops_elementwise"] == 3136 + 3136 + 256 * 3136  # bias, sigmoid, scale


def test_nonlocal_attention_grows_with_the_square_of_the_positions():
    small = profile.flops("nonlocal", (1, 64, 8, 8))
    large = profile.flops("nonlocal", (1, 64, 16, 16))
    attention = [s["macs"] for s in large["breakdown"] if "theta^T phi" in s["step"]]
    assert attention == [256 * 256 * 32]
    assert large["macs"] > 4 * small["macs"]


@pytest.mark.parametrize("subsample", [True, "paper", "code"])
def test_subsampling_divides_the_keys_by_four(subsample):
    plain = profile.bytes_moved("nonlocal", (1, 16, 8, 8))["intermediates"]
    pooled = profile.bytes_moved("nonlocal", (1, 16, 8, 8), subsample=subsample)["intermediates"]
    assert all(pooled[k] * 4 == plain[k] for k in plain)


@pytest.mark.parametrize(
    "subsample, keys",
    [(False, 7 * 9), (True, 4 * 5), ("paper", 4 * 5), ("code", 3 * 4)],  # ceil(7/2) ceil(9/2); floor(7/2) floor(9/2)
)
def test_nonlocal_flops_on_an_odd_map_in_each_pooling_order(subsample, keys):
    b, c, ci, h, w = 2, 8, 4, 7, 9
    n = h * w
    module = attn_edu.create("nonlocal", c, subsample=subsample)
    result = profile.flops("nonlocal", (b, c, h, w), subsample=subsample)
    assert result["flops_matmul"] == counted_flops(module, (b, c, h, w))
    assert result == profile.flops(module, (b, c, h, w))
    steps = {s["step"]: s for s in result["breakdown"]}
    assert steps["affinities theta^T phi (B, N, N')"]["macs"] == b * n * keys * ci
    if subsample == "code":  # phi and g run on the N' pooled positions; the pool reads C channels of x
        assert sum(s["macs"] for k, s in steps.items() if k.startswith(("theta", "phi"))) == b * c * ci * (n + 2 * keys)
        assert steps["2x2 max pool of x (official code's order)"]["flops_elementwise"] == b * c * 3 * keys
    else:  # theta, phi and g all run on the N positions
        assert steps["theta, phi, g: three 1x1 convs C -> C/2"]["macs"] == 3 * b * n * c * ci
    if subsample in (True, "paper"):  # N positions fall into N' windows of phi and of g
        assert steps["2x2 max pool of phi and g"]["flops_elementwise"] == 2 * b * ci * (n - keys)


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (("se", (2, 64, 8)), {}, ValueError, r"se expects input_shape \(B, C, H, W\); got \(2, 64, 8\)"),
        (("se", (2, 64, 0, 8)), {}, ValueError, "positive integers"),
        (("se", "2x64x8x8"), {}, ValueError, "expects input_shape"),
        (("se", (2, 64)), {}, ValueError, "expects input_shape"),
        ((attn_edu.create("se", 64), (2, 32, 8, 8)), {}, ValueError, r"channels=64\) expects input_shape \(B, 64"),
        ((attn_edu.create("se", 64), (2, 64, 8, 8)), {"reduction": 4}, TypeError, "already has its configuration"),
        ((torch.nn.Conv2d(4, 4, 3), (2, 4, 8, 8)), {}, TypeError, "got Conv2d"),
        ((3, (2, 4, 8, 8)), {}, TypeError, "module or a mechanism name; got int"),
    ],
)
def test_flops_errors_say_what_was_expected(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        profile.flops(*args, **kwargs)


# ---------------------------------------------------------------------------
# Bytes moved
# ---------------------------------------------------------------------------

PASSES = {  # name: (reads of x, writes of the output), as bytes_moved documents
    "se": (2, 1),
    "cse": (2, 1),
    "sse": (1, 1),
    "scse": (2, 1),
    "cbam": (3, 1),
    "bam": (2, 1),
    "eca": (2, 1),
    "sk": (1, 1),
    "drsn-cs": (2, 1),
    "drsn-cw": (2, 1),
    "nonlocal": (2, 1),
}


def test_passes_cover_every_mechanism():
    assert sorted(PASSES) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_pass_counts_are_as_documented(name):
    channels, kwargs = SMALL[name]
    result = profile.bytes_moved(name, (2, channels, 8, 8), **kwargs)
    assert (result["passes_read"], result["passes_write"]) == PASSES[name]


def test_cbam_without_spatial_gate_reads_x_twice():
    assert profile.bytes_moved("cbam", (1, 64, 8, 8), spatial=False)["passes_read"] == 2


def test_se_bytes_by_hand():
    b, c, h, w, size = 2, 64, 8, 8, 4
    result = profile.bytes_moved("se", (b, c, h, w))
    x = b * c * h * w * size
    params = (2 * 64 * 4 + 4 + 64) * size
    vectors = 2 * b * c * size  # pooled z and gate s, each written once and read once
    assert result["bytes_read"] == 2 * x + params + vectors
    assert result["bytes_written"] == x + vectors
    assert result["bytes_total"] == result["bytes_read"] + result["bytes_written"]
    assert result["bytes_activations"] == 3 * x
    assert result["bytes_parameters"] == params
    assert result["bytes_intermediate"] == 2 * vectors


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_bytes_add_up(name, channels, kwargs):
    r = profile.bytes_moved(name, (2, channels, 6, 6), **kwargs)
    assert r["bytes_total"] == r["bytes_read"] + r["bytes_written"]
    assert r["bytes_total"] == r["bytes_activations"] + r["bytes_parameters"] + r["bytes_intermediate"]
    assert r["bytes_parameters"] == profile.parameter_formula(name, channels, **kwargs) * 4
    assert r["arithmetic_intensity"] == pytest.approx(
        profile.flops(name, (2, channels, 6, 6), **kwargs)["flops_total"] / r["bytes_total"]
    )


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_activation_bytes_scale_linearly_with_b_h_w(name, channels, kwargs):
    stride = kwargs.get("stride", 1)  # SK with stride 2: keep H, W divisible so H' W' scales exactly
    base = profile.bytes_moved(name, (1, channels, 2 * stride, 2 * stride), **kwargs)["bytes_activations"]
    for b, h, w in [(2, 2, 2), (1, 4, 2), (3, 4, 6)]:
        shape = (b, channels, h * stride, w * stride)
        scaled = profile.bytes_moved(name, shape, **kwargs)["bytes_activations"]
        assert scaled * 4 == base * b * h * w


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_bytes_beyond_parameters_are_proportional_to_the_batch(name, channels, kwargs):
    def data_bytes(b):
        r = profile.bytes_moved(name, (b, channels, 6, 4), **kwargs)
        return r["bytes_total"] - r["bytes_parameters"]

    assert data_bytes(5) == 5 * data_bytes(1)


@pytest.mark.parametrize("name, channels, kwargs", CONFIGS)
def test_bytes_are_affine_in_the_number_of_positions(name, channels, kwargs):
    total = [profile.bytes_moved(name, (2, channels, 4, w), **kwargs)["bytes_total"] for w in (4, 8, 12)]
    assert total[2] - total[1] == total[1] - total[0]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype, factor", [(torch.float16, 0.5), (torch.bfloat16, 0.5), (torch.float64, 2)])
def test_bytes_follow_the_dtypes_itemsize(name, dtype, factor):
    channels, kwargs = SMALL[name]
    shape = (2, channels, 5, 5)
    single = profile.bytes_moved(name, shape, torch.float32, **kwargs)
    other = profile.bytes_moved(name, shape, dtype, **kwargs)
    assert other["itemsize"] == dtype.itemsize
    for key in ("bytes_read", "bytes_written", "bytes_total"):
        assert other[key] == single[key] * factor


def test_bytes_reject_a_non_float_dtype():
    with pytest.raises(ValueError, match="floating-point torch.dtype.*got torch.int8"):
        profile.bytes_moved("se", (1, 64, 8, 8), torch.int8)
    with pytest.raises(ValueError, match="got 'float32'"):
        profile.bytes_moved("se", (1, 64, 8, 8), "float32")


@pytest.mark.parametrize("name", ["se", "cse", "eca", "cbam", "scse", "sse", "drsn-cw", "drsn-cs"])
def test_gating_modules_are_memory_bound(name):
    # well under one FLOP per byte, where a GPU needs tens to be compute-bound
    assert profile.bytes_moved(name, (8, 256, 56, 56))["arithmetic_intensity"] < 1


def test_sk_stores_its_branch_maps():
    r = profile.bytes_moved("sk", (1, 64, 10, 10), branches=3)
    assert r["intermediates"]["3 branch maps (B, C, H', W')"] == 3 * 64 * 100


# ---------------------------------------------------------------------------
# Summary and table
# ---------------------------------------------------------------------------


def test_summary_has_one_row_per_mechanism():
    rows = profile.summary()
    assert [row["mechanism"] for row in rows] == NAMES
    se = rows[NAMES.index("se")]
    assert se["parameters"] == profile.parameter_formula("se", 256)
    assert se["flops_total"] == profile.flops("se", (1, 256, 56, 56))["flops_total"]
    assert se["bytes_total"] == profile.bytes_moved("se", (1, 256, 56, 56))["bytes_total"]


def test_summary_takes_names_channels_and_options():
    rows = profile.summary(["se", "sk"], channels=64, input_shape=(2, 64, 14, 14), options={"sk": {"groups": 8}})
    assert [row["mechanism"] for row in rows] == ["se", "sk"]
    assert rows[1]["parameters"] == profile.parameter_formula("sk", 64, groups=8)
    assert profile.summary(["eca"], channels=64)[0]["macs"] == 64 * 3  # (1, 64, 56, 56), k = 3


def test_summary_rejects_mismatched_channels_and_stray_options():
    with pytest.raises(ValueError, match=r"channels=64.*got \(1, 256, 56, 56\)"):
        profile.summary(channels=64, input_shape=(1, 256, 56, 56))
    with pytest.raises(ValueError, match=r"options given for \['cbam'\]"):
        profile.summary(["se"], options={"cbam": {}})


def test_table_has_one_row_per_mechanism_and_the_right_columns():
    lines = profile.table().splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == list(profile.TABLE_COLUMNS)
    assert header[:2] == ["mechanism", "params"] and "MACs" in header and "bytes moved" in header
    assert set(lines[1].replace("|", "").replace("-", "").replace(":", "")) == set()
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert [row[0] for row in rows] == NAMES
    assert all(len(row) == len(header) for row in rows)
    eca = rows[NAMES.index("eca")]
    assert eca[1] == "5" and eca[2] == "1.28 k" and eca[-2].endswith("MB")


def test_table_of_a_subset():
    lines = profile.table(["eca", "se"], channels=64).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| eca |") and lines[3].startswith("| se |")


# ---------------------------------------------------------------------------
# eager_traffic: what eager PyTorch moves, operator by operator
# ---------------------------------------------------------------------------


def test_eager_traffic_counts_one_read_and_one_write_per_elementwise_op():
    x = torch.randn(2, 8, 4, 4)
    moved = profile.eager_traffic(lambda t: torch.sigmoid(t) + 1, x)
    assert [op["op"] for op in moved["ops"]] == ["sigmoid", "add"]
    assert moved["bytes_read"] == 2 * x.numel() * 4
    assert moved["bytes_written"] == 2 * x.numel() * 4


def test_eager_traffic_views_are_free_and_broadcasts_are_read_once():
    x = torch.randn(2, 8, 4, 4)
    gate = torch.rand(2, 8)
    assert profile.eager_traffic(lambda t: t.view(2, 8, 16).permute(0, 2, 1), x)["bytes_total"] == 0
    moved = profile.eager_traffic(lambda t, g: t * g[:, :, None, None].expand_as(t), x, gate)
    assert moved["bytes_read"] == (x.numel() + gate.numel()) * 4
    assert moved["bytes_written"] == x.numel() * 4


def test_eager_traffic_in_place_ops_write_their_target():
    x = torch.randn(3, 5)
    moved = profile.eager_traffic(lambda t: t.mul_(2.0), x)
    assert moved["bytes_read"] == moved["bytes_written"] == x.numel() * 4


def test_eager_traffic_of_se_is_the_minimum_and_of_cbam_twice_it():
    x = torch.randn(2, 64, 8, 8)
    x_bytes = x.numel() * 4
    for name, reads, writes in (("se", 2, 1), ("cbam", 6, 2)):
        module = attn_edu.create(name, 64).eval()
        with torch.no_grad():
            moved = profile.eager_traffic(module, x)
        large = [op for op in moved["ops"] if op["bytes_read"] >= x_bytes]
        assert len(large) == reads, (name, [op["op"] for op in moved["ops"]])
        assert sum(op["bytes_written"] >= x_bytes for op in moved["ops"]) == writes
        minimum = profile.bytes_moved(name, x.shape)
        assert moved["bytes_total"] >= minimum["bytes_activations"]


def test_eager_traffic_counts_the_backward_pass_when_asked():
    x = torch.randn(2, 16, 4, 4, requires_grad=True)
    module = attn_edu.create("se", 16)
    forward = profile.eager_traffic(module, x)["bytes_total"]
    both = profile.eager_traffic(lambda: module(x).sum().backward())["bytes_total"]
    assert both > 2 * forward


def test_counted_flops_counts_a_convolution_as_flop_counter_mode_does():
    conv = torch.nn.Conv2d(8, 4, 3, padding=1, bias=False)
    x = torch.randn(2, 8, 5, 7)
    assert profile.counted_flops(conv, x) == 2 * 2 * 4 * 5 * 7 * 8 * 9  # 2 per multiply-accumulate
    assert profile.counted_flops(torch.nn.ReLU(), x) == 0  # element-wise work is not counted
