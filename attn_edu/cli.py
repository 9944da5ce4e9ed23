"""The ``attn-edu`` command: generate exercises, grade a class's notebooks, benchmark the kernels.

    attn-edu assign [--check]
        Generate exercises/NN-slug.md from solutions/NN-slug.md (solutions
        removed, hidden tests dropped). --check writes nothing and fails if
        exercises/ is out of date.

    attn-edu grade SUBMISSION... --assignment NN --out grades.csv [--jobs N] [--timeout SECONDS]
        Grade student notebooks (.ipynb or .md files, or folders of them) in
        sandboxed processes. Writes grades.csv, results.jsonl beside it (every
        check) and feedback/<submission>.md (one file per submission).

    attn-edu exercises [NN]
        List the exercises of every chapter (or of one), with points.

    attn-edu bench [--out DIR] [--dry-run] ...
        Time the eager modules, torch.compile and the Triton kernels of
        attn_edu.gpu on a CUDA GPU; writes DIR/bench.md and DIR/bench.csv.
        --dry-run prints the plan without a GPU.

Run ``attn-edu COMMAND --help`` for the options.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_STALE, EXIT_USAGE = 0, 1, 2


def _default_folder(name: str) -> Path:
    """``./name`` if it exists, else the folder of that name beside the attn_edu package."""
    here = Path.cwd() / name
    if here.is_dir():
        return here
    import attn_edu

    return Path(attn_edu.__file__).resolve().parents[1] / name


def _find_solution(folder: Path, assignment: str) -> Path:
    from .grading.assign import solution_notebooks

    key = assignment.strip()
    notebooks = solution_notebooks(folder)
    matches = [p for p in notebooks if p.stem == key or p.stem.split("-", 1)[0] == key.zfill(2)]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in notebooks) or "none"
        raise SystemExit(f"attn-edu grade: no solution notebook for assignment {assignment!r} in {folder} (found: {known})")
    return matches[0]


def cmd_assign(args) -> int:
    from .grading.assign import AssignError, assign

    solutions = Path(args.solutions) if args.solutions else _default_folder("solutions")
    exercises = Path(args.exercises) if args.exercises else _default_folder("exercises")
    try:
        report = assign(solutions, exercises, check=args.check)
    except AssignError as exc:
        print(f"attn-edu assign: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.check:
        problems = report["stale"] + report["orphaned"]
        for path in report["stale"]:
            print(f"out of date: {path} (run `attn-edu assign` to regenerate it from {solutions / path.name})")
        for path in report["orphaned"]:
            print(f"no solution for: {path} (remove it, or add {solutions / path.name})")
        if not problems:
            print(f"exercises are up to date ({len(report['unchanged'])} notebooks)")
        return EXIT_STALE if problems else EXIT_OK
    for path in report["written"]:
        print(f"wrote {path}")
    print(f"{len(report['written'])} written, {len(report['unchanged'])} unchanged")
    for path in report["orphaned"]:
        print(f"note: {path} has no solution notebook")
    return EXIT_OK


def cmd_grade(args) -> int:
    from .grading.assign import AssignError
    from .grading.batch import Grader, expand, write_reports

    solutions = Path(args.solutions) if args.solutions else _default_folder("solutions")
    solution = _find_solution(solutions, args.assignment)
    paths = expand(args.submissions)
    if not paths:
        print("attn-edu grade: no submissions found", file=sys.stderr)
        return EXIT_USAGE
    try:
        grader = Grader(
            solution,
            jobs=args.jobs,
            timeout=args.timeout,
            cell_timeout=args.cell_timeout,
            cpu_seconds=args.cpu,
            memory_mb=args.memory,
        )
    except AssignError as exc:
        print(f"attn-edu grade: {exc}", file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    done = [0]

    def progress(result):
        done[0] += 1
        if not args.quiet:
            print(
                f"[{done[0]}/{len(paths)}] {result.submission}: "
                f"{result.total:g} / {result.max_total:g}  {result.status}",
                flush=True,
            )

    results = grader.grade(paths, progress=progress)
    written = write_reports(results, grader, args.out, results_path=args.results, feedback_dir=args.feedback)
    seconds = time.monotonic() - started
    print(
        f"graded {len(results)} submission{'s' if len(results) != 1 else ''} of {grader.chapter} "
        f"in {seconds:.1f} s with {grader.jobs} job{'s' if grader.jobs != 1 else ''}; "
        f"wrote {written['grades']}, {written['results']} and {written['feedback']}/"
    )
    return EXIT_OK


def cmd_exercises(args) -> int:
    from .grading.exercises import CHAPTERS, exercises

    chapters = [args.chapter] if args.chapter else list(CHAPTERS)
    for chapter in chapters:
        try:
            items = exercises(chapter)
        except KeyError as exc:
            print(f"attn-edu exercises: {exc.args[0]}", file=sys.stderr)
            return EXIT_USAGE
        total = sum(ex.points for ex in items)
        print(f"{items[0].chapter} ({total:g} points)")
        for ex in items:
            print(f"  {ex.id:18s} {'★' * ex.stars:4s} {ex.points:g} pt  {ex.title}  (answer: {ex.answer})")
    return EXIT_OK


def cmd_bench(args) -> int:
    from .bench import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attn-edu",
        description="Exercises, autograding and kernel benchmarks for the attn-edu textbook.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `attn-edu COMMAND --help` for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("assign", help="generate exercises/ from solutions/")
    p.add_argument("--solutions", help="folder of solution notebooks (default: ./solutions)")
    p.add_argument("--exercises", help="folder to write the student notebooks to (default: ./exercises)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if exercises/ is out of date")
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser(
        "grade",
        help="grade student notebooks into a CSV gradebook",
        description="Grade student notebooks (.ipynb or .md, or folders of them), each in its own sandboxed process.",
    )
    p.add_argument("submissions", nargs="+", metavar="SUBMISSION", help="notebook files or folders of them")
    p.add_argument("--assignment", required=True, help="chapter number or slug, e.g. 02 or 02-squeeze-and-excitation")
    p.add_argument("--out", required=True, help="the gradebook CSV to write, e.g. grades.csv")
    p.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time (default: 1)")
    p.add_argument("--timeout", type=float, default=120.0, help="wall-clock seconds per submission (default: 120)")
    p.add_argument("--cell-timeout", type=float, default=None, help="seconds per cell and per answer (default: timeout / 2)")
    p.add_argument("--cpu", type=float, default=None, help="CPU seconds per submission (default: timeout + 5)")
    p.add_argument("--memory", type=int, default=2048, help="MiB of memory a submission may add (default: 2048)")
    p.add_argument("--solutions", help="folder of solution notebooks (default: ./solutions)")
    p.add_argument("--results", help="where to write results.jsonl (default: beside --out)")
    p.add_argument("--feedback", help="folder for the feedback files (default: feedback/ beside --out)")
    p.add_argument("--quiet", action="store_true", help="no line per submission")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("exercises", help="list the exercises and their points")
    p.add_argument("chapter", nargs="?", help="a chapter number or slug (default: all)")
    p.set_defaults(func=cmd_exercises)

    from .bench import add_arguments as bench_arguments

    p = sub.add_parser(
        "bench",
        help="time eager, torch.compile and the Triton kernels on a GPU",
        description="Benchmark the attention modules and ResNet-50 on a CUDA GPU: eager, torch.compile, Triton.",
    )
    bench_arguments(p)
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    if getattr(args, "jobs", 1) is not None and getattr(args, "jobs", 1) < 1:
        parser.error("--jobs must be at least 1")
    try:
        return args.func(args)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return EXIT_USAGE
        raise


if __name__ == "__main__":
    sys.exit(main())
