"""The ``attn-edu`` command: generate exercises, grade a class's notebooks, benchmark the kernels.

    attn-edu assign [--check]
        Generate exercises/NN-slug.md from solutions/NN-slug.md (solutions
        removed, hidden tests dropped). --check writes nothing and fails if
        exercises/ is out of date.

    attn-edu grade SUBMISSION... --assignment NN --out grades.csv [--jobs N] [--timeout SECONDS]
        Grade student notebooks (.ipynb or .md files, or folders of them), each
        in its own bubblewrap sandbox. Writes grades.csv (for Canvas or Moodle),
        status.csv, results.jsonl beside it (every check) and
        feedback/<submission>.md (one file per submission).

    attn-edu gradescope --assignment NN --out autograder.zip
        Build a Gradescope autograder archive for one chapter.

    attn-edu nbgrader-course COURSE_DIR [--assignment NN ...]
        Set up an nbgrader course (source notebooks and nbgrader_config.py).

    attn-edu lab [FOLDER]
        Copy the chapters and exercises into FOLDER (./attn-edu-book) and open
        JupyterLab there, as `make lab` does in a clone.

    attn-edu train --data FOLDER|NAME --model resnet50 --attn se ...
        Train an attention network, as one process or under torchrun with
        DistributedDataParallel (python -m attn_edu.train --help).

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

EXIT_OK, EXIT_STALE, EXIT_USAGE, EXIT_FAILED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # as a shell reports a command stopped by Ctrl-C


def _default_folder(name: str) -> Path:
    """``./name`` if it exists, else the folder of that name beside the attn_edu package."""
    here = Path.cwd() / name
    if here.is_dir():
        return here
    import attn_edu

    return Path(attn_edu.__file__).resolve().parents[1] / name


def _find_solution(folder: Path, assignment: str) -> Path:
    from .grading.assign import AssignError, find_solution

    try:
        return find_solution(folder, assignment)
    except AssignError as exc:
        raise SystemExit(f"attn-edu grade: {exc}") from None


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


def _read_roster(path: str) -> dict[str, str]:
    """A two-column CSV: our student name (as in the gradebook), the LMS's identifier."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    if rows and rows[0][:2] == ["student", "lms_id"]:
        rows = rows[1:]
    bad = [i + 1 for i, r in enumerate(rows) if len(r) < 2 or not r[0].strip() or not r[1].strip()]
    if bad:
        raise SystemExit(f"attn-edu grade: {path}: expected two columns (student, lms_id) on every row; rows {bad[:5]} are not")
    return {r[0].strip(): r[1].strip() for r in rows}


def cmd_grade(args) -> int:
    from .grading.assign import AssignError
    from .grading.batch import Grader, GradingEnvironmentError, SandboxUnavailable, expand, write_reports

    solutions = Path(args.solutions) if args.solutions else _default_folder("solutions")
    solution = _find_solution(solutions, args.assignment)
    paths = expand(args.submissions)
    if not paths:
        print("attn-edu grade: no submissions found", file=sys.stderr)
        return EXIT_USAGE
    roster = _read_roster(args.roster) if args.roster else None
    try:
        grader = Grader(
            solution,
            jobs=args.jobs,
            timeout=args.timeout,
            cell_timeout=args.cell_timeout,
            cpu_seconds=args.cpu,
            memory_mb=args.memory,
            hidden_details=args.hidden_details,
            unsafe_no_sandbox=args.unsafe_no_sandbox,
        )
    except (AssignError, SandboxUnavailable) as exc:
        print(f"attn-edu grade: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.unsafe_no_sandbox:
        print("attn-edu grade: WARNING: grading without a sandbox; submissions run as you, with no isolation", file=sys.stderr)
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

    try:
        results = grader.grade(paths, progress=progress)
    except GradingEnvironmentError as exc:
        print(f"attn-edu grade: refusing to grade: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("attn-edu grade: stopped before grading began; nothing written", file=sys.stderr)
        return EXIT_INTERRUPTED
    written = write_reports(results, grader, args.out, results_path=args.results, feedback_dir=args.feedback, roster=roster)
    for warning in written["warnings"]:
        print(f"attn-edu grade: {warning}", file=sys.stderr)
    seconds = time.monotonic() - started
    print(
        f"graded {len(results)} submission{'s' if len(results) != 1 else ''} of {grader.chapter} "
        f"in {seconds:.1f} s with {grader.jobs} job{'s' if grader.jobs != 1 else ''}; "
        f"wrote {written['grades']}, {written['status']}, {written['results']} and {written['feedback']}/"
    )
    if grader.interrupted:
        print("attn-edu grade: stopped by Ctrl-C; the submissions not graded are marked 'interrupted'", file=sys.stderr)
        return EXIT_INTERRUPTED
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
    p.add_argument("--roster", help="CSV of student,lms_id: puts the LMS's identifiers into grades.csv")
    p.add_argument(
        "--hidden-details", choices=("hide", "show"), default="hide",
        help="feedback on hidden cases: 'hide' says only that one failed (default), 'show' shows its inputs",
    )
    p.add_argument(
        "--unsafe-no-sandbox", action="store_true",
        help="grade without bubblewrap and cgroups: submissions run as you and can read the hidden tests, "
        "other submissions and your files; only for your own notebooks",
    )
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

    from .train import add_arguments as train_arguments
    from .train import run as train_run

    p = sub.add_parser(
        "train",
        help="train an attention network on an image folder, on one process or under torchrun (DDP)",
        description="Train an attn_edu network on an ImageFolder folder or an attn_edu.data set; "
        "`torchrun --nproc_per_node=N -m attn_edu.train ...` runs it on N processes. "
        "Defaults: the SE paper's ImageNet recipe (see `python -m attn_edu.train --help`).",
    )
    train_arguments(p)
    p.set_defaults(func=train_run)

    from .grading.gradescope import add_arguments as gradescope_arguments

    p = sub.add_parser(
        "gradescope",
        help="build a Gradescope autograder archive for one chapter",
        description="Write autograder.zip (setup.sh, run_autograder, the solution notebook, attn_edu) for Gradescope.",
    )
    gradescope_arguments(p)

    from .grading.nbgrader_course import add_arguments as nbgrader_course_arguments
    from .grading.nbgrader_course import run as nbgrader_course_run

    p = sub.add_parser(
        "nbgrader-course",
        help="set up an nbgrader course from the solution notebooks",
        description="Write COURSE_DIR/source/NN-slug/NN-slug.ipynb from solutions/NN-slug.md and "
        "COURSE_DIR/nbgrader_config.py, for instructors who grade with nbgrader.",
    )
    nbgrader_course_arguments(p)
    p.set_defaults(func=lambda args: nbgrader_course_run(args, _default_folder("solutions")))

    from .lab import add_arguments as lab_arguments

    p = sub.add_parser(
        "lab",
        help="copy the chapters and exercises into a folder and open them in JupyterLab",
        description="Copy the book's chapters and exercises into FOLDER (files already there are kept) "
        "and start JupyterLab there, with Markdown chapters opening as notebooks.",
    )
    lab_arguments(p)
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
