"""The student's side of batch grading: one forked process per submission.

``start(job)`` forks. The child puts itself in its own process group, sets
its limits (CPU time, address space, file size), sends its output to files,
and runs the submission's cells one by one in a fresh namespace, each under
a wall-clock alarm. At every check cell it looks up the answer the exercise
names, runs the grader's probes on it (``compare.run_probe``: inputs in,
plain tensors out) and saves the outcomes to ``ex-<id>.bin`` at once, so that
a later crash, ``os._exit`` or endless loop cannot take them back. It never
compares anything: the reference's outcomes are dropped before student code
runs, and the comparison happens in the grader's process.

Files in the job's folder, written by the child:

    events.jsonl   one JSON object per line: a cell started / failed / timed out,
                   an answer saved, "done" at the end
    ex-<id>.bin    the outcomes of one exercise (``transfer.dump``: JSON and tensor bytes)
    output.txt     everything the submission printed (stdout and stderr)
"""

from __future__ import annotations

import builtins
import gc
import json
import os
import resource
import signal
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import compare, transfer
from .integrity import python_source

OUTPUT_LIMIT = 64 * 2**20  # bytes of output a submission may write
NOBODY = 65534  # the uid and gid a root grader hands its children
GRADER_FAILED = 70  # the child's exit status when the grader's own code fails
MEMORY_MARKERS = ("can't allocate memory", "DefaultCPUAllocator", "out of memory", "std::bad_alloc")


class CellTimeout(BaseException):
    """Raised by the alarm in a cell or an answer that runs too long.

    A BaseException, so that a student's ``except Exception`` does not swallow it.
    """


@dataclass
class Step:
    """One thing the child does, in notebook order."""

    kind: str  # "code" or "answer"
    label: str  # the cell's grade_id, or "extra cell 3", or the exercise id
    source: str = ""  # for "code"
    exercise: str | None = None  # for "answer"
    student: bool = True  # whether the student wrote this code


@dataclass
class Task:
    """What the child needs to answer one exercise."""

    exercise: str
    answer: str
    plan: compare.Plan
    reference: Any
    forbidden: tuple = ()


@dataclass
class Job:
    """One submission to run."""

    name: str
    steps: list[Step]
    tasks: dict[str, Task]
    folder: Path
    cell_timeout: float
    cpu_seconds: float
    memory_bytes: int
    pid: int | None = None
    started: float = 0.0
    extra: dict = field(default_factory=dict)


def start(job: Job) -> int:
    """Fork a child for ``job``; return its pid (the id of its process group too)."""
    job.folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        try:
            os.chown(job.folder, NOBODY, NOBODY)
            os.chmod(job.folder, 0o700)
        except OSError:
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():  # Python 3.12+ warns about fork() next to threads;
        warnings.simplefilter("ignore", DeprecationWarning)  # the child uses one thread only
        pid = os.fork()
    if pid == 0:  # the child never returns from here
        code = GRADER_FAILED
        try:
            code = _child(job)
        except BaseException:  # pragma: no cover - last resort; the parent reports "crashed"
            try:
                with open(job.folder / "events.jsonl", "a") as f:
                    f.write(json.dumps({"event": "grader-error", "error": traceback.format_exc()[-2000:]}) + "\n")
            except BaseException:
                pass
        finally:
            os._exit(code)
    try:
        os.setpgid(pid, pid)
    except OSError:  # the child got there first, or has already exited
        pass
    job.pid = pid
    job.started = time.monotonic()
    return pid


# ---------------------------------------------------------------------------
# In the child
# ---------------------------------------------------------------------------


