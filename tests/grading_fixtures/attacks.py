"""Hostile submissions for chapter 02, one per way a cunning student attacks the grader.

Same format as ``adversarial.py`` (edits of the solution notebook, 7 points).
Each attack reports what it managed to find or do by raising an error in a
cell that runs before any check, where the feedback shows the full message:
``RuntimeError: found [...]``. The tests read that message and the scores.
"""

from .adversarial import GIVEN_SE_INIT

ZERO_FORWARD = GIVEN_SE_INIT + '''
    def forward(self, x):
        return x * 0
'''

# --- forging ------------------------------------------------------------------

# Walk every frame above the cell and every object in memory for the reference,
# its outcomes or anything holding "expected" values; use whatever turns up.
SEARCH_MEMORY = '''
import gc, sys

found = []
for obj in gc.get_objects():
    try:
        module = getattr(obj, "__module__", "") or ""
        if isinstance(obj, type) and module.startswith("attn_edu") and obj.__name__ == "SqueezeExcitation":
            found.append(f"{module}.{obj.__name__}")
        if type(obj).__name__ in ("Plan", "Exercise", "CheckResult", "Task"):
            found.append(f"a {type(obj).__name__}")
        if isinstance(obj, dict) and isinstance(obj.get("expected"), list) and obj["expected"]:
            found.append("a dict with expected outcomes")
    except Exception:
        pass
frame = sys._getframe()
while frame is not None:
    for name, value in list(frame.f_locals.items()):
        if name in ("reference", "expected", "plan", "plans") or hasattr(value, "expected"):
            found.append(f"frame local {name}")
    frame = frame.f_back
STOLEN = found
raise RuntimeError(f"found {sorted(set(found))}")
'''

USE_WHAT_WAS_STOLEN = GIVEN_SE_INIT + '''
    def forward(self, x):
        for thing in STOLEN:
            raise RuntimeError(f"would copy {thing}")
        return x * 0
'''

# Write records on the runner's channel: a forged answer claiming outcomes for
# every probe, a forged "done", before the real answer is sent.
FORGE_RECORDS = '''
import sys, torch
from attn_edu.grading import outputs

fd = int(sys.argv[-1])
fake = [{"error": None, "stage": None, "watched": None, "output": torch.zeros(2, 16, 5, 4), "has_graph": True}] * 400
outputs.write_frame(fd, {"event": "answer", "exercise": "se-forward", "status": "answered",
                         "identity": None, "problem": None, "outcomes": fake})
outputs.write_frame(fd, {"event": "done"})
'''

# A cell fails; the next one closes the runner's channel so that nothing more
# (no later error, no "done") reaches the grader.
HIDE_ERRORS = "import os, sys\nos.close(int(sys.argv[-1]))"

GARBAGE = "import os, sys\nos.write(int(sys.argv[-1]), b'AEF1' + b'\\xff' * 64)"

# --- reaching the reference ------------------------------------------------------

VIA_SYS_MODULES = '''
import sys
modules = [m for name, m in sys.modules.items() if name.startswith("attn_edu")]
found = [f"{m.__name__}.SqueezeExcitation" for m in modules if hasattr(m, "SqueezeExcitation")]
found += [name for name in sys.modules if name.startswith("attn_edu.modules") or name == "attn_edu.functional"]
raise RuntimeError(f"found {found}")
'''

PROFILER_OFF_IN_A_THREAD = '''
import importlib, sys, threading

sys.setprofile(None)
sys.settrace(None)
found = []

def steal():
    for name in ("attn_edu.modules", "attn_edu.functional", "attn_edu.modules.se", "attn_edu.registry"):
        try:
            importlib.import_module(name)
            found.append(name)
        except ImportError:
            pass

thread = threading.Thread(target=steal)
thread.start()
thread.join()
raise RuntimeError(f"found {found}")
'''

COPIED_CODE_OBJECT = '''
import gc, types

found = []
for obj in gc.get_objects():
    if isinstance(obj, types.FunctionType):
        filename = obj.__code__.co_filename
        if "attn_edu" in filename and ("modules" in filename or "functional" in filename):
            found.append(filename)
raise RuntimeError(f"found {sorted(set(found))[:5]}")
'''

# The library's and the solutions' files, wherever the grader's machine keeps them.
FROM_DISK = '''
import os

found = []
for path in {PATHS!r}:
    if os.path.exists(path):
        found.append(path)
raise RuntimeError(f"found {{found}}")
'''

# --- harming other students and the machine --------------------------------------

