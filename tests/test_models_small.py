"""The CPU-sized networks: shapes, parameter counts, placement, a short training run, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import attn_edu
from attn_edu import modules
from attn_edu.models import SignalCNN1d, SmallCNN, SmallUNet
from attn_edu.models.small import On1d, ResidualUnit1d
from conftest import SMALL

# Small but valid settings per mechanism (SK with 4 groups, BAM with r = 4, ...).
NAMES = sorted(SMALL)


def kwargs(name):
    return SMALL[name][1]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def test_every_registered_mechanism_is_covered():
    assert NAMES == attn_edu.available()


def fit(model, x, loss_fn, steps=15):
    """Train on one fixed batch; return the loss before and after."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses[0], losses[-1]


# ---------------------------------------------------------------------------
# SmallCNN


@pytest.mark.parametrize("attn", [None, *NAMES])
def test_small_cnn_output_shape(attn):
    model = SmallCNN(3, 10, width=16, attn=attn, **(kwargs(attn) if attn else {}))
    assert model(torch.randn(2, 3, 16, 16)).shape == (2, 10)


@pytest.mark.parametrize("attn", NAMES)
def test_small_cnn_attention_after_every_block(attn):
    plain = SmallCNN(3, 10, width=16)
    model = SmallCNN(3, 10, width=16, attn=attn, **kwargs(attn))
    found = model.attention_modules()
    assert len(found) == 3
    assert [m.channels for m in found] == [16, 32, 64]
    assert [m for m in found] == [model.features.block0.attn, model.features.block1.attn, model.features.block2.attn]
    assert n_params(model) == n_params(plain) + sum(n_params(m) for m in found) > n_params(plain)


def test_small_cnn_default_size():
    model = SmallCNN(3, 10)
    assert [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)] == [32, 64, 128]
    assert model.attention_modules() == []
    # convs 3*32*9 + 32*64*9 + 64*128*9, BNs 2*(32+64+128), classifier 128*10 + 10
    assert n_params(model) == 864 + 18_432 + 73_728 + 448 + 1_290


@pytest.mark.parametrize("attn", [None, "se", "cbam"])
def test_small_cnn_training_reduces_the_loss(attn):
    model = SmallCNN(3, 4, width=8, attn=attn, **({"reduction": 4} if attn else {}))
    x, y = torch.randn(16, 3, 16, 16), torch.randint(0, 4, (16,))
    first, last = fit(model, x, lambda out: F.cross_entropy(out, y))
    assert last < 0.7 * first


def test_small_cnn_errors():
    model = SmallCNN(3, 10, depth=4)
    with pytest.raises(ValueError, match=r"expects input \(B, 3, H, W\); got \(2, 1, 16, 16\)"):
        model(torch.randn(2, 1, 16, 16))
    with pytest.raises(ValueError, match=r"at least 8; got \(2, 3, 4, 4\)"):
        model(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match="depth must be a positive integer; got 0"):
        SmallCNN(3, 10, depth=0)
    with pytest.raises(ValueError, match="unknown attention 'sa'"):
        SmallCNN(3, 10, attn="sa")


# ---------------------------------------------------------------------------
# SignalCNN1d


@pytest.mark.parametrize("attn", [None, *NAMES])
@pytest.mark.parametrize("length", [64, 37])
def test_signal_cnn_output_shape(attn, length):
    model = SignalCNN1d(2, 5, attn=attn, **(kwargs(attn) if attn else {}))
    assert model(torch.randn(2, 2, length)).shape == (2, 5)


def shrinkage_params(c, channel_wise):
    """FC (C -> C) + BN + FC (C -> C for CW, C -> 1 for CS), all biased."""
    return (c * c + c) + 2 * c + (c * c + c if channel_wise else c + 1)


