"""CBAM against Eq. 1-3 of Woo et al. (2018), written out by hand."""

import pytest
import torch
import torch.nn.functional as F

from attn_edu.modules import CBAM, ChannelGate, SpatialGate


def mlp(v, gate):
    first, _, second = gate.mlp
    return torch.relu(v @ first.weight.T + first.bias) @ second.weight.T + second.bias


def cbam_by_hand(f, block):
    avg, peak = f.mean(dim=(2, 3)), f.amax(dim=(2, 3))
    m_c = torch.sigmoid(mlp(avg, block.channel_gate) + mlp(peak, block.channel_gate))  # Eq. 2
    f1 = f * m_c[:, :, None, None]  # Eq. 1, first line
    pooled = torch.stack([f1.mean(dim=1), f1.amax(dim=1)], dim=1)  # [AvgPool; MaxPool] over channels
    gate = block.spatial_gate
    logits = F.conv2d(pooled, gate.conv.weight, gate.conv.bias, padding=3)
    logits = F.batch_norm(logits, gate.norm.running_mean, gate.norm.running_var, gate.norm.weight, gate.norm.bias)
    return f1 * torch.sigmoid(logits)  # Eq. 3 and Eq. 1, second line


def test_matches_equations_in_eval_mode():
    block = CBAM(32, reduction=8).double().eval()
    with torch.no_grad():
        block.spatial_gate.norm.running_mean.fill_(0.3)
        block.spatial_gate.norm.running_var.fill_(2.0)
    f = torch.randn(2, 32, 9, 7, dtype=torch.float64)
    torch.testing.assert_close(block(f), cbam_by_hand(f, block))


def test_channel_gate_comes_before_spatial_gate():
    block = CBAM(16, reduction=4).double().eval()
    f = torch.randn(2, 16, 5, 5, dtype=torch.float64)
    channel_first = f * block.channel_gate(f)
    channel_first = channel_first * block.spatial_gate(channel_first)
    spatial_first = f * block.spatial_gate(f)
    spatial_first = spatial_first * block.channel_gate(spatial_first)
    torch.testing.assert_close(block(f), channel_first)
    assert not torch.allclose(block(f), spatial_first)


def test_spatial_gate_uses_both_mean_and_max_and_keeps_size():
    gate = SpatialGate()
    assert gate.conv.in_channels == 2 and gate.conv.padding == (3, 3) and gate.conv.bias is None
    assert gate(torch.randn(2, 5, 6, 9)).shape == (2, 1, 6, 9)


@pytest.mark.parametrize("pool_types", [("avg",), ("max",), ("lp",), ("lse",), ("avg", "max", "lp", "lse")])
def test_channel_gate_pooling_options(pool_types):
    gate = ChannelGate(16, reduction=4, pool_types=pool_types).double()
    f = torch.randn(2, 16, 4, 3, dtype=torch.float64)
    flat = f.flatten(2)
    pools = {
        "avg": flat.mean(2),
        "max": flat.amax(2),
        "lp": F.lp_pool2d(f, 2, (4, 3)).flatten(1),  # the official code's LP pooling
        "lse": torch.log(torch.exp(flat).sum(2)),
    }
    expected = torch.sigmoid(sum(mlp(pools[p], gate) for p in pool_types))
    torch.testing.assert_close(gate(f), expected[:, :, None, None])


def test_parameter_count_is_shared_mlp_plus_conv_plus_bn():
    c, r = 256, 16
    mlp_params = 2 * c * (c // r) + c // r + c
    assert sum(p.numel() for p in CBAM(c, r).parameters()) == mlp_params + 2 * 7 * 7 + 2
    assert sum(p.numel() for p in CBAM(c, r, spatial_norm=False).parameters()) == mlp_params + 2 * 7 * 7 + 1
    assert sum(p.numel() for p in CBAM(c, r, spatial=False).parameters()) == mlp_params


def test_unknown_pool_type_is_rejected():
    with pytest.raises(ValueError, match="pool_types"):
        ChannelGate(16, pool_types=("median",))


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape, scale", [((2, 5, 6, 9), 1.0), ((3, 16, 4, 4), 1e3), ((1, 1, 7, 7), 1e-3)])
def test_official_init_makes_a_fresh_spatial_gate_exactly_one_half_everywhere(train, shape, scale):
    gate = SpatialGate(zero_init=True).train(train)
    if shape[0] == 1:
        gate.eval()  # batch statistics need more than one value; eval uses the running ones
    m_s = gate(torch.randn(shape) * scale)
    assert m_s.shape == (shape[0], 1, *shape[2:])
    assert torch.equal(m_s, torch.full_like(m_s, 0.5))


def test_without_the_official_init_the_spatial_gate_depends_on_the_input():
    m_s = SpatialGate().eval()(torch.randn(2, 5, 6, 9))
    assert not torch.allclose(m_s, torch.full_like(m_s, 0.5))


def test_official_init_in_cbam_halves_the_channel_refined_map():
    block = CBAM(16, reduction=4, spatial_zero_init=True).eval()
    f = torch.randn(2, 16, 5, 7)
    f1 = f * block.channel_gate(f)  # F' of Eq. 1
    torch.testing.assert_close(block(f), 0.5 * f1)
    norm = block.spatial_gate.norm
    assert torch.equal(norm.weight, torch.zeros(1)) and torch.equal(norm.bias, torch.zeros(1))


def test_official_init_keeps_the_state_dict_keys_and_shapes():
    plain, official = CBAM(32, reduction=8).state_dict(), CBAM(32, reduction=8, spatial_zero_init=True).state_dict()
    assert list(official) == list(plain)
    assert all(official[k].shape == plain[k].shape for k in plain)


def test_official_init_needs_the_batchnorm_and_says_so():
    with pytest.raises(ValueError, match=r"with norm=False \(CBAM.s spatial_norm=False\) there is no BatchNorm"):
        SpatialGate(norm=False, zero_init=True)
    with pytest.raises(ValueError, match=r"with norm=False \(CBAM.s spatial_norm=False\) there is no BatchNorm"):
        CBAM(16, reduction=4, spatial_norm=False, spatial_zero_init=True)