def _limit(kind: int, soft: int, hard: int | None = None) -> None:
    try:
        _, old_hard = resource.getrlimit(kind)
        hard = soft if hard is None else hard
        if old_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, old_hard), min(hard, old_hard)
        resource.setrlimit(kind, (soft, hard))
    except (ValueError, OSError):
        pass


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _isolate(job: Job) -> None:
    """Own process group, limits, output to a file, nothing inherited that matters."""
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
    os.chdir(job.folder)
    out = os.open(job.folder / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.close(null)
    sys.stdin = open(0, "r", closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["HOME"] = str(job.folder)
    torch.set_num_threads(1)
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, OUTPUT_LIMIT)
    cpu = max(1, int(job.cpu_seconds))
    _limit(resource.RLIMIT_CPU, cpu, cpu + 2)
    _limit(resource.RLIMIT_AS, _address_space() + job.memory_bytes)
    if os.geteuid() == 0:
        # Run as nobody when the grader runs as root: the submission can then
        # neither signal the grader nor write outside world-writable places.
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            _limit(resource.RLIMIT_NPROC, 256)
        except OSError:
            pass


class _Events:
    def __init__(self, path: Path, started: float):
        self.file = open(path, "a", buffering=1)
        self.started = started

    def __call__(self, **event) -> None:
        try:
            event["t"] = round(time.monotonic() - self.started, 4)
            self.file.write(json.dumps(event, default=str) + "\n")
            self.file.flush()
        except Exception:
            pass


class _Shell:
    """Enough of IPython's ``get_ipython()`` for magics to do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    getoutput = system

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _quiet_check(*args, **kwargs) -> float:
    """In the sandbox, check cells are not run; calls elsewhere return 0."""
    return 0


def _alarm(seconds: float):
    def ring(signum, frame):
        raise CellTimeout()

    signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))


def _disarm():
    signal.setitimer(signal.ITIMER_REAL, 0)


def _classify(exc: BaseException) -> str:
    if isinstance(exc, MemoryError) or any(m in str(exc) for m in MEMORY_MARKERS):
        return "memory"
    if isinstance(exc, SystemExit):
        return "sys-exit"
    return "error"


def _where(exc: BaseException, filename: str) -> str:
    """' (line 3)' for the last frame of the traceback inside this cell."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line})" if line else ""


def _child(job: Job) -> int:
    started = time.monotonic()
    _isolate(job)
    events = _Events(job.folder / "events.jsonl", started)
    events(event="start")
    # Objects inherited from the grader are never collected here: gc.freeze()
    # keeps the collector from touching (and so copying) the whole heap.
    gc.freeze()
    # What student code must not see: the reference's outcomes.
    for task in job.tasks.values():
        task.plan.expected = []
    # Check cells are not run here; a stray call elsewhere does nothing.
    from . import notebook as notebook_module
    import attn_edu.grading as grading_package

    grading_package.check = _quiet_check
    notebook_module.check = _quiet_check
    # Bind what this loop needs now, before student code can replace it.
    run_probe, save, monotonic = compare.run_probe, transfer.dump, time.monotonic
    Watch, identify, manual_seed = compare.Watch, compare.identify, torch.manual_seed
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: _Shell()}
    for number, step in enumerate(job.steps):
        if step.kind == "code":
            events(event="cell", index=number, label=step.label)
            filename = f"<cell {step.label}>"
            try:
                code = compile(python_source(step.source), filename, "exec")
            except SyntaxError as exc:
                events(event="cell-error", index=number, label=step.label, kind="error",
                       error=f"SyntaxError: {exc.msg} (line {exc.lineno})")
                continue
            began = monotonic()
            try:
                _alarm(job.cell_timeout)
                try:
                    exec(code, namespace)
                finally:
                    _disarm()
            except CellTimeout:
                events(event="cell-error", index=number, label=step.label, kind="timeout",
                       error=f"stopped after {job.cell_timeout:g} s")
            except BaseException as exc:  # noqa: BLE001 - every failure of student code is reported
                kind = _classify(exc)
                text = compare._error_text(exc)
                if kind == "sys-exit":
                    text = f"the cell called sys.exit({getattr(exc, 'code', None)!r}); grading went on with the next cell"
                events(event="cell-error", index=number, label=step.label, kind=kind, error=text + _where(exc, filename))
            events(event="cell-done", index=number, label=step.label, seconds=round(monotonic() - began, 3))
        else:
            task = job.tasks[step.exercise]
            events(event="answer-start", exercise=task.exercise)
            answer = namespace.get(task.answer, None)
            if task.answer not in namespace:
                events(event="answer", exercise=task.exercise, status="missing")
                continue
            status, identity, problem, outcomes = "answered", None, None, []
            try:
                _alarm(job.cell_timeout)
                try:
                    watch = Watch([task.reference, *task.forbidden])
                    identity = identify(answer, task.reference, watch)
                    problem = compare._shape_problem(task.plan.kind, answer)
                    if problem:
                        status = "wrong-kind"
                    else:
                        state = torch.random.get_rng_state()
                        for probe in task.plan.probes:
                            manual_seed(probe.seed)
                            outcomes.append(run_probe(answer, probe, watch))
                        torch.random.set_rng_state(state)
                finally:
                    _disarm()
            except CellTimeout:
                status = "timeout"
            except BaseException as exc:  # noqa: BLE001
                status = "memory" if _classify(exc) == "memory" else "error"
                problem = compare._error_text(exc)
                events(event="answer-error", exercise=task.exercise, error=compare._error_text(exc))
            try:
                record = {"status": status, "identity": identity, "problem": problem, "outcomes": outcomes}
                save(record, job.folder / f"ex-{task.exercise}.bin")
                events(event="answer", exercise=task.exercise, status=status)
            except BaseException as exc:  # noqa: BLE001
                events(event="answer", exercise=task.exercise, status="unsaved", error=compare._error_text(exc))
    events(event="done")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    return 0
