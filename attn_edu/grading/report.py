"""Stage 5 of batch grading: the gradebook, the full results and each student's feedback.

``write_reports(results, grader, out)`` writes, each file atomically (a
temporary file in the same folder, then a rename), in this order:
``grades.csv`` (the gradebook), ``results.jsonl`` (every check of every
exercise, for the instructor) and ``feedback/<submission>.md`` (for the
student). Feedback shows check names and messages, never test source;
with ``hidden_details="hide"`` a failed hidden check says only that a hidden
case failed, not which.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
import re
from pathlib import Path

from . import compare, lms
from .assign import write_atomically
from .feedback import result_markdown

STATUSES = {
    "invalid-notebook": "the file is not a notebook that can be read; nothing was run",
    "grader-error": "the grading environment failed on this submission, not the notebook; the instructor must look at it",
    "interrupted": "the instructor stopped grading before this notebook finished; it was not graded",
    "timeout": "a cell, an answer or the whole notebook ran longer than allowed and was stopped",
    "cpu-limit": "the notebook used more CPU time than allowed and was stopped",
    "memory-limit": "the notebook tried to use more memory than allowed",
    "exited": "the notebook ended the grading process (os._exit or similar) before its last cell",
    "crashed": "the grading process died (killed by a signal)",
    "output-unreadable": "the notebook's process sent data the grader could not read; what could be read was graded",
    "reference-used": "an answer uses attn_edu's own implementation; that exercise gets 0 points",
    "cell-error": "a cell raised an error; exercises whose answers could still be obtained were graded",
    "sys-exit": "a cell called sys.exit(); as in Jupyter, grading went on with the next cell",
    "monkeypatch": "the code changes attributes of torch, attn_edu or other modules; it cannot change the grading",
    "fake-output": "the notebook prints text that looks like grader output; it is ignored",
    "locked-cell-edited": "a locked cell (setup, given code or a check) was changed or deleted; the original was used",
    "no-metadata": "the notebook has lost its nbgrader cell metadata; all its cells were run, then every answer checked",
    "imports-attn-edu": "the code imports parts of attn_edu other than grading, which grading does not offer (see the feedback)",
}
EXERCISE_STATUSES = {
    "graded": "checked",
    "missing": "the answer is not defined when its check cell runs",
    "not-reached": "grading stopped before this exercise's check cell",
    "timeout": "checking the answer took too long",
    "reference-used": "the answer uses attn_edu's own implementation",
    "wrong-kind": "the answer is not the kind of object the exercise asks for",
    "error": "the answer could not be checked",
    "memory-limit": "checking the answer ran out of memory",
}
@dataclass
class ExerciseResult:
    id: str
    title: str
    points: float
    max_points: float
    status: str
    result: compare.CheckResult | None = None
    message: str = ""

    def to_dict(self) -> dict:
        data = {
            "id": self.id,
            "title": self.title,
            "points": self.points,
            "max_points": self.max_points,
            "status": self.status,
            "message": self.message,
        }
        if self.result is not None:
            data.update(self.result.to_dict())
            data.pop("name", None)
        return data


@dataclass
class SubmissionResult:
    submission: str
    path: str
    flags: list[str] = field(default_factory=list)
    exercises: list[ExerciseResult] = field(default_factory=list)
    cells: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    peak_memory_mb: float | None = None  # all its processes together, as the sandbox's cgroup measured

    @property
    def total(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_total(self) -> float:
        return round(sum(e.max_points for e in self.exercises), 2)

    @property
    def status(self) -> str:
        flags = [s for s in STATUSES if s in self.flags]
        return ";".join(flags) if flags else "ok"

    def to_dict(self) -> dict:
        return {
            "submission": self.submission,
            "path": self.path,
            "status": self.status,
            "total": _number(self.total),
            "max_total": _number(self.max_total),
            "seconds": round(self.seconds, 3),
            "peak_memory_mb": self.peak_memory_mb,
            "notes": self.notes,
            "cells": self.cells,
            "exercises": [e.to_dict() for e in self.exercises],
        }


def _number(x: float):
    return int(x) if float(x).is_integer() else round(x, 2)



def _safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "submission"


def gradebook_csv(results: list[SubmissionResult], exercise_ids: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "total", "max_total", "status", *exercise_ids])
    for r in results:
        points = {e.id: e.points for e in r.exercises}
        writer.writerow([r.submission, _number(r.total), _number(r.max_total), r.status, *(_number(points.get(i, 0)) for i in exercise_ids)])
    return buffer.getvalue()


HIDDEN_DETAILS = ("hide", "show")
HIDDEN_FAILED = "a hidden case failed (the instructor does not show hidden cases)"


def without_hidden_details(result: compare.CheckResult) -> compare.CheckResult:
    """A copy of ``result`` whose failed hidden checks say only that a hidden case failed."""
    checks = [
        compare.Check(**{**vars(c), "message": HIDDEN_FAILED}) if (c.hidden or c.name.startswith("hidden")) and not c.passed else c
        for c in result.checks
    ]
    cases = [c for c in result.cases if not c.get("hidden")]
    return compare.CheckResult(**{**vars(result), "checks": checks, "cases": cases})


def feedback_markdown(result: SubmissionResult, chapter: str, hidden_details: str = "hide") -> str:
    lines = [
        f"# Feedback: {chapter}",
        "",
        f"Submission: `{result.submission}`",
        "",
        f"**Total: {_number(result.total)} / {_number(result.max_total)} points.** Status: `{result.status}`.",
        "",
    ]
    for flag in [s for s in STATUSES if s in result.flags]:
        lines.append(f"- `{flag}`: {STATUSES[flag]}.")
    lines += [f"- {n}" for n in result.notes]
    if result.cells:
        lines += ["", "## Cells that did not finish", ""]
        for c in result.cells:
            lines.append(f"- `{c['cell']}` ({c['status']}): {c['error']}")
    lines.append("")
    for e in result.exercises:
        if e.result is not None:
            shown = e.result if hidden_details == "show" else without_hidden_details(e.result)
            lines.append(result_markdown(shown, e.title, e.points, e.max_points, e.status))
        else:
            lines += [f"### {e.title}: {_number(e.points)} / {_number(e.max_points)} points", "", f"Status: **{e.status}**: {e.message}.", ""]
    lines.append(
        "_The checks compare your code with a reference implementation on many inputs; "
        "rows marked hidden use inputs you did not see in the notebook._"
    )
    return "\n".join(lines) + "\n"


def write_reports(
    results: list[SubmissionResult],
    grader,
    out: Path | str,
    *,
    results_path: Path | str | None = None,
    feedback_dir: Path | str | None = None,
    roster: dict[str, str] | None = None,
) -> dict:
    """Write the gradebook first, then the status table, results.jsonl and the feedback files.

    ``out`` (grades.csv) is the gradebook a learning-management system
    imports (``lms.lms_csv``: a student identifier, points per exercise, the
    total); ``status.csv`` beside it lists each submission's status for the
    instructor. If the gradebook cannot be built as asked (two notebooks of
    one student, a student missing from ``roster``), it is written with one
    row per submission instead and ``warnings`` says why. Every file is
    written atomically.
    """
    out = Path(out)
    results_path = Path(results_path) if results_path else out.parent / "results.jsonl"
    feedback_dir = Path(feedback_dir) if feedback_dir else out.parent / "feedback"
    status_path = out.with_name("status.csv")
    ids = list(grader.exercises)
    records = [{"assignment": grader.chapter, **r.to_dict()} for r in results]
    titles = {ex_id: ex.label for ex_id, ex in grader.exercises.items()}
    warnings: list[str] = []
    try:
        gradebook = lms.lms_csv(records, titles, roster)
    except ValueError as exc:
        warnings.append(f"{exc}; grades.csv has one row per submission instead, named by its path")
        unique = [{**r, "path": f"{i + 1}-{re.sub(r'[^A-Za-z0-9.-]+', '-', r['submission'])}.ipynb"} for i, r in enumerate(records)]
        gradebook = lms.lms_csv(unique, titles)
    write_atomically(out, gradebook)
    write_atomically(status_path, gradebook_csv(results, ids))
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    write_atomically(results_path, "\n".join(lines) + ("\n" if lines else ""))
    feedback_dir.mkdir(parents=True, exist_ok=True)
    used = set()
    for r in results:
        name = _safe_name(r.submission)
        while name in used:
            name += "_"
        used.add(name)
        text = feedback_markdown(r, grader.chapter, getattr(grader, "hidden_details", "hide"))
        write_atomically(feedback_dir / f"{name}.md", text)
    return {"grades": out, "status": status_path, "results": results_path, "feedback": feedback_dir, "warnings": warnings}
