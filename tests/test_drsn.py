"""Shrinkage and the residual shrinkage unit against Zhao et al. (2020)."""

import pytest
import torch
import torch.nn.functional as F

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
