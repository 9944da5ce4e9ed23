"""Grade a class's notebooks: each run in its own sandbox, judged and reported outside it.

``Grader(solution).grade(paths)`` takes every submission through the
pipeline, one module per stage:

    submission.py  read the notebook; rebuild it from the assignment (locked cells
                   from the solution, check cells become "answer" steps)
    sandbox.py     run it in bubblewrap, under cgroup limits, in a fresh interpreter
                   (runner.py) that never holds a reference, an expected output,
                   a hidden test's source or another student's work
    outputs.py     read what came back: untrusted, framed, size-bounded data
    compare.py     compare the answers' outcomes with the reference's, here
    report.py      gradebook, results and feedback

This module joins the stages and decides every status from what the grader
observed itself: the exit status or signal, the time, the cgroup's counters
and the records it could parse and validate. A record that the submission
forged can hide its own errors or claim outcomes, and claimed outcomes earn
points only if they match the reference's, computed here.

Before a batch, the grader runs the chapter's own solution through the same
pipeline and refuses to start unless it gets full marks: a sandbox that
cannot import something the exercises need is found then, not as a class of
zeros. Ctrl-C stops grading cleanly: the submissions already graded keep
their results, the others are marked ``interrupted``.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import tempfile
import time
from collections import deque
from pathlib import Path

from ..gpu._runtime import interpret_without_cuda

# Chapter 11's references are Triton kernels: without a GPU the grader runs
# them in Triton's interpreter, chosen before anything imports Triton.
interpret_without_cuda()

from . import compare, outputs, sandbox  # noqa: E402
from .assign import Assignment, AssignError  # noqa: E402
from .exercises import Exercise, chapter_slug, exercises  # noqa: E402
from .integrity import Scanner  # noqa: E402
from .report import (  # noqa: E402, F401 - re-exported for the command line and the tests
    EXERCISE_STATUSES,
    HIDDEN_DETAILS,
    STATUSES,
    ExerciseResult,
    SubmissionResult,
    feedback_markdown,
    gradebook_csv,
    write_reports,
)
from .runner import OUTPUT_STATUSES  # noqa: E402
from .sandbox import Launch, Limits, SandboxUnavailable  # noqa: E402
from .submission import Step, SubmissionError, expand, labels, read_submission, rebuild  # noqa: E402, F401

FAKE_OUTPUT = re.compile(
    r"(?i)(all (visible )?(tests|checks) passed|\btests? passed\b|\b\d+(\.\d+)?\s*/\s*\d+(\.\d+)?\s*points?\b|\bscore\s*[:=])"
)
CELL_ERROR_FLAGS = {"error": "cell-error", "timeout": "timeout", "memory": "memory-limit", "sys-exit": "sys-exit"}
OUTCOME_TEXT_KEYS = ("error", "stage", "watched")
OUTCOME_VALUE_KEYS = ("output", "inputs_after", "input_grads", "param_grads", "buffers")
MISSING_MODULE = re.compile(r"^ModuleNotFoundError: No module named '([A-Za-z0-9_.]+)'")
TEXT_LIMIT = 500


class GradingEnvironmentError(RuntimeError):
    """The grader cannot grade here: the chapter's own solution does not get full marks."""


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
        hidden_details: str = "hide",
        unsafe_no_sandbox: bool = False,
        check_solution: bool = True,
    ):
        self.solution = Path(solution)
        self.assignment = Assignment.load(solution)
        self.chapter = chapter_slug(self.assignment.chapter)
        self.exercises: dict[str, Exercise] = {ex.id: ex for ex in exercises(self.chapter)}
        if self.assignment.exercise_ids != list(self.exercises):
            raise AssignError(
                f"{solution}: the check cells ({', '.join(self.assignment.exercise_ids)}) do not match the "
                f"exercises registered for {self.chapter} ({', '.join(self.exercises)})"
            )
        if hidden_details not in HIDDEN_DETAILS:
            raise ValueError(f"hidden_details must be one of {', '.join(HIDDEN_DETAILS)}, not {hidden_details!r}")
        self.unsafe = bool(unsafe_no_sandbox)
        if not self.unsafe:
            why = sandbox.problem()
            if why:
                raise SandboxUnavailable(
                    f"cannot grade in a sandbox here: {why}. Grading without one lets a submission read the "
                    "hidden tests and the other submissions, and harm the machine; to do it anyway, pass "
                    "--unsafe-no-sandbox (Grader(..., unsafe_no_sandbox=True))."
                )
        self.jobs = max(1, int(jobs))
        self.hidden_details = hidden_details
        self.check_solution = check_solution
        timeout = float(timeout)
        self.limits = Limits(
            timeout=timeout,
            cell_timeout=float(cell_timeout) if cell_timeout else max(1.0, timeout / 2),
            cpu_seconds=float(cpu_seconds) if cpu_seconds else timeout + 5,
            memory_bytes=int(memory_mb) * 2**20,
        )
        self.timeout, self.cell_timeout, self.cpu_seconds = timeout, self.limits.cell_timeout, self.limits.cpu_seconds
        self.plans = {ex_id: ex.plan(self.assignment.hidden_cases(ex_id)) for ex_id, ex in self.exercises.items()}
        self.forbidden_names = {
            ex_id: {_short(o) for o in (ex.reference, *ex.forbidden)} for ex_id, ex in self.exercises.items()
        }
        self.tasks = {
            ex_id: {
                "answer": ex.answer,
                "kind": self.plans[ex_id].kind,
                "probes": self.plans[ex_id].probes,
                "forbidden": [n for n in map(_dotted, ex.forbidden) if n and not n.startswith("attn_edu")],
            }
            for ex_id, ex in self.exercises.items()
        }
        self.interrupted = False

    # -- running ------------------------------------------------------------

    def grade(self, paths: list[Path | str], progress=None) -> list[SubmissionResult]:
        """Grade every path; bad submissions get a status, never an exception.

        Raises ``GradingEnvironmentError`` before grading anything if the
        chapter's own solution does not get full marks here.
        """
        paths = [Path(p) for p in paths]
        workdir = Path(tempfile.mkdtemp(prefix="attn-edu-grade-"))  # mode 700: the grader's alone
        try:
            if self.check_solution:
                self._check_solution(workdir)
            results = [SubmissionResult(submission=label, path=str(path)) for path, label in zip(paths, labels(paths))]
            pending = deque()
            for index, (path, result) in enumerate(zip(paths, results)):
                job = self._prepare(path, result)
                if job is None:
                    if progress:
                        progress(result)
                else:
                    pending.append((index, job))
            self._run(pending, results, workdir, progress)
            return results
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _check_solution(self, workdir: Path) -> None:
        result = SubmissionResult(submission=f"{self.chapter} (the solution)", path=str(self.solution))
        job = self._prepare(self.solution, result)
        if job is not None:
            self._run(deque([(0, job)]), [result], workdir, None)
        if self.interrupted:
            raise KeyboardInterrupt
        if result.total != result.max_total or result.status not in ("ok",):
            failing = [f"{e.id}: {e.status} {e.message}".strip() for e in result.exercises if e.points != e.max_points]
            raise GradingEnvironmentError(
                f"the chapter's own solution scores {result.total} / {result.max_total} (status {result.status}) "
                f"when graded here, so students would be marked down for the grading environment. "
                + " ".join([*result.notes, *failing, *(f"{c['cell']}: {c['error']}" for c in result.cells)])[:1500]
            )

    def _prepare(self, path: Path, result: SubmissionResult) -> dict | None:
        """The job for one submission, or None when it cannot run (its result says why)."""
        try:
            notebook = read_submission(path)
        except SubmissionError as exc:
            result.flags.append("invalid-notebook")
            result.notes.append(f"{exc}.")
            result.exercises = self._zero("not-reached", "the notebook could not be read")
            return None
        try:
            steps, flags, notes = rebuild(self.assignment, notebook)
            result.flags += flags
            result.notes += notes
            uses = self._scan(steps, result)
        except Exception as exc:  # pragma: no cover - defensive
            result.flags.append("grader-error")
            result.notes.append(f"Could not prepare the notebook: {compare._error_text(exc)}")
            result.exercises = self._zero("error", "the grader could not prepare this notebook")
            return None
        return {
            "steps": steps,
            "uses": uses,
            "job": {"steps": [s.to_job() for s in steps], "tasks": self.tasks, "cell_timeout": self.cell_timeout},
        }

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

    def _run(self, pending: deque, results: list, workdir: Path, progress) -> None:
        running: dict[int, tuple[Launch, dict]] = {}
        try:
            while pending or running:
                while pending and len(running) < self.jobs:
                    index, job = pending.popleft()
                    folder = workdir / f"{index:05d}-{len(running)}-{time.monotonic_ns()}"
                    view = sandbox.build_view(folder)
                    launch = Launch(job["job"], view, self.limits, 10_000 + index, unsafe=self.unsafe, name=f"{index}")
                    running[index] = (launch, job)
                finished = [i for i, (launch, _) in running.items() if launch.poll()]
                for index in finished:
                    launch, job = running[index]
                    observation = launch.finish()
                    self._collect(job, observation, results[index])
                    del running[index]  # only now: Ctrl-C before this line marks it interrupted
                    if progress:
                        progress(results[index])
                if not finished:
                    time.sleep(0.02)
        except KeyboardInterrupt:
            self.interrupted = True
            for index, (launch, _) in running.items():
                launch.stop("interrupted")
                launch.finish()
                self._interrupted(results[index])
            for index, _ in pending:
                self._interrupted(results[index])
            running.clear()
        finally:
            for launch, _ in running.values():
                launch.stop("interrupted")
                launch.finish()

    def _interrupted(self, result: SubmissionResult) -> None:
        result.flags.append("interrupted")
        result.notes.append("Grading was stopped (Ctrl-C) before this notebook finished.")
        result.exercises = self._zero("not-reached", "grading was stopped before this notebook was graded")

    # -- judging what came back ---------------------------------------------

    def _collect(self, job: dict, obs: sandbox.Observation, result: SubmissionResult) -> None:
        try:
            self._judge(job, obs, result)
        except Exception as exc:  # pragma: no cover - a bug of the grader, never the student's 0
            result.flags.append("grader-error")
            result.notes.append(f"The grader failed on this notebook's results: {compare._error_text(exc)}.")
            result.exercises = self._zero("error", "the grader could not read this submission's results")

    def _judge(self, job: dict, obs: sandbox.Observation, result: SubmissionResult) -> None:
        steps: list[Step] = job["steps"]
        flags = result.flags
        result.seconds = obs.seconds
        if obs.peak_memory is not None:
            result.peak_memory_mb = round(obs.peak_memory / 2**20, 1)
        if obs.setup_error:
            flags.append("grader-error")
            result.notes.append(f"The sandbox failed, not the notebook: {obs.setup_error}.")
            result.exercises = self._zero("not-reached", "the sandbox could not run this notebook")
            return
        records, problem = outputs.parse(obs.frames)
        events, rejected = _validate(records, len(steps), set(self.exercises))
        if problem or rejected or obs.frames_truncated:
            flags.append("output-unreadable")
            why = problem or (f"{rejected} records that are not the runner's" if rejected else "too much data")
            result.notes.append(f"Some of what the notebook's process sent could not be used ({why}).")
        if self.hidden_details == "hide":
            _reduce_after_hidden(events, steps, self.plans)
        last_cell = None
        for event in events:
            kind = event["event"]
            if kind == "cell":
                last_cell = steps[event["index"]].label
            elif kind == "cell-error":
                label = steps[event["index"]].label
                missing = MISSING_MODULE.match(event["error"])
                if missing and _environment_lacks(missing.group(1)):
                    if "grader-error" not in flags:
                        flags.append("grader-error")
                    result.notes.append(
                        f"The sandbox could not import {missing.group(1)!r}, which the grader's Python has: "
                        "the grading environment is at fault, not the notebook."
                    )
                elif missing and missing.group(1).startswith("attn_edu") and not any("not offered" in n for n in result.notes):
                    result.notes.append(
                        f"{missing.group(1)} is not offered while grading: only attn_edu.grading's helpers are. "
                        "Write your answers with PyTorch."
                    )
                flag = CELL_ERROR_FLAGS[event["kind"]]
                if flag not in flags:
                    flags.append(flag)
                result.cells.append({"cell": label, "status": event["kind"], "error": event["error"]})
        done = any(e["event"] == "done" for e in events)
        if obs.stopped == "timeout":
            flags.append("timeout")
            result.notes.append(f"The notebook was stopped after {self.timeout:g} s of wall-clock time" + _in(last_cell))
        elif obs.stopped == "cpu-limit":
            flags.append("cpu-limit")
            result.notes.append(f"The notebook used more than {self.cpu_seconds:g} s of CPU time" + _in(last_cell))
        elif obs.memory_exceeded:
            if "memory-limit" not in flags:
                flags.append("memory-limit")
            result.notes.append(
                f"The notebook's processes together used more than {self.limits.memory_bytes / 2**20:g} MiB of memory; "
                "the kernel stopped them" + _in(last_cell)
            )
        elif obs.signal is not None and not done:
            flags.append("crashed")
            result.notes.append(f"The grading process was killed by signal {obs.signal}" + _in(last_cell))
        elif not done:
            flags.append("exited")
            result.notes.append(f"The notebook ended the grading process (exit code {obs.exit_code})" + _in(last_cell))
        answers: dict[str, dict] = {}
        for event in events:
            if event["event"] == "answer":
                answers.setdefault(event["exercise"], event)
        for ex_id, ex in self.exercises.items():
            result.exercises.append(self._exercise(job, ex, answers.get(ex_id), result, obs))
        for status, flag in (("reference-used", "reference-used"), ("memory-limit", "memory-limit"), ("timeout", "timeout")):
            if any(e.status == status for e in result.exercises) and flag not in flags:
                flags.append(flag)
        if FAKE_OUTPUT.search(obs.output):
            flags.append("fake-output")

    def _exercise(self, job: dict, ex: Exercise, event: dict | None, result: SubmissionResult, obs) -> ExerciseResult:
        plan = self.plans[ex.id]
        zero = lambda status, message, flag=None: ExerciseResult(  # noqa: E731
            ex.id, ex.label, 0, ex.points, status,
            compare.missing_result(plan, message, name=ex.answer, flag=flag or status) if flag != "none" else None, message,
        )
        if event is None:
            return zero("not-reached", "grading stopped before this exercise's check cell", "none")
        status = event["status"]
        uses = job["uses"].get(ex.id, set())
        named = sorted(u for u in uses if u.split(".")[-1] in self.forbidden_names[ex.id])
        if named and status in ("missing", "error", "wrong-kind"):
            message = f"its cell uses {named[0]}, attn_edu's own implementation, which grading does not offer"
            return zero("reference-used", message, "reference-used")
        if status == "missing":
            message = (
                f"{ex.answer} is not defined when its check cell runs: "
                "did the cell that defines it raise an error, or was it renamed?"
            )
            return zero("missing", message, "missing")
        if status == "timeout":
            return zero("timeout", f"checking {ex.answer} took longer than {self.cell_timeout:g} s (an endless loop?)")
        if status in ("wrong-kind", "error", "memory"):
            ex_status = {"memory": "memory-limit"}.get(status, status)
            return zero(ex_status, event["problem"] or "the answer could not be checked")
        identity = event["identity"]
        if identity is None and named:
            identity = f"its cell uses {named[0]}"
        res = compare.judge(plan, event["outcomes"], identity=identity, name=ex.answer)
        if "reference-used" in res.flags:
            return ExerciseResult(ex.id, ex.label, 0, ex.points, "reference-used", res, "the answer uses attn_edu's own implementation")
        return ExerciseResult(ex.id, ex.label, ex.points_for(res), ex.points, "graded", res, "")


