"""From solution notebooks to student notebooks, and back to what the grader needs.

``solutions/NN-slug.md`` is the single source of a chapter's exercises.
``generate_exercise(path)`` turns it into the student version, as nbgrader's
``generate_assignment`` would:

- in cells with ``nbgrader.solution: true``, every region between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes
  ``# YOUR CODE HERE`` / ``raise NotImplementedError()``, indented like the marker;
- in cells with ``nbgrader.grade: true``, every region between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` is removed.

The transformation works on the Markdown lines, so everything else (prose,
metadata, formatting) is copied exactly and the output does not depend on
the installed jupytext version. ``Assignment.load(path)`` reads a solution
notebook into what the batch grader needs: the locked cells to restore, the
check cells, the hidden cases and the stub of every solution cell.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jupytext

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
NOTEBOOK_NAME = re.compile(r"^\d\d-[a-z0-9-]+\.md$")


class AssignError(ValueError):
    """A solution notebook that cannot be turned into an exercise."""


def _replace_regions(lines: list[str], begin: str, end: str, replacement: tuple[str, ...] | None, where: str) -> list[str]:
    out: list[str] = []
    inside = False
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise AssignError(f"{where}: {begin!r} inside another region (line {number} of the cell)")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            if replacement:
                out += [indent + r for r in replacement]
            continue
        if stripped == end:
            if not inside:
                raise AssignError(f"{where}: {end!r} without {begin!r} (line {number} of the cell)")
            inside = False
            continue
        if not inside:
            out.append(line)
    if inside:
        raise AssignError(f"{where}: {begin!r} is never closed by {end!r}")
    return out


def strip_solutions(source: str, where: str = "cell") -> str:
    """A solution cell's source with every solution region replaced by the stub."""
    return "\n".join(_replace_regions(source.split("\n"), BEGIN_SOLUTION, END_SOLUTION, STUB, where))


def strip_hidden(source: str, where: str = "cell") -> str:
    """A test cell's source without its hidden tests."""
    return "\n".join(_replace_regions(source.split("\n"), BEGIN_HIDDEN, END_HIDDEN, None, where)).strip("\n")


def hidden_blocks(source: str) -> list[str]:
    """The code of every hidden-tests region of a cell, dedented."""
    blocks, current, inside = [], [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN_HIDDEN:
            inside, current = True, []
        elif line.strip() == END_HIDDEN:
            inside = False
            blocks.append(_dedent(current))
        elif inside:
            current.append(line)
    return blocks


def _dedent(lines: list[str]) -> str:
    import textwrap

    return textwrap.dedent("\n".join(lines))


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _code_cell_spans(lines: list[str]) -> list[tuple[int, int, int]]:
    """(first line, first source line, closing fence line) of every code cell of a MyST file."""
    spans = []
    i = 0
    while i < len(lines):
        if lines[i].startswith("```{code-cell}"):
            start = i
            j = i + 1
            if j < len(lines) and lines[j].strip() == "---":  # metadata block
                j += 1
                while j < len(lines) and lines[j].strip() != "---":
                    j += 1
                j += 1
            body = j
            while j < len(lines) and lines[j].rstrip() != "```":
                j += 1
            if j >= len(lines):
                raise AssignError(f"code cell starting on line {start + 1} is never closed")
            spans.append((start, body, j))
            i = j + 1
        else:
            i += 1
    return spans


def generate_exercise(solution: Path | str) -> str:
    """The student version of a solution notebook, as MyST Markdown text."""
    path = Path(solution)
    text = path.read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="md:myst")
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    lines = text.split("\n")
    spans = _code_cell_spans(lines)
    if len(spans) != len(code_cells):
        raise AssignError(f"{path}: found {len(spans)} code fences but jupytext reads {len(code_cells)} code cells")
    out: list[str] = []
    previous = 0
    for (start, body, close), cell in zip(spans, code_cells):
        meta = nbgrader_meta(cell)
        where = f"{path.name}, cell {meta.get('grade_id', start + 1)}"
        source = lines[body:close]
        if meta.get("solution"):
            source = _replace_regions(source, BEGIN_SOLUTION, END_SOLUTION, STUB, where)
        if meta.get("grade"):
            source = _replace_regions(source, BEGIN_HIDDEN, END_HIDDEN, None, where)
            while source and not source[0].strip():
                source.pop(0)
        out += lines[previous:body] + source
        previous = close
    out += lines[previous:]
    result = "\n".join(out)
    for marker in (BEGIN_SOLUTION, BEGIN_HIDDEN, END_SOLUTION, END_HIDDEN):
        if marker in result:
            raise AssignError(f"{path}: {marker!r} is left in the exercise; markers belong in solution or test cells only")
    return result