KILL_EVERYONE = '''
import glob, os, signal

killed, written = [], []
for entry in os.listdir("/proc"):
    if entry.isdigit() and int(entry) not in (os.getpid(), 1):
        try:
            os.kill(int(entry), signal.SIGKILL)
            killed.append(int(entry))
        except OSError:
            pass
for folder in ["/tmp", *glob.glob("/tmp/*/"), *glob.glob("/tmp/*/*/")]:
    try:  # inside the sandbox these folders are its own private /tmp: the test looks on the host
        with open(os.path.join(folder, "ATTACK-MARKER-results.jsonl"), "w") as f:
            f.write("full marks")
        written.append(folder)
    except OSError:
        pass
raise RuntimeError(f"found killed={killed} written={len(written)}")
'''

OUTLIVE_THE_BATCH = '''
import os, subprocess, sys

subprocess.Popen(["sleep", "4243"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "4244"])
    os._exit(0)
'''

FILL_TMP = '''
import os

written = 0
try:
    for part in range(256):  # files of 16 MiB: the limit on one file's size is not what stops it
        with open(f"/tmp/filler-{part}", "wb") as f:
            for _ in range(16):
                f.write(b"x" * 2**20)
                f.flush()
                written += 2**20
except OSError as exc:
    raise RuntimeError(f"found {exc.strerror} after {written // 2**20} MiB") from None
'''

FORKS_AGAINST_THE_MEMORY_LIMIT = '''
import os, time

children = []
for _ in range(4):
    pid = os.fork()
    if pid == 0:
        blocks = []
        try:
            for _ in range(10):
                blocks.append(bytearray(64 * 2**20))
                blocks[-1][::4096] = b"x" * len(blocks[-1][::4096])  # touch every page
        except MemoryError:
            pass
        time.sleep(3)
        os._exit(0)
    children.append(pid)
for pid in children:
    os.waitpid(pid, 0)
'''

FORK_BOMB = '''
import os

for _ in range(12):
    try:
        os.fork()
    except OSError:
        break
while True:
    pass
'''

# --- the terminal ---------------------------------------------------------------

TYPE_INTO_THE_TERMINAL = '''
import fcntl, os, termios

typed = []
for fd in (0, 1, 2):
    try:
        for ch in "echo PWNED-BY-A-SUBMISSION\\n":
            fcntl.ioctl(fd, termios.TIOCSTI, ch.encode())
        typed.append(fd)
    except OSError:
        pass
try:
    tty = os.open("/dev/tty", os.O_RDWR)
    for ch in "\\x03echo PWNED-BY-A-SUBMISSION\\n":
        fcntl.ioctl(tty, termios.TIOCSTI, ch.encode())
    typed.append("/dev/tty")
except OSError:
    pass
raise RuntimeError(f"found {typed} {[os.isatty(fd) for fd in (0, 1, 2)]}")
'''

# --- exfiltration into one's own feedback -----------------------------------------

MARKER = "SECRET-MARKER-OF-ANOTHER-STUDENT"
CONTROL_WITH_MARKER = f"# {MARKER}: this student's own work\nanswer_of_the_control = 42"

# The strings are put together at run time, so that this cell's own source,
# which the runner holds, does not contain them.
LOOK_FOR_SECRETS = '''
import os, sys


def search():
    # Put together here, so that no frame but this one holds them.
    wanted = ["SECRET-MARKER-OF-" + "ANOTHER-STUDENT", "hidden_cases" + '("02-squeeze-and-excitation"']
    found = set()
    frame = sys._getframe().f_back
    while frame is not None:
        for value in list(frame.f_locals.values()):
            try:
                text = repr(value)[: 1 << 22]
            except Exception:
                continue
            found.update(w for w in wanted if w in text)
        frame = frame.f_back
    for root, dirs, files in os.walk("/"):
        if root.startswith(("/proc", "/sys", "/dev", "/usr")):
            dirs[:] = []
            continue
        for name in files:
            if name.endswith((".md", ".ipynb", ".jsonl", ".csv", ".txt", ".py")):
                try:
                    with open(os.path.join(root, name), errors="replace") as f:
                        text = f.read(1 << 20)
                except OSError:
                    continue
                found.update(f"{w} in {root}/{name}" for w in wanted if w in text)
    return sorted(found)


raise RuntimeError(f"found {search()}")
'''

# Record the inputs of every call, hidden cases included, and print them in a
# later cell's error message: the feedback must not show them unless allowed.
RECORD_HIDDEN_INPUTS = GIVEN_SE_INIT + '''
    def forward(self, x):
        SEEN.add(tuple(x.shape))
        z = x.mean(dim=(2, 3))
        s = torch.sigmoid(self.up(torch.relu(self.down(z))))
        return x * s[:, :, None, None]
'''
SHOW_HIDDEN_INPUTS = "raise RuntimeError(f'shapes seen: {sorted(SEEN)}')"
