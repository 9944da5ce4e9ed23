"""Adversarial submissions for chapter 02, as edits of the solution notebook.

Each entry edits the solution notebook (full marks: 7 points) and says what
the grader must find:

- ``replace``: {grade_id: new source} for existing cells;
- ``after``: {grade_id: [sources]} code cells the "student" added after a cell;
- ``base``: "solution" (default) or "exercise" (the generated stubs);
- ``strip_metadata``: remove every cell's nbgrader metadata;
- ``expect``: the points of each exercise and the flags the status must show.

The grader runs these with short limits (see tests/test_grading_batch.py):
a cell is stopped after a few seconds, the notebook after ten.
"""

FULL = {"se-squeeze": 1, "se-forward": 3, "se-parameters": 1, "se-fix": 2}

# The exercise's given class header and __init__, shared by the submissions below.
GIVEN_SE_INIT = '''
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, reduction=16, bias=True):
        super().__init__()
        hidden = channels // reduction
        self.channels = channels
        self.reduction = reduction
        self.down = nn.Linear(channels, hidden, bias=bias)
        self.up = nn.Linear(hidden, channels, bias=bias)
'''

WRONG_FORWARD_NO_SIGMOID = GIVEN_SE_INIT + '''
    def forward(self, x):
        z = x.mean(dim=(2, 3))
        s = self.up(torch.relu(self.down(z)))  # no sigmoid
        return x * s[:, :, None, None]
'''

ENDLESS_FORWARD = WRONG_FORWARD_NO_SIGMOID.replace(
    "        z = x.mean(dim=(2, 3))", "        while True:\n            pass\n        z = x.mean(dim=(2, 3))"
)

HIDDEN_REFERENCE_FORWARD = '''
import importlib

_library = importlib.import_module("attn" + "_edu.mod" + "ules")


''' + GIVEN_SE_INIT + '''
    def forward(self, x):
        twin = getattr(_library, "Squeeze" + "Excitation")(self.channels, self.reduction, self.down.bias is not None)
        twin.load_state_dict(self.state_dict())
        return twin.to(x.dtype).to(x.device)(x)
'''