# ---------------------------------------------------------------------------
# Validating the records
# ---------------------------------------------------------------------------


def _text(value, limit: int = TEXT_LIMIT) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _outcome(value) -> dict | None:
    """One probe's outcome, with only the fields the comparison reads, each of the right type."""
    if not isinstance(value, dict):
        return None
    clean = {key: _text(value.get(key), 300) for key in OUTCOME_TEXT_KEYS}
    clean["has_graph"] = value.get("has_graph") is True
    for key in OUTCOME_VALUE_KEYS:
        if key in value:
            clean[key] = value[key]
    return clean


def _validate(records: list, steps: int, exercise_ids: set[str]) -> tuple[list[dict], int]:
    """The records that have the runner's form, cleaned; and how many were rejected."""
    kept: list[dict] = []
    rejected = 0
    for record in records:
        event = record.get("event") if isinstance(record, dict) else None
        index = record.get("index") if isinstance(record, dict) else None
        good_index = isinstance(index, int) and not isinstance(index, bool) and 0 <= index < steps
        if event in ("start", "done"):
            kept.append({"event": event})
        elif event in ("cell", "cell-done") and good_index:
            kept.append({"event": event, "index": index})
        elif event == "cell-error" and good_index and record.get("kind") in CELL_ERROR_FLAGS:
            kept.append({"event": event, "index": index, "kind": record["kind"], "error": _text(record.get("error")) or ""})
        elif (
            event == "answer"
            and record.get("exercise") in exercise_ids
            and record.get("status") in OUTPUT_STATUSES
            and isinstance(record.get("outcomes"), list)
        ):
            kept.append(
                {
                    "event": event,
                    "exercise": record["exercise"],
                    "status": record["status"],
                    "identity": _text(record.get("identity"), 300),
                    "problem": _text(record.get("problem"), 300),
                    "outcomes": [_outcome(o) for o in record["outcomes"]],
                }
            )
        else:
            rejected += 1
    return kept, rejected


