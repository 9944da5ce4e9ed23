"""attn_edu.gpu: the fused Triton kernels equal the reference modules, forward and backward.

Without CUDA the kernels run in Triton's interpreter (slow: the shapes here
are small, B = 2 or 3, C <= 16, H x W <= 8 x 8). With CUDA the same tests
run the compiled kernels on the GPU.
"""

from __future__ import annotations

import os
import subprocess
import sys

import torch

import pytest
from torch import nn

import attn_edu
from attn_edu import gpu, modules
from attn_edu.gpu import _runtime
from conftest import SMALL  # conftest chose the interpreter before anything imported Triton

needs_triton = pytest.mark.skipif(
    not gpu.triton_available(),
    reason="Triton is not installed (pip install 'triton==3.9.0'; `make test` installs it on Linux)",
)

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
NAMES = gpu.available()
SIZES = [(1, 1), (5, 3), (7, 7), (8, 8)]  # 1x1, odd and non-square, odd square, even square
LAYOUTS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}


def pair(name: str, dtype=torch.float32, **overrides):
    """A reference module and its fused copy (the same weights), on DEVICE."""
    channels, kwargs = SMALL[name]
    reference = attn_edu.create(name, channels, **{**kwargs, **overrides}).to(DEVICE, dtype)
    return reference, gpu.fuse(reference), channels


def run_both(reference, fused, x, grad_seed=1):
    """Outputs and gradients (input, then each parameter) of both modules for one input."""
    results = []
    for module in (reference, fused):
        module.zero_grad()
        leaf = x.detach().clone().requires_grad_()
        out = module(leaf)
        out.backward(torch.randn(out.shape, generator=torch.Generator().manual_seed(grad_seed)).to(out))
        results.append((out, leaf.grad, [p.grad for p in module.parameters()]))
    return results


def assert_close(actual, expected, rtol, what, scale=None):
    """Close relative to ``scale``, by default the largest magnitude in ``expected``."""
    scale = expected.abs().max().clamp_min(1e-3) if scale is None else scale
    error = (actual.float() - expected.float()).abs().max() / scale
    assert error <= rtol, f"{what}: relative error {error:.2e} > {rtol:.0e}"


def assert_same_results(ref_results, fused_results, rtol):
    """Outputs, input gradients and parameter gradients agree.

    Parameter gradients are compared on the scale of the module's largest
    one: a gradient that is zero up to rounding (the bias of DRSN's first FC,
    which train-mode BatchNorm cancels; float32 rounding there is amplified
    by 1 / the batch's standard deviation) has no scale of its own.
    """
    (out_r, gx_r, gp_r), (out_f, gx_f, gp_f) = ref_results, fused_results
    assert out_f.shape == out_r.shape and out_f.dtype == out_r.dtype
    assert_close(out_f, out_r, rtol, "output")
    assert_close(gx_f, gx_r, rtol, "input gradient")
    scale = max([g.abs().max() for g in gp_r if g is not None], default=torch.tensor(1.0)).clamp_min(1e-3)
    for i, (a, b) in enumerate(zip(gp_f, gp_r)):
        assert (a is None) == (b is None), f"parameter {i}: gradient present in one module only"
        if b is not None:
            assert_close(a, b, rtol, f"gradient of parameter {i}", scale)


# ---------------------------------------------------------------------------
# Equal to the reference
# ---------------------------------------------------------------------------


@needs_triton
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", NAMES)
def test_forward_and_gradients_equal_the_reference_in_float32(name, size, layout):
    reference, fused, channels = pair(name)
    x = torch.randn(2, channels, *size, device=DEVICE).contiguous(memory_format=LAYOUTS[layout])
    ref_results, fused_results = run_both(reference, fused, x)
    assert_same_results(ref_results, fused_results, rtol=1e-4)
    # The output keeps the memory format eager gives (channels_last in, channels_last out).
    out_r, out_f = ref_results[0], fused_results[0]
    for fmt in LAYOUTS.values():
        assert out_f.is_contiguous(memory_format=fmt) == out_r.is_contiguous(memory_format=fmt)


@needs_triton
@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_in_float64(name, mode):
    """The kernels' backward is the derivative of their forward (the interpreter runs float64)."""
    _, fused, channels = pair(name, torch.float64)
    getattr(fused, mode)()
    for m in fused.modules():  # train mode: freeze running statistics, so calls repeat the same function
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = 0.0
    x = torch.randn(3, channels, 3, 3, dtype=torch.float64, device=DEVICE, requires_grad=True)
    assert torch.autograd.gradcheck(fused, (x,), eps=1e-6, atol=1e-5, fast_mode=True)


