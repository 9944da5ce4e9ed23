"""Keep what nbval executes, so that the HTML book reuses the run of `make test`.

nbval runs every chapter of ``_build/notebooks/book/`` cell by cell and keeps
each cell's outputs on its test item (``test_outputs``). At the end of the
session, every chapter whose cells all passed is written with those outputs
to ``_build/executed/book/``: ``tools/build_book.py`` builds the site from
there, without running the book a second time.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "_build" / "notebooks" / "book"
EXECUTED = ROOT / "_build" / "executed" / "book"

_notebooks: dict[Path, dict] = {}  # path -> {"nb": notebook, "cells": count}
_passed: dict[Path, int] = {}  # path -> cells whose test passed


def pytest_runtest_logreport(report) -> None:
    """Count the passed cells of each chapter (the call phase of each cell's test)."""
    if report.when == "call" and report.passed and report.fspath:
        path = (ROOT / str(report.fspath)).resolve()
        _passed[path] = _passed.get(path, 0) + 1


def pytest_runtest_teardown(item) -> None:
    """Put what the cell printed and displayed back into the notebook nbval read."""
    outputs = getattr(item, "test_outputs", None)
    parent = getattr(item, "parent", None)
    notebook = getattr(parent, "nb", None)
    if outputs is None or notebook is None:
        return
    path = Path(str(parent.fspath)).resolve()
    if path.parent != NOTEBOOKS:
        return
    entry = _notebooks.setdefault(path, {"nb": notebook, "cells": 0})
    entry["cells"] += 1
    item.cell.outputs = [dict(output) for output in outputs]
    item.cell.execution_count = entry["cells"]
    for output in item.cell.outputs:
        if output.get("output_type") == "execute_result":
            output["execution_count"] = entry["cells"]


def pytest_sessionfinish(session) -> None:
    if not _notebooks:
        return
    import nbformat

    EXECUTED.mkdir(parents=True, exist_ok=True)
    for path, entry in _notebooks.items():
        code_cells = [c for c in entry["nb"].cells if c.get("cell_type") == "code"]
        target = EXECUTED / path.name
        if _passed.get(path, 0) == entry["cells"] == len(code_cells):
            notebook = nbformat.from_dict(entry["nb"])
            tmp = target.with_name(f".{target.name}.tmp")
            nbformat.write(notebook, tmp)
            tmp.replace(target)
        else:
            target.unlink(missing_ok=True)  # an incomplete run must not leave an old chapter behind
