"""An nbgrader course made from the solution notebooks: ``attn-edu nbgrader-course``.

For instructors who grade with nbgrader rather than ``attn-edu grade``.
``make_course(course_dir, solutions)`` writes what ``nbgrader
generate_assignment`` starts from::

    COURSE_DIR/nbgrader_config.py                      a copy of solutions/nbgrader_config.py
    COURSE_DIR/source/NN-slug/NN-slug.ipynb            solutions/NN-slug.md as a notebook

The solution notebooks already carry nbgrader's cell metadata and its
markers (``### BEGIN SOLUTION``, ``### BEGIN HIDDEN TESTS``), so they only
change format here: Markdown to .ipynb, through jupytext.

Writing the course needs no nbgrader; running it does (``pip install
'attn-edu[nbgrader]'``). Nothing here imports nbgrader, so the rest of
attn_edu works without it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CONFIG_NAME = "nbgrader_config.py"


def select_notebooks(solutions: Path | str, assignments: list[str] | None = None) -> list[Path]:
    """The solution notebooks named by ``assignments`` (numbers or slugs), or all of them."""
    from .assign import AssignError, find_solution, solution_notebooks

    if not assignments:
        return solution_notebooks(solutions)
    chosen = []
    for key in assignments:
        try:
            found = find_solution(solutions, key)
        except AssignError as exc:
            raise ValueError(str(exc)) from None
        if found not in chosen:
            chosen.append(found)
    return chosen


def notebook_json(solution: Path) -> str:
    """A solution notebook (MyST Markdown) as the text of an .ipynb file."""
    import jupytext

    notebook = jupytext.read(solution)
    # The .ipynb stands alone in the course; it is not paired with a Markdown file.
    notebook.metadata.pop("jupytext", None)
    # Stable cell ids (jupytext draws random ones), so that an unchanged
    # solution gives an unchanged file: the grade_id, or the cell's position.
    for index, cell in enumerate(notebook.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        cell.id = grade_id or f"cell-{index}"
    return jupytext.writes(notebook, fmt="ipynb")


def make_course(course_dir: Path | str, solutions: Path | str, assignments: list[str] | None = None) -> dict[str, list[Path]]:
    """Write the course's source notebooks and, if it has none yet, its nbgrader_config.py.

    Source notebooks are brought up to date with ``solutions/``, the single
    source of the exercises. An existing nbgrader_config.py is kept, since
    the instructor may have edited it. Returns ``{"written": [...],
    "unchanged": [...], "kept": [...]}``.
    """
    from .assign import write_atomically

    course_dir, solutions = Path(course_dir), Path(solutions)
    template = solutions / CONFIG_NAME
    if not template.is_file():
        raise FileNotFoundError(f"expected nbgrader's configuration template at {template}; it is not there")
    notebooks = select_notebooks(solutions, assignments)
    if not notebooks:
        raise ValueError(f"expected solution notebooks (NN-slug.md) in {solutions}; found none")
    report: dict[str, list[Path]] = {"written": [], "unchanged": [], "kept": []}
    for solution in notebooks:
        target = course_dir / "source" / solution.stem / f"{solution.stem}.ipynb"
        text = notebook_json(solution)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            report["unchanged"].append(target)
        else:
            write_atomically(target, text)
            report["written"].append(target)
    config = course_dir / CONFIG_NAME
    if config.exists():
        report["kept"].append(config)
    else:
        write_atomically(config, template.read_text(encoding="utf-8"))
        report["written"].append(config)
    return report


def add_arguments(parser) -> None:
    parser.add_argument("course_dir", metavar="COURSE_DIR", help="the course folder to create or update")
    parser.add_argument(
        "--assignment",
        action="append",
        metavar="NN",
        help="a chapter number or slug, e.g. 02; repeat for more (default: every chapter)",
    )
    parser.add_argument("--solutions", help="folder of solution notebooks (default: ./solutions)")


def run(args, default_solutions: Path) -> int:
    """``attn-edu nbgrader-course``: write the course, then say what to run next."""
    solutions = Path(args.solutions) if args.solutions else Path(default_solutions)
    try:
        report = make_course(args.course_dir, solutions, args.assignment)
    except (ValueError, FileNotFoundError) as exc:
        print(f"attn-edu nbgrader-course: {exc}", file=sys.stderr)
        return 2
    for path in report["written"]:
        print(f"wrote {path}")
    for path in report["kept"]:
        print(f"kept {path} (it exists; compare it with {solutions / CONFIG_NAME} for new settings)")
    print(f"{len(report['written'])} written, {len(report['unchanged'])} unchanged")
    if importlib.util.find_spec("nbgrader") is None:
        print("note: nbgrader is not installed here; install it with: pip install 'attn-edu[nbgrader]'")
    first = sorted(p.parent.name for p in report["written"] + report["unchanged"] if p.suffix == ".ipynb")
    if first:
        print(f"next: cd {args.course_dir} && nbgrader generate_assignment {first[0]}")
    return 0