@needs_triton
@pytest.mark.parametrize("name", NAMES)
def test_parameter_gradients_equal_the_reference_in_float64(name):
    reference, fused, channels = pair(name, torch.float64)
    x = torch.randn(3, channels, 5, 3, dtype=torch.float64, device=DEVICE)
    ref_results, fused_results = run_both(reference, fused, x)
    assert_same_results(ref_results, fused_results, rtol=1e-10)


@needs_triton
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", NAMES)
def test_half_precision_forward_is_as_close_to_float32_as_eager(name, layout, dtype):
    """In float16/bfloat16 both differ from float32 by rounding; the kernels (accumulating in float32) no more."""
    reference, fused, channels = pair(name, dtype)
    reference.eval(), fused.eval()
    exact = attn_edu.create(name, channels, **SMALL[name][1]).to(DEVICE).eval()
    exact.load_state_dict({k: v.float() for k, v in reference.state_dict().items()})
    x = torch.randn(2, channels, 7, 5, device=DEVICE, dtype=dtype).contiguous(memory_format=LAYOUTS[layout])
    with torch.no_grad():
        out_f, out_r, out_exact = fused(x), reference(x), exact(x.float())
    assert out_f.dtype == dtype
    eps = torch.finfo(dtype).eps
    assert_close(out_f, out_exact, 4 * eps, "fused vs float32")
    assert_close(out_f, out_r, 4 * eps, "fused vs eager")


@needs_triton
@pytest.mark.parametrize("name", ["se", "cse", "eca", "sse", "scse"])
def test_half_precision_gradients_of_the_smooth_gates(name):
    """float16 gradients match float32 ones (CBAM's maxima and DRSN's threshold band can flip under rounding)."""
    reference, fused, channels = pair(name, torch.float16)
    exact = attn_edu.create(name, channels, **SMALL[name][1]).to(DEVICE)
    exact.load_state_dict({k: v.float() for k, v in reference.state_dict().items()})
    x = torch.randn(2, channels, 7, 5, device=DEVICE, dtype=torch.float16)
    _, fused_results = run_both(reference, fused, x)
    exact_results, _ = run_both(exact, exact, x.float())
    assert_close(fused_results[1], exact_results[1], 4e-3, "input gradient")


@needs_triton
@pytest.mark.parametrize("name", ["se", "scse", "cbam", "drsn-cw"])
def test_reductions_split_over_several_programs_add_up(name, monkeypatch):
    """On a GPU a reduction over positions is split across programs whose partial sums torch adds."""
    from attn_edu.gpu.channel_gate import reduction_grid

    monkeypatch.setattr(_runtime, "FORCE_SPLITS", 3)
    reference, fused, channels = pair(name)
    x = torch.randn(2, channels, 24, 24, device=DEVICE)  # 576 positions: 3 tiles of 256
    assert reduction_grid(x.flatten(2))[2][1] == 3  # grid = (sample x channel blocks, splits)
    assert_same_results(*run_both(reference, fused, x), rtol=1e-4)


# ---------------------------------------------------------------------------
# Options, layouts and modes
# ---------------------------------------------------------------------------


@needs_triton
@pytest.mark.parametrize(
    "name, options",
    [
        ("scse", {"aggregation": "max"}),
        ("cbam", {"spatial": False}),
        ("cbam", {"pool_types": ("max",)}),
        ("cbam", {"pool_types": ("avg",)}),
        ("cbam", {"spatial_norm": False}),
        ("se", {"bias": False}),
        ("eca", {"k_size": 5}),
    ],
)
def test_module_options_are_fused_too(name, options):
    reference, fused, channels = pair(name, **options)
    x = torch.randn(2, channels, 5, 3, device=DEVICE)
    assert_same_results(*run_both(reference, fused, x), rtol=1e-4)


@needs_triton
def test_ties_share_the_gradient_of_a_max_as_in_torch():
    """All-equal inputs: every position ties for CBAM's max pool, every channel for its channel max."""
    reference, fused, channels = pair("cbam")
    x = torch.ones(2, channels, 4, 4, device=DEVICE)
    assert_same_results(*run_both(reference, fused, x), rtol=1e-5)


@needs_triton
@pytest.mark.parametrize("name", ["drsn-cs", "drsn-cw"])
def test_shrinkage_accepts_signals(name):
    reference, fused, channels = pair(name)
    x = torch.randn(3, channels, 17, device=DEVICE)
    assert_same_results(*run_both(reference, fused, x), rtol=1e-4)


