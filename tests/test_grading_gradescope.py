"""The Gradescope archive of chapter 02, unpacked and run the way Gradescope runs it.

Each run lays out ROOT/source (the unzipped archive), ROOT/submission and
ROOT/results, and calls ROOT/run_autograder with AUTOGRADER_ROOT=ROOT, this
venv's python, and PYTHONPATH set to the archive's own copy of attn_edu, so
that a file missing from the archive fails here. setup.sh is not run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import nbformat
import pytest

from attn_edu.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "02-squeeze-and-excitation"
SOLUTION = ROOT / "solutions" / f"{CHAPTER}.md"
EXERCISE = ROOT / "exercises" / f"{CHAPTER}.md"
FULL_MARKS = 7
VISIBILITIES = {"visible", "after_due_date", "after_published", "hidden"}


def build(folder: Path, *options: str) -> Path:
    out = folder / "autograder.zip"
    assert main(["gradescope", "--assignment", "02", "--out", str(out), "--solutions", str(ROOT / "solutions"), *options]) == 0
    return out


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("archives")
    return {
        "show": build(folder / "show", "--hidden-details", "show", "--hidden-visibility", "after_published"),
        "hide": build(folder / "hide"),
        "unsandboxed": build(folder / "unsandboxed", "--allow-unsandboxed"),
    }


def run_autograder(archive: Path, root: Path, submission: dict[str, str | bytes], path_prefix: Path | None = None, python: str = sys.executable) -> dict:
    """Unzip ``archive`` into ROOT/source as Gradescope does, run ROOT/run_autograder, read results.json."""
    source = root / "source"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(source)
        for info in zf.infolist():
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(source / info.filename, mode)
    for name, content in submission.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    (root / "submission").mkdir(exist_ok=True)
    (root / "results").mkdir()
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    env = {
        **os.environ,
        "AUTOGRADER_ROOT": str(root),
        "ATTN_EDU_PYTHON": python,
        "PYTHONPATH": str(source / "attn-edu"),
    }
    if path_prefix is not None:
        env["PATH"] = f"{path_prefix}{os.pathsep}{env['PATH']}"
    done = subprocess.run([str(root / "run_autograder")], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def assert_gradescope_schema(results: dict) -> None:
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["output"], str)
    assert results.get("stdout_visibility", "hidden") in VISIBILITIES
    for test in results["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        if "score" in test:
            assert 0 <= test["score"] <= test["max_score"]


def scored(results: dict) -> list[dict]:
    return [t for t in results["tests"] if "max_score" in t]


def hidden_test_source() -> list[str]:
    """The lines between the hidden-test markers of the solution, stripped."""
    text = SOLUTION.read_text()
    blocks = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", text, re.S)
    assert len(blocks) == 4
    return [line.strip() for block in blocks for line in block.splitlines() if len(line.strip()) > 3]


def wrong_submission() -> str:
    """The solution with two mistakes: squeeze averages only H and W, the count always has biases."""
    text = SOLUTION.read_text()
    mistakes = {
        "return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)": "return x.mean(dim=(2, 3), keepdim=True)",
        "biases = hidden + channels if bias else 0": "biases = hidden + channels",
    }
    for right, wrong in mistakes.items():
        assert right in text, f"the solution no longer contains {right!r}; update wrong_submission()"
        text = text.replace(right, wrong)
    return text


def as_ipynb(markdown_path: Path) -> str:
    return nbformat.writes(jupytext.read(markdown_path))


def test_the_archive_holds_setup_run_autograder_one_solution_and_the_package(archives):
    with zipfile.ZipFile(archives["show"]) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        setup = zf.read("setup.sh").decode()
        config = json.loads(zf.read("autograder.json"))
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & stat.S_IXUSR, f"{script} is not executable"
    assert "apt-get install" in setup and "bubblewrap" in setup
    assert "torch==2.13.0" in setup and "--index-url https://download.pytorch.org/whl/cpu" in setup
    assert [n for n in infos if n.startswith("solutions/")] == [f"solutions/{CHAPTER}.md"]
    assert {"attn-edu/pyproject.toml", "attn-edu/attn_edu/__init__.py", "attn-edu/attn_edu/cli.py"} <= set(infos)
    assert not [n for n in infos if n.startswith(("tests/", "book/", "exercises/")) or "__pycache__" in n]
    assert config == {
        "assignment": CHAPTER, "hidden_details": "show", "hidden_visibility": "after_published",
        "allow_unsandboxed": False, "timeout": 120.0,
    }


def test_the_solution_gets_full_marks_and_the_notebook_named_like_the_assignment_is_chosen(archives, tmp_path):
    submission = {"scratch.md": EXERCISE.read_text(), f"hw/{CHAPTER}.ipynb": as_ipynb(SOLUTION)}
    results = run_autograder(archives["show"], tmp_path, submission)
    assert_gradescope_schema(results)
    assert results["score"] == FULL_MARKS
    assert [t["name"].rstrip(" ★") for t in scored(results)] == [
        "The squeeze: global average pooling", "SE's forward pass", "Counting SE's parameters", "Fix the blog's SE block",
    ]
    assert all(t["score"] == t["max_score"] for t in scored(results))
    assert f"Graded {CHAPTER}.ipynb" in results["output"] and "scratch.md" in results["output"]


def test_the_blank_exercise_notebook_gets_zero(archives, tmp_path):
    results = run_autograder(archives["show"], tmp_path, {"exercise.md": EXERCISE.read_text()})
    assert_gradescope_schema(results)
    assert results["score"] == 0
    assert sum(t["max_score"] for t in scored(results)) == FULL_MARKS
    assert all(t["score"] == 0 for t in scored(results))
    assert "NotImplementedError" in scored(results)[0]["output"]


@pytest.fixture(scope="module")
def wrong(archives, tmp_path_factory):
    """results.json of the wrong submission, from the archive that shows hidden checks and the one that hides them."""
    return {
        details: run_autograder(archives[details], tmp_path_factory.mktemp(f"wrong-{details}"), {"answers.md": wrong_submission()})
        for details in ("show", "hide")
    }


def test_a_wrong_submission_gets_partial_credit_and_hidden_checks_as_the_instructor_chose(wrong):
    results = wrong["show"]
    assert_gradescope_schema(results)
    assert 0 < results["score"] < FULL_MARKS
    points = {t["name"].rstrip(" ★"): t["score"] for t in scored(results)}
    assert points["SE's forward pass"] == 3 and points["Fix the blog's SE block"] == 2
    assert 0 < points["The squeeze: global average pooling"] < 1 and 0 < points["Counting SE's parameters"] < 1
    assert results["score"] == pytest.approx(sum(points.values()), abs=0.02)
    # Every scored entry is visible; the hidden checks sit in unscored entries, after_published.
    assert {t["visibility"] for t in scored(results)} == {"visible"}
    hidden = [t for t in results["tests"] if "max_score" not in t]
    assert len(hidden) == 4 and {t["visibility"] for t in hidden} == {"after_published"}
    squeeze_hidden = next(t for t in hidden if t["name"].startswith("The squeeze"))
    assert "✗ hidden: videos (B, C, T, H, W)" in squeeze_hidden["output"]
    assert "✗ signals (B, C, L)" in scored(results)[0]["output"]
    assert re.search(r"Hidden checks: [0-5] of 6 passed\.", scored(results)[0]["output"])


def test_hidden_test_source_never_reaches_results_json(wrong):
    shown = json.dumps(wrong["show"])
    hidden = wrong["hide"]
    assert_gradescope_schema(hidden)
    text = json.dumps(hidden)
    for line in hidden_test_source():
        assert json.dumps(line)[1:-1] not in shown and json.dumps(line)[1:-1] not in text, line
    # Hidden: not even the hidden checks' names, or the inputs their messages quote.
    assert len(hidden["tests"]) == 4 and "hidden: " not in text
    assert "randn(2, 5, 11)" in shown and "randn(2, 5, 11)" not in text
    assert "96, 8, False" not in text


def test_a_submission_without_a_notebook_gets_zero_and_a_message(archives, tmp_path):
    results = run_autograder(archives["hide"], tmp_path, {"answers.txt": "forgot the notebook"})
    assert_gradescope_schema(results)
    assert results["score"] == 0 and results["tests"] == []
    assert "No notebook found" in results["output"]


@pytest.fixture
def broken_bwrap(tmp_path):
    """A ``bwrap`` first on PATH that fails the way it does where user namespaces are not allowed."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    return folder


def test_without_a_working_sandbox_the_student_is_told_and_nothing_runs(archives, tmp_path, broken_bwrap):
    results = run_autograder(archives["hide"], tmp_path / "root", {"answers.md": SOLUTION.read_text()}, path_prefix=broken_bwrap)
    assert_gradescope_schema(results)
    assert results["score"] == 0 and results["tests"] == []
    assert "sandbox does not work" in results["output"] and "No permissions" in results["output"]


def test_allow_unsandboxed_grades_without_the_sandbox_and_says_so(archives, tmp_path, broken_bwrap):
    results = run_autograder(archives["unsandboxed"], tmp_path / "root", {"answers.md": SOLUTION.read_text()}, path_prefix=broken_bwrap)
    assert_gradescope_schema(results)
    assert "without the bubblewrap sandbox" in results["output"]
    assert results["score"] == FULL_MARKS


def test_an_autograder_that_cannot_start_still_writes_results_json(archives, tmp_path):
    results = run_autograder(archives["hide"], tmp_path, {"answers.md": SOLUTION.read_text()}, python="/bin/false")
    assert results["score"] == 0 and "failed before grading" in results["output"]
