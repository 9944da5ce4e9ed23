"""The attn-edu command: assign, grade, exercises."""

from __future__ import annotations

import csv
import subprocess
import sys
import tomllib
from pathlib import Path

from attn_edu.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_command_is_installed_as_a_console_script():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["attn-edu"] == "attn_edu.cli:main"


def test_without_a_command_it_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "assign" in capsys.readouterr().out


def test_assign_check_passes_on_the_repository(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["assign", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_assign_writes_the_exercises_and_check_then_passes(tmp_path, capsys):
    exercises = tmp_path / "exercises"
    assert main(["assign", "--solutions", str(ROOT / "solutions"), "--exercises", str(exercises)]) == 0
    assert sorted(p.name for p in exercises.glob("*.md")) == sorted(p.name for p in (ROOT / "exercises").glob("[0-9][0-9]-*.md"))
    assert main(["assign", "--solutions", str(ROOT / "solutions"), "--exercises", str(exercises), "--check"]) == 0
    (exercises / "02-squeeze-and-excitation.md").write_text("edited by hand")
    assert main(["assign", "--solutions", str(ROOT / "solutions"), "--exercises", str(exercises), "--check"]) == 1
    assert "out of date" in capsys.readouterr().out


def test_exercises_lists_points_and_stars(capsys):
    assert main(["exercises", "09"]) == 0
    out = capsys.readouterr().out
    assert "09-scaled-dot-product-attention (7 points)" in out and "★★★" in out


def test_grade_writes_the_gradebook_results_and_feedback(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "grades.csv"
    args = [
        "grade",
        "solutions/03-efficient-channel-attention.md",
        "exercises/03-efficient-channel-attention.md",
        "--assignment", "03",
        "--out", str(out),
        "--jobs", "2",
        "--timeout", "60",
    ]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "[2/2]" in captured.out and "graded 2 submissions" in captured.out
    rows = list(csv.DictReader((tmp_path / "status.csv").open()))
    assert [float(r["total"]) for r in rows] == [7, 0]
    assert (tmp_path / "results.jsonl").exists() and len(list((tmp_path / "feedback").glob("*.md"))) == 2
    # Both files are named like the assignment, so the gradebook cannot tell the
    # students apart: it says so and keeps one row per submission.
    assert "two submissions for student '03-efficient-channel-attention'" in captured.err
    gradebook = list(csv.DictReader(out.open()))
    assert [float(r["03-efficient-channel-attention total"]) for r in gradebook] == [7, 0]


def test_grade_puts_the_rosters_identifiers_into_the_gradebook(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "alice_02.md").write_text((ROOT / "solutions" / "02-squeeze-and-excitation.md").read_text())
    (tmp_path / "in" / "bob_02.md").write_text((ROOT / "exercises" / "02-squeeze-and-excitation.md").read_text())
    (tmp_path / "roster.csv").write_text("student,lms_id\nalice,S-1001\nbob,S-1002\n")
    out = tmp_path / "out" / "grades.csv"
    code = main(["grade", str(tmp_path / "in"), "--assignment", "02", "--out", str(out), "--jobs", "2",
                 "--timeout", "60", "--roster", str(tmp_path / "roster.csv"), "--solutions", str(ROOT / "solutions")])
    assert code == 0, capsys.readouterr().err
    rows = {r["SIS User ID"]: r for r in csv.DictReader(out.open())}
    assert float(rows["S-1001"]["02-squeeze-and-excitation total"]) == 7
    assert float(rows["S-1002"]["02-squeeze-and-excitation total"]) == 0


def test_grade_rejects_an_unknown_assignment(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code = main(["grade", "exercises/02-squeeze-and-excitation.md", "--assignment", "42", "--out", str(tmp_path / "g.csv")])
    assert code == 2
    assert "no solution notebook for assignment '42'" in capsys.readouterr().err


def test_the_module_runs_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "attn_edu.cli", "exercises", "02"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert done.returncode == 0 and "se-forward" in done.stdout
