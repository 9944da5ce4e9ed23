"""``attn-edu bench``: time the eager modules, ``torch.compile`` and the Triton kernels on a GPU.

    attn-edu bench [--out bench-results] [--batches 64 256] [--dtypes fp32 bf16]
                   [--mechanisms se cbam ...] [--no-model] [--peak-gbps 3350] [--dry-run]
    python -m attn_edu.bench ...            (the same)

What it measures, for every mechanism that has kernels (``attn_edu.gpu.available()``):

- kernel rows: the attention module alone, at the four ResNet-50 stage
  outputs (256 x 56 x 56, 512 x 28 x 28, 1024 x 14 x 14, 2048 x 7 x 7),
  for each batch size and dtype;
- model rows: the whole ``resnet50(attn=name)`` forward on 224 x 224 images.

Each row times three implementations of the same module in eval mode under
``torch.no_grad()``: ``eager`` (the reference module), ``compile``
(``torch.compile`` of it) and ``triton`` (``attn_edu.gpu.fuse``). A time is
the median of ``--repeats`` runs measured with CUDA events after
``--warmup`` runs; before each timed run a 256 MB buffer is overwritten so
that the input does not sit in the GPU's L2 cache from the previous run.

Bandwidth. For kernel rows, ``min_bytes`` is ``attn_edu.profile.bytes_moved``:
the fewest bytes any implementation must move (the minimum number of passes
over x, the output, the small intermediates and the parameters). Achieved
GB/s = min_bytes / time, and "% of peak" divides it by the device's peak
memory bandwidth: 100 % would mean the module ran as fast as its minimum
traffic allows. An implementation that makes extra passes is slower, and
its figure counts only the minimum bytes, so it shows as a lower per cent.
Model rows have no such minimum (the convolutions dominate), so they report
time and speedups only.

Peak bandwidth comes from ``PEAK_GBPS`` by device name, or from
``--peak-gbps``; without either the per-cent columns stay empty.

Outputs: ``bench.md`` (Markdown tables) and ``bench.csv`` (one line per
row, every number) in ``--out``. ``--dry-run`` prints the plan (rows,
shapes, minimum bytes) without a GPU. Nothing is measured anywhere but on
the GPU this runs on.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import functools
import statistics
import sys
from pathlib import Path

import torch

from . import papers

EXIT_OK, EXIT_USAGE = 0, 2

# ResNet-50 stage outputs: (name, channels, height, width) of layer1 ... layer4 for 224 x 224 input.
STAGES = (
    ("layer1", 256, 56, 56),
    ("layer2", 512, 28, 28),
    ("layer3", 1024, 14, 14),
    ("layer4", 2048, 7, 7),
)
BATCHES = (64, 256)
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}
IMPLEMENTATIONS = ("eager", "compile", "triton")
IMAGE_SIZE = 224

# Peak memory bandwidth in GB/s (1e9 bytes per second), from the vendor's data
# sheets as recorded in attn_edu.papers (which stores TB/s).
PEAK_GBPS = {
    device: papers.figure(key).value * 1000
    for device, key in (
        ("H100 SXM", "h100.datasheet.bandwidth_tbps"),
        ("H100 PCIe", "h100-pcie.brief.bandwidth_tbps"),
        ("H200", "h200.datasheet.bandwidth_tbps"),
    )
}

CSV_FIELDS = [
    "kind", "mechanism", "stage", "batch", "channels", "height", "width", "dtype", "memory_format",
    "passes_read", "passes_write", "min_bytes",
    "eager_ms", "compile_ms", "triton_ms",
    "eager_gbps", "compile_gbps", "triton_gbps",
    "eager_pct_peak", "compile_pct_peak", "triton_pct_peak",
    "speedup_triton_vs_eager", "speedup_triton_vs_compile", "speedup_compile_vs_eager",
    "triton_max_rel_err",
]


def peak_for_device(name: str) -> tuple[float | None, str]:
    """The peak bandwidth of a GPU from its ``torch.cuda.get_device_name``, and which entry matched.

    "NVIDIA H100 80GB HBM3" is the SXM board, "NVIDIA H100 PCIe" the PCIe
    card, "NVIDIA H200" the H200. Other boards (the H100 NVL among them)
    are not in the table: pass ``--peak-gbps``.
    """
    if "H200" in name:
        return PEAK_GBPS["H200"], "H200"
    if "H100" in name and "PCIe" in name:
        return PEAK_GBPS["H100 PCIe"], "H100 PCIe"
    if "H100" in name and "HBM3" in name:
        return PEAK_GBPS["H100 SXM"], "H100 SXM"
    return None, ""


# ---------------------------------------------------------------------------
# The plan: which rows, at which shapes
# ---------------------------------------------------------------------------


def plan(mechanisms, batches, dtypes, model: bool = True, kernels: bool = True, channels_last: bool = False):
    """Every row the benchmark will measure, as dicts with the shape and the minimum bytes."""
    from .profile import bytes_moved

    fmt = "channels_last" if channels_last else "contiguous"
    rows = []
    if kernels:
        for name in mechanisms:
            for stage, c, h, w in STAGES:
                for b in batches:
                    for dtype_name in dtypes:
                        moved = bytes_moved(name, (b, c, h, w), DTYPES[dtype_name])
                        rows.append({
                            "kind": "kernel", "mechanism": name, "stage": stage, "batch": b,
                            "channels": c, "height": h, "width": w, "dtype": dtype_name, "memory_format": fmt,
                            "passes_read": moved["passes_read"], "passes_write": moved["passes_write"],
                            "min_bytes": moved["bytes_total"],
                        })
    if model:
        for name in mechanisms:
            for b in batches:
                for dtype_name in dtypes:
                    rows.append({
                        "kind": "model", "mechanism": name, "stage": "resnet50", "batch": b,
                        "channels": 3, "height": IMAGE_SIZE, "width": IMAGE_SIZE, "dtype": dtype_name,
                        "memory_format": fmt, "passes_read": "", "passes_write": "", "min_bytes": "",
                    })
    return rows


def print_plan(rows, out=None) -> None:
    out = sys.stdout if out is None else out
    print(f"{len(rows)} rows, each timed as: {', '.join(IMPLEMENTATIONS)}", file=out)
    print(f"{'kind':6s} {'mechanism':9s} {'stage':8s} {'input shape (B, C, H, W)':26s} {'dtype':5s} "
          f"{'reads':>5s} {'min MB':>9s}", file=out)
    for r in rows:
        shape = f"({r['batch']}, {r['channels']}, {r['height']}, {r['width']})"
        mb = f"{r['min_bytes'] / 1e6:9.1f}" if r["min_bytes"] != "" else f"{'-':>9s}"
        reads = str(r["passes_read"]) if r["passes_read"] != "" else "-"
        print(f"{r['kind']:6s} {r['mechanism']:9s} {r['stage']:8s} {shape:26s} {r['dtype']:5s} {reads:>5s} {mb}",
              file=out)


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


class _Timer:
    """Median time of a CUDA callable in milliseconds, by CUDA events, with the L2 cache flushed."""

    def __init__(self, warmup: int, repeats: int, device):
        self.warmup, self.repeats = warmup, repeats
        self.flush = torch.empty(256 * 1024 * 1024 // 4, dtype=torch.float32, device=device)

    def __call__(self, fn) -> float:
        for _ in range(self.warmup):
            fn()
        torch.cuda.synchronize()
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(self.repeats)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(self.repeats)]
        for start, end in zip(starts, ends):
            self.flush.zero_()  # evict x from L2: each run reads it from memory
            start.record()
            fn()
            end.record()
        torch.cuda.synchronize()
        return statistics.median(s.elapsed_time(e) for s, e in zip(starts, ends))


def _implementations(kind: str, module, compile_mode: str):
    """eager, compile and triton versions of one module or model (the same weights)."""
    from . import gpu

    torch._dynamo.reset()  # a fresh compile cache: no recompilation limit reached across rows
    compiled = torch.compile(module, mode=compile_mode, dynamic=False)
    fused = gpu.fuse(module) if kind == "kernel" else gpu.fuse_model(module)
    return {"eager": module, "compile": compiled, "triton": fused}


def _build(row, device):
    from . import create
    from .models import resnet50

    dtype = DTYPES[row["dtype"]]
    fmt = torch.channels_last if row["memory_format"] == "channels_last" else torch.contiguous_format
    if row["kind"] == "kernel":
        module = create(row["mechanism"], row["channels"])
    else:
        module = resnet50(attn=row["mechanism"])
    module = module.to(device=device, dtype=dtype, memory_format=fmt).eval()
    x = torch.randn(row["batch"], row["channels"], row["height"], row["width"], device=device, dtype=dtype)
    return module, x.contiguous(memory_format=fmt)


def measure(row, timer, device, peak_gbps, compile_mode: str) -> dict:
    """Fill one planned row with times, GB/s, per cent of peak, speedups and the Triton error."""
    module, x = _build(row, device)
    impls = _implementations(row["kind"], module, compile_mode)
    result = dict(row)
    with torch.no_grad():
        reference = impls["eager"](x).float()
        fused_out = impls["triton"](x).float()
        result["triton_max_rel_err"] = ((fused_out - reference).abs().max() / reference.abs().max()).item()
        for name, fn in impls.items():
            result[f"{name}_ms"] = timer(functools.partial(fn, x))
    for name in IMPLEMENTATIONS:
        ms = result[f"{name}_ms"]
        gbps = row["min_bytes"] / (ms * 1e-3) / 1e9 if row["min_bytes"] != "" else None
        result[f"{name}_gbps"] = gbps
        result[f"{name}_pct_peak"] = 100 * gbps / peak_gbps if gbps is not None and peak_gbps else None
    result["speedup_triton_vs_eager"] = result["eager_ms"] / result["triton_ms"]
    result["speedup_triton_vs_compile"] = result["compile_ms"] / result["triton_ms"]
    result["speedup_compile_vs_eager"] = result["eager_ms"] / result["compile_ms"]
    del module, x, impls
    torch.cuda.empty_cache()
    return result


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


def _fmt(value, digits: int = 3) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 10 ** digits else f"{value:.0f}"
    return str(value)


def write_csv(rows, path: Path) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row.get(k, "")) for k in CSV_FIELDS})


def markdown(rows, header: list[str]) -> str:
    lines = [*header, ""]
    kernel_rows = [r for r in rows if r["kind"] == "kernel"]
    model_rows = [r for r in rows if r["kind"] == "model"]
    if kernel_rows:
        lines += [
            "## Attention modules alone, at ResNet-50 stage shapes",
            "",
            "Times in ms (median); GB/s = minimum bytes / time, (% of peak bandwidth); "
            "speedups are time ratios.",
            "",
            "| mechanism | stage | B x C x H x W | dtype | reads of x | min MB | eager ms | compile ms | triton ms "
            "| eager GB/s | compile GB/s | triton GB/s | triton / eager | triton / compile |",
            "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in kernel_rows:
            cells = [r["mechanism"], r["stage"], f"{r['batch']} x {r['channels']} x {r['height']} x {r['width']}",
                     r["dtype"], str(r["passes_read"]), f"{r['min_bytes'] / 1e6:.1f}"]
            cells += [_fmt(r.get(f"{i}_ms")) for i in IMPLEMENTATIONS]
            for i in IMPLEMENTATIONS:
                gbps, pct = r.get(f"{i}_gbps"), r.get(f"{i}_pct_peak")
                cells.append(f"{_fmt(gbps, 4)} ({pct:.0f} %)" if pct is not None else _fmt(gbps, 4))
            cells += [_fmt(r.get("speedup_triton_vs_eager")) + "x", _fmt(r.get("speedup_triton_vs_compile")) + "x"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if model_rows:
        lines += [
            f"## Whole ResNet-50 forward ({IMAGE_SIZE} x {IMAGE_SIZE} images)",
            "",
            "| mechanism | batch | dtype | eager ms | compile ms | triton ms | triton / eager | triton / compile "
            "| compile / eager |",
            "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in model_rows:
            cells = [r["mechanism"], str(r["batch"]), r["dtype"]]
            cells += [_fmt(r.get(f"{i}_ms")) for i in IMPLEMENTATIONS]
            cells += [_fmt(r.get(k)) + "x" for k in
                      ("speedup_triton_vs_eager", "speedup_triton_vs_compile", "speedup_compile_vs_eager")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``attn-edu bench`` (shared with ``python -m attn_edu.bench``)."""
    from .gpu import available

    parser.add_argument("--out", default="bench-results", help="folder for bench.md and bench.csv (default: bench-results)")
    parser.add_argument("--mechanisms", nargs="+", default=available(), choices=available(), metavar="NAME",
                        help=f"mechanisms to time (default: all with kernels: {' '.join(available())})")
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES), metavar="B",
                        help="batch sizes (default: 64 256)")
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES),
                        help="dtypes (default: fp32 bf16)")
    parser.add_argument("--no-model", action="store_true", help="skip the whole-ResNet-50 rows")
    parser.add_argument("--model-only", action="store_true", help="only the whole-ResNet-50 rows")
    parser.add_argument("--channels-last", action="store_true", help="channels_last inputs and models")
    parser.add_argument("--peak-gbps", type=float, default=None,
                        help="the device's peak memory bandwidth in GB/s (default: from the device name)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs before timing (default: 10)")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs; the median is reported (default: 50)")
    parser.add_argument("--compile-mode", default="default", help="torch.compile mode (default: default)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (rows, shapes, minimum bytes); needs no GPU")


