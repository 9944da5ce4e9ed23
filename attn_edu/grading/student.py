"""What ``attn_edu.grading`` offers a notebook while the batch grader runs it.

Inside the sandbox, the package holds only this module (as
``attn_edu.grading``), the modules the runner needs (``specs``, ``values``,
``probes``, ``outputs``, ``integrity``, ``runner``) and the helpers that an
exercise's given code uses (``attn_edu.traffic``). None of them contains a
reference implementation, so there is nothing an answer could import, alias,
reach through ``sys.modules``, call from a thread or copy the code of.

The check cells are not run in the sandbox: the runner stops at each one and
runs the grader's probes on the answer instead. ``check`` therefore only
matters if a student calls it from a cell of their own: it does nothing and
returns 0 points.
"""

from __future__ import annotations

from typing import Any

from .specs import bool_mask, causal, randn, uniform

__all__ = ["bool_mask", "causal", "check", "hidden_cases", "randn", "uniform"]


def check(chapter: str, exercise: str, answer: Any = None) -> float:
    """While grading, check cells are replaced by the grader's own probes; this returns 0."""
    return 0


def hidden_cases(chapter: str, exercise: str, cases: list) -> None:
    """Hidden cases come from the grader, never from the notebook; this does nothing."""
    return None
