"""Immediate feedback in a notebook: ``check(chapter, exercise, answer)``.

A check cell in an exercise notebook reads::

    check("02-squeeze-and-excitation", "se-forward", SqueezeExcitation)

It compares the answer with the reference, shows a small table (which checks
passed, and for a failure the first failing case with what was expected and
what came back), and returns the points as a plain number, which is also
what nbgrader reads as partial credit. It writes nothing to stderr.

In the solution notebook the check cell first registers hidden cases::

    ### BEGIN HIDDEN TESTS
    hidden_cases("02-squeeze-and-excitation", "se-forward", [...])
    ### END HIDDEN TESTS
    check("02-squeeze-and-excitation", "se-forward", SqueezeExcitation)

Students' notebooks do not contain those lines, and their table says that
the grader runs hidden checks.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

from .compare import Check, CheckResult
from .exercises import chapter_slug, get_exercise
from .feedback import result_html, result_text

_HIDDEN: dict[tuple[str, str], list] = {}
_MISSING = object()


def hidden_cases(chapter: str, exercise: str, cases: list) -> None:
    """Register hidden cases for the next ``check`` of this exercise (solution notebooks only)."""
    ex = get_exercise(chapter, exercise)
    _HIDDEN[(ex.chapter, ex.id)] = list(cases)


def take_hidden(chapter: str, exercise: str) -> list | None:
    """The hidden cases registered for an exercise, removed from the registry."""
    ex = get_exercise(chapter, exercise)
    return _HIDDEN.pop((ex.chapter, ex.id), None)


def check(chapter: str, exercise: str, answer: Any = _MISSING) -> float:
    """Check ``answer`` for one exercise, show the table, and return the points."""
    ex = get_exercise(chapter, exercise)
    hidden = take_hidden(chapter, exercise)
    sink = io.StringIO()
    with contextlib.redirect_stderr(sink), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if answer is _MISSING:
            result = _problem(ex.answer, f"pass your answer, e.g. check({chapter_slug(chapter)!r}, {exercise!r}, {ex.answer})")
        else:
            try:
                result = ex.check(answer, hidden)
            except Exception as exc:  # a failure of the checker itself, not of the answer
                result = _problem(ex.answer, f"the checker could not run ({type(exc).__name__}: {exc})")
    points = ex.points_for(result)
    show(result, title=f"{ex.label}", points=points, max_points=ex.points, hidden_exist=ex.has_hidden and not hidden)
    return points


def _problem(name: str, message: str) -> CheckResult:
    return CheckResult(name=name, passed=False, score=0.0, max_score=1.0, checks=[Check("answer found", False, message)])


def show(result: CheckResult, **kw) -> None:
    """Display the table as HTML in a notebook, or print it as text elsewhere."""
    text = result_text(result, **kw)
    try:
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
    except ImportError:  # plain Python without IPython
        shell = None
    if shell is None:
        print(text)
        return
    display({"text/html": result_html(result, **kw), "text/plain": text}, raw=True)