def _type_only(text: str | None) -> str | None:
    """'ValueError: shapes (2, 7) ...' -> 'ValueError (message not shown: hidden cases had run)'."""
    if not text:
        return text
    name = text.split(":", 1)[0].split(" ", 1)[0]
    return f"{name} (message not shown: hidden cases had run)"


def _reduce_after_hidden(events: list[dict], steps: list[Step], plans: dict) -> None:
    """Keep hidden-case inputs out of the feedback: once hidden probes have run in the
    sandbox, any text the submission produces could carry them, so only error types stay."""
    first_hidden = next(
        (i for i, s in enumerate(steps) if s.kind == "answer" and any(p.hidden for p in plans[s.exercise].probes)),
        None,
    )
    if first_hidden is None:
        return
    answer_at = {s.exercise: i for i, s in enumerate(steps) if s.kind == "answer"}
    for event in events:
        if event["event"] == "cell-error" and event["index"] > first_hidden:
            event["error"] = _type_only(event["error"])
        elif event["event"] == "answer" and answer_at.get(event["exercise"], 0) >= first_hidden:
            after = answer_at[event["exercise"]] > first_hidden
            if after:
                event["problem"] = _type_only(event["problem"])
            probes = plans[event["exercise"]].probes
            for i, outcome in enumerate(event["outcomes"]):
                hidden = i < len(probes) and probes[i].hidden
                if isinstance(outcome, dict) and (after or hidden):
                    outcome["error"] = _type_only(outcome["error"])


