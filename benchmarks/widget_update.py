"""How long one update of the shape explorer takes, per mechanism (a benchmark, not a test).

One update is what a reader waits for after moving a slider: build the
module if its configuration changed, trace it (a real forward pass, step by
step), count its parameters, FLOPs and bytes moved, and render the table,
the cost figures and the SVG diagram. The target is under 100 ms at the
default sizes (B=2, C=64, H=W=32).

    python benchmarks/widget_update.py                  # 20 updates per mechanism
    python benchmarks/widget_update.py --repeats 50 --channels 128 --size 56

Two columns: "same module" times ``Explorer.update()`` when only the sizes
changed (the module is reused), "new module" when a hyperparameter changed
and the module is built again. Medians and the slowest run, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import attn_edu
from attn_edu.widgets import explore


def time_updates(name: str, repeats: int, batch: int, channels: int, size: int) -> tuple[list[float], list[float]]:
    widget = explore(name, batch=batch, channels=channels, height=size, width=size)
    if widget.error:
        raise SystemExit(f"{name}: {widget.error}")
    same, new = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        widget.update()
        same.append(1000 * (time.perf_counter() - start))
        widget._cache_key = None  # as if a hyperparameter had changed: build the module again
        start = time.perf_counter()
        widget.update()
        new.append(1000 * (time.perf_counter() - start))
    return same, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=32, help="H = W")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"explorer update, input ({args.batch}, {args.channels}, {args.size}, {args.size}), "
          f"{args.repeats} updates each, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'mechanism':<10} {'same module ms':>15} {'max':>7} {'new module ms':>14} {'max':>7}")
    worst = 0.0
    for name in attn_edu.available():
        same, new = time_updates(name, args.repeats, args.batch, args.channels, args.size)
        worst = max(worst, statistics.median(new))
        print(f"{name:<10} {statistics.median(same):>15.1f} {max(same):>7.1f} "
              f"{statistics.median(new):>14.1f} {max(new):>7.1f}")
    verdict = "under" if worst < 100 else "OVER"
    print(f"slowest median: {worst:.1f} ms ({verdict} the 100 ms target)")


if __name__ == "__main__":
    main()
