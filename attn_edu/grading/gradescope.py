"""Grade one chapter's notebooks on Gradescope: build the autograder archive, and run it.

``attn-edu gradescope --assignment 02 --out autograder.zip`` writes a zip that
follows Gradescope's autograder specification. Its root holds:

    setup.sh            run once, as root, when Gradescope builds the image:
                        installs python3, bubblewrap, the pinned CPU torch and
                        the bundled attn_edu into /autograder/venv
    run_autograder      run once per submission: calls grade.py, and writes a
                        score-0 results.json itself if grade.py could not
    grade.py            calls ``run_autograder`` below
    autograder.json     the choices made at build time (assignment, visibility, ...)
    solutions/NN-slug.md  the chapter's solution notebook, hidden tests included
    attn-edu/           the attn_edu package and its pyproject.toml

At run time Gradescope unpacks the zip into /autograder/source, puts the
student's files in /autograder/submission and reads
/autograder/results/results.json. ``run_autograder`` finds the submitted
notebook, grades it with ``attn-edu grade`` in a subprocess (the CLI, not the
grader's internals), and turns the one line of results.jsonl into
results.json: one test per exercise, whose output lists the checks by name
and message. The source of the hidden tests never leaves the solution
notebook. With ``hidden_details="hide"`` (the default) the hidden checks are
only counted; with ``"show"`` each exercise gets a second, unscored entry
listing them, shown to students as ``hidden_visibility`` says.

Two environment variables let the tests run it outside Gradescope:
``AUTOGRADER_ROOT`` (default /autograder) and ``ATTN_EDU_PYTHON`` (the python
that run_autograder calls; default /autograder/venv/bin/python, which setup.sh
creates).

The sandbox. ``attn-edu grade`` runs each notebook in a bubblewrap sandbox
and refuses to grade without one unless given ``--unsafe-no-sandbox``.
Gradescope's containers may not allow the user namespaces bubblewrap needs.
Without ``allow_unsandboxed`` a container where bubblewrap does not work gets
a results.json with score 0 that says so. With it, the runner grades without
the sandbox. That is a real risk: the submission then runs as the same user
as the grader, so it can read the solution notebook with its hidden tests
and write results.json itself. Only Gradescope's container is between the
student's code and the grade.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HIDDEN_DETAILS = ("hide", "show")
# Gradescope's visibility settings for a test, from its autograder specification.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
CONFIG_NAME = "autograder.json"
PACKAGE_FOLDER = "attn-edu"  # where the package source sits inside the archive
# What proves that bubblewrap works here: a throwaway sandbox that sees the
# host's files read-only and runs `true`. (Without a bind of / the sandbox
# would have no files at all, and no `true` to run.)
EXECUTABLE = 0o755

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs what `attn-edu grade` needs: python3, bubblewrap (the sandbox
# every submission runs in), the CPU build of torch and the bundled attn_edu,
# into a virtual environment at /autograder/venv.
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv bubblewrap
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --upgrade pip
"$ROOT/venv/bin/pip" install {torch} --index-url https://download.pytorch.org/whl/cpu
"$ROOT/venv/bin/pip" install "$ROOT/source/{package}"
"$ROOT/venv/bin/python" -m attn_edu.cli exercises {assignment}
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this once per submission. grade.py writes
# $ROOT/results/results.json; if it could not even start (a broken install),
# this script writes one with score 0 so that the student sees a message.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${ATTN_EDU_PYTHON:-$ROOT/venv/bin/python}"
mkdir -p "$ROOT/results"
"$PYTHON" "$ROOT/source/grade.py" "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  printf '{"score": 0, "output": "The autograder failed before grading your notebook (exit status %s). Please tell your instructor.", "tests": []}\\n' "$status" > "$ROOT/results/results.json"
fi
exit 0
"""

GRADE_PY = '''\
"""Grade the notebook in ROOT/submission; write ROOT/results/results.json.

Called by run_autograder with the autograder's root folder (/autograder on
Gradescope). The work is done by attn_edu.grading.gradescope.run_autograder.
"""

import sys

from attn_edu.grading.gradescope import run_autograder

sys.exit(run_autograder(sys.argv[1]))
'''


class GradescopeError(ValueError):
    """The archive cannot be built as asked (unknown chapter, bad option, package files missing)."""


