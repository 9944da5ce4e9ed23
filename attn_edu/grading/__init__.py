"""Autograding for the attn-edu exercises.

- ``check_against(reference, candidate)``: compare any class or function with
  a reference one; returns a ``CheckResult`` (``passed``, ``score``,
  ``max_score``, per-check messages).
- ``check(chapter, exercise, answer)``: the check cell of an exercise
  notebook; shows a feedback table and returns the points.
- ``hidden_cases(chapter, exercise, cases)``: used by solution notebooks.
- ``randn``, ``uniform``, ``bool_mask``, ``causal``: random inputs for cases.
- ``attn_edu.grading.assign`` generates exercises/ from solutions/;
  ``attn_edu.grading.batch`` grades submissions in sandboxed processes
  (``attn-edu assign`` and ``attn-edu grade`` on the command line).

The files, in the order a check runs:

    specs.py      random inputs described by shape (randn, bool_mask, ...)
    cases.py      default cases for every public class and function of attn_edu
    probes.py     make a plan of probes, run any target on a probe
    values.py     pack what came back; find where it differs
    compare.py    judge the outcomes: CheckResult, check_against
    exercises.py  the exercises of each chapter and their references
    notebook.py   check() and hidden_cases() for notebook cells
    feedback.py   the tables: HTML, Markdown, text
    assign.py     solutions -> exercises; reading an assignment
    integrity.py  reading student code without running it
    sandbox.py    the student's process
    transfer.py   data from the student's process, without pickle
    batch.py      grading a class: restore, run, compare, report
"""

from .compare import Check, CheckResult, check_against, make_plan
from .exercises import Exercise, exercises, get_exercise
from .notebook import check, hidden_cases
from .specs import bool_mask, causal, randn, uniform

__all__ = [
    "Check",
    "CheckResult",
    "Exercise",
    "bool_mask",
    "causal",
    "check",
    "check_against",
    "exercises",
    "get_exercise",
    "hidden_cases",
    "make_plan",
    "randn",
    "uniform",
]
