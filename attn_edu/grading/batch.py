"""Grade a class's notebooks: sandboxed runs, comparison outside them, a CSV gradebook.

``Grader(solution).grade(paths)`` does, for every submission:

1. read it (``.ipynb`` or Jupytext ``.md``); a file that is not a notebook
   gets status ``invalid-notebook`` and 0 points, and the batch goes on;
2. rebuild it from the assignment, as nbgrader does: locked cells (setup,
   given code, check cells) come from the solution notebook, the student's
   solution cells and any cells they added are kept in place;
3. scan the student's code (without running it) for imports from
   ``attn_edu`` and for monkeypatches;
4. run it in a forked child (``sandbox``) with wall-clock, CPU-time and
   memory limits; at each check cell the child runs the grader's probes on
   the answer and returns plain tensors;
5. compare those with the reference here, in the grader's own process, and
   score every exercise whose answer could be obtained.

``write_reports`` writes ``grades.csv`` (atomically), ``results.jsonl``
(every check of every exercise) and one Markdown feedback file per
submission, which shows check names and messages but no test source.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..gpu._runtime import interpret_without_cuda

# Chapter 11's exercises are Triton kernels, run in Triton's interpreter where
# there is no GPU. The grader imports torch._dynamo (and with it Triton) before
# any submission's setup cell could choose, so the choice is made here, before
# the first submission is forked.
interpret_without_cuda()

from . import compare, transfer  # noqa: E402
from .assign import Assignment, AssignError, strip_hidden, write_atomically
from .exercises import Exercise, chapter_slug, exercises
from .feedback import result_markdown
from .integrity import Scanner
from .sandbox import GRADER_FAILED, Job, Step, Task, start

# Submission statuses, most serious first. A submission's status lists all
# that apply, joined by ";", or is "ok".
STATUSES = {
    "invalid-notebook": "the file is not a notebook that can be read; nothing was run",
    "grader-error": "the grader itself failed on this submission; please report it",
    "timeout": "a cell, an answer or the whole notebook ran longer than allowed and was stopped",
    "cpu-limit": "the notebook used more CPU time than allowed and was stopped",
    "memory-limit": "the notebook tried to use more memory than allowed",
    "exited": "the notebook ended the grading process (os._exit or similar) before its last cell",
    "crashed": "the grading process died (killed by a signal)",
    "reference-used": "an answer uses attn_edu's own implementation; that exercise gets 0 points",
    "cell-error": "a cell raised an error; exercises whose answers could still be obtained were graded",
    "sys-exit": "a cell called sys.exit(); as in Jupyter, grading went on with the next cell",
    "monkeypatch": "the code changes attributes of torch, attn_edu or other modules; it cannot change the grading",
    "fake-output": "the notebook prints text that looks like grader output; it is ignored",
    "locked-cell-edited": "a locked cell (setup, given code or a check) was changed or deleted; the original was used",
    "no-metadata": "the notebook has lost its nbgrader cell metadata; all its cells were run, then every answer checked",
    "imports-attn-edu": "the code imports parts of attn_edu other than grading (see the feedback)",
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
FAKE_OUTPUT = re.compile(
    r"(?i)(all (visible )?(tests|checks) passed|\btests? passed\b|\b\d+(\.\d+)?\s*/\s*\d+(\.\d+)?\s*points?\b|\bscore\s*[:=])"
)


class SubmissionError(ValueError):
    """A file that cannot be read as a notebook."""


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
            "notes": self.notes,
            "cells": self.cells,
            "exercises": [e.to_dict() for e in self.exercises],
        }


def _number(x: float):
    return int(x) if float(x).is_integer() else round(x, 2)


# ---------------------------------------------------------------------------
# Reading and rebuilding submissions
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# The grader
# ---------------------------------------------------------------------------


class Grader:
    """Grades submissions of one assignment (one chapter's solution notebook)."""

    def __init__(
        self,
        solution: Path | str,
        *,
        jobs: int = 1,
        timeout: float = 120.0,
        cell_timeout: float | None = None,
        cpu_seconds: float | None = None,
        memory_mb: int = 2048,
    ):
        self.assignment = Assignment.load(solution)
        self.chapter = chapter_slug(self.assignment.chapter)
        self.exercises: dict[str, Exercise] = {ex.id: ex for ex in exercises(self.chapter)}
        if self.assignment.exercise_ids != list(self.exercises):
            raise AssignError(
                f"{solution}: the check cells ({', '.join(self.assignment.exercise_ids)}) do not match the "
                f"exercises registered for {self.chapter} ({', '.join(self.exercises)})"
            )
        self.jobs = max(1, int(jobs))
        self.timeout = float(timeout)
        self.cell_timeout = float(cell_timeout) if cell_timeout else max(1.0, self.timeout / 2)
        self.cpu_seconds = float(cpu_seconds) if cpu_seconds else self.timeout + 5
        self.memory_bytes = int(memory_mb) * 2**20
        self.plans = {ex_id: ex.plan(self.assignment.hidden_cases(ex_id)) for ex_id, ex in self.exercises.items()}
        self.forbidden_names = {
            ex_id: {_short(o) for o in (ex.reference, *ex.forbidden)} for ex_id, ex in self.exercises.items()
        }

    # -- running ------------------------------------------------------------

    def grade(self, paths: list[Path | str], progress=None) -> list[SubmissionResult]:
        """Grade every path; bad submissions get a status, never an exception."""
        paths = [Path(p) for p in paths]
        labels = _labels(paths)
        results: dict[int, SubmissionResult] = {}
        pending = deque()
        workdir = Path(tempfile.mkdtemp(prefix="attn-edu-grade-"))
        if os.geteuid() == 0:
            os.chmod(workdir, 0o711)  # children run as nobody and must reach their own folders
        try:
            for index, (path, label) in enumerate(zip(paths, labels)):
                result = SubmissionResult(submission=label, path=str(path))
                results[index] = result
                try:
                    notebook = read_submission(path)
                except SubmissionError as exc:
                    result.flags.append("invalid-notebook")
                    result.notes.append(f"{exc}.")
                    result.exercises = self._zero("not-reached", "the notebook could not be read")
                    if progress:
                        progress(result)
                    continue
                try:
                    steps, flags, notes = rebuild(self.assignment, notebook)
                    result.flags += flags
                    result.notes += notes
                    uses = self._scan(steps, result)
                except Exception as exc:  # pragma: no cover - defensive
                    result.flags.append("grader-error")
                    result.notes.append(f"Could not prepare the notebook: {compare._error_text(exc)}")
                    result.exercises = self._zero("error", "the grader could not prepare this notebook")
                    if progress:
                        progress(result)
                    continue
                tasks = {
                    ex_id: Task(ex_id, ex.answer, self.plans[ex_id], ex.reference, ex.forbidden)
                    for ex_id, ex in self.exercises.items()
                }
                job = Job(
                    name=label,
                    steps=steps,
                    tasks=tasks,
                    folder=workdir / f"{index:05d}",
                    cell_timeout=self.cell_timeout,
                    cpu_seconds=self.cpu_seconds,
                    memory_bytes=self.memory_bytes,
                    extra={"index": index, "uses": uses},
                )
                pending.append(job)
            self._run(pending, results, progress)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return [results[i] for i in range(len(paths))]

    def _zero(self, status: str, message: str) -> list[ExerciseResult]:
        return [ExerciseResult(ex.id, ex.label, 0, ex.points, status, None, message) for ex in self.exercises.values()]

    def _scan(self, steps: list[Step], result: SubmissionResult) -> dict[str, set[str]]:
        """Static findings: attn_edu uses per step label, monkeypatches as flags."""
        scanner = Scanner()
        stub_scanner = Scanner()
        stubs = {c.grade_id: c.source for c in self.assignment.cells if c.role == "solution"}
        uses: dict[str, set[str]] = {}
        all_uses: set[str] = set()
        patches: list[str] = []
        for step in steps:
            if step.kind != "code":
                continue
            found = scanner.scan(step.source)
            given = stub_scanner.scan(stubs.get(step.label, step.source if not step.student else ""))
            if not step.student:
                continue
            new_uses = _maximal(found.uses - given.uses)
            uses.setdefault(step.label, set()).update(new_uses)
            all_uses |= new_uses
            patches += [p for p in found.patches if p not in given.patches]
        if patches:
            result.flags.append("monkeypatch")
            result.notes.append("Changes to library attributes (ignored by the grader): " + ", ".join(sorted(set(patches))[:8]) + ".")
        if all_uses:
            result.flags.append("imports-attn-edu")
            result.notes.append("Uses from attn_edu: " + ", ".join(sorted(all_uses)[:8]) + ".")
        return uses

    def _run(self, pending: deque, results: dict, progress) -> None:
        running: dict[int, Job] = {}
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    job = pending.popleft()
                    start(job)
                    running[job.pid] = job
                finished = False
                for pid, job in list(running.items()):
                    try:
                        done, wait_status = os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        done, wait_status = pid, 0
                    if done == 0:
                        if time.monotonic() - job.started > self.timeout and "killed" not in job.extra:
                            job.extra["killed"] = "timeout"
                            _kill_group(pid)
                        continue
                    _kill_group(pid)  # anything the submission left running
                    job.extra["wait_status"] = wait_status
                    job.extra["seconds"] = time.monotonic() - job.started
                    del running[pid]
                    finished = True
                    result = results[job.extra["index"]]
                    try:
                        self._collect(job, result)
                    except Exception as exc:  # pragma: no cover - defensive
                        result.flags.append("grader-error")
                        result.notes.append(f"Could not read the results: {compare._error_text(exc)}")
                        result.exercises = self._zero("error", "the grader could not read this submission's results")
                    if progress:
                        progress(result)
                if not finished:
                    time.sleep(0.005)
        finally:
            for pid in list(running):
                _kill_group(pid)
                try:
                    os.waitpid(pid, 0)
                except ChildProcessError:
                    pass

    # -- collecting ---------------------------------------------------------

    def _collect(self, job: Job, result: SubmissionResult) -> None:
        result.seconds = job.extra.get("seconds", 0.0)
        events = _read_events(job.folder / "events.jsonl")
        flags = result.flags
        labels = {i: s.label for i, s in enumerate(job.steps)}
        last_cell = None
        for event in events:
            kind = event.get("event")
            if kind == "cell":
                last_cell = labels.get(event.get("index"), event.get("label"))
            elif kind == "cell-error":
                label = labels.get(event.get("index"), event.get("label"))
                error_kind = event.get("kind", "error")
                flag = {"error": "cell-error", "timeout": "timeout", "memory": "memory-limit", "sys-exit": "sys-exit"}.get(
                    error_kind, "cell-error"
                )
                if flag not in flags:
                    flags.append(flag)
                result.cells.append({"cell": label, "status": error_kind, "error": str(event.get("error", ""))[:500]})
        done = any(e.get("event") == "done" for e in events)
        wait_status = job.extra.get("wait_status", 0)
        if job.extra.get("killed") == "timeout":
            flags.append("timeout")
            result.notes.append(
                f"The notebook was stopped after {self.timeout:g} s of wall-clock time"
                + (f", in cell {last_cell!r}." if last_cell else ".")
            )
        elif os.WIFSIGNALED(wait_status):
            sig = os.WTERMSIG(wait_status)
            if sig == signal.SIGXCPU:
                flags.append("cpu-limit")
                result.notes.append(f"The notebook used more than {self.cpu_seconds:g} s of CPU time" + _in(last_cell))
            else:
                flags.append("crashed")
                result.notes.append(f"The grading process was killed by {signal.Signals(sig).name}" + _in(last_cell))
        elif not done and os.WIFEXITED(wait_status) and os.WEXITSTATUS(wait_status) == GRADER_FAILED:
            flags.append("grader-error")
            result.notes.append("The grading process failed before it could run the notebook; please report this.")
        elif not done:
            flags.append("exited")
            code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else None
            result.notes.append(f"The notebook ended the grading process (exit code {code})" + _in(last_cell))
        if any(e.get("event") == "grader-error" for e in events):
            flags.append("grader-error")
        answered = {e.get("exercise"): e for e in events if e.get("event") == "answer"}
        started = {e.get("exercise") for e in events if e.get("event") == "answer-start"}
        for ex_id, ex in self.exercises.items():
            result.exercises.append(self._exercise(job, ex, answered.get(ex_id), ex_id in started, result))
        if any(e.status == "reference-used" for e in result.exercises) and "reference-used" not in flags:
            flags.append("reference-used")
        if any(e.status == "memory-limit" for e in result.exercises) and "memory-limit" not in flags:
            flags.append("memory-limit")
        if any(e.status == "timeout" for e in result.exercises) and "timeout" not in flags:
            flags.append("timeout")
        output = _read_head(job.folder / "output.txt")
        if FAKE_OUTPUT.search(output):
            flags.append("fake-output")

    def _exercise(self, job: Job, ex: Exercise, event: dict | None, started: bool, result: SubmissionResult) -> ExerciseResult:
        plan = self.plans[ex.id]
        path = job.folder / f"ex-{ex.id}.bin"
        data = None
        if path.exists():
            try:
                data = transfer.load(path)
            except Exception as exc:
                return ExerciseResult(ex.id, ex.label, 0, ex.points, "error", None, f"unreadable result ({compare._error_text(exc)})")
        if not isinstance(data, dict):
            if event is not None and event.get("status") == "missing":
                message = (
                    f"{ex.answer} is not defined when its check cell runs: "
                    "did the cell that defines it raise an error, or was it renamed?"
                )
                res = compare.missing_result(plan, message, name=ex.answer)
                return ExerciseResult(ex.id, ex.label, 0, ex.points, "missing", res, message)
            status = "timeout" if started and "timeout" in result.flags else "not-reached"
            message = (
                f"checking {ex.answer} was stopped by the time limit"
                if status == "timeout"
                else "grading stopped before this exercise's check cell"
            )
            return ExerciseResult(ex.id, ex.label, 0, ex.points, status, None, message)
        status = data.get("status")
        if status == "timeout":
            message = f"checking {ex.answer} took longer than {self.cell_timeout:g} s (an endless loop?)"
            return ExerciseResult(ex.id, ex.label, 0, ex.points, "timeout", compare.missing_result(plan, message, name=ex.answer, flag="timeout"), message)
        if status in ("wrong-kind", "error", "memory"):
            message = str(data.get("problem") or "the answer could not be checked")
            ex_status = {"memory": "memory-limit"}.get(status, status)
            return ExerciseResult(ex.id, ex.label, 0, ex.points, ex_status, compare.missing_result(plan, message, name=ex.answer, flag=ex_status), message)
        identity = data.get("identity") if isinstance(data.get("identity"), str) else None
        uses = job.extra.get("uses", {}).get(ex.id, set())
        named = sorted(u for u in uses if u.split(".")[-1] in self.forbidden_names[ex.id])
        if identity is None and named:
            identity = f"its cell uses {named[0]}"
        outcomes = data.get("outcomes") if isinstance(data.get("outcomes"), list) else []
        res = compare.judge(plan, outcomes, identity=identity, name=ex.answer)
        if "reference-used" in res.flags:
            return ExerciseResult(ex.id, ex.label, 0, ex.points, "reference-used", res, "the answer uses attn_edu's own implementation")
        return ExerciseResult(ex.id, ex.label, ex.points_for(res), ex.points, "graded", res, "")


def _in(cell) -> str:
    return f", in cell {cell!r}." if cell else "."


def _short(obj) -> str:
    base = getattr(obj, "func", obj)
    return getattr(base, "__name__", str(base))


def _maximal(names: set[str]) -> set[str]:
    """Drop names that are prefixes of others: {'a.b', 'a.b.c'} -> {'a.b.c'}."""
    return {n for n in names if not any(o != n and o.startswith(n + ".") for o in names)}


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _read_events(path: Path) -> list[dict]:
    events = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    events.append(event)
    except OSError:
        pass
    return events


def _read_head(path: Path, limit: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _labels(paths: list[Path]) -> list[str]:
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


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------


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


def feedback_markdown(result: SubmissionResult, chapter: str) -> str:
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
            lines.append(result_markdown(e.result, e.title, e.points, e.max_points, e.status))
        else:
            lines += [f"### {e.title}: {_number(e.points)} / {_number(e.max_points)} points", "", f"Status: **{e.status}**: {e.message}.", ""]
    lines.append(
        "_The checks compare your code with a reference implementation on many inputs; "
        "rows marked hidden use inputs you did not see in the notebook._"
    )
    return "\n".join(lines) + "\n"


def write_reports(
    results: list[SubmissionResult],
    grader: Grader,
    out: Path | str,
    *,
    results_path: Path | str | None = None,
    feedback_dir: Path | str | None = None,
) -> dict[str, Path]:
    """Write grades.csv, results.jsonl and the feedback files; each file atomically."""
    out = Path(out)
    results_path = Path(results_path) if results_path else out.parent / "results.jsonl"
    feedback_dir = Path(feedback_dir) if feedback_dir else out.parent / "feedback"
    ids = list(grader.exercises)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    used = set()
    for r in results:
        name = _safe_name(r.submission)
        while name in used:
            name += "_"
        used.add(name)
        write_atomically(feedback_dir / f"{name}.md", feedback_markdown(r, grader.chapter))
    lines = [json.dumps({"assignment": grader.chapter, **r.to_dict()}, ensure_ascii=False) for r in results]
    write_atomically(results_path, "\n".join(lines) + ("\n" if lines else ""))
    write_atomically(out, gradebook_csv(results, ids))
    return {"grades": out, "results": results_path, "feedback": feedback_dir}