@needs_triton
@pytest.mark.parametrize("name", ["se", "sse", "cbam"])
def test_strided_inputs_and_gradients(name):
    """A channel slice (strided, not contiguous) in, an expanded gradient (stride 0) back."""
    reference, fused, channels = pair(name)
    wide = torch.randn(2, 2 * channels, 6, 5, device=DEVICE)
    x = wide[:, ::2]
    outs = []
    for module in (reference, fused):
        leaf = x.detach().clone().requires_grad_()
        module(leaf).sum().backward()  # the incoming gradient is ones expanded: all strides 0
        outs.append((module(x), leaf.grad))
    assert_close(outs[1][0], outs[0][0], 1e-4, "output")
    assert_close(outs[1][1], outs[0][1], 1e-4, "input gradient")


@needs_triton
@pytest.mark.parametrize("name", ["cbam", "drsn-cw"])
def test_train_mode_updates_batchnorm_statistics_as_the_reference_does(name):
    reference, fused, channels = pair(name)
    reference.train(), fused.train()
    x = torch.randn(4, channels, 5, 4, device=DEVICE) * 3 + 1
    reference(x), fused(x)
    for (key, a), b in zip(reference.state_dict().items(), fused.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-5, atol=1e-6), key


@needs_triton
@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_the_parameters_alone_or_the_input_alone(name):
    reference, fused, channels = pair(name)
    x = torch.randn(2, channels, 5, 3, device=DEVICE)
    grads = []
    for module in (reference, fused):
        module(x).square().sum().backward()  # x needs no gradient, the parameters do
        grads.append([p.grad for p in module.parameters()])
    scale = max(g.abs().max() for g in grads[0])
    for a, b in zip(grads[1], grads[0]):
        assert_close(a, b, 1e-4, "parameter gradient", scale)
    for module in (reference, fused):
        module.requires_grad_(False)  # frozen parameters, x needs a gradient
    leaves = [x.clone().requires_grad_() for _ in range(2)]
    reference(leaves[0]).square().sum().backward()
    fused(leaves[1]).square().sum().backward()
    assert_close(leaves[1].grad, leaves[0].grad, 1e-4, "input gradient")


@needs_triton
def test_no_grad_inference_records_no_graph():
    reference, fused, channels = pair("se")
    x = torch.randn(2, channels, 5, 3, device=DEVICE, requires_grad=True)
    with torch.no_grad():
        out = fused(x)
    assert out.grad_fn is None and not out.requires_grad
    assert_close(out, reference(x).detach(), 1e-4, "output")


@needs_triton
def test_wrong_input_gets_the_reference_error():
    _, fused, _ = pair("se")
    with pytest.raises(ValueError, match=r"SqueezeExcitation\(channels=16\) expects input \(B, 16, H, W\)"):
        fused(torch.randn(2, 8, 4, 4, device=DEVICE))


@needs_triton
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU path")
def test_cpu_tensor_without_the_interpreter_is_rejected_clearly(monkeypatch):
    _, fused, channels = pair("se")
    monkeypatch.setattr(_runtime, "INTERPRET", False)
    with pytest.raises(ValueError, match="run on CUDA tensors"):
        fused(torch.randn(2, channels, 4, 4))


# ---------------------------------------------------------------------------
# fuse, create and the state_dict
# ---------------------------------------------------------------------------


@needs_triton
@pytest.mark.parametrize("name", NAMES)
def test_state_dict_is_the_references_and_loads_both_ways(name):
    reference, fused, channels = pair(name)
    ref_state, fused_state = reference.state_dict(), fused.state_dict()
    assert list(ref_state) == list(fused_state)
    assert all(torch.equal(ref_state[k], fused_state[k]) for k in ref_state)
    # Fresh modules of the other kind load each other's weights and agree.
    other_ref = attn_edu.create(name, channels, **SMALL[name][1]).to(DEVICE)
    other_ref.load_state_dict(fused_state)
    other_fused = attn_edu.create(name, channels, backend="triton", **SMALL[name][1]).to(DEVICE)
    other_fused.load_state_dict(ref_state)
    x = torch.randn(2, channels, 5, 3, device=DEVICE)
    assert_close(other_fused(x), other_ref(x), 1e-4, "output after load_state_dict")