def solution_notebooks(folder: Path | str) -> list[Path]:
    """The ``NN-slug.md`` notebooks of a folder (files with a jupytext header)."""
    folder = Path(folder)
    return sorted(
        p for p in folder.glob("[0-9][0-9]-*.md") if NOTEBOOK_NAME.match(p.name) and "jupytext:" in p.read_text()[:500]
    )


def find_solution(folder: Path | str, assignment: str) -> Path:
    """The solution notebook of ``assignment`` ("02" or "02-squeeze-and-excitation") in ``folder``.

    ``AssignError`` names the notebooks that are there when none, or more than one, matches.
    """
    key = str(assignment).strip()
    notebooks = solution_notebooks(folder)
    matches = [p for p in notebooks if p.stem == key or p.stem.split("-", 1)[0] == key.zfill(2)]
    if len(matches) != 1:
        known = ", ".join(p.stem for p in notebooks) or "none"
        raise AssignError(f"no solution notebook for assignment {assignment!r} in {folder} (found: {known})")
    return matches[0]


def write_atomically(path: Path, text: str) -> None:
    """Write a file so that readers see the old or the new content, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def assign(solutions: Path | str, exercises: Path | str, *, check: bool = False) -> dict[str, list[Path]]:
    """Generate ``exercises/NN-slug.md`` from every solution notebook.

    Returns ``{"written": [...], "unchanged": [...], "stale": [...], "orphaned": [...]}``.
    With ``check=True`` nothing is written: ``stale`` lists exercises that
    differ from what would be generated (or are missing), ``orphaned`` the
    exercise notebooks without a solution.
    """
    solutions, exercises = Path(solutions), Path(exercises)
    report: dict[str, list[Path]] = {"written": [], "unchanged": [], "stale": [], "orphaned": []}
    sources = solution_notebooks(solutions)
    for source in sources:
        target = exercises / source.name
        text = generate_exercise(source)
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current == text:
            report["unchanged"].append(target)
        elif check:
            report["stale"].append(target)
        else:
            write_atomically(target, text)
            report["written"].append(target)
    names = {s.name for s in sources}
    if exercises.is_dir():
        report["orphaned"] = [p for p in solution_notebooks(exercises) if p.name not in names]
    return report


# ---------------------------------------------------------------------------
# The assignment, as the grader sees it
# ---------------------------------------------------------------------------


@dataclass
class Cell:
    """A code cell of the assignment: its role and its source."""

    grade_id: str
    role: str  # "locked" (given code), "solution" (the student's), "tests" (a check cell)
    source: str  # for "solution" cells: the stub; for "tests": the source with hidden tests
    exercise: str | None = None  # for "tests" and "solution" cells: the exercise id
    hidden: list[str] = field(default_factory=list)  # for "tests": the hidden-test code


@dataclass
class Assignment:
    """A chapter's solution notebook, read for grading."""

    chapter: str
    path: Path
    cells: list[Cell]

    @property
    def by_id(self) -> dict[str, Cell]:
        return {c.grade_id: c for c in self.cells}

    @property
    def exercise_ids(self) -> list[str]:
        return [c.exercise for c in self.cells if c.role == "tests" and c.exercise]

    def hidden_cases(self, exercise: str) -> list | None:
        """The hidden cases of an exercise, from its check cell's hidden tests.

        The hidden-test code (``hidden_cases(...)`` calls) runs here, in the
        grader's process: it is the instructor's code, not the student's.
        """
        from .notebook import take_hidden

        cell = next((c for c in self.cells if c.role == "tests" and c.exercise == exercise), None)
        if cell is None or not cell.hidden:
            return None
        take_hidden(self.chapter, exercise)
        for block in cell.hidden:
            exec(compile(block, f"<hidden tests of {cell.grade_id}>", "exec"), {"__name__": "__hidden_tests__"})
        return take_hidden(self.chapter, exercise)

    @classmethod
    def load(cls, path: Path | str) -> "Assignment":
        path = Path(path)
        notebook = jupytext.read(path)
        cells = []
        seen = set()
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            meta = nbgrader_meta(cell)
            grade_id = meta.get("grade_id")
            if not grade_id:
                raise AssignError(f"{path.name}: code cell {index + 1} has no nbgrader grade_id")
            if grade_id in seen:
                raise AssignError(f"{path.name}: grade_id {grade_id!r} is used twice")
            seen.add(grade_id)
            if meta.get("solution"):
                cells.append(Cell(grade_id, "solution", strip_solutions(cell.source, grade_id), exercise=grade_id))
            elif meta.get("grade"):
                exercise = grade_id[: -len("-check")] if grade_id.endswith("-check") else grade_id
                cells.append(Cell(grade_id, "tests", cell.source, exercise=exercise, hidden=hidden_blocks(cell.source)))
            else:
                cells.append(Cell(grade_id, "locked", cell.source))
        return cls(chapter=path.stem, path=path, cells=cells)
