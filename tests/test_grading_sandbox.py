"""The batch grader against hostile submissions.

Every attack class a cunning student tried on the old grader is here, run
in a batch beside a correct control submission that must still get full
marks: forging results, reaching the reference, harming other submissions
and the machine, typing into the instructor's terminal, exhausting memory,
processes or /tmp, hiding errors, and smuggling secrets into feedback.
"""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from attn_edu.grading import sandbox
from attn_edu.grading.batch import Grader, write_reports
from grading_fixtures import attacks
from grading_fixtures.adversarial import FULL
from grading_fixtures.build import write_submissions

pytestmark = pytest.mark.skipif(
    sandbox.problem() is not None, reason=f"the grading sandbox cannot run here: {sandbox.problem()}"
)

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "02-squeeze-and-excitation.md"
LIMITS = {"timeout": 30, "cell_timeout": 15, "memory_mb": 768}
ZERO = {k: 0 for k in FULL}
CONTROL = {"control": {}}


def grade(tmp_path: Path, specs: dict, *, jobs: int = 2, hidden_details: str = "show", **limits):
    """Grade the specs and a correct control together; return results by name and the reports."""
    paths = write_submissions(tmp_path / "submissions", specs={**specs, **CONTROL})
    grader = Grader(SOLUTION, jobs=jobs, hidden_details=hidden_details, check_solution=False, **{**LIMITS, **limits})
    results = dict(zip(paths, grader.grade(list(paths.values()))))
    written = write_reports(list(results.values()), grader, tmp_path / "out" / "grades.csv")
    control = results["control"]
    assert control.total == 7 and control.status == "ok", control.to_dict()
    return results, written


def found(result) -> str:
    """What an attack reported: the message of its ``RuntimeError: found ...``."""
    messages = [c["error"] for c in result.cells if c["error"].startswith("RuntimeError: found")]
    assert messages, result.to_dict()
    return re.sub(r" \(line \d+\)$", "", messages[0][len("RuntimeError: found "):])


def points(result) -> dict:
    return {e.id: e.points for e in result.exercises}


def feedback_of(written, name: str) -> str:
    return next(p for p in written["feedback"].glob("*.md") if name in p.name).read_text()


def sleepers(*words: str) -> list[str]:
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"sleep") and any(w.encode() in args for w in words):
            alive.append(cmdline.parent.name)
    return alive


# ---------------------------------------------------------------------------
# Forging
# ---------------------------------------------------------------------------


def test_forging_from_an_answer_cell_has_nothing_to_forge_with(tmp_path):
    results, _ = grade(tmp_path, {
        "searches-memory": {
            "after": {"setup": [attacks.SEARCH_MEMORY]},
            "replace": {"se-forward": attacks.USE_WHAT_WAS_STOLEN},
        },
        "forges-records": {
            "after": {"setup": [attacks.FORGE_RECORDS]},
            "replace": {"se-forward": attacks.ZERO_FORWARD},
        },
    })
    searcher = results["searches-memory"]
    assert found(searcher) == "[]"  # no reference, no expected outcome, no plan in the sandbox
    assert points(searcher) == {**FULL, "se-forward": 0}
    # A forged answer record claims outcomes; they are compared with the
    # reference's, computed outside the sandbox, and are wrong.
    forger = results["forges-records"]
    assert points(forger) == {**FULL, "se-forward": 0}


def test_a_submission_cannot_hide_its_errors_or_claim_it_finished(tmp_path):
    results, _ = grade(tmp_path, {
        "hides-its-errors": {"after": {"setup": ["1 / 0", attacks.HIDE_ERRORS]}},
        "garbage-on-the-channel": {"after": {"se-forward-check": [attacks.GARBAGE]}},
    })
    hider = results["hides-its-errors"]
    assert [c["error"][:17] for c in hider.cells] == ["ZeroDivisionError"]
    assert {"cell-error", "exited"} <= set(hider.status.split(";")) and hider.total == 0
    garbage = results["garbage-on-the-channel"]
    assert "output-unreadable" in garbage.status.split(";")
    assert points(garbage) == {**FULL, "se-parameters": 0, "se-fix": 0}


# ---------------------------------------------------------------------------
# Reaching the reference
# ---------------------------------------------------------------------------


def test_the_reference_cannot_be_reached_in_any_way(tmp_path):
    import attn_edu

    package = Path(attn_edu.__file__).resolve().parent
    paths = [str(package / "modules" / "se.py"), str(package / "functional.py"), str(SOLUTION), str(ROOT / "solutions")]
    ways = {
        "via-sys-modules": attacks.VIA_SYS_MODULES,
        "profiler-off-in-a-thread": attacks.PROFILER_OFF_IN_A_THREAD,
        "copied-code-object": attacks.COPIED_CODE_OBJECT,
        "from-disk": attacks.FROM_DISK.format(PATHS=paths),
    }
    results, _ = grade(tmp_path, {name: {"after": {"setup": [code]}} for name, code in ways.items()})
    for name in ways:
        assert found(results[name]) == "[]", name
        assert points(results[name]) == FULL, name


