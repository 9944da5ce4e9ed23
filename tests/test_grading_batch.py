"""The batch grader: full marks for the solutions, 0 for the exercises, the
right score and a clear status for every adversarial submission, and a
gradebook that is always whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from attn_edu.grading import sandbox
from attn_edu.grading.batch import STATUSES, Grader, GradingEnvironmentError, expand, read_submission, write_reports, SubmissionError
from attn_edu.grading.lms import IDENTITY_COLUMNS
from grading_fixtures.adversarial import CPU_HOG, KILLS_THE_GRADER, LINGERING, SUBMISSIONS
from grading_fixtures.build import NOT_JSON, write_submissions

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]-*.md"))
needs_sandbox = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"the grading sandbox cannot run here: {sandbox.problem()}"
)
# Short limits keep the endless loops of the fixtures cheap; the notebook limit
# leaves room for a fresh interpreter per submission on a busy machine.
LIMITS = {"timeout": 20, "cell_timeout": 3, "memory_mb": 768}
# Honest notebooks get room to run on a busy machine (chapter 06's solution takes
# about 4 s alone, more beside other work).
HONEST_LIMITS = {"timeout": 60, "cell_timeout": 20, "memory_mb": 1536}


@pytest.fixture(scope="module")
def graded_solutions_and_exercises(tmp_path_factory):
    if sandbox.problem():
        pytest.skip(f"the grading sandbox cannot run here: {sandbox.problem()}")
    out = {}
    for chapter in CHAPTERS:
        # The test grades the solution itself, so the grader need not check it first.
        grader = Grader(ROOT / "solutions" / f"{chapter}.md", jobs=2, check_solution=False, **HONEST_LIMITS)
        paths = [ROOT / "solutions" / f"{chapter}.md", ROOT / "exercises" / f"{chapter}.md"]
        out[chapter] = (grader, grader.grade(paths))
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_solution_notebook_gets_full_marks(graded_solutions_and_exercises, chapter):
    _, (solution, _) = graded_solutions_and_exercises[chapter]
    assert solution.total == solution.max_total > 0, solution.to_dict()
    assert solution.status == "ok"
    assert all(e.status == "graded" for e in solution.exercises)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_generated_exercise_notebook_gets_zero(graded_solutions_and_exercises, chapter):
    _, (_, exercise) = graded_solutions_and_exercises[chapter]
    assert exercise.total == 0 and exercise.max_total > 0
    # Stubs raise only when called: in the grader's probes, or (chapter 11) in a
    # given cell that measures the student's function.
    assert exercise.status in ("ok", "cell-error"), exercise.notes
    assert all(c["error"].startswith("NotImplementedError") for c in exercise.cells), exercise.cells


@pytest.fixture(scope="module")
def adversarial(tmp_path_factory):
    if sandbox.problem():
        pytest.skip(f"the grading sandbox cannot run here: {sandbox.problem()}")
    folder = tmp_path_factory.mktemp("submissions")
    paths = write_submissions(folder)
    grader = Grader(ROOT / "solutions" / "02-squeeze-and-excitation.md", jobs=2, **LIMITS)
    results = grader.grade(list(paths.values()))
    out = tmp_path_factory.mktemp("gradebook") / "grades.csv"
    written = write_reports(results, grader, out)
    return grader, dict(zip(paths, results)), written


@pytest.mark.parametrize("name", sorted(SUBMISSIONS))
def test_adversarial_submission_gets_the_right_score_and_status(adversarial, name):
    _, results, _ = adversarial
    result = results[name]
    expect = SUBMISSIONS[name]["expect"]
    points = {e.id: e.points for e in result.exercises}
    assert points == expect["points"], result.to_dict()
    for flag in expect["flags"]:
        assert flag in result.status.split(";"), (flag, result.status, result.notes)
    if not expect["flags"]:
        assert result.status == "ok", result.notes


def _grade_specs(tmp_path, specs, **limits):
    paths = write_submissions(tmp_path / "submissions", specs=specs)
    grader = Grader(ROOT / "solutions" / "02-squeeze-and-excitation.md", jobs=1, check_solution=False, **{**LIMITS, **limits})
    return dict(zip(paths, grader.grade(list(paths.values()))))


def _check(result, expect):
    assert {e.id: e.points for e in result.exercises} == expect["points"], result.to_dict()
    for flag in expect["flags"]:
        assert flag in result.status.split(";"), (flag, result.status, result.notes)


def _processes_running(word: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"sleep") and word.encode() in args:
            found.append(cmdline.parent.name)
    return found


@needs_sandbox
def test_processes_started_by_a_submission_do_not_outlive_it(tmp_path):
    results = _grade_specs(tmp_path, LINGERING)
    _check(results["leaves-a-process-behind"], LINGERING["leaves-a-process-behind"]["expect"])
    assert not _processes_running("4242")


@needs_sandbox
def test_the_cpu_time_limit_stops_a_busy_notebook(tmp_path):
    results = _grade_specs(tmp_path, CPU_HOG, cpu_seconds=6, cell_timeout=20, timeout=30)
    _check(results["burns-cpu"], CPU_HOG["burns-cpu"]["expect"])


@needs_sandbox
def test_a_submission_cannot_kill_the_grader(tmp_path):
    results = _grade_specs(tmp_path, KILLS_THE_GRADER)
    _check(results["kills-the-grader"], KILLS_THE_GRADER["kills-the-grader"]["expect"])


@needs_sandbox
def test_the_grader_refuses_to_start_when_the_solution_does_not_get_full_marks_here(tmp_path):
    # Half a CPU second is too little for any notebook: the environment, not the
    # students, would be at fault, so nothing is graded.
    grader = Grader(ROOT / "solutions" / "02-squeeze-and-excitation.md", cpu_seconds=0.5, timeout=20)
    with pytest.raises(GradingEnvironmentError, match="the chapter's own solution scores 0 / 7"):
        grader.grade([ROOT / "solutions" / "02-squeeze-and-excitation.md"])


def test_without_the_sandbox_the_grader_refuses_unless_told(monkeypatch):
    from attn_edu.grading import batch

    monkeypatch.setattr(batch.sandbox, "problem", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(batch.SandboxUnavailable, match="bwrap.*--unsafe-no-sandbox"):
        Grader(ROOT / "solutions" / "02-squeeze-and-excitation.md")


def test_told_to_grade_without_the_sandbox_it_still_grades_correctly(tmp_path):
    grader = Grader(ROOT / "solutions" / "02-squeeze-and-excitation.md", unsafe_no_sandbox=True, check_solution=False, **HONEST_LIMITS)
    solution, exercise = grader.grade([ROOT / "solutions" / "02-squeeze-and-excitation.md", ROOT / "exercises" / "02-squeeze-and-excitation.md"])
    assert (solution.total, exercise.total, solution.status, exercise.status) == (7, 0, "ok", "ok")


def test_a_file_that_is_not_json_is_an_invalid_notebook(adversarial):
    _, results, _ = adversarial
    result = results["not-json"]
    assert result.status == "invalid-notebook" and result.total == 0 and result.max_total == 7
    assert "not a valid notebook" in result.notes[0]


def test_every_status_is_explained():
    for status, text in STATUSES.items():
        assert text and status == status.lower()


def test_the_gradebook_has_one_row_per_submission_and_one_column_per_exercise(adversarial):
    grader, results, written = adversarial
    with open(written["grades"], newline="") as f:
        rows = list(csv.DictReader(f))
    titles = [ex.label.rstrip(" ★") for ex in grader.exercises.values()]
    assert list(rows[0]) == [*IDENTITY_COLUMNS, *titles, f"{grader.chapter} total"]
    assert len(rows) == len(results)
    with open(written["status"], newline="") as f:
        statuses = list(csv.DictReader(f))
    assert list(statuses[0])[:4] == ["submission", "total", "max_total", "status"]
    assert list(statuses[0])[4:] == list(grader.exercises)
    by_name = {Path(r["submission"]).stem: r for r in statuses}
    assert by_name["os-exit"]["status"] == "exited" and float(by_name["os-exit"]["total"]) == 4
    by_student = {r["Student"]: r for r in rows}
    assert float(by_student["os-exit"][f"{grader.chapter} total"]) == 4
    leftovers = [p for p in written["grades"].parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, "temporary files left next to the gradebook"


def test_results_jsonl_has_every_check_and_feedback_has_no_hidden_test_source(adversarial):
    _, results, written = adversarial
    lines = [json.loads(line) for line in written["results"].read_text().splitlines()]
    assert len(lines) == len(results)
    solution = next(r for r in lines if r["submission"].endswith("solution-as-ipynb.ipynb"))
    forward = next(e for e in solution["exercises"] if e["id"] == "se-forward")
    assert forward["points"] == 3 and forward["cases"] and all(c["passed"] for c in forward["cases"])
    assert any(c["hidden"] for c in forward["cases"]) and any(c["name"].startswith("hidden:") for c in forward["checks"])
    feedback = list(written["feedback"].glob("*.md"))
    assert len(feedback) == len(results)
    for path in feedback:
        text = path.read_text()
        assert "hidden_cases" not in text and "BEGIN HIDDEN" not in text and "BEGIN SOLUTION" not in text


def test_rewriting_the_gradebook_replaces_it_whole(adversarial, tmp_path):
    grader, results, _ = adversarial
    out = tmp_path / "grades.csv"
    out.write_text("old, half-written gradebook")
    write_reports(list(results.values())[:2], grader, out)
    rows = list(csv.reader(out.open()))
    assert rows[0][0] == "Student" and len(rows) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feedback", "grades.csv", "results.jsonl", "status.csv"]


def test_reading_a_submission_explains_what_is_wrong(tmp_path):
    bad = tmp_path / "a.txt"
    bad.write_text("hello")
    with pytest.raises(SubmissionError, match="unsupported file type"):
        read_submission(bad)
    broken = tmp_path / "broken.ipynb"
    broken.write_text(NOT_JSON)
    with pytest.raises(SubmissionError, match="not a valid notebook"):
        read_submission(broken)


def test_folders_expand_to_the_notebooks_inside(tmp_path):
    (tmp_path / "alice").mkdir()
    (tmp_path / "alice" / "02.ipynb").write_text("{}")
    (tmp_path / "bob.md").write_text("# hi")
    (tmp_path / "README.md").write_text("# readme")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "x.ipynb").write_text("{}")
    assert [p.relative_to(tmp_path).as_posix() for p in expand([tmp_path])] == ["alice/02.ipynb", "bob.md"]
