"""attn_edu.gpu.compile_check: every Triton kernel compiles for Hopper (sm_90), without a GPU.

The interpreter tests (test_gpu_kernels.py) check what the kernels compute;
this checks that the same launches compile to GPU machine code with Triton's
own compiler and ptxas. Nothing runs on a GPU here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from attn_edu import gpu
from attn_edu.gpu import _runtime, compile_check

pytestmark = pytest.mark.skipif(
    not gpu.triton_available(),
    reason="Triton is not installed (pip install 'triton==3.9.0'; `make test` installs it on Linux)",
)

GPU_SOURCES = sorted((Path(gpu.__file__).parent).glob("*.py"))


def kernels_in_the_source() -> set[str]:
    """Names of every @triton.jit function that is a kernel (launched with a grid)."""
    names = set()
    for path in GPU_SOURCES:
        names |= set(re.findall(r"@triton\.jit\s*\ndef (_\w+_kernel)\(", path.read_text()))
    return names


def run_check(tmp_path, *args, env_extra=None):
    env = {**os.environ, "TRITON_CACHE_DIR": str(tmp_path / "cache"), **(env_extra or {})}
    env.pop("TRITON_INTERPRET", None)
    return subprocess.run(
        [sys.executable, "-m", "attn_edu.gpu.compile_check", *args],
        capture_output=True, text=True, env=env, timeout=900,
    )


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """One run over the tiny shapes: every mechanism, dtype and layout, forward and backward."""
    tmp_path = tmp_path_factory.mktemp("compile")
    result = run_check(tmp_path, "--json", str(tmp_path / "kernels.json"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "kernels.json").read_text())
    return result, report


def test_every_kernel_compiles_for_sm90_with_no_failure(compiled):
    result, report = compiled
    assert report["failures"] == []
    assert report["arch"] == 90
    names = {k["kernel"] for k in report["compiled"]}
    assert kernels_in_the_source() == names
    assert "Compiled for sm_90" in result.stdout


def test_every_mechanism_dtype_layout_and_shape_was_compiled_forward_and_backward(compiled):
    _, report = compiled
    cases = {(c["mechanism"], c["dtype"], c["layout"], c["shape"]) for c in report["checked"]}
    shapes = {"2 x 16 x 5 x 7", "2 x 24 x 1 x 1", "2 x 64 x 4 x 4"}
    assert cases == {
        (m, d, layout, s)
        for m in gpu.available() for d in ("fp32", "fp16", "bf16") for layout in ("nchw", "channels_last")
        for s in shapes
    }
    # At least one forward and one backward kernel per case (sSE: gate; its gradient; dx).
    assert all(c["launches"] >= 2 for c in report["checked"])


def test_the_report_reads_resource_usage_from_the_cubins(compiled):
    _, report = compiled
    for k in report["compiled"]:
        assert 0 < k["registers"] <= 255, k  # a Hopper thread has at most 255 registers
        assert k["spilled_bytes"] >= 0 and k["shared_bytes"] >= 0
        assert "BLOCK_" in k["constants"], k  # the block sizes the launch chose are recorded


def test_the_summary_table_has_one_row_per_kernel(compiled):
    _, report = compiled
    rows = [compile_check.CompiledKernel(**k) for k in report["compiled"]]
    table = compile_check.summary(rows)
    assert len(table.splitlines()) == 2 + len({k.kernel for k in rows})


def test_an_interpreted_triton_is_refused_with_a_hint(tmp_path):
    code = "import triton; from attn_edu.gpu import compile_check; raise SystemExit(compile_check.main([]))"
    env = {**os.environ, "TRITON_INTERPRET": "1", "TRITON_CACHE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == compile_check.EXIT_USAGE
    assert "fresh process" in result.stderr


def test_unknown_mechanism_or_dtype_is_a_usage_error(tmp_path):
    result = run_check(tmp_path, "--mechanisms", "bam")
    assert result.returncode == compile_check.EXIT_USAGE
    assert "no Triton kernels for ['bam']" in result.stderr
    result = run_check(tmp_path, "--dtypes", "fp8")
    assert result.returncode == compile_check.EXIT_USAGE
    assert "fp8" in result.stderr


def test_grids_are_planned_for_the_target_multiprocessors(monkeypatch):
    """With a multiprocessor count set, CPU tensors get the GPU's tiles and splits."""
    x3 = torch.empty(1, 2048, 49)  # ResNet-50's last stage, batch 1: few programs per sample
    assert _runtime.splits(16, 49 * 64, 64, x3.device) == 1
    assert _runtime.channel_loop_tile(x3)[1] == 64
    monkeypatch.setattr(_runtime, "COMPILE_ONLY_MULTIPROCESSORS", 132)
    assert _runtime.splits(16, 49 * 64, 64, x3.device) > 1
    assert _runtime.channel_loop_tile(x3)[1] == 16
