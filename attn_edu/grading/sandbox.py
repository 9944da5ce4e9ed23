"""Run one submission in a sandbox: bubblewrap isolates it, cgroups bound what it uses.

``Launch(job, view, limits, identity)`` starts ``runner.py`` in a fresh
Python interpreter inside ``bwrap`` (Debian package ``bubblewrap``):

- new user, PID, network, IPC, UTS and cgroup namespaces: the submission sees
  only its own processes, has no network, and its uid (``identity``, one per
  submission) exists only inside its own user namespace;
- ``--new-session``: no controlling terminal, so it cannot type into the
  instructor's terminal (``TIOCSTI``) or receive the instructor's Ctrl-C;
  standard input is a pipe holding the job, standard output and error a pipe
  the grader reads (at most ``Limits.output_bytes`` are kept);
- ``--die-with-parent``: if the grader dies, the submission dies with it;
- a read-only view of the operating system and of Python's installation, no
  project folder (so no solutions, no other submissions, no gradebook), the
  package replaced by the sandbox's view of it (``build_view``: no reference
  implementation), and a private, size-limited ``/tmp`` as the only
  writable place;
- a cgroup per submission (cgroup v1: ``memory``, ``pids``, ``cpu``,
  ``cpuacct``, ``freezer``) holding every process it starts, ``setsid`` or
  not: memory (RAM, swap and its ``/tmp`` together), number of processes and
  CPU share are limits of the whole submission, and killing it freezes the
  cgroup and kills every process in it.

The records the runner sends come back on a pipe, as bytes, untouched
(``outputs.parse`` reads them). What the grader itself observes comes back
in an ``Observation``: exit status or signal, wall-clock and CPU seconds,
whether the cgroup's memory limit was hit, and whether the grader stopped it.

``problem()`` says why the sandbox cannot run here (no bwrap, namespaces
refused, no writable cgroup v1 controllers), or None. With
``unsafe=True`` a submission runs as a plain child process with per-process
limits only: no isolation at all (see ``solutions/README.md``).
"""

from __future__ import annotations

import functools
import os
import pickle
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # the attn_edu folder
CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
CGROUP_ROOT = Path("/sys/fs/cgroup")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/fonts", "/etc/localtime")
# The sandbox's attn_edu: what a notebook may import, and what the runner needs.
VIEW_FILES = {
    "attn_edu/traffic.py": "traffic.py",
    "attn_edu/grading/__init__.py": "grading/student.py",
    "attn_edu/grading/specs.py": "grading/specs.py",
    "attn_edu/grading/values.py": "grading/values.py",
    "attn_edu/grading/probes.py": "grading/probes.py",
    "attn_edu/grading/outputs.py": "grading/outputs.py",
    "attn_edu/grading/integrity.py": "grading/integrity.py",
    "attn_edu/grading/runner.py": "grading/runner.py",
}
VIEW_INIT = '''"""attn_edu, as the batch grader's sandbox offers it: no reference implementations.

While a notebook is graded, only attn_edu.grading (check, hidden_cases, randn, ...)
and attn_edu.traffic can be imported from attn_edu.
"""
'''
# Started in the sandbox: put the view first on the path, then run the runner.
BOOT = "import runpy, sys; sys.path.insert(0, sys.argv[1]); runpy.run_module('attn_edu.grading.runner', run_name='__main__')"
RUNNER_FAILED = 70  # the runner's exit status when its own code fails


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine; the message says why."""


@dataclass
class Limits:
    """What one submission may use, all its processes together."""

    timeout: float = 120.0  # seconds of wall-clock time for the whole notebook
    cell_timeout: float = 60.0  # seconds for one cell or one answer's probes
    cpu_seconds: float = 125.0  # seconds of CPU time
    memory_bytes: int = 2 * 2**30  # RAM + swap + files in its /tmp
    processes: int = 64  # processes and threads
    tmp_bytes: int = 64 * 2**20  # size of its private /tmp
    output_bytes: int = 2**20  # what the grader keeps of what it prints
    frame_bytes: int = 256 * 2**20  # what the grader keeps of its records


@dataclass
class Observation:
    """What the grader saw of one run, from outside the sandbox."""

    exit_code: int | None = None  # the runner's exit status; None when a signal ended it
    signal: int | None = None
    seconds: float = 0.0
    cpu_seconds: float | None = None
    stopped: str | None = None  # "timeout", "cpu-limit" or "interrupted": the grader stopped it
    memory_exceeded: bool = False  # the cgroup's memory limit made the kernel kill a process
    peak_memory: int | None = None  # bytes: the most all its processes held at once
    frames: bytes = b""
    frames_truncated: bool = False
    output: str = ""
    setup_error: str | None = None  # the sandbox itself could not start


# ---------------------------------------------------------------------------
# Is the sandbox available?
# ---------------------------------------------------------------------------


def _own_cgroup(controller: str) -> Path | None:
    """This process's cgroup folder for a v1 controller, or None."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3 and controller in parts[1].split(","):
            folder = CGROUP_ROOT / controller / parts[2].lstrip("/")
            return folder if folder.is_dir() else None
    return None


