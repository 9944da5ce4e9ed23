"""The exercise notebooks: solutions are the single source, exercises are
generated from them and up to date, nbgrader can read the metadata, and a
check cell shows a table, returns the points and writes nothing to stderr."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import jupytext
import nbformat
import pytest

from attn_edu.grading import check, hidden_cases
from attn_edu.grading.assign import (
    BEGIN_HIDDEN,
    BEGIN_SOLUTION,
    Assignment,
    assign,
    generate_exercise,
    solution_notebooks,
    strip_solutions,
)
from attn_edu.grading.exercises import CHAPTERS, exercises
from attn_edu.grading.feedback import HIDDEN_NOTE, result_html
from attn_edu.grading.notebook import _HIDDEN

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = solution_notebooks(ROOT / "solutions")
NBGRADER_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution"}


def book_slugs() -> set[str]:
    table = (ROOT / "book" / "README.md").read_text()
    return set(re.findall(r"^\| `(\d\d-[a-z0-9-]+)` \|", table, flags=re.M))


def test_there_is_a_solution_notebook_for_every_chapter_with_exercises():
    assert {p.stem for p in SOLUTIONS} == set(CHAPTERS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_notebooks_use_the_chapter_slugs_of_the_book(path):
    assert path.stem in book_slugs()


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_code_cell_carries_nbgrader_metadata_that_survives_conversion(path):
    notebook = jupytext.read(path)
    ipynb = nbformat.reads(nbformat.writes(notebook), as_version=4)  # what nbgrader would read
    code = [c for c in ipynb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        meta = cell.metadata.get("nbgrader")
        assert meta and NBGRADER_KEYS <= set(meta), cell.source[:60]
        assert meta["schema_version"] == 3
        if meta["grade"]:
            assert meta["points"] > 0 and meta["locked"] and not meta["solution"]
        if meta["solution"]:
            assert not meta["locked"] and BEGIN_SOLUTION in cell.source
    ids = [c.metadata["nbgrader"]["grade_id"] for c in code]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_check_cells_match_the_registry(path):
    assignment = Assignment.load(path)
    registered = exercises(path.stem)
    assert assignment.exercise_ids == [ex.id for ex in registered]
    notebook = jupytext.read(path)
    points = {
        c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
        for c in notebook.cells
        if c.cell_type == "code"
    }
    for ex in registered:
        assert points[ex.check_id] == ex.points
        tests = assignment.by_id[ex.check_id]
        assert f'check("{path.stem}", "{ex.id}", {ex.answer})' in tests.source
        assert tests.hidden, f"{ex.id} has no hidden tests"
        assert ex.id in assignment.by_id and assignment.by_id[ex.id].role == "solution"


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_every_exercise_is_introduced_with_its_stars(path):
    text = path.read_text()
    headings = re.findall(r"^## Exercise \d+ (★+) (.+)$", text, flags=re.M)
    registered = exercises(path.stem)
    assert len(headings) == len(registered) >= 4
    for (stars, _), ex in zip(headings, registered):
        assert len(stars) == ex.stars


def test_the_exercises_mix_the_four_kinds():
    ids = {ex.id for chapter in CHAPTERS.values() for ex in chapter.values()}
    assert {"se-forward", "eca-forward", "scse-sse-forward", "scse-forward", "cbam-channel-gate", "cbam-module",
            "bam-forward"} <= ids  # a module's forward given its __init__, or the whole module
    assert {"se-squeeze", "eca-kernel-size", "sdpa", "causal-mask", "cbam-channel-pool"} <= ids  # functions
    assert {"se-parameters", "eca-cost", "attention-flops", "scse-parameters", "cbam-parameters",
            "bam-parameters", "bam-reach"} <= ids  # counts
    assert {"se-fix", "eca-fix", "sdpa-fix", "scse-fix", "cbam-fix", "bam-fix"} <= ids  # find and fix the bug


def test_exercises_folder_is_up_to_date_with_the_solutions():
    report = assign(ROOT / "solutions", ROOT / "exercises", check=True)
    assert not report["stale"], f"run `attn-edu assign`: {report['stale']} are out of date"
    assert not report["orphaned"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_generated_exercises_have_stubs_and_no_solutions_or_hidden_tests(path):
    text = generate_exercise(path)
    assert BEGIN_SOLUTION not in text and BEGIN_HIDDEN not in text and "hidden_cases" not in text
    notebook = jupytext.reads(text, fmt="md:myst")
    solution = jupytext.read(path)
    assert len(notebook.cells) == len(solution.cells)
    for cell, original in zip(notebook.cells, solution.cells):
        assert cell.metadata == original.metadata
        if cell.metadata.get("nbgrader", {}).get("solution"):
            assert "raise NotImplementedError()" in cell.source


def test_assign_check_reports_a_stale_exercise(tmp_path):
    solutions, exercises_dir = tmp_path / "solutions", tmp_path / "exercises"
    shutil.copytree(ROOT / "solutions", solutions)
    assign(solutions, exercises_dir)
    assert assign(solutions, exercises_dir, check=True)["stale"] == []
    path = solutions / "02-squeeze-and-excitation.md"
    path.write_text(path.read_text().replace("def squeeze(x):", "def squeeze(x):  # changed"))
    stale = assign(solutions, exercises_dir, check=True)["stale"]
    assert [p.name for p in stale] == ["02-squeeze-and-excitation.md"]


def test_stubs_keep_the_indentation_of_the_markers():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION"
    assert strip_solutions(source) == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"


# -- the check cell ----------------------------------------------------------------


def test_check_returns_a_plain_number_and_writes_nothing_to_stderr():
    def squeeze(x):
        return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        points = check("02-squeeze-and-excitation", "se-squeeze", squeeze)
    assert type(points) in (int, float) and points == 1
    assert err.getvalue() == ""
    assert "visible checks only" in out.getvalue()  # hidden checks exist: it says so


def test_check_of_a_stub_returns_zero_without_raising():
    def squeeze(x):
        raise NotImplementedError()

    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert check("02", "se-squeeze", squeeze) == 0
    assert "not implemented yet" in out.getvalue()


def test_hidden_cases_are_used_by_the_next_check_only():
    hidden_cases("03-efficient-channel-attention", "eca-kernel-size", [{"args": [3]}])
    assert ("03-efficient-channel-attention", "eca-kernel-size") in _HIDDEN
    with contextlib.redirect_stdout(io.StringIO()) as out:
        check("03-efficient-channel-attention", "eca-kernel-size", lambda channels, gamma=2, b=1: 3)
    assert "hidden: values" in out.getvalue()
    assert ("03-efficient-channel-attention", "eca-kernel-size") not in _HIDDEN


def test_the_html_table_shows_failures_but_no_code():
    from grading_fixtures.wrong_implementations import WRONG

    ex = CHAPTERS["02-squeeze-and-excitation"]["se-forward"]
    result = ex.check(WRONG["se-forward"]["missing sigmoid"])
    html = result_html(result, title=ex.label, points=0, max_points=3, hidden_exist=True)
    assert "<table>" in html and "&#x274C;" in html and "largest error" in html
    assert HIDDEN_NOTE in html
    assert "def " not in html and "torch.sigmoid" not in html


def test_an_exercise_notebook_shows_tables_and_returns_numbers_in_a_kernel(tmp_path):
    """Run the student version of chapter 9 in a real kernel, as JupyterLab would."""
    from nbclient import NotebookClient

    notebook = jupytext.reads(generate_exercise(ROOT / "solutions" / "09-scaled-dot-product-attention.md"), fmt="md:myst")
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True).execute()
    checks = [c for c in notebook.cells if c.cell_type == "code" and c.metadata["nbgrader"]["grade"]]
    assert len(checks) == 4
    for cell in checks:
        kinds = [o.output_type for o in cell.outputs]
        assert "error" not in kinds
        assert not any(o.output_type == "stream" and o.name == "stderr" for o in cell.outputs)
        shown = next(o for o in cell.outputs if o.output_type == "display_data")
        assert "<table>" in shown.data["text/html"] and "hidden" in shown.data["text/html"]
        result = next(o for o in cell.outputs if o.output_type == "execute_result")
        assert float(result.data["text/plain"]) == 0  # nbgrader reads this as partial credit
