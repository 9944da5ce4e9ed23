"""Compile every Triton kernel for a GPU, on a machine that has none.

    python -m attn_edu.gpu.compile_check                    # tiny shapes, sm_90 (H100, H200)
    python -m attn_edu.gpu.compile_check --shapes resnet50  # the benchmark's shapes and batches

The interpreter (``TRITON_INTERPRET=1``) checks what the kernels compute, but
it runs their Python source with NumPy and never compiles them, so a kernel
can pass every interpreter test and still fail to compile for a GPU, or
compile into code that spills registers to memory. This check closes that
gap without a GPU. It runs every fused module forward and backward on CPU
tensors, with each kernel launch replaced by Triton's ahead-of-time
compilation for the target: Triton source -> Triton IR -> TritonGPU IR ->
LLVM IR -> PTX -> a cubin, through the ``ptxas`` that ships with Triton.
Nothing is launched; the tensors the kernels would fill stay uninitialised,
so this checks compilation only, never results. Because the tensors have the
real shapes, strides and dtypes, each kernel is compiled with exactly the
block sizes and integer specialisations (alignment, divisibility by 16) a GPU
run of the same shapes gets; grids are planned for the target's number of
streaming multiprocessors (132, an H100 SXM; 1 fewer matters nowhere).

For each compiled kernel it reports the registers per thread, the bytes
spilled to local memory (``cuobjdump --dump-resource-usage``: LOCAL, with
STACK) and the shared memory. The exit status is 1 when any launch fails to
compile. Spills are listed but do not fail the check: ptxas spills a few
bytes in some tiny-shape specialisations that no real network uses, and
whether a spill costs time can only be measured on the GPU.

It must run in a fresh process: ``@triton.jit`` decides between compiling and
interpreting when the kernel files are imported, and the tests import them
interpreted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass

from .. import bench

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

DTYPES = ("fp32", "fp16", "bf16")
LAYOUTS = ("nchw", "channels_last")
# (C, H, W) shapes and batches per plan. Tiny: odd, 1 x 1 and non-square maps,
# with channels that do and do not fill a block. resnet50: the benchmark's.
SHAPES = {
    "tiny": ((16, 5, 7), (24, 1, 1), (64, 4, 4)),
    "resnet50": tuple((c, h, w) for _, c, h, w in bench.STAGES),
}
BATCHES = {"tiny": (2,), "resnet50": bench.BATCHES}
H100_SXM_MULTIPROCESSORS = 132


@dataclass
class CompiledKernel:
    """One specialisation of one kernel, as compiled for the target."""

    kernel: str
    mechanism: str
    dtype: str
    layout: str
    shape: str  # "B x C x H x W" of the module's input
    constants: str  # the constexpr arguments (block sizes, flags)
    registers: int
    spilled_bytes: int  # LOCAL + STACK: memory used when registers run out
    shared_bytes: int


def _hopper_driver(arch: int):
    """A stand-in for Triton's CUDA driver that names the target and needs no GPU."""
    import torch
    from triton.backends.compiler import GPUTarget

    class CompileOnlyDriver:
        def get_current_device(self):
            return 0

        def get_current_stream(self, device=None):
            return 0

        def get_current_target(self):
            return GPUTarget("cuda", arch, 32)

        def get_active_torch_device(self):
            return torch.device("cpu")

    return CompileOnlyDriver()


def _resources(cubin: bytes) -> dict[str, int]:
    """REG, LOCAL, STACK and SHARED of a cubin, from the cuobjdump that ships with Triton."""
    from triton.backends.nvidia import compiler as nvidia

    cuobjdump = os.path.join(os.path.dirname(nvidia.__file__), "bin", "cuobjdump")
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        out = subprocess.run(
            [cuobjdump, "--dump-resource-usage", f.name], capture_output=True, text=True, check=True
        ).stdout
    return {key: int(value) for key, value in re.findall(r"(REG|LOCAL|STACK|SHARED):(\d+)", out)}


def _start(arch: int):
    """Switch Triton to compile-only for ``arch`` and return the list that fills with compiled kernels."""
    if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET", "0") not in ("0", ""):
        raise RuntimeError(
            "attn_edu.gpu.compile_check: Triton was already imported in interpreter mode; "
            "run it in a fresh process: python -m attn_edu.gpu.compile_check"
        )
    os.environ["TRITON_INTERPRET"] = "0"
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9's default, without its warning
    from triton.runtime import jit
    from triton.runtime.driver import driver

    from . import _runtime

    driver.set_active(_hopper_driver(arch))
    _runtime.COMPILE_ONLY_MULTIPROCESSORS = H100_SXM_MULTIPROCESSORS
    launches = []
    compile_only = jit.JITFunction.run

    def run(self, *args, grid, warmup, **kwargs):  # compile (or find in the cache); never launch
        compiled = compile_only(self, *args, grid=grid, warmup=True, **kwargs)
        launches.append((self.__name__, kwargs, compiled))
        return compiled

    jit.JITFunction.run = run
    return launches