# ---------------------------------------------------------------------------
# Building the archive
# ---------------------------------------------------------------------------


def find_solution(solutions: Path, assignment: str) -> Path:
    """The solution notebook of ``assignment`` in ``solutions`` (``assign.find_solution``)."""
    from .assign import AssignError
    from .assign import find_solution as find

    try:
        return find(solutions, assignment)
    except AssignError as exc:
        raise GradescopeError(str(exc)) from None


def _package_files() -> tuple[Path, list[Path]]:
    """The folder holding attn_edu and pyproject.toml, and the package's files (no caches)."""
    import attn_edu

    package = Path(attn_edu.__file__).resolve().parent
    project = package.parent
    if not (project / "pyproject.toml").is_file():
        raise GradescopeError(
            f"the archive bundles attn_edu's source with its pyproject.toml, expected at {project / 'pyproject.toml'}; "
            "build it from a checkout of the attn-edu repository (pip install -e .)"
        )
    files = sorted(
        p for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".pyo")
    )
    return project, files


def _torch_requirement(pyproject: str) -> str:
    """The pinned torch of pyproject.toml's dependencies, e.g. ``torch==2.13.0``."""
    found = re.search(r"""["'](torch==[^"';\s]+)["']""", pyproject)
    if not found:
        raise GradescopeError("pyproject.toml pins no torch version (expected a dependency like \"torch==2.13.0\")")
    return found.group(1)


def _add(archive: zipfile.ZipFile, name: str, text: str | bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, text)


