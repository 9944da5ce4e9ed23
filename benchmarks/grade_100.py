"""Benchmark: grade 100 submissions of chapter 2 with `attn-edu grade --jobs 2`.

Not a test: it times the whole command (reading notebooks, the sandboxed
runs, the comparisons, writing the gradebook) on a class of 100 made-up
submissions: correct answers, wrong answers of several kinds, untouched
stubs, and a few notebooks with a cell that raises. Run it from the
repository root:

    python benchmarks/grade_100.py [--n 100] [--jobs 2] [--keep DIR]

It prints the wall time of the grading command and a summary of the scores.
"""

from __future__ import annotations

import argparse
import csv
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "02-squeeze-and-excitation"

WRONG_FORWARD = {
    "no sigmoid": "s = self.up(torch.relu(self.down(z)))",
    "max pooling": "s = torch.sigmoid(self.up(torch.relu(self.down(x.amax(dim=(2, 3))))))",
    "softmax": "s = torch.softmax(self.up(torch.relu(self.down(z))), dim=1)",
}
FORWARD_LINE = "        s = torch.sigmoid(self.up(torch.relu(self.down(z))))  # excite, Eq. 3: (B, C)"


def make_class(n: int, seed: int = 0) -> list[tuple[str, nbformat.NotebookNode]]:
    """n submissions: (kind, notebook)."""
    rng = random.Random(seed)
    solution = jupytext.read(ROOT / "solutions" / f"{CHAPTER}.md")
    exercise = jupytext.read(ROOT / "exercises" / f"{CHAPTER}.md")
    kinds = ["correct"] * 55 + ["wrong-forward"] * 20 + ["stubs"] * 10 + ["partly-done"] * 10 + ["cell-raises"] * 5
    out = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        nb = nbformat.from_dict(jupytext.reads(jupytext.writes(solution, fmt="md:myst"), fmt="md:myst"))
        if kind == "stubs":
            nb = nbformat.from_dict(jupytext.reads(jupytext.writes(exercise, fmt="md:myst"), fmt="md:myst"))
        for cell, stub in zip(nb.cells, exercise.cells):
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if kind == "wrong-forward" and gid == "se-forward":
                bug = WRONG_FORWARD[rng.choice(sorted(WRONG_FORWARD))]
                cell.source = cell.source.replace(FORWARD_LINE.strip(), bug)
            if kind == "partly-done" and gid in ("se-parameters", "se-fix"):
                cell.source = stub.source
        if kind == "cell-raises":
            nb.cells.insert(3, nbformat.v4.new_code_cell("undefined_name + 1"))
        out.append((kind, nb))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="number of submissions (100)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs (2)")
    parser.add_argument("--keep", help="write the submissions and the gradebook here instead of a temporary folder")
    args = parser.parse_args(argv)

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="attn-edu-bench-"))
    submissions = folder / "submissions"
    submissions.mkdir(parents=True, exist_ok=True)
    kinds = {}
    for i, (kind, nb) in enumerate(make_class(args.n)):
        path = submissions / f"student{i:03d}.ipynb"
        nbformat.write(nb, path)
        kinds[path.name] = kind
    out = folder / "grades.csv"
    command = [
        sys.executable, "-m", "attn_edu.cli", "grade", str(submissions),
        "--assignment", CHAPTER[:2], "--out", str(out), "--jobs", str(args.jobs), "--quiet",
    ]
    print("$ " + " ".join(["attn-edu", *command[3:]]))
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    print(done.stdout.strip())
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return done.returncode
    rows = list(csv.DictReader(out.with_name("status.csv").open()))  # per submission, with its status
    by_kind: dict[str, Counter] = {}
    for row in rows:
        by_kind.setdefault(kinds[Path(row["submission"]).name], Counter())[float(row["total"])] += 1
    print(f"wall time: {seconds:.1f} s for {len(rows)} submissions ({seconds / len(rows) * 1000:.0f} ms each), "
          f"--jobs {args.jobs}")
    for kind, totals in sorted(by_kind.items()):
        spread = ", ".join(f"{t:g}/7 x{c}" for t, c in sorted(totals.items()))
        print(f"  {kind:14s} {spread}")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
