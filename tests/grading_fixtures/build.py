"""Write the adversarial submissions of ``adversarial.py`` as notebook files."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat

from .adversarial import SUBMISSIONS

ROOT = Path(__file__).resolve().parents[2]
# A notebook file cut off in the middle of its JSON (written at test time:
# the repository ignores *.ipynb files).
NOT_JSON = '{\n "cells": [\n  {"cell_type": "code", "source": "import torch'


def _code(source: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(source)


def build_submission(spec: dict, chapter: str = "02-squeeze-and-excitation") -> nbformat.NotebookNode:
    """The notebook a spec describes: the solution (or exercise) with its edits."""
    base = ROOT / ("exercises" if spec.get("base") == "exercise" else "solutions") / f"{chapter}.md"
    notebook = jupytext.read(base)
    cells = []
    for cell in notebook.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in spec.get("replace", {}):
            cell.source = spec["replace"][gid]
        cells.append(cell)
        for source in spec.get("after", {}).get(gid, []) if gid else []:
            cells.append(_code(source))
    if spec.get("strip_metadata"):
        for cell in cells:
            cell.metadata = {}
    notebook.cells = cells
    return notebook


def write_submissions(folder: Path, names=None, specs: dict | None = None) -> dict[str, Path]:
    """Write every adversarial submission (and the not-JSON file) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, spec in (specs or SUBMISSIONS).items():
        if names is not None and name not in names:
            continue
        notebook = build_submission(spec)
        if spec.get("format") == "md":
            path = folder / f"{name}.md"
            path.write_text(jupytext.writes(notebook, fmt="md:myst"))
        else:
            path = folder / f"{name}.ipynb"
            nbformat.write(notebook, path)
        paths[name] = path
    if specs is None and (names is None or "not-json" in names):
        paths["not-json"] = folder / "not-json.ipynb"
        paths["not-json"].write_text(NOT_JSON)
    return paths
