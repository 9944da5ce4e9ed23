"""The contract every registered mechanism keeps (issue: every module maps
(B, C, H, W) to the same shape, keeps device and dtype, trains and
evaluates, and rejects bad input with a clear error)."""

from __future__ import annotations

import pytest
import torch

import attn_edu
from conftest import SMALL

NAMES = sorted(SMALL)


def build(name, dtype=torch.float64):
    channels, kwargs = SMALL[name]
    return attn_edu.create(name, channels, **kwargs).to(dtype), channels


def test_every_registered_name_has_a_small_configuration():
    assert sorted(SMALL) == attn_edu.available()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("size", [(5, 4), (1, 1), (7, 3)])
def test_output_shape_equals_input_shape(name, size):
    module, channels = build(name, torch.float32)
    x = torch.randn(2, channels, *size)
    assert module(x).shape == x.shape


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_in_float64(name):
    module, channels = build(name)
    module.eval()  # a fixed function of x: BN uses its running statistics
    x = torch.randn(2, channels, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, fast_mode=True)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_in_train_mode_through_batch_statistics(name):
    module, channels = build(name)
    module.train()
    # Freeze running statistics so repeated calls are the same function.
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.0
    x = torch.randn(3, channels, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(module, (x,), eps=1e-6, atol=1e-5, fast_mode=True)


@pytest.mark.parametrize("name", NAMES)
def test_parameters_receive_gradients(name):
    module, channels = build(name, torch.float32)
    if name == "nonlocal":  # zero-initialised output BN would block gradients to theta/phi/g
        torch.nn.init.ones_(module.norm.weight)
    module(torch.randn(3, channels, 5, 4)).square().sum().backward()
    missing = [n for n, p in module.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"parameters without gradient: {missing}"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_dtype_is_preserved(name, dtype):
    module, channels = build(name, dtype)
    module.eval()
    out = module(torch.randn(2, channels, 5, 4, dtype=dtype))
    assert out.dtype == dtype
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize("name", NAMES)
def test_device_is_preserved(name):
    module, channels = build(name, torch.float32)
    device = torch.device("meta")  # a second device that every machine has
    module = module.to(device)
    out = module(torch.empty(2, channels, 5, 4, device=device))
    assert out.device == device


@pytest.mark.parametrize("name", NAMES)
def test_input_is_not_modified(name):
    module, channels = build(name, torch.float32)
    x = torch.randn(2, channels, 5, 4)
    before = x.clone()
    module(x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("name", NAMES)
def test_eval_mode_is_deterministic_and_batch_independent(name):
    module, channels = build(name, torch.float64)
    module.train()
    module(torch.randn(8, channels, 5, 4, dtype=torch.float64))  # move running stats off their init
    module.eval()
    x = torch.randn(4, channels, 5, 4, dtype=torch.float64)
    whole = module(x)
    one_by_one = torch.cat([module(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(whole, one_by_one)


@pytest.mark.parametrize("name", NAMES)
def test_train_mode_updates_batchnorm_statistics_only_when_present(name):
    module, channels = build(name, torch.float64)
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    before = [m.running_mean.clone() for m in norms]
    module.train()
    module(torch.randn(4, channels, 5, 4, dtype=torch.float64) * 3 + 1)
    for m, old in zip(norms, before):
        assert not torch.equal(m.running_mean, old)
    if not norms:  # without BN, train and eval compute the same function
        x = torch.randn(2, channels, 5, 4, dtype=torch.float64)
        torch.testing.assert_close(module.train()(x), module.eval()(x))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(2, 3, 5, 4), (16, 5, 4), (2, 16, 5, 4, 1)])
def test_wrong_input_names_expected_and_received_shape(name, shape):
    module, channels = build(name, torch.float32)
    if shape[1] == channels and len(shape) == 3 and name.startswith("drsn"):
        pytest.skip("shrinkage accepts (B, C, L) signals")
    bad = torch.randn(*shape)
    with pytest.raises(ValueError) as info:
        module(bad)
    message = str(info.value)
    assert str(tuple(shape)).replace(",)", ")") in message
    assert f"(B, {channels}," in message or "(B, C, H, W)" in message


@pytest.mark.parametrize("name", ["se", "cse", "cbam", "bam", "sk", "nonlocal"])
def test_reduction_that_leaves_no_hidden_unit_is_rejected(name):
    with pytest.raises(ValueError, match="leaves no hidden unit"):
        attn_edu.create(name, 8, reduction=16)


@pytest.mark.parametrize(
    "name, kwargs",
    [("eca", {"k_size": 4}), ("cbam", {"kernel_size": 6}), ("cbam", {"kernel_size": 0})],
)
def test_even_or_nonpositive_kernel_is_rejected(name, kwargs):
    with pytest.raises(ValueError, match="must be"):
        attn_edu.create(name, 16, **kwargs)


@pytest.mark.parametrize("name", ["bam", "sk", "drsn-cs", "drsn-cw"])
def test_single_sample_in_training_mode_explains_the_batchnorm_limit(name):
    module, channels = build(name, torch.float32)
    with pytest.raises(ValueError, match=r"needs a batch of at least 2.*got a batch of 1.*\.eval\(\)"):
        module.train()(torch.randn(1, channels, 5, 4))
    assert module.eval()(torch.randn(1, channels, 5, 4)).shape == (1, channels, 5, 4)