def check(shapes: str = "tiny", dtypes=DTYPES, layouts=LAYOUTS, arch: int = 90, mechanisms=None, progress=None):
    """Compile every kernel that the fused modules launch, forward and backward, for ``sm_{arch}``.

    ``mechanisms`` defaults to ``attn_edu.gpu.available()``; the modules are
    built with their defaults and run in train mode. Returns ``(compiled,
    checked, failures)``: one ``CompiledKernel`` per distinct specialisation
    (listed under the first mechanism that launched it: SE, cSE and ECA share
    kernels), the cases whose every launch compiled (dicts of mechanism,
    dtype, layout and shape), and ``(where, error)`` for cases that did not.
    """
    from . import available, fuse

    mechanisms = available() if mechanisms is None else list(mechanisms)
    unknown = sorted(set(mechanisms) - set(available()))
    if unknown:
        raise ValueError(f"compile_check: no Triton kernels for {unknown}; they exist for {available()}")
    launches = _start(arch)
    import torch

    import attn_edu

    dtype_of = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    compiled: dict[tuple, CompiledKernel] = {}
    checked: list[dict] = []
    failures: list[tuple[str, str]] = []
    for batch in BATCHES[shapes]:
        for c, h, w in SHAPES[shapes]:
            for name in mechanisms:
                reference = attn_edu.create(name, c)
                for dtype in dtypes:
                    for layout in layouts:
                        shape = f"{batch} x {c} x {h} x {w}"
                        where = f"{name} {dtype} {layout} {shape}"
                        if progress:
                            progress(where)
                        module = fuse(reference).to(dtype_of[dtype])
                        memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
                        x = torch.empty(batch, c, h, w, dtype=dtype_of[dtype], memory_format=memory_format)
                        x.requires_grad_(True)
                        del launches[:]
                        try:
                            y = module(x)
                            y.backward(torch.empty_like(y))
                        except Exception as exc:  # a kernel that does not compile, reported with its place
                            failures.append((where, f"{type(exc).__name__}: {exc}"))
                            continue
                        checked.append({"mechanism": name, "dtype": dtype, "layout": layout,
                                        "shape": shape, "launches": len(launches)})
                        for kernel, kwargs, binary in launches:
                            key = (kernel, binary.hash)
                            if key in compiled:
                                continue
                            usage = _resources(binary.asm["cubin"])
                            constants = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
                            compiled[key] = CompiledKernel(
                                kernel=kernel, mechanism=name, dtype=dtype, layout=layout,
                                shape=shape, constants=constants,
                                registers=usage.get("REG", 0),
                                spilled_bytes=usage.get("LOCAL", 0) + usage.get("STACK", 0),
                                shared_bytes=usage.get("SHARED", 0),
                            )
    return list(compiled.values()), checked, failures


def summary(compiled: list[CompiledKernel]) -> str:
    """A Markdown table: per kernel, its specialisations, the most registers, spills and shared memory."""
    rows = {}
    for k in compiled:
        row = rows.setdefault(k.kernel, {"n": 0, "reg": 0, "spill": 0, "shared": 0})
        row["n"] += 1
        row["reg"] = max(row["reg"], k.registers)
        row["spill"] = max(row["spill"], k.spilled_bytes)
        row["shared"] = max(row["shared"], k.shared_bytes)
    lines = [
        "| kernel | specialisations | registers per thread (max) | spilled bytes (max) | shared memory bytes (max) |",
        "|---|---:|---:|---:|---:|",
    ]
    for kernel in sorted(rows):
        r = rows[kernel]
        lines.append(f"| `{kernel}` | {r['n']} | {r['reg']} | {r['spill']} | {r['shared']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m attn_edu.gpu.compile_check",
        description="Compile every attn_edu Triton kernel for a GPU without one (nothing is run).",
    )
    parser.add_argument("--shapes", choices=sorted(SHAPES), default="tiny")
    parser.add_argument("--dtypes", default=",".join(DTYPES), help=f"comma-separated, from {', '.join(DTYPES)}")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help=f"comma-separated, from {', '.join(LAYOUTS)}")
    parser.add_argument("--mechanisms", help="comma-separated attn_edu.gpu.available() names (default: all)")
    parser.add_argument("--arch", type=int, default=90, help="compute capability x 10 (90: H100 and H200)")
    parser.add_argument("--json", metavar="PATH", help="also write every compiled kernel to this JSON file")
    args = parser.parse_args(argv)
    dtypes = [d for d in args.dtypes.split(",") if d]
    layouts = [d for d in args.layouts.split(",") if d]
    wrong = [d for d in dtypes if d not in DTYPES] + [d for d in layouts if d not in LAYOUTS]
    if wrong:
        print(f"unknown dtype or layout: {', '.join(wrong)}; expected {DTYPES} and {LAYOUTS}", file=sys.stderr)
        return EXIT_USAGE

    start = time.perf_counter()
    mechanisms = args.mechanisms.split(",") if args.mechanisms else None
    try:
        compiled, checked, failures = check(
            args.shapes, dtypes, layouts, args.arch, mechanisms, progress=lambda where: print(where, flush=True)
        )
    except (ValueError, RuntimeError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    seconds = time.perf_counter() - start
    print()
    print(f"Compiled for sm_{args.arch} with Triton's ptxas; nothing was run. {len(checked)} cases "
          f"(mechanism, dtype, layout, shape; forward and backward) of the {args.shapes} shapes gave "
          f"{len(compiled)} distinct kernel specialisations in {seconds:.0f} s.")
    print()
    print(summary(compiled))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"arch": args.arch, "shapes": args.shapes, "compiled": [asdict(k) for k in compiled],
                       "checked": checked, "failures": failures}, f, indent=1)
    spilled = [k for k in compiled if k.spilled_bytes]
    for where, error in failures:
        print(f"FAILED to compile: {where}: {error}", file=sys.stderr)
    for k in spilled:
        print(f"spills {k.spilled_bytes} bytes: {k.kernel} ({k.mechanism} {k.dtype} {k.layout} {k.shape}; "
              f"{k.constants})", file=sys.stderr)
    return EXIT_FAILED if failures else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
