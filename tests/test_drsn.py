"""Shrinkage and the residual shrinkage unit against Zhao et al. (2020)."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_edu.functional import soft_threshold
from attn_edu.modules import ResidualShrinkageUnit, Shrinkage


def threshold_by_hand(x, block):
    a = x.abs().flatten(2).mean(dim=2)  # (B, C)
    fc1, norm, _, fc2, _ = block.scale_net
    h = torch.relu(F.batch_norm(a @ fc1.weight.T + fc1.bias, norm.running_mean, norm.running_var, norm.weight, norm.bias))
    alpha = torch.sigmoid(h @ fc2.weight.T + fc2.bias)
    return alpha * a if block.channel_wise else alpha * a.mean(dim=1, keepdim=True)


def piecewise(x, tau):
    return torch.where(x > tau, x - tau, torch.where(x < -tau, x + tau, torch.zeros_like(x)))


@pytest.mark.parametrize("channel_wise", [True, False])
@pytest.mark.parametrize("shape", [(3, 8, 50), (3, 8, 6, 5)])
def test_shrinkage_matches_definition(channel_wise, shape):
    block = Shrinkage(8, channel_wise=channel_wise).double().eval()
    x = torch.randn(*shape, dtype=torch.float64)
    tau = threshold_by_hand(x, block)
    assert tau.shape == ((3, 8) if channel_wise else (3, 1))
    tau = tau.view(*tau.shape, *([1] * (len(shape) - 2)))
    torch.testing.assert_close(block(x), piecewise(x, tau))


def test_threshold_is_positive_and_below_the_mean_absolute_value():
    block = Shrinkage(8).eval()
    x = torch.randn(4, 8, 64)
    tau = block.threshold(x)[:, :, 0]
    a = x.abs().mean(dim=2)
    assert ((tau > 0) & (tau < a)).all()


def quiet_channel_beside_loud_ones():
    """Channel 0 has values of magnitude 0.05 to 0.1; channels 1 to 7 have magnitude 5 to 10."""
    gen = torch.Generator().manual_seed(0)
    sign = torch.randint(0, 2, (2, 8, 30), generator=gen, dtype=torch.float64) * 2 - 1
    magnitude = 1 + torch.rand(2, 8, 30, generator=gen, dtype=torch.float64)  # in [1, 2)
    x = sign * magnitude * 5.0
    x[:, 0] *= 0.01  # the quiet channel: |x| <= 0.1
    return x


def alpha_near_one(block):
    """Weights that make alpha = sigmoid(8) = 0.99966 whatever the input."""
    last = block.scale_net[3]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(8.0)
    return block


def test_channel_shared_threshold_can_zero_a_quiet_channel_entirely():
    x = quiet_channel_beside_loud_ones()
    block = alpha_near_one(Shrinkage(8, channel_wise=False).double().eval())
    tau = block.threshold(x)[:, 0, 0]  # one per sample: alpha * mean_c a_c, about 6.6 here
    assert (tau > x[:, 0].abs().amax(dim=1)).all()  # above every value of the quiet channel
    y = block(x)
    assert (x[:, 0] != 0).all() and (y[:, 0] == 0).all()  # the whole quiet channel is gone
    assert (y[:, 1:].flatten(2) != 0).any(dim=2).all()  # the loud channels keep some values


def test_channel_wise_threshold_keeps_the_same_quiet_channel():
    x = quiet_channel_beside_loud_ones()
    block = alpha_near_one(Shrinkage(8, channel_wise=True).double().eval())
    y = block(x)
    assert (y.flatten(2) != 0).any(dim=2).all()  # every channel of every sample keeps a value


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    channels=st.integers(1, 8),
    spatial=st.sampled_from([(2,), (7,), (32,), (2, 2), (3, 5)]),
    loudness=st.lists(st.sampled_from([0.0, 1e-3, 1e-1, 1.0, 10.0, 1e3]), min_size=8, max_size=8),
    weight_scale=st.sampled_from([0.1, 1.0, 5.0]),
)
def test_property_channel_wise_shrinkage_never_zeroes_a_whole_nonzero_channel(
    seed, channels, spatial, loudness, weight_scale
):
    gen = torch.Generator().manual_seed(seed)
    block = Shrinkage(channels, channel_wise=True).double().eval()
    with torch.no_grad():
        for name, t in block.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen, dtype=torch.float64))
            elif t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=gen, dtype=torch.float64) * weight_scale)
    scale = torch.tensor(loudness[:channels], dtype=torch.float64).view(1, channels, *[1] * len(spatial))
    x = torch.randn(3, channels, *spatial, generator=gen, dtype=torch.float64) * scale  # some channels all zero
    y = block(x)
    nonzero = (x.flatten(2) != 0).any(dim=2)  # (B, C)
    kept = (y.flatten(2) != 0).any(dim=2)
    assert kept[nonzero].all()
    assert not kept[~nonzero].any()  # an all-zero channel stays zero


def test_soft_threshold_piecewise_definition_and_gradient():
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0], requires_grad=True)
    y = soft_threshold(x, 1.0)
    torch.testing.assert_close(y, torch.tensor([-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0]))
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]))


def test_soft_threshold_rejects_negative_tau():
    with pytest.raises(ValueError, match="tau >= 0"):
        soft_threshold(torch.randn(3), -0.1)


@pytest.mark.parametrize("channel_wise, last", [(True, 16), (False, 1)])
def test_parameter_counts(channel_wise, last):
    c = 16
    expected = (c * c + c) + 2 * c + (c * last + last)
    assert sum(p.numel() for p in Shrinkage(c, channel_wise).parameters()) == expected


@pytest.mark.parametrize("dims, shape", [(1, (2, 4, 33)), (2, (2, 4, 9, 6))])
def test_unit_shapes_with_downsampling_and_channel_padding(dims, shape):
    unit = ResidualShrinkageUnit(4, 8, stride=2, dims=dims)
    out = unit(torch.randn(*shape))
    assert out.shape == (2, 8, *[(s + 1) // 2 for s in shape[2:]])


def test_unit_adds_the_identity_to_the_shrunk_residual():
    unit = ResidualShrinkageUnit(6, 6, dims=1).double().eval()
    x = torch.randn(2, 6, 20, dtype=torch.float64)
    torch.testing.assert_close(unit(x), unit.residual(x) + x)
    assert isinstance(unit.residual[-1], Shrinkage)


def test_unit_rejects_images_when_built_for_signals():
    with pytest.raises(ValueError, match=r"expects input \(B, 4, L\); got \(2, 4, 5, 5\)"):
        ResidualShrinkageUnit(4, dims=1)(torch.randn(2, 4, 5, 5))


def test_unit_rejects_an_even_kernel():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        ResidualShrinkageUnit(4, 4, kernel_size=4)
