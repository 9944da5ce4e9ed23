"""Runs one submission inside the sandbox: ``python -I -m attn_edu.grading.runner FD``.

This is the only grading code that runs next to student code, in a fresh
interpreter that has imported torch and nothing of the grading but the
modules listed in ``student.py``. It never holds a reference implementation,
the reference's outcomes, the source of a hidden test or another student's
work, so there is nothing in its memory worth stealing or forging.

It reads its job from standard input (a pickle the grader wrote: the
submission's cells in order, and for each exercise the answer's name, the
kind of object expected and the probes to run), then runs the cells one by
one in a fresh namespace. At each check cell it runs the probes on the
answer (``probes.run_probe``: inputs in, plain values out) and sends the
outcomes at once, as a frame (``outputs.write_frame``) on the file
descriptor FD, so that a later crash or endless loop cannot take them back.

Records it sends (every one may be forged by the student's code, which runs
in this process; the grader validates them and compares outcomes itself):

    {"event": "start"}
    {"event": "cell", "index": i}
    {"event": "cell-error", "index": i, "kind": "error" | "timeout" | "memory" | "sys-exit", "error": text}
    {"event": "cell-done", "index": i, "seconds": s}
    {"event": "answer", "exercise": id, "status": "answered" | "missing" | "wrong-kind" |
     "timeout" | "error" | "memory", "identity": text or None, "problem": text or None,
     "outcomes": [...]}
    {"event": "done"}
"""

from __future__ import annotations

import builtins
import pickle
import resource
import signal
import sys
import time

OUTPUT_STATUSES = ("answered", "missing", "wrong-kind", "timeout", "error", "memory")
MEMORY_MARKERS = ("can't allocate memory", "DefaultCPUAllocator", "out of memory", "std::bad_alloc")


class CellTimeout(BaseException):
    """Raised by the alarm in a cell or an answer that runs too long.

    A BaseException, so that a student's ``except Exception`` does not swallow it.
    """


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


def _alarm(seconds: float) -> None:
    def ring(signum, frame):
        raise CellTimeout()

    signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, max(0.01, seconds))


def _disarm() -> None:
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


def _limit(kind: int, soft: int) -> None:
    try:
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(kind, (soft, soft))
    except (ValueError, OSError):
        pass


def _address_space() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _resolve(dotted: str):
    """The object a dotted name such as 'torch.nn.functional.softmax' names, or None."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
        return obj
    return None


def run(job: dict, fd: int) -> int:
    """Run the job's steps; send records on ``fd``; return the exit status."""
    import torch

    from . import integrity, outputs, probes

    # Bind what this loop needs now, before student code can replace it.
    send, monotonic, manual_seed = outputs.write_frame, time.monotonic, torch.manual_seed
    run_probe, identify, shape_problem, error_text = probes.run_probe, probes.identify, probes.shape_problem, probes._error_text
    python_source, Watch = integrity.python_source, probes.Watch

    def record(**event) -> None:
        try:
            send(fd, event)
        except Exception:  # the student closed or filled the channel: their loss
            pass

    torch.set_num_threads(1)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the file-size limit fails instead of killing
    # The cgroup bounds all processes together; this bound on this one process
    # turns one huge allocation into a MemoryError that grading survives.
    _limit(resource.RLIMIT_AS, _address_space() + int(job["memory_bytes"]))
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, 64 * 2**20)
    record(event="start")
    cell_timeout = float(job["cell_timeout"])
    tasks = job["tasks"]
    namespace: dict = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": lambda: _Shell()}
    for number, step in enumerate(job["steps"]):
        if step["kind"] == "code":
            record(event="cell", index=number)
            filename = f"<cell {step['label']}>"
            try:
                code = compile(python_source(step["source"]), filename, "exec")
            except SyntaxError as exc:
                record(event="cell-error", index=number, kind="error", error=f"SyntaxError: {exc.msg} (line {exc.lineno})")
                continue
            began = monotonic()
            try:
                _alarm(cell_timeout)
                try:
                    exec(code, namespace)
                finally:
                    _disarm()
            except CellTimeout:
                record(event="cell-error", index=number, kind="timeout", error=f"stopped after {cell_timeout:g} s")
            except BaseException as exc:  # noqa: BLE001 - every failure of student code is reported
                kind = _classify(exc)
                text = error_text(exc)
                if kind == "sys-exit":
                    text = f"the cell called sys.exit({getattr(exc, 'code', None)!r}); grading went on with the next cell"
                record(event="cell-error", index=number, kind=kind, error=text + _where(exc, filename))
            record(event="cell-done", index=number, seconds=round(monotonic() - began, 3))
            continue
        exercise = step["exercise"]
        task = tasks[exercise]
        if task["answer"] not in namespace:
            record(event="answer", exercise=exercise, status="missing", identity=None, problem=None, outcomes=[])
            continue
        answer = namespace[task["answer"]]
        status, identity, problem, outcomes = "answered", None, None, []
        try:
            _alarm(cell_timeout)
            try:
                watch = Watch([o for o in map(_resolve, task["forbidden"]) if o is not None])
                identity = identify(answer, None, watch)
                problem = shape_problem(task["kind"], answer)
                if problem:
                    status = "wrong-kind"
                else:
                    state = torch.random.get_rng_state()
                    for probe in task["probes"]:
                        manual_seed(probe.seed)
                        outcomes.append(run_probe(answer, probe, watch))
                    torch.random.set_rng_state(state)
            finally:
                _disarm()
        except CellTimeout:
            status = "timeout"
        except BaseException as exc:  # noqa: BLE001
            status = "memory" if _classify(exc) == "memory" else "error"
            problem = error_text(exc)
        record(event="answer", exercise=exercise, status=status, identity=identity, problem=problem, outcomes=outcomes)
    record(event="done")
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    return 0


def main() -> int:
    fd = int(sys.argv[-1])  # the last argument, however the runner was started
    job = pickle.loads(sys.stdin.buffer.read())  # written by the grader, the trusted side
    sys.stdin = open("/dev/null")
    return run(job, fd)


if __name__ == "__main__":
    code = main()
    # Leave at once: no interpreter shutdown that student objects could hook into.
    import os

    os._exit(code)