# ---------------------------------------------------------------------------
# Harming other students and the machine
# ---------------------------------------------------------------------------


def test_a_submission_cannot_harm_another_or_outlive_its_grading(tmp_path):
    identity = "import os\nraise RuntimeError(f'found uid={os.getuid()}')"
    results, _ = grade(tmp_path, {
        "kills-everyone": {"after": {"setup": [attacks.KILL_EVERYONE]}},
        "outlives-the-batch": {"after": {"setup": [attacks.OUTLIVE_THE_BATCH, identity]}},
        "another": {"after": {"setup": [identity]}},
    }, jobs=2)
    assert found(results["kills-everyone"]).startswith("killed=[] ")  # it sees no process but its own
    # What it wrote went into its private /tmp: nothing reached the machine's /tmp or the project.
    reached = [*Path("/tmp").glob("ATTACK-MARKER*"), *Path("/tmp").glob("*/ATTACK-MARKER*"),
               *Path("/tmp").glob("*/*/ATTACK-MARKER*"), *ROOT.glob("**/ATTACK-MARKER*")]
    assert not reached, reached
    assert points(results["kills-everyone"]) == FULL
    assert found(results["outlives-the-batch"]) != found(results["another"])  # one identity per submission
    assert not sleepers("4243", "4244")


def test_memory_and_processes_are_limited_for_all_processes_together(tmp_path):
    results, _ = grade(tmp_path, {
        "forks-against-the-memory-limit": {"after": {"se-forward-check": [attacks.FORKS_AGAINST_THE_MEMORY_LIMIT]}},
        "fork-bomb": {"after": {"se-parameters-check": [attacks.FORK_BOMB]}},
    }, timeout=12, cell_timeout=15)
    forks = results["forks-against-the-memory-limit"]
    # Four children of 640 MiB each against 768 MiB for the whole submission.
    assert "memory-limit" in forks.status.split(";"), forks.to_dict()
    assert forks.peak_memory_mb is not None and forks.peak_memory_mb <= LIMITS["memory_mb"]
    bomb = results["fork-bomb"]
    assert {e.id: e.points for e in bomb.exercises if e.id != "se-fix"} == {k: v for k, v in FULL.items() if k != "se-fix"}
    assert "timeout" in bomb.status.split(";")


def test_a_full_tmp_fails_only_its_own_notebook_and_the_reports_are_written(tmp_path):
    results, written = grade(tmp_path, {"fills-tmp": {"after": {"setup": [attacks.FILL_TMP]}}})
    filler = results["fills-tmp"]
    assert re.fullmatch(r"No space left on device after 6\d MiB", found(filler))  # its private 64 MiB /tmp
    assert points(filler) == FULL
    with open(written["grades"], newline="") as f:
        assert len(list(csv.DictReader(f))) == 2


# ---------------------------------------------------------------------------
# Secrets in feedback
# ---------------------------------------------------------------------------


def test_feedback_carries_no_hidden_test_no_other_students_work_and_no_hidden_inputs(tmp_path):
    specs = {
        "looks-for-secrets": {"after": {"setup": [attacks.LOOK_FOR_SECRETS]}},
        "shows-hidden-inputs": {
            "after": {"setup": ["SEEN = set()"], "se-forward-check": [attacks.SHOW_HIDDEN_INPUTS]},
            "replace": {"se-forward": attacks.RECORD_HIDDEN_INPUTS},
        },
        "has-a-secret": {"after": {"setup": [attacks.CONTROL_WITH_MARKER]}},
    }
    results, written = grade(tmp_path / "hide", specs, hidden_details="hide")
    assert found(results["looks-for-secrets"]) == "[]"
    for name in specs:
        text = feedback_of(written, name)
        assert attacks.MARKER not in text or name == "has-a-secret"
        assert "hidden_cases" not in text and "BEGIN HIDDEN" not in text
    shower = results["shows-hidden-inputs"]
    assert points(shower) == FULL
    assert "shapes seen" not in feedback_of(written, "shows-hidden-inputs")
    assert "message not shown: hidden cases had run" in feedback_of(written, "shows-hidden-inputs")
    # The instructor may allow it: then the student sees what their code printed.
    results, written = grade(tmp_path / "show", {"shows-hidden-inputs": specs["shows-hidden-inputs"]}, hidden_details="show")
    assert "shapes seen" in feedback_of(written, "shows-hidden-inputs")


# ---------------------------------------------------------------------------
# The instructor's terminal
# ---------------------------------------------------------------------------


