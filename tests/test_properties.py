"""Property-based checks over shapes, reductions and dtypes (hypothesis)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import attn_edu

DTYPES = st.sampled_from([torch.float32, torch.float64, torch.bfloat16])
GATES = st.sampled_from(["se", "cse", "scse", "cbam", "bam"])


@settings(max_examples=40, deadline=None)
@given(
    name=GATES,
    channels=st.integers(1, 48),
    reduction=st.integers(1, 16),
    batch=st.integers(2, 3),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    dtype=DTYPES,
)
def test_bottleneck_gates_keep_shape_and_dtype_or_explain(name, channels, reduction, batch, height, width, dtype):
    if channels // reduction < 1:
        try:
            attn_edu.create(name, channels, reduction=reduction)
        except ValueError as error:
            assert "leaves no hidden unit" in str(error)
            return
        raise AssertionError("a reduction that leaves no hidden unit was accepted")
    block = attn_edu.create(name, channels, reduction=reduction).to(dtype).eval()
    x = torch.randn(batch, channels, height, width).to(dtype)
    out = block(x)
    assert out.shape == x.shape and out.dtype == dtype


@settings(max_examples=40, deadline=None)
@given(channels=st.integers(1, 4096), gamma=st.sampled_from([1, 2, 3]), b=st.sampled_from([0, 1, 2]))
def test_eca_kernel_is_odd_and_preserves_channels(channels, gamma, b):
    block = attn_edu.create("eca", channels, gamma=gamma, b=b)
    assert block.k_size % 2 == 1
    assert block.gate(torch.randn(2, channels, 1, 1)).shape == (2, channels, 1, 1)


@settings(max_examples=30, deadline=None)
@given(
    name=st.sampled_from(["drsn-cs", "drsn-cw"]),
    channels=st.integers(1, 24),
    spatial=st.lists(st.integers(1, 12), min_size=1, max_size=2),
    dtype=DTYPES,
)
def test_shrinkage_never_grows_a_value_and_keeps_its_sign(name, channels, spatial, dtype):
    block = attn_edu.create(name, channels).to(dtype).eval()
    x = torch.randn(2, channels, *spatial).to(dtype)
    y = block(x)
    assert y.shape == x.shape and y.dtype == dtype
    assert (y.abs() <= x.abs()).all()
    assert (torch.sign(y) * torch.sign(x) >= 0).all()


@settings(max_examples=25, deadline=None)
@given(
    groups=st.sampled_from([1, 2, 4]),
    per_group=st.integers(1, 6),
    branches=st.integers(1, 3),
    height=st.integers(1, 7),
    width=st.integers(1, 7),
)
def test_selective_kernel_keeps_shape_for_any_grouping(groups, per_group, branches, height, width):
    channels = groups * per_group
    block = attn_edu.create("sk", channels, groups=groups, branches=branches, reduction=1, min_dim=4).eval()
    x = torch.randn(2, channels, height, width)
    assert block(x).shape == x.shape


@settings(max_examples=25, deadline=None)
@given(channels=st.integers(2, 24), height=st.integers(1, 8), width=st.integers(1, 8), subsample=st.booleans())
def test_non_local_keeps_shape(channels, height, width, subsample):
    block = attn_edu.create("nonlocal", channels, subsample=subsample).eval()
    x = torch.randn(2, channels, height, width)
    assert block(x).shape == x.shape