@functools.lru_cache(maxsize=1)
def problem() -> str | None:
    """Why the sandbox cannot run here, in words; None when it can."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap (bwrap) is not installed; on Debian or Ubuntu: apt-get install bubblewrap"
    for controller in CONTROLLERS:
        folder = _own_cgroup(controller)
        if folder is None:
            return (
                f"no cgroup v1 '{controller}' controller is mounted under {CGROUP_ROOT} "
                "(this grader needs cgroup v1 controllers; cgroup v2 is not supported yet)"
            )
        if not os.access(folder, os.W_OK):
            return f"cannot create cgroups in {folder} (run the grader as root)"
    try:
        test = subprocess.run(
            [bwrap, "--unshare-all", "--new-session", "--die-with-parent", *_system_binds(), "--proc", "/proc",
             "--dev", "/dev", "--", "/bin/sh", "-c", "exit 0"],
            capture_output=True, timeout=30, stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not start: {exc}"
    if test.returncode != 0:
        reason = test.stderr.decode(errors="replace").strip().splitlines()
        return "bwrap could not create its namespaces here" + (f" ({reason[-1]})" if reason else "")
    return None


# ---------------------------------------------------------------------------
# The sandbox's view of the package
# ---------------------------------------------------------------------------


def build_view(folder: Path) -> Path:
    """Write the sandbox's attn_edu into ``folder``; return ``folder``."""
    (folder / "attn_edu" / "grading").mkdir(parents=True, exist_ok=True)
    (folder / "attn_edu" / "__init__.py").write_text(VIEW_INIT)
    for target, source in VIEW_FILES.items():
        shutil.copyfile(PACKAGE / source, folder / target)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


# ---------------------------------------------------------------------------
# bubblewrap's command line
# ---------------------------------------------------------------------------


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in SYSTEM_DIRS:
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), path]
        elif p.is_dir():
            args += ["--ro-bind", path, path]
    for path in ETC_FILES:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    return args