SUBMISSIONS = {
    "solution-as-ipynb": {"expect": {"points": FULL, "flags": []}},
    "exercise-stubs": {"base": "exercise", "expect": {"points": {k: 0 for k in FULL}, "flags": []}},
    "cell-raises": {
        "after": {"setup": ["1 / 0"]},
        "expect": {"points": FULL, "flags": ["cell-error"]},
    },
    "infinite-loop-cell": {
        "replace": {"se-parameters": "while True:\n    pass"},
        "expect": {"points": {**FULL, "se-parameters": 0}, "flags": ["timeout"]},
    },
    "infinite-loop-in-answer": {
        "replace": {"se-forward": ENDLESS_FORWARD},
        "expect": {"points": {**FULL, "se-forward": 0}, "flags": ["timeout"]},
    },
    "loop-that-swallows-interrupts": {
        "after": {"se-forward-check": ["while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass"]},
        "expect": {"points": {**FULL, "se-parameters": 0, "se-fix": 0}, "flags": ["timeout"]},
    },
    "unbounded-memory": {
        "after": {
            "se-squeeze-check": [
                "def hog():\n    blocks = []\n    while True:\n        blocks.append(bytearray(64 * 2**20))\n\nhog()",
                "huge = torch.zeros(2**40)",
            ]
        },
        "expect": {"points": FULL, "flags": ["memory-limit"]},
    },
    "sys-exit": {
        "after": {"setup": ["import sys\nsys.exit('I am done')"]},
        "expect": {"points": FULL, "flags": ["sys-exit"]},
    },
    "os-exit": {
        "after": {"se-forward-check": ["import os\nos._exit(0)"]},
        "expect": {"points": {**FULL, "se-parameters": 0, "se-fix": 0}, "flags": ["exited"]},
    },
    "monkeypatch": {
        "replace": {"se-forward": WRONG_FORWARD_NO_SIGMOID},
        "after": {
            "setup": [
                "import attn_edu.grading\n"
                "attn_edu.grading.check_against = lambda *args, **kwargs: None\n"
                "attn_edu.grading.check = lambda *args, **kwargs: 3\n"
                "torch.allclose = lambda *args, **kwargs: True\n"
                "torch.testing.assert_close = lambda *args, **kwargs: None\n"
                "torch.equal = lambda *args, **kwargs: True\n"
                "setattr(torch, 'isclose', lambda *args, **kwargs: torch.ones((), dtype=torch.bool))"
            ]
        },
        "expect": {"points": {**FULL, "se-forward": 0}, "flags": ["monkeypatch"]},
    },
    "fake-passed-lines": {
        "base": "exercise",
        "after": {"setup": ["print('All tests passed!')\nprint('Score: 7/7 points')"]},
        "expect": {"points": {k: 0 for k in FULL}, "flags": ["fake-output"]},
    },
    "reference-import": {
        "replace": {
            "se-squeeze": "from attn_edu.functional import global_avg_pool as squeeze",
            "se-forward": "from attn_edu.modules import SqueezeExcitation",
        },
        "expect": {"points": {**FULL, "se-squeeze": 0, "se-forward": 0}, "flags": ["reference-used", "imports-attn-edu"]},
    },
    "reference-subclass-and-wrapper": {
        "replace": {
            "se-parameters": (
                "import attn_edu.profile\n\n"
                "def se_parameter_count(channels, reduction=16, bias=True):\n"
                "    return attn_edu.profile.parameter_formula('se', channels, reduction=reduction, bias=bias)"
            ),
            "se-fix": (
                "import attn_edu.modules\n\n"
                "class SEBlock(attn_edu.modules.SqueezeExcitation):\n"
                "    def __init__(self, channels, reduction=16):\n"
                "        super().__init__(channels, reduction, bias=False)"
            ),
        },
        "expect": {"points": {**FULL, "se-parameters": 0, "se-fix": 0}, "flags": ["reference-used"]},
    },
    # The sandbox does not offer attn_edu's implementations, so the import fails.
    "reference-reached-at-run-time": {
        "replace": {"se-forward": HIDDEN_REFERENCE_FORWARD},
        "expect": {"points": {**FULL, "se-forward": 0}, "flags": ["cell-error"]},
    },
    "locked-cells-edited": {
        "replace": {
            "setup": "import torch\nfrom torch import nn\ncheck = lambda *args: 3",
            "se-forward-check": "3",
        },
        "expect": {"points": FULL, "flags": ["locked-cell-edited"]},
    },
    "metadata-stripped": {
        "strip_metadata": True,
        "expect": {"points": FULL, "flags": ["no-metadata"]},
    },
    "markdown-submission": {"format": "md", "expect": {"points": FULL, "flags": []}},
    # An honest notebook that plots: matplotlib must work inside the sandbox.
    "plots-a-figure": {
        "after": {"setup": ["import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.savefig('/tmp/figure.png')\nplt.show()"]},
        "expect": {"points": FULL, "flags": []},
    },
}

# In its own PID namespace, the submission's parent is the sandbox's init,
# which ignores the signal: the grader is out of reach.
KILLS_THE_GRADER = {
    "kills-the-grader": {
        "after": {"se-forward-check": ["import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"]},
        "expect": {"points": FULL, "flags": []},
    },
}

# A process the notebook starts must not outlive its grading.
LINGERING = {
    "leaves-a-process-behind": {
        "after": {"setup": ["import subprocess\nsubprocess.Popen(['sleep', '4242'])"]},
        "expect": {"points": FULL, "flags": []},
    },
}

# With a CPU-time limit shorter than the cell timeout, an endless loop hits the CPU limit.
CPU_HOG = {
    "burns-cpu": {
        "after": {"se-forward-check": ["while True:\n    pass"]},
        "expect": {"points": {**FULL, "se-parameters": 0, "se-fix": 0}, "flags": ["cpu-limit"]},
    },
}