def _grade_in_a_terminal(tmp_path: Path, specs: dict, *, interrupt_after: str | None = None, jobs: int = 1):
    """Run `attn-edu grade` with a pseudo-terminal as its controlling terminal."""
    paths = write_submissions(tmp_path / "submissions", specs=specs)
    out = tmp_path / "out" / "grades.csv"
    command = [sys.executable, "-m", "attn_edu.cli", "grade", *map(str, paths.values()), "--assignment", "02",
               "--out", str(out), "--jobs", str(jobs), "--timeout", "60", "--cell-timeout", "30", "--memory", "768",
               "--solutions", str(ROOT / "solutions")]
    pid, master = pty.fork()
    if pid == 0:  # the child: its terminal is the pseudo-terminal
        os.chdir(ROOT)
        os.execv(sys.executable, command)
    screen = b""
    interrupted = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        if interrupt_after and not interrupted and interrupt_after.encode() in screen:
            time.sleep(1.0)
            os.write(master, b"\x03")  # the instructor presses Ctrl-C
            interrupted = True
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return os.waitstatus_to_exitcode(status), screen.decode(errors="replace"), out


def test_a_submission_cannot_type_into_the_instructors_terminal(tmp_path):
    code, screen, out = _grade_in_a_terminal(tmp_path, {
        "types-into-the-terminal": {"after": {"setup": [attacks.TYPE_INTO_THE_TERMINAL]}},
        "control": {},
    })
    assert code == 0, screen
    assert "PWNED" not in screen
    records = {Path(r["submission"]).stem: r for r in map(json.loads, (out.parent / "results.jsonl").read_text().splitlines())}
    typed = next(c["error"] for c in records["types-into-the-terminal"]["cells"] if "found" in c["error"])
    assert "found [] [False, False, False]" in typed  # no terminal at all: fds 0-2 are pipes
    assert records["control"]["total"] == 7


def test_ctrl_c_stops_grading_cleanly_and_writes_what_was_graded(tmp_path):
    code, screen, out = _grade_in_a_terminal(tmp_path, {
        "a-first": {},
        "b-slow": {"after": {"setup": ["import time\ntime.sleep(50)"]}},
        "c-last": {},
    }, interrupt_after="[1/3]")
    assert code == 130, screen
    with open(out.with_name("status.csv"), newline="") as f:
        rows = {Path(r["submission"]).stem: r for r in csv.DictReader(f)}
    assert rows["a-first"]["status"] == "ok" and float(rows["a-first"]["total"]) == 7
    assert rows["b-slow"]["status"] == rows["c-last"]["status"] == "interrupted"
    assert (out.parent / "results.jsonl").exists() and len(list((out.parent / "feedback").glob("*.md"))) == 3
    assert not list(sandbox._own_cgroup("pids").glob("attn-edu-*")), "a sandbox's cgroup is left behind"


# ---------------------------------------------------------------------------
# The sandbox's view of the package
# ---------------------------------------------------------------------------


def test_the_sandbox_view_holds_no_reference_and_imports_nothing_outside_itself(tmp_path):
    import subprocess

    view = sandbox.build_view(tmp_path / "view")
    files = sorted(p.relative_to(view).as_posix() for p in view.rglob("*.py"))
    assert files == sorted([*sandbox.VIEW_FILES, "attn_edu/__init__.py"])
    probe = (
        "import importlib, sys; sys.path.insert(0, sys.argv[1])\n"
        "import attn_edu.grading, attn_edu.traffic, attn_edu.grading.runner\n"
        "from attn_edu.grading import check, hidden_cases, randn\n"
        "assert check('02', 'se-forward', None) == 0\n"
        "blocked = []\n"
        "for name in ('attn_edu.modules', 'attn_edu.functional', 'attn_edu.profile', 'attn_edu.registry',\n"
        "             'attn_edu.grading.exercises', 'attn_edu.grading.compare', 'attn_edu.gpu'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError:\n"
        "        blocked.append(name)\n"
        "print(len(blocked), sorted(m for m in sys.modules if m.startswith('attn_edu')))\n"
    )
    # The sandbox's own mounts, with this probe in place of the runner. (Outside the
    # sandbox, an editable install's import hook would still find the real package:
    # that is one reason grading without the sandbox is unsafe.)
    command = sandbox.bwrap_command(view, sandbox.Limits(), 10_000, 0)
    command = command[: command.index("--") + 1] + [sys.executable, "-I", "-c", probe, "/grader"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    count, loaded = done.stdout.split(" ", 1)
    assert count == "7"  # every reference module is out of reach
    assert "attn_edu.modules" not in loaded and "attn_edu.functional" not in loaded


def test_the_private_tmp_is_mounted_before_anything_that_lives_under_tmp(tmp_path):
    # A clone and its virtualenv under /tmp (as in CI) must stay visible in the sandbox.
    command = sandbox.bwrap_command(tmp_path, sandbox.Limits(), 10_000, 3)
    tmpfs = max(i for i, arg in enumerate(command) if arg == "--tmpfs" and command[i + 1] == "/tmp")
    binds = [i for i, arg in enumerate(command) if arg == "--ro-bind"]
    assert binds and all(i > tmpfs for i in binds)