def _python_dirs() -> list[str]:
    """Python's installation and site-packages folders: the only ones mounted besides the system's.

    Other entries of ``sys.path`` (the current folder, an instructor's course
    folder, the project with its solutions) are never mounted.
    """
    import site

    project = PACKAGE.parent
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    prefixes.add(str(Path(os.path.realpath(sys.executable)).parent.parent))
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    candidates = [*prefixes, *site.getsitepackages(), *([user_site] if user_site else [])]
    candidates += [p for p in sys.path if p and any(os.path.realpath(p).startswith(q + "/") for q in prefixes)]
    found: list[Path] = []
    for c in candidates:
        if not c or not os.path.isdir(c):
            continue
        p = Path(os.path.realpath(c))
        if p == Path("/") or any(str(p) == s or str(p).startswith(s + "/") for s in SYSTEM_DIRS):
            continue  # mounted with the system
        if p == project or p in project.parents:
            continue  # would show the project folder, and with it the solutions
        found.append(p)
    found.sort(key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in found:
        if not any(k == p or k in p.parents for k in kept):
            kept.append(p)
    return [str(p) for p in kept]


def bwrap_command(view: Path, limits: Limits, identity: int, fd: int) -> list[str]:
    python = sys.executable
    args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--new-session", "--die-with-parent", "--clearenv"]
    for key, value in _environment().items():
        args += ["--setenv", key, value]
    # The private /tmp first: a later mount under /tmp (a project or a
    # virtualenv that lives there) then lands on top of it, not under it.
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    args += _system_binds()
    for path in _python_dirs():
        args += ["--ro-bind", path, path]
    # The installed package, wherever Python finds it, becomes the view.
    args += ["--ro-bind", str(view / "attn_edu"), str(PACKAGE), "--ro-bind", str(view), "/grader"]
    args += ["--uid", str(identity), "--gid", str(identity), "--chdir", "/tmp", "--hostname", "sandbox"]
    args += ["--", python, "-I", "-c", BOOT, "/grader", str(fd)]
    return args


def _environment() -> dict[str, str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/.matplotlib",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TRITON_CACHE_DIR": "/tmp/.triton",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env["TRITON_INTERPRET"] = "1"  # the sandbox binds no GPU device: chapter 11's kernels run in Triton's interpreter
    return env


# ---------------------------------------------------------------------------
# cgroups
# ---------------------------------------------------------------------------


class Cgroup:
    """One submission's cgroups, one folder per v1 controller."""

    def __init__(self, name: str, limits: Limits):
        self.folders: dict[str, Path] = {}
        seen: set[Path] = set()
        for controller in CONTROLLERS:
            parent = _own_cgroup(controller)
            if parent is None:
                raise SandboxUnavailable(f"no cgroup v1 '{controller}' controller")
            folder = parent / name
            if folder.resolve() in seen:
                self.folders[controller] = folder
                continue
            folder.mkdir()
            seen.add(folder.resolve())
            self.folders[controller] = folder
        memory = self.folders["memory"]
        self._write(memory / "memory.limit_in_bytes", limits.memory_bytes)
        if (memory / "memory.memsw.limit_in_bytes").exists():
            self._write(memory / "memory.memsw.limit_in_bytes", limits.memory_bytes)
        self._write(self.folders["pids"] / "pids.max", limits.processes)
        self._write(self.folders["cpu"] / "cpu.cfs_period_us", 100_000)
        self._write(self.folders["cpu"] / "cpu.cfs_quota_us", 100_000)  # one core at most

    @staticmethod
    def _write(path: Path, value) -> None:
        with open(path, "w") as f:
            f.write(str(value))

    def procs_files(self) -> list[str]:
        return sorted({str(f / "cgroup.procs") for f in self.folders.values()})

    def cpu_seconds(self) -> float | None:
        try:
            return int((self.folders["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return None

    def peak_memory(self) -> int | None:
        try:
            return int((self.folders["memory"] / "memory.max_usage_in_bytes").read_text())
        except (OSError, ValueError):
            return None

    def oom_killed(self) -> bool:
        try:
            for line in (self.folders["memory"] / "memory.oom_control").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        except (OSError, ValueError):
            pass
        return False

    def pids(self) -> list[int]:
        try:
            return [int(p) for p in (self.folders["pids"] / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill_all(self) -> None:
        """Freeze every process in the cgroup, kill them all, thaw: nothing can fork away."""
        freezer = self.folders["freezer"] / "freezer.state"
        for _ in range(50):
            try:
                self._write(freezer, "FROZEN")
            except OSError:
                break
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and freezer.read_text().strip() != "FROZEN":
                time.sleep(0.005)
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self._write(freezer, "THAWED")
            except OSError:
                pass
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline and self.pids():
                time.sleep(0.005)
            if not self.pids():
                return

    def remove(self) -> None:
        self.kill_all()
        for folder in dict.fromkeys(self.folders.values()):
            for _ in range(100):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)


# ---------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------


class _Drain(threading.Thread):
    """Read a pipe to its end; keep the first ``limit`` bytes, count the rest."""

    def __init__(self, fd: int, limit: int):
        super().__init__(daemon=True)
        self.fd, self.limit = fd, limit
        self.chunks: list[bytes] = []
        self.kept = 0
        self.total = 0

    def run(self) -> None:
        try:
            while True:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break
                self.total += len(chunk)
                if self.kept < self.limit:
                    piece = chunk[: self.limit - self.kept]
                    self.chunks.append(piece)
                    self.kept += len(piece)
        except OSError:
            pass
        finally:
            os.close(self.fd)

    def data(self) -> bytes:
        return b"".join(self.chunks)


class _Feed(threading.Thread):
    """Write the job into the runner's standard input, then close it."""

    def __init__(self, fd: int, data: bytes):
        super().__init__(daemon=True)
        self.fd, self.data = fd, data

    def run(self) -> None:
        try:
            view = memoryview(self.data)
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            pass
        finally:
            os.close(self.fd)


def _unsafe_limits(limits: Limits):
    def apply() -> None:  # in the child, before exec: plain syscalls only
        cpu = max(1, int(limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


class Launch:
    """One submission running (``poll``, ``stop``) and then observed (``finish``)."""

    def __init__(self, job: dict, view: Path, limits: Limits, identity: int, *, unsafe: bool = False, name: str = ""):
        self.limits = limits
        self.observation = Observation()
        self.cgroup: Cgroup | None = None
        self.process: subprocess.Popen | None = None
        self.started = time.monotonic()
        frames_read, frames_write = os.pipe()
        out_read, out_write = os.pipe()
        in_read, in_write = os.pipe()
        payload = pickle.dumps({**job, "memory_bytes": limits.memory_bytes}, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            if unsafe:
                command = [sys.executable, "-I", "-c", BOOT, str(view), str(frames_write)]
                env = {**_environment(), "HOME": str(view), "TMPDIR": str(view), "MPLCONFIGDIR": str(view / ".matplotlib")}
                self.process = subprocess.Popen(
                    command, stdin=in_read, stdout=out_write, stderr=out_write, pass_fds=(frames_write,),
                    env=env, cwd=view, start_new_session=True, preexec_fn=_unsafe_limits(limits),
                )
            else:
                self.cgroup = Cgroup(f"attn-edu-{os.getpid()}-{identity}-{name}", limits)
                join = 'for f in $ATTN_EDU_CGROUPS; do echo $$ > "$f" || exit 97; done; exec "$@"'
                command = ["/bin/sh", "-c", join, "sh", *bwrap_command(view, limits, identity, frames_write)]
                env = {"PATH": "/usr/bin:/bin", "ATTN_EDU_CGROUPS": " ".join(self.cgroup.procs_files())}
                self.process = subprocess.Popen(
                    command, stdin=in_read, stdout=out_write, stderr=out_write, pass_fds=(frames_write,),
                    env=env, start_new_session=True,
                )
        except (OSError, SandboxUnavailable) as exc:
            self.observation.setup_error = f"could not start the sandbox: {exc}"
            for fd in (frames_read, frames_write, out_read, out_write, in_read, in_write):
                os.close(fd)
            if self.cgroup is not None:
                self.cgroup.remove()
                self.cgroup = None
            self.frames = self.output = None
            return
        for fd in (frames_write, out_write, in_read):
            os.close(fd)
        self.frames = _Drain(frames_read, limits.frame_bytes)
        self.output = _Drain(out_read, limits.output_bytes)
        self.feed = _Feed(in_write, payload)
        for thread in (self.frames, self.output, self.feed):
            thread.start()

    def poll(self) -> bool:
        """True once the run is over; stops it at the wall-clock and CPU limits."""
        if self.process is None:
            return True
        if self.process.poll() is not None:
            return True
        if time.monotonic() - self.started > self.limits.timeout:
            self.stop("timeout")
        elif self.cgroup is not None and (self.cgroup.cpu_seconds() or 0) > self.limits.cpu_seconds:
            self.stop("cpu-limit")
        return self.process.poll() is not None

    def stop(self, reason: str) -> None:
        if self.observation.stopped is None:
            self.observation.stopped = reason
        self._kill()

    def _kill(self) -> None:
        if self.cgroup is not None:
            self.cgroup.kill_all()
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass

    def finish(self) -> Observation:
        """Wait for the end, kill whatever is left, and return what was observed."""
        obs = self.observation
        if self.process is None:
            return obs
        try:
            code = self.process.wait(timeout=max(0.0, self.limits.timeout - (time.monotonic() - self.started)) + 5)
        except subprocess.TimeoutExpired:
            self.stop("timeout")
            code = self.process.wait()
        obs.seconds = time.monotonic() - self.started
        if self.cgroup is not None:
            obs.cpu_seconds = self.cgroup.cpu_seconds()
            obs.memory_exceeded = self.cgroup.oom_killed()
            obs.peak_memory = self.cgroup.peak_memory()
        self._kill()  # processes the submission left behind
        for thread in (self.frames, self.output, self.feed):
            thread.join(timeout=10)
        if self.cgroup is not None:
            self.cgroup.remove()
        # A process killed by a signal: Popen says -N directly, bwrap says 128 + N.
        if code < 0:
            obs.signal = -code
        elif self.cgroup is not None and code > 128 and code - 128 < 65:
            obs.signal = code - 128
        elif code == 97 and self.cgroup is not None:
            obs.setup_error = "could not put the sandbox into its cgroup"
        else:
            obs.exit_code = code
        if obs.signal == signal.SIGXCPU and obs.stopped is None:
            obs.stopped = "cpu-limit"
        obs.frames = self.frames.data()
        obs.frames_truncated = self.frames.total > self.frames.kept
        obs.output = self.output.data().decode("utf-8", errors="replace")
        if obs.exit_code not in (None, 0) and obs.stopped is None and not obs.frames:
            obs.setup_error = _startup_failure(obs.output)
        return obs


def _startup_failure(output: str) -> str | None:
    """The runner died before sending anything: say why, from its last lines."""
    lines = [line for line in output.strip().splitlines() if line.strip()]
    if not lines:
        return "the sandboxed interpreter exited before sending anything"
    return "the sandboxed interpreter failed to start: " + lines[-1][:300]