@pytest.mark.parametrize("attn, channel_wise", [("drsn-cw", True), ("drsn-cs", False)])
def test_drsn_is_the_baseline_plus_shrinkage(attn, channel_wise):
    plain = SignalCNN1d(2, 5)
    drsn = SignalCNN1d(2, 5, attn=attn)
    assert all(isinstance(u, modules.ResidualShrinkageUnit) for u in drsn.units)
    found = drsn.attention_modules()
    assert [type(m) for m in found] == [modules.Shrinkage] * 3
    assert [m.channel_wise for m in found] == [channel_wise] * 3
    # units of 16, 32, 64 channels; CW: 2 C^2 + 4 C each, CS: C^2 + 4 C + 1
    expected = {True: 576 + 2_176 + 8_448, False: 321 + 1_153 + 4_353}[channel_wise]
    assert sum(shrinkage_params(c, channel_wise) for c in (16, 32, 64)) == expected
    assert n_params(drsn) == n_params(plain) + expected


def test_residual_unit_with_shrinkage_is_the_rsbu():
    """Same layers, same state-dict keys, same function: the baseline differs only by the shrinkage."""
    rsbu = modules.ResidualShrinkageUnit(8, 16, stride=2, dims=1).eval()
    unit = ResidualUnit1d(8, 16, stride=2, attn=modules.Shrinkage(16)).eval()
    unit.load_state_dict(rsbu.state_dict())
    x = torch.randn(3, 8, 21)
    assert torch.allclose(unit(x), rsbu(x))


def test_signal_cnn_runs_2d_modules_on_a_width_one_map():
    model = SignalCNN1d(2, 5, attn="se", reduction=4)
    found = model.attention_modules()
    assert [type(m) for m in found] == [modules.SqueezeExcitation] * 3
    se = found[0]
    x = torch.randn(2, 16, 30)
    assert torch.allclose(On1d(se)(x), x * se.gate(x[..., None])[..., 0])


@pytest.mark.parametrize("attn", [None, "drsn-cw", "drsn-cs"])
def test_signal_cnn_training_reduces_the_loss(attn):
    model = SignalCNN1d(1, 3, width=8, attn=attn)
    x, y = torch.randn(16, 1, 64), torch.randint(0, 3, (16,))
    first, last = fit(model, x, lambda out: F.cross_entropy(out, y))
    assert last < 0.7 * first


def test_signal_cnn_errors():
    model = SignalCNN1d(2, 5)
    with pytest.raises(ValueError, match=r"expects input \(B, 2, L\); got \(2, 2, 8, 8\)"):
        model(torch.randn(2, 2, 8, 8))
    with pytest.raises(ValueError, match="groups=32 must divide channels=16"):
        SignalCNN1d(2, 5, attn="sk")  # SK's default G = 32 needs width >= 32 or groups=...


# ---------------------------------------------------------------------------
# SmallUNet


@pytest.mark.parametrize("attn", [None, *NAMES])
def test_small_unet_output_shape(attn):
    model = SmallUNet(1, 3, attn=attn, **(kwargs(attn) if attn else {}))
    assert model(torch.randn(2, 1, 16, 12)).shape == (2, 3, 16, 12)


@pytest.mark.parametrize("attn", ["scse", "cse", "sse"])
def test_small_unet_attention_after_every_encoder_bottleneck_and_decoder_block(attn):
    plain = SmallUNet(1, 3, depth=3)
    model = SmallUNet(1, 3, depth=3, attn=attn)
    found = model.attention_modules()
    assert [m.channels for m in found] == [16, 32, 64, 128, 64, 32, 16]
    assert found[3] is model.bottleneck.attn
    assert n_params(model) == n_params(plain) + sum(n_params(m) for m in found) > n_params(plain)
    assert model(torch.randn(2, 1, 24, 8)).shape == (2, 3, 24, 8)


@pytest.mark.parametrize("attn", [None, "scse"])
def test_small_unet_training_reduces_the_loss(attn):
    model = SmallUNet(1, 2, width=8, attn=attn)
    x = torch.randn(4, 1, 16, 16)
    target = (x[:, 0] > 0).long()  # segment the positive pixels
    first, last = fit(model, x, lambda out: F.cross_entropy(out, target))
    assert last < 0.7 * first


def test_small_unet_errors():
    model = SmallUNet(1, 3, depth=2)
    with pytest.raises(ValueError, match=r"divisible by 4; got \(2, 1, 18, 16\)"):
        model(torch.randn(2, 1, 18, 16))
    with pytest.raises(ValueError, match=r"expects input \(B, 1, H, W\); got \(2, 16, 16\)"):
        model(torch.randn(2, 16, 16))