@needs_triton
@pytest.mark.parametrize("name", NAMES)
def test_create_with_the_triton_backend_builds_a_fused_subclass(name):
    channels, kwargs = SMALL[name]
    module = attn_edu.create(name, channels, backend="triton", **kwargs)
    reference = attn_edu.create(name, channels, **kwargs)
    assert type(module) is gpu.fused.FUSED[type(reference)]
    assert isinstance(module, type(reference))
    if name.startswith("drsn"):
        assert module.channel_wise == (name == "drsn-cw")


def test_create_rejects_an_unknown_backend_and_a_mechanism_without_kernels():
    with pytest.raises(ValueError, match=r"unknown backend 'cuda'; available: 'reference', 'triton'"):
        attn_edu.create("se", 16, backend="cuda")
    with pytest.raises(ValueError, match=r"'bam' has no Triton kernels; backend='triton' covers: cbam, cse"):
        attn_edu.create("bam", 16, backend="triton")


def test_available_lists_the_mechanisms_with_kernels():
    assert gpu.available() == ["cbam", "cse", "drsn-cs", "drsn-cw", "eca", "scse", "se", "sse"]
    assert set(gpu.available()) <= set(attn_edu.available())


@needs_triton
@pytest.mark.parametrize(
    "module, message",
    [
        (modules.BAM(16), "no Triton kernel for BAM"),
        (nn.Conv2d(4, 4, 1), "no Triton kernel for Conv2d"),
        (modules.CBAM(16, pool_types=("avg", "lp")), "pool with 'avg' and 'max'"),
    ],
    ids=["bam", "conv", "cbam-lp"],
)
def test_fuse_rejects_modules_without_kernels(module, message):
    with pytest.raises(ValueError, match=message):
        gpu.fuse(module)


@needs_triton
def test_fuse_leaves_the_original_alone_and_keeps_its_mode():
    reference = modules.SqueezeExcitation(16, reduction=4).eval()
    fused = gpu.fuse(reference)
    assert type(reference) is modules.SqueezeExcitation and not fused.training
    assert fused.down.weight is not reference.down.weight


@needs_triton
def test_fuse_model_replaces_every_attention_module():
    from attn_edu.models import SmallCNN, attention_modules

    torch.manual_seed(0)
    model = SmallCNN(3, 4, width=8, depth=2, attn="cbam", reduction=4).to(DEVICE)
    fused = gpu.fuse_model(model)
    assert [type(m).__name__ for m in attention_modules(fused)] == ["FusedCBAM", "FusedCBAM"]
    assert all(type(m) is modules.CBAM for m in attention_modules(model))
    x = torch.randn(2, 3, 8, 8, device=DEVICE)
    assert_same_results(*run_both(model, fused, x), rtol=1e-4)
    with pytest.raises(ValueError, match="no module with Triton kernels"):
        gpu.fuse_model(nn.Sequential(nn.Conv2d(3, 3, 1)))


# ---------------------------------------------------------------------------
# Importing without Triton, and Triton imported early
# ---------------------------------------------------------------------------


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_import_attn_edu_does_not_import_triton():
    done = _python(
        "import sys, attn_edu, attn_edu.gpu, attn_edu.bench, attn_edu.cli\n"
        "attn_edu.create('se', 16, reduction=4)\n"
        "assert 'triton' not in sys.modules, 'triton imported'\n"
    )
    assert done.returncode == 0, done.stderr


def test_without_triton_the_package_works_and_the_backend_explains():
    done = _python(
        "import sys\n"
        "sys.modules['triton'] = None  # as if Triton were not installed\n"
        "import torch, attn_edu, attn_edu.gpu\n"
        "x = torch.randn(2, 16, 5, 3)\n"
        "assert attn_edu.create('se', 16, reduction=4)(x).shape == x.shape\n"
        "assert not attn_edu.gpu.triton_available() and 'se' in attn_edu.gpu.available()\n"
        "try:\n"
        "    attn_edu.create('se', 16, backend='triton')\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "needs Triton, which is not installed: pip install 'triton==3.9.0'" in done.stdout


@needs_triton
@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the interpreter")
def test_kernels_run_in_the_interpreter_even_when_triton_was_imported_first():
    """torch._dynamo imports Triton (uninterpreted); attn_edu.gpu still switches the interpreter on."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys, torch, torch._dynamo, attn_edu, attn_edu.gpu\n"
         "assert 'triton' in sys.modules\n"
         "ref = attn_edu.create('cbam', 16, reduction=4)\n"
         "x = torch.randn(2, 16, 5, 3)\n"
         "torch.testing.assert_close(attn_edu.gpu.fuse(ref)(x), ref(x))\n"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    assert done.returncode == 0, done.stderr
