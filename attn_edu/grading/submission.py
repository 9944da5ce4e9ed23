"""Stage 1 of batch grading: read a submitted notebook and rebuild it from the assignment.

``read_submission(path)`` reads an ``.ipynb`` or Jupytext ``.md`` file; a file
that is not a notebook raises ``SubmissionError`` with the reason.
``rebuild(assignment, notebook)`` decides what runs, as nbgrader does: locked
cells (setup, given code) come from the solution notebook, the student's
solution cells and any cells they added stay in place, and each check cell
becomes an "answer" step at which the grader's probes run instead. Check
cells carry no source into the sandbox, so no hidden test ever reaches it.
``expand`` turns folders into the notebooks inside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

from .assign import Assignment, strip_hidden


@dataclass
class Step:
    """One thing the sandboxed runner does, in notebook order."""

    kind: str  # "code" or "answer"
    label: str  # the cell's grade_id, or "added cell 3", or the exercise id
    source: str = ""  # for "code"
    exercise: str | None = None  # for "answer"
    student: bool = True  # whether the student wrote this code

    def to_job(self) -> dict:
        return {"kind": self.kind, "label": self.label, "source": self.source, "exercise": self.exercise}


class SubmissionError(ValueError):
    """A file that cannot be read as a notebook."""


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The notebook in ``path``; ``SubmissionError`` with a reason if it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SubmissionError(f"cannot read the file: {exc}") from None
    suffix = Path(path).suffix.lower()
    try:
        if suffix == ".ipynb":
            notebook = nbformat.reads(text, as_version=4)
        elif suffix == ".md":
            import jupytext

            notebook = jupytext.reads(text, fmt="md:myst")
        else:
            raise SubmissionError(f"unsupported file type {suffix!r}; submit the .ipynb or .md notebook")
    except SubmissionError:
        raise
    except Exception as exc:  # nbformat/jupytext raise many kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SubmissionError(f"not a valid notebook ({type(exc).__name__}: {first[:200]})") from None
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError("not a valid notebook: it has no list of cells")
    return notebook


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _grade_id(cell) -> str | None:
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    nb = meta.get("nbgrader") if isinstance(meta, dict) else None
    gid = nb.get("grade_id") if isinstance(nb, dict) else None
    return gid if isinstance(gid, str) else None


def _same(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def rebuild(assignment: Assignment, notebook) -> tuple[list[Step], list[str], list[str]]:
    """The steps to run for a submission, with flags and notes.

    Locked cells come from the assignment; check cells become "answer"
    steps; the student's solution cells (every copy, in their order) and the
    code cells they added stay where they were, after the cell before them.
    """
    code = [c for c in notebook["cells"] if isinstance(c, dict) and c.get("cell_type") == "code"]
    known = assignment.by_id
    flags, notes = [], []
    if not any(_grade_id(c) in known for c in code):
        flags.append("no-metadata")
        steps: list[Step] = []
        first_solution = next((i for i, c in enumerate(assignment.cells) if c.role == "solution"), len(assignment.cells))
        for cell in assignment.cells[:first_solution]:
            if cell.role == "locked":
                steps.append(Step("code", cell.grade_id, cell.source, student=False))
        for i, cell in enumerate(code, 1):
            steps.append(Step("code", f"cell {i}", _source(cell)))
        steps += [Step("answer", c.exercise, exercise=c.exercise) for c in assignment.cells if c.role == "tests"]
        return steps, flags, notes
    extras: dict[str | None, list] = {}
    by_id: dict[str, list] = {}
    anchor = None
    for cell in code:
        gid = _grade_id(cell)
        if gid in known:
            by_id.setdefault(gid, []).append(cell)
            anchor = gid
        else:
            extras.setdefault(anchor, []).append(cell)
    steps = []
    counter = 0

    def add_extras(key):
        nonlocal counter
        for cell in extras.get(key, []):
            counter += 1
            steps.append(Step("code", f"added cell {counter}", _source(cell)))

    add_extras(None)
    for cell in assignment.cells:
        found = by_id.get(cell.grade_id, [])
        if cell.role == "locked":
            steps.append(Step("code", cell.grade_id, cell.source, student=False))
            if not found or not _same(_source(found[0]), cell.source):
                _edited(flags, notes, cell.grade_id, bool(found))
        elif cell.role == "solution":
            if not found:
                notes.append(f"The answer cell {cell.grade_id!r} is missing from the notebook.")
            for copy in found:
                steps.append(Step("code", cell.grade_id, _source(copy)))
        else:
            if not found or not (
                _same(_source(found[0]), strip_hidden(cell.source)) or _same(_source(found[0]), cell.source)
            ):
                _edited(flags, notes, cell.grade_id, bool(found))
            steps.append(Step("answer", cell.exercise, exercise=cell.exercise))
        add_extras(cell.grade_id)
    return steps, flags, notes


def _edited(flags: list, notes: list, grade_id: str, present: bool) -> None:
    if "locked-cell-edited" not in flags:
        flags.append("locked-cell-edited")
    notes.append(f"The locked cell {grade_id!r} was {'changed' if present else 'deleted'}; the original was used.")


def labels(paths: list[Path]) -> list[str]:
    """How each submission is named in the gradebook: the path as given, made unique."""
    labels, seen = [], {}
    for p in paths:
        label = str(p)
        seen[label] = seen.get(label, 0) + 1
        labels.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return labels


def expand(paths: list[Path | str]) -> list[Path]:
    """Files as given; folders become the notebooks inside them (one level of sub-folders too)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = []
            for pattern in ("*.ipynb", "*.md", "*/*.ipynb", "*/*.md"):
                found += [
                    f
                    for f in p.glob(pattern)
                    if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
                    and f.name.lower() != "readme.md"
                ]
            out += sorted(set(found))
        else:
            out.append(p)
    return out