def run(args) -> int:
    if args.no_model and args.model_only:
        print("attn-edu bench: --no-model and --model-only exclude each other", file=sys.stderr)
        return EXIT_USAGE
    rows = plan(args.mechanisms, args.batches, args.dtypes, model=not args.no_model,
                kernels=not args.model_only, channels_last=args.channels_last)
    if args.dry_run:
        print_plan(rows)
        return EXIT_OK
    if not torch.cuda.is_available():
        print(
            "attn-edu bench: no CUDA GPU here (torch.cuda.is_available() is False). The benchmark times "
            "GPU kernels and needs one; `attn-edu bench --dry-run` prints what it would measure.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from .gpu import triton_available

    if not triton_available():
        print("attn-edu bench: Triton is not installed: pip install 'triton==3.9.0'", file=sys.stderr)
        return EXIT_USAGE
    device = torch.device("cuda")
    name = torch.cuda.get_device_name(device)
    peak, matched = (args.peak_gbps, "--peak-gbps") if args.peak_gbps else peak_for_device(name)
    if peak is None:
        print(f"attn-edu bench: no peak bandwidth known for {name!r}; the per-cent columns stay empty "
              f"(pass --peak-gbps to fill them)", file=sys.stderr)
    timer = _Timer(args.warmup, args.repeats, device)
    results = []
    for i, row in enumerate(rows, 1):
        result = measure(row, timer, device, peak, args.compile_mode)
        results.append(result)
        print(f"[{i}/{len(rows)}] {row['kind']} {row['mechanism']} {row['stage']} B={row['batch']} {row['dtype']}: "
              f"eager {result['eager_ms']:.3f} ms, compile {result['compile_ms']:.3f} ms, "
              f"triton {result['triton_ms']:.3f} ms", flush=True)
    import triton

    header = [
        "# attn-edu bench",
        "",
        f"- device: {name}; peak bandwidth {_fmt(peak, 4) or 'unknown'} GB/s"
        + (f" ({matched})" if matched else ""),
        f"- torch {torch.__version__}, triton {triton.__version__}; "
        f"{args.warmup} warm-up runs, median of {args.repeats}; L2 flushed before each run",
        f"- eval mode, torch.no_grad(), {'channels_last' if args.channels_last else 'contiguous NCHW'} inputs; "
        f"torch.compile mode={args.compile_mode!r}",
        f"- {datetime.datetime.now().isoformat(timespec='seconds')}",
    ]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "bench.csv")
    (out / "bench.md").write_text(markdown(results, header))
    print(f"wrote {out / 'bench.md'} and {out / 'bench.csv'}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn_edu.bench", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
