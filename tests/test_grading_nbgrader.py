"""The nbgrader route, end to end on chapter 02, with the real nbgrader.

`attn-edu nbgrader-course` writes a course; nbgrader's own commands
(generate_assignment, autograde, generate_feedback, export) then run on it as
an instructor would run them, in a subprocess. Three students hand in: the
solution, the blank notebook they were given, and an answer that is right
for images only. The course is built and graded once for the module (about
30 s on two CPU cores). These tests are skipped where nbgrader is not
installed; the last three, on writing the course, run everywhere.
"""

from __future__ import annotations

import ast
import csv
import html
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from attn_edu.cli import main
from attn_edu.grading import get_exercise

needs_nbgrader = pytest.mark.skipif(
    importlib.util.find_spec("nbgrader") is None,
    reason="nbgrader is not installed (pip install -c constraints.txt -e '.[nbgrader]', or `make test`)",
)

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "02-squeeze-and-excitation"
NOTEBOOK = f"{CHAPTER}.ipynb"
STUDENTS = ("solution", "blank", "partial")

# A squeeze that averages over two axes only: right for images (B, C, H, W),
# wrong for signals and videos, so it earns part of the exercise's point.
SQUEEZE_FOR_IMAGES_ONLY = '''def squeeze(x):
    """The average of every channel over the positions of an image."""
    return x.mean(dim=(2, 3), keepdim=True)'''


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course folder, as an instructor would."""
    env = dict(os.environ)
    # nbgrader calls `alembic` from the PATH; it sits beside this Python.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # Only the course's nbgrader_config.py, not one in the user's ~/.jupyter.
    env["JUPYTER_CONFIG_DIR"] = str(course / ".jupyter-config")
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def cells_by_id(notebook) -> dict:
    return {c.metadata["nbgrader"]["grade_id"]: c for c in notebook.cells if "nbgrader" in c.metadata}


def without_solution_markers(source: str) -> str:
    """A solution cell as a student who found the answer would hand it in."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def hand_in(course: Path, student: str, answers: dict[str, str]) -> None:
    """Put the released notebook, with ``answers`` (grade_id -> source) filled in, where nbgrader collects it."""
    notebook = nbformat.read(course / "release" / CHAPTER / NOTEBOOK, as_version=4)
    cells = cells_by_id(notebook)
    for grade_id, source in answers.items():
        cells[grade_id].source = source
    folder = course / "submitted" / student / CHAPTER
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / NOTEBOOK)


def run_cell(source: str, namespace: dict):
    """Run a cell's code as a notebook does; return the value of its last expression."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
    return None


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("course")
    assert main(["nbgrader-course", str(course), "--assignment", "02", "--solutions", str(ROOT / "solutions")]) == 0
    nbgrader(course, "generate_assignment", CHAPTER, "--force")

    source = cells_by_id(nbformat.read(course / "source" / CHAPTER / NOTEBOOK, as_version=4))
    solutions = {gid: without_solution_markers(c.source) for gid, c in source.items() if c.metadata["nbgrader"]["solution"]}
    hand_in(course, "solution", solutions)
    hand_in(course, "blank", {})
    hand_in(course, "partial", {**solutions, "se-squeeze": SQUEEZE_FOR_IMAGES_ONLY})

    nbgrader(course, "autograde", CHAPTER, "--create", "--force")
    nbgrader(course, "generate_feedback", CHAPTER, "--force")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    return course


def check_cell_scores(course: Path, student: str) -> dict[str, tuple[float, float]]:
    """grade_id -> (score, max score) of every check cell, from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_submission_notebook(CHAPTER, CHAPTER, student)
        return {g.name: (g.score, g.max_score) for g in notebook.grades}


@needs_nbgrader
def test_course_has_the_source_notebook_and_the_shipped_configuration(course):
    assert (course / "source" / CHAPTER / NOTEBOOK).is_file()
    assert (course / "nbgrader_config.py").read_text() == (ROOT / "solutions" / "nbgrader_config.py").read_text()


@needs_nbgrader
def test_release_equals_the_exercise_notebook_cell_for_cell(course):
    released = nbformat.read(course / "release" / CHAPTER / NOTEBOOK, as_version=4)
    exercise = jupytext.read(ROOT / "exercises" / f"{CHAPTER}.md")

    def cells(notebook):
        return [(c.cell_type, "\n".join(line.rstrip() for line in c.source.split("\n")).rstrip()) for c in notebook.cells]

    assert cells(released) == cells(exercise)