def build_archive(
    assignment: str,
    out: Path | str,
    *,
    solutions: Path | str,
    hidden_details: str = "hide",
    hidden_visibility: str = "after_published",
    allow_unsandboxed: bool = False,
    timeout: float = 120.0,
) -> Path:
    """Write Gradescope's autograder.zip for one chapter; return its path."""
    if hidden_details not in HIDDEN_DETAILS:
        raise GradescopeError(f"hidden_details must be one of {', '.join(HIDDEN_DETAILS)}; got {hidden_details!r}")
    if hidden_visibility not in VISIBILITIES:
        raise GradescopeError(f"hidden_visibility must be one of {', '.join(VISIBILITIES)}; got {hidden_visibility!r}")
    solution = find_solution(Path(solutions), assignment)
    project, files = _package_files()
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    config = {
        "assignment": solution.stem,
        "hidden_details": hidden_details,
        "hidden_visibility": hidden_visibility,
        "allow_unsandboxed": allow_unsandboxed,
        "timeout": timeout,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        setup = SETUP_SH.format(torch=_torch_requirement(pyproject), package=PACKAGE_FOLDER, assignment=solution.stem)
        _add(archive, "setup.sh", setup, EXECUTABLE)
        _add(archive, "run_autograder", RUN_AUTOGRADER, EXECUTABLE)
        _add(archive, "grade.py", GRADE_PY)
        _add(archive, CONFIG_NAME, json.dumps(config, indent=2) + "\n")
        _add(archive, f"solutions/{solution.name}", solution.read_bytes())
        _add(archive, f"{PACKAGE_FOLDER}/pyproject.toml", pyproject)
        readme = project / "README.md"  # pyproject.toml names it as the package's readme
        if readme.is_file():
            _add(archive, f"{PACKAGE_FOLDER}/README.md", readme.read_bytes())
        for path in files:
            _add(archive, f"{PACKAGE_FOLDER}/{path.relative_to(project).as_posix()}", path.read_bytes())
    os.replace(partial, out)
    return out


# ---------------------------------------------------------------------------
# Running it, once per submission
# ---------------------------------------------------------------------------


def find_submission(folder: Path, assignment: str) -> tuple[Path | None, list[Path]]:
    """The notebook to grade in ``folder`` (or one level below), and the others it passed over.

    Candidates are .ipynb and .md files, not hidden, not README.md. With
    several, the one named like the assignment wins ("02-squeeze-and-excitation",
    or a name starting "02"), then a .ipynb over a .md, then the first by name.
    """
    candidates = []
    for pattern in ("*.ipynb", "*.md", "*/*.ipynb", "*/*.md"):
        for path in folder.glob(pattern):
            parts = path.relative_to(folder).parts
            if path.is_file() and path.name.lower() != "readme.md" and not any(
                p.startswith(".") or p == "__MACOSX" for p in parts
            ):
                candidates.append(path)
    if not candidates:
        return None, []
    number = assignment.split("-", 1)[0]

    def preference(path: Path):
        stem = path.stem.lower()
        named = stem == assignment.lower() or stem.startswith(number)
        return (not named, path.suffix != ".ipynb", len(path.relative_to(folder).parts), str(path))

    ranked = sorted(set(candidates), key=preference)
    return ranked[0], ranked[1:]


def sandbox_problem() -> str | None:
    """Why the grader's sandbox cannot run here (``attn_edu.grading.sandbox.problem``), or None."""
    from .sandbox import problem

    return problem()


def _number(x) -> float | int:
    x = float(x or 0)
    return int(x) if x.is_integer() else round(x, 4)


def _check_line(check: dict) -> str:
    mark = "✓" if check.get("passed") else "✗"
    message = check.get("message") or ""
    return f"{mark} {check.get('name', 'check')}" + (f": {message}" if message else "")


def exercise_tests(exercise: dict, number: int, hidden_details: str, hidden_visibility: str) -> list[dict]:
    """The Gradescope test entries of one exercise of a results.jsonl record."""
    checks = exercise.get("checks") or []
    public = [c for c in checks if not c.get("hidden")]
    hidden = [c for c in checks if c.get("hidden")]
    lines = []
    if exercise.get("status", "graded") != "graded":
        message = exercise.get("message") or ""
        lines.append(f"Not graded ({exercise.get('status')})" + (f": {message}" if message else "."))
    lines += [_check_line(c) for c in public]
    if hidden:
        passed = sum(1 for c in hidden if c.get("passed"))
        lines.append(f"Hidden checks: {passed} of {len(hidden)} passed.")
    title = exercise.get("title") or exercise.get("id", f"exercise {number}")
    tests = [
        {
            "name": title,
            "number": str(number),
            "score": _number(exercise.get("points")),
            "max_score": _number(exercise.get("max_points")),
            "visibility": "visible",
            "output": "\n".join(lines),
        }
    ]
    if hidden and hidden_details == "show":
        tests.append(
            {
                "name": f"{title}: hidden checks",
                "number": f"{number}.h",
                "visibility": hidden_visibility,
                "output": "\n".join(_check_line(c) for c in hidden),
            }
        )
    return tests


def results_json(record: dict, config: dict, notes: list[str] = ()) -> dict:
    """Gradescope's results.json for one results.jsonl record of ``attn-edu grade``."""
    tests = []
    for number, exercise in enumerate(record.get("exercises") or [], start=1):
        tests += exercise_tests(exercise, number, config.get("hidden_details", "hide"), config.get("hidden_visibility", "after_published"))
    summary = [
        f"{record.get('assignment', config.get('assignment'))}: {_number(record.get('total'))} / "
        f"{_number(record.get('max_total'))} points. Status: {record.get('status')}."
    ]
    summary += [str(n) for n in record.get("notes") or []]
    for cell in record.get("cells") or []:
        summary.append(f"Cell {cell.get('cell')} did not finish ({cell.get('status')}): {cell.get('error')}")
    summary += list(notes)
    results = {
        "score": _number(record.get("total")),
        "output": "\n".join(summary),
        "stdout_visibility": "hidden",
        "tests": tests,
    }
    if record.get("seconds") is not None:
        results["execution_time"] = _number(record["seconds"])
    return results


def failed_results(message: str) -> dict:
    """A results.json with score 0 and a message to the student."""
    return {"score": 0, "output": message, "stdout_visibility": "hidden", "tests": []}


def _write_results(results_dir: Path, results: dict) -> None:
    results_dir.mkdir(parents=True, exist_ok=True)
    partial = results_dir / "results.json.partial"
    partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, results_dir / "results.json")


