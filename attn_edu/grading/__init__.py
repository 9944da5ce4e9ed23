"""Autograding for the attn-edu exercises.

- ``check_against(reference, candidate)``: compare any class or function with
  a reference one; returns a ``CheckResult`` (``passed``, ``score``,
  ``max_score``, per-check messages).
- ``check(chapter, exercise, answer)``: the check cell of an exercise
  notebook; shows a feedback table and returns the points.
- ``hidden_cases(chapter, exercise, cases)``: used by solution notebooks.
- ``randn``, ``uniform``, ``bool_mask``, ``causal``: random inputs for cases.
- ``attn_edu.grading.assign`` generates exercises/ from solutions/;
  ``attn_edu.grading.batch`` grades a class's notebooks, each in its own
  sandbox (``attn-edu assign`` and ``attn-edu grade`` on the command line).

The checks, in the order one runs:

    specs.py      random inputs described by shape (randn, bool_mask, ...)
    cases.py      default cases for every public class and function of attn_edu
    probes.py     make a plan of probes, run any target on a probe
    values.py     pack what came back; find where it differs
    compare.py    judge the outcomes: CheckResult, check_against
    feedback.py   the tables: HTML, Markdown, text
    exercises.py  the exercises of each chapter and their references
    notebook.py   check() and hidden_cases() for notebook cells

Batch grading, one module per stage of its pipeline:

    submission.py  the notebook: read it, rebuild it from the assignment
    integrity.py   read the student's code without running it
    sandbox.py     the sandboxed run: bubblewrap and cgroups, from outside
    runner.py      ... and from inside: runs the cells and the probes
    student.py     the attn_edu.grading a notebook sees inside the sandbox
    outputs.py     the untrusted outputs: framed, size-bounded, validated
    compare.py     the comparison (as above), in the grader's own process
    report.py      the report: gradebook, results, feedback
    batch.py       the stages joined: Grader

Routes for instructors: ``assign.py`` (solutions -> exercises),
``nbgrader_course.py`` (an nbgrader course), ``gradescope.py`` (a Gradescope
autograder), ``lms.py`` (a gradebook Canvas and Moodle import).
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