@needs_nbgrader
def test_the_solution_gets_full_marks_and_the_blank_notebook_none(course):
    full = check_cell_scores(course, "solution")
    blank = check_cell_scores(course, "blank")
    assert sorted(full) == ["se-fix-check", "se-forward-check", "se-parameters-check", "se-squeeze-check"]
    assert all(score == maximum > 0 for score, maximum in full.values()), full
    assert all(score == 0 for score, _ in blank.values()), blank


@needs_nbgrader
def test_partial_answer_gets_the_partial_credit_that_check_returns(course):
    # What `check` returns for this answer, run here as the notebook runs it:
    # the answer's cell, then the instructor's check cell with its hidden tests.
    source = cells_by_id(nbformat.read(course / "source" / CHAPTER / NOTEBOOK, as_version=4))
    namespace: dict = {}
    run_cell(source["setup"].source, namespace)
    run_cell(SQUEEZE_FOR_IMAGES_ONLY, namespace)
    expected = run_cell(source["se-squeeze-check"].source, namespace)

    scores = check_cell_scores(course, "partial")
    score, maximum = scores["se-squeeze-check"]
    assert 0 < expected < maximum
    assert score == pytest.approx(expected)
    assert all(s == m for gid, (s, m) in scores.items() if gid != "se-squeeze-check"), scores


@needs_nbgrader
def test_autograde_runs_the_hidden_tests(course):
    # Without this the feedback test below would pass for a trivial reason.
    graded = cells_by_id(nbformat.read(course / "autograded" / "partial" / CHAPTER / NOTEBOOK, as_version=4))
    assert "hidden_cases(" in graded["se-squeeze-check"].source
    table = "".join(o.get("data", {}).get("text/plain", "") for o in graded["se-squeeze-check"].outputs)
    assert "hidden:" in table


def page_text(page: str) -> str:
    """An HTML page's text: the highlighted code joined again, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@needs_nbgrader
@pytest.mark.parametrize("student", STUDENTS)
def test_feedback_shows_the_check_output_but_no_hidden_test_source(course, student):
    text = page_text((course / "feedback" / student / CHAPTER / f"{CHAPTER}.html").read_text())
    assert "BEGIN HIDDEN TESTS" not in text
    assert "hidden_cases(" not in text
    # The visible part of the check cell, and the table its check showed.
    assert 'check("02-squeeze-and-excitation", "se-squeeze", squeeze)' in text
    for exercise in ("se-squeeze", "se-forward", "se-parameters", "se-fix"):
        assert get_exercise(CHAPTER, exercise).title in text


@needs_nbgrader
def test_export_writes_every_students_score(course):
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert sorted(rows) == sorted(STUDENTS)
    partial = check_cell_scores(course, "partial")["se-squeeze-check"][0]
    assert {name: float(row["raw_score"]) for name, row in rows.items()} == pytest.approx(
        {"solution": 7.0, "blank": 0.0, "partial": 6.0 + partial}
    )
    assert {float(row["max_score"]) for row in rows.values()} == {7.0}


# Writing the course: no nbgrader needed.


def test_writing_the_course_again_changes_nothing_and_keeps_an_edited_config(tmp_path, capsys):
    args = ["nbgrader-course", str(tmp_path), "--assignment", "02", "--solutions", str(ROOT / "solutions")]
    assert main(args) == 0
    notebook = tmp_path / "source" / CHAPTER / NOTEBOOK
    first = notebook.read_text()
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # the instructor's own\n")
    capsys.readouterr()
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0 written, 1 unchanged" in out and "kept" in out
    assert notebook.read_text() == first
    assert (tmp_path / "nbgrader_config.py").read_text() == "c = get_config()  # the instructor's own\n"


def test_an_unknown_chapter_is_refused_with_the_known_ones(tmp_path, capsys):
    assert main(["nbgrader-course", str(tmp_path), "--assignment", "99", "--solutions", str(ROOT / "solutions")]) == 2
    err = capsys.readouterr().err
    assert "'99'" in err and CHAPTER in err
    assert not (tmp_path / "nbgrader_config.py").exists()


def test_the_course_is_written_where_nbgrader_cannot_be_imported(tmp_path):
    # attn_edu, this command included, must not need nbgrader; only running the course does.
    script = (
        "import sys; sys.modules['nbgrader'] = None\n"  # `import nbgrader` now fails
        "from attn_edu.cli import main\n"
        f"sys.exit(main(['nbgrader-course', {str(tmp_path)!r}, '--assignment', '02', '--solutions', {str(ROOT / 'solutions')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "nbgrader is not installed" in done.stdout
    assert (tmp_path / "source" / CHAPTER / NOTEBOOK).is_file()