def _environment_lacks(module: str) -> bool:
    """A module the sandbox could not import but the grader's own Python has (not attn_edu's)."""
    top = module.split(".")[0]
    if top == "attn_edu":
        return False  # the sandbox withholds attn_edu on purpose
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _dotted(obj) -> str | None:
    """A dotted name the runner can resolve to ``obj``, e.g. 'torch.nn.functional.softmax'."""
    import torch
    import torch.nn.functional as F

    base = getattr(obj, "func", obj)
    module, name = getattr(base, "__module__", None), getattr(base, "__qualname__", getattr(base, "__name__", None))
    if module and name and module.startswith("attn_edu"):
        return f"{module}.{name}"
    for prefix, namespace in (("torch.nn.functional", F), ("torch", torch)):
        for attr, value in vars(namespace).items():
            if value is base:
                return f"{prefix}.{attr}"
    return f"{module}.{name}" if module and name else None


def _in(cell) -> str:
    return f", in cell {cell!r}." if cell else "."


def _short(obj) -> str:
    base = getattr(obj, "func", obj)
    return getattr(base, "__name__", str(base))


def _maximal(names: set[str]) -> set[str]:
    """Drop names that are prefixes of others: {'a.b', 'a.b.c'} -> {'a.b.c'}."""
    return {n for n in names if not any(o != n and o.startswith(n + ".") for o in names)}