def run_autograder(root: Path | str) -> int:
    """Grade ROOT/submission with ``attn-edu grade``; write ROOT/results/results.json. Always 0."""
    root = Path(root)
    results_dir = root / "results"
    config = json.loads((root / "source" / CONFIG_NAME).read_text(encoding="utf-8"))
    assignment = config["assignment"]
    notebook, passed_over = find_submission(root / "submission", assignment)
    if notebook is None:
        _write_results(results_dir, failed_results(
            f"No notebook found in your submission. Upload your {assignment} notebook "
            f"(the .ipynb file, or the .md file from the book's exercises/ folder)."
        ))
        return 0
    notes = [f"Graded {notebook.name}."]
    if passed_over:
        notes.append("Not graded (only one notebook is): " + ", ".join(p.name for p in passed_over) + ".")
    extra = []
    problem = sandbox_problem()
    if problem and not config.get("allow_unsandboxed"):
        print(f"run_autograder: {problem}; the archive was built without --allow-unsandboxed")
        _write_results(results_dir, failed_results(
            f"Your notebook was not graded: the grader's sandbox does not work on this autograder ({problem}). "
            "This is a problem with the autograder, not with your work; please tell your instructor."
        ))
        return 0
    if problem:
        extra.append("--unsafe-no-sandbox")
        notes.append("This autograder ran your notebook without the bubblewrap sandbox (it does not work in this container).")
        print(f"run_autograder: {problem}; grading with --unsafe-no-sandbox as the archive allows")
    with tempfile.TemporaryDirectory(prefix="attn-edu-grade-") as work:
        out = Path(work) / "grades.csv"
        command = [
            sys.executable, "-m", "attn_edu.cli", "grade", str(notebook),
            "--assignment", assignment,
            "--out", str(out),
            "--solutions", str(root / "source" / "solutions"),
            "--timeout", str(config.get("timeout", 120.0)),
            "--hidden-details", config.get("hidden_details", "hide"),
            "--quiet", *extra,
        ]
        print("run_autograder:", " ".join(command), flush=True)
        run = subprocess.run(command, capture_output=True, text=True)
        sys.stdout.write(run.stdout)
        sys.stdout.write(run.stderr)
        lines = []
        if (Path(work) / "results.jsonl").is_file():
            lines = [line for line in (Path(work) / "results.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
        if not lines:
            tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
            _write_results(results_dir, failed_results(
                f"The grader stopped (exit status {run.returncode}) before it could grade {notebook.name}. "
                f"Please tell your instructor.\n{tail}\n" + "\n".join(notes[1:])
            ))
            return 0
    _write_results(results_dir, results_json(json.loads(lines[0]), config, notes))
    return 0


# ---------------------------------------------------------------------------
# The command line: attn-edu gradescope
# ---------------------------------------------------------------------------


def add_arguments(parser) -> None:
    """The options of ``attn-edu gradescope``."""
    parser.add_argument("--assignment", required=True, help="chapter number or slug, e.g. 02 or 02-squeeze-and-excitation")
    parser.add_argument("--out", required=True, help="the archive to write, e.g. autograder.zip")
    parser.add_argument(
        "--hidden-details", choices=HIDDEN_DETAILS, default="hide",
        help="hide: students see only how many hidden checks passed; show: also list them, "
        "by name and message, in an unscored entry per exercise (default: hide)",
    )
    parser.add_argument(
        "--hidden-visibility", choices=VISIBILITIES, default="after_published",
        help="when students see the hidden checks' entries with --hidden-details show (default: after_published)",
    )
    parser.add_argument(
        "--allow-unsandboxed", action="store_true",
        help="grade without bubblewrap where the container does not allow it; "
        "the submission can then read the hidden tests and write its own score",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="wall-clock seconds per submission (default: 120)")
    parser.add_argument("--solutions", help="folder of solution notebooks (default: ./solutions)")
    parser.set_defaults(func=command)


def command(args) -> int:
    """``attn-edu gradescope``: write the archive, say what is in it."""
    if args.solutions:
        solutions = Path(args.solutions)
    elif (Path.cwd() / "solutions").is_dir():
        solutions = Path.cwd() / "solutions"
    else:
        import attn_edu

        solutions = Path(attn_edu.__file__).resolve().parents[1] / "solutions"
    try:
        out = build_archive(
            args.assignment, args.out, solutions=solutions,
            hidden_details=args.hidden_details, hidden_visibility=args.hidden_visibility,
            allow_unsandboxed=args.allow_unsandboxed, timeout=args.timeout,
        )
    except GradescopeError as exc:
        print(f"attn-edu gradescope: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out}: upload it on Gradescope's Configure Autograder page (Zip file upload)")
    if args.allow_unsandboxed:
        print("note: --allow-unsandboxed: where bubblewrap does not work, submissions run unsandboxed "
              "and can read the hidden tests and write their own results.json")
    return 0
