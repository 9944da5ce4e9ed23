"""Compare a candidate function or class with a reference one.

The comparison is split into three steps so that the batch grader can run
the middle one in a student's sandbox and the other two in its own process,
which never runs student code:

The steps live in ``probes`` (making and running probes) and ``values``
(packing results and finding differences); this module judges:

1. ``make_plan(reference, cases)`` decides what to try: a list of
   ``Probe`` objects (constructor arguments, the reference's weights, inputs,
   mode, dtype, device, whether to take gradients), and runs the reference
   on each to record what it returns.
2. ``run_probe(target, probe)`` builds and runs a target on one probe and
   returns plain data only: outputs, the inputs after the call, gradients,
   buffers (tensors, numbers, strings, lists and dicts of them).
3. ``judge(plan, outcomes)`` compares a candidate's outcomes with the
   reference's and returns a ``CheckResult``.

``check_against(reference, candidate)`` does all three in one process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from .probes import (  # noqa: F401 - re-exported: the three steps live together here
    FUNCTION_VARIANTS,
    MODULE_VARIANTS,
    Plan,
    Probe,
    Watch,
    _error_text,
    _tensor_leaves,
    build,
    identify,
    kind_of,
    run_plan,
    run_probe,
    shape_problem,
)
from . import probes
from .cases import default_cases
from .feedback import result_html
from .values import compare_packed, compare_tensors, describe, pack  # noqa: F401

__all__ = [
    "Check",
    "CheckResult",
    "Plan",
    "Probe",
    "Watch",
    "build",
    "check_against",
    "check_plan",
    "compare_packed",
    "compare_tensors",
    "describe",
    "identify",
    "judge",
    "kind_of",
    "make_plan",
    "missing_result",
    "pack",
    "run_plan",
    "run_probe",
    "_error_text",
]

# (rtol, atol) per dtype. Loose enough for a correct implementation that sums
# in another order, tight enough that a missing scale or sigmoid fails.
TOLERANCES = {
    torch.float64: (1e-7, 1e-9),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-2, 1e-3),
    torch.bfloat16: (5e-2, 5e-2),
}
GRADIENT_SLACK = 10.0  # gradients may differ a little more than values

MUTATION_CHECK = "inputs left unchanged"
MUTATION_WEIGHT = 2.0
IDENTITY_CHECK = "your own implementation"


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class Check:
    """One row of the feedback table: a property tested on one or more probes."""

    name: str
    passed: bool
    message: str = ""
    earned: float = 0.0
    weight: float = 0.0
    probes: int = 0
    failed: int = 0
    hidden: bool = False

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "message": self.message,
            "earned": round(self.earned, 4),
            "weight": round(self.weight, 4),
            "probes": self.probes,
            "failed": self.failed,
            "hidden": self.hidden,
        }


@dataclass
class CheckResult:
    """What ``check_against`` found.

    passed:     every check passed.
    score:      the weight of the passed probes; ``max_score`` the total.
    fraction:   score / max_score (0 when nothing could be compared).
    checks:     the rows of the feedback table, each with a message.
    flags:      problems that override the score, e.g. ``"reference-used"``.
    """

    name: str
    passed: bool
    score: float
    max_score: float
    checks: list[Check] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)  # every probe: check, case, passed, message, hidden

    @property
    def fraction(self) -> float:
        return self.score / self.max_score if self.max_score > 0 else 0.0

    @property
    def messages(self) -> list[str]:
        """One line per check: ``"ok  forward values (train mode)"`` or the failure."""
        return [f"{'ok  ' if c.passed else 'FAIL'} {c.name}" + (f": {c.message}" if c.message else "") for c in self.checks]

    @property
    def has_hidden(self) -> bool:
        return any(c.hidden for c in self.checks)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "passed": self.passed,
            "score": round(self.score, 4),
            "max_score": round(self.max_score, 4),
            "checks": [c.to_dict() for c in self.checks],
            "flags": list(self.flags),
            "notes": list(self.notes),
            "cases": list(self.cases),
        }

    def __str__(self) -> str:
        head = f"{self.name}: {'passed' if self.passed else 'failed'} ({self.score:g} / {self.max_score:g})"
        return "\n".join([head, *("  " + m for m in self.messages), *("  " + n for n in self.notes)])

    def _repr_html_(self) -> str:
        return result_html(self)


def make_plan(reference: Any, cases: list | None = None, **kwargs) -> Plan:
    """``probes.make_plan``, with ``cases.default_cases(reference)`` when no cases are given."""
    return probes.make_plan(reference, default_cases(reference) if cases is None else cases, **kwargs)


# ---------------------------------------------------------------------------
# Judging
# ---------------------------------------------------------------------------


def _tolerance(probe: Probe, gradient: bool = False) -> tuple[float, float]:
    rtol, atol = TOLERANCES.get(probe.dtype or torch.float32, TOLERANCES[torch.float32])
    if gradient:
        return rtol * GRADIENT_SLACK, atol * GRADIENT_SLACK
    return rtol, atol


def _friendly_error(outcome: dict, kind: str) -> str:
    error = outcome.get("error") or ""
    stage = outcome.get("stage") or "running it"
    if error.startswith("NotImplementedError"):
        return "not implemented yet (it raises NotImplementedError)"
    return f"{stage} raised {error}"


def judge_probe(probe: Probe, expected: dict, got: Any, kind: str) -> tuple[str | None, str | None]:
    """(message about values or gradients, message about mutated inputs); None means fine."""
    if not isinstance(got, dict):
        return "the grader received no result for this case", None
    if got.get("error"):
        return _friendly_error(got, kind), None
    rtol, atol = _tolerance(probe)
    message = compare_packed(expected.get("output"), got.get("output"), "output", rtol, atol)
    if message:
        return message, None
    mutated = None
    originals = _tensor_leaves((probe.args, probe.kwargs))
    after = got.get("inputs_after") or []
    if probe.device != "meta" and len(after) == len(originals):
        for i, (before, now) in enumerate(zip(originals, after)):
            if isinstance(now, torch.Tensor) and now.shape == before.shape and not torch.equal(
                torch.nan_to_num(now.to(before.dtype)), torch.nan_to_num(before)
            ):
                name = probe.names[i] if i < len(probe.names) else "an input"
                mutated = (
                    f"your code changed its input {name} in place; build a new tensor instead "
                    f"(for example x * s rather than x *= s)"
                )
                break
    if probe.grad and expected.get("has_graph"):
        if not got.get("has_graph"):
            return (
                "the output is not connected to the inputs and parameters for autograd: did you use "
                ".detach(), .data, .item(), .numpy() or torch.no_grad()?"
            ), mutated
        rtol, atol = _tolerance(probe, gradient=True)
        exp_grads = expected.get("input_grads") or []
        got_grads = got.get("input_grads") or []
        for i, e in enumerate(exp_grads):
            g = got_grads[i] if i < len(got_grads) else None
            name = probe.names[i] if i < len(probe.names) else f"input {i + 1}"
            if e is None or e == "no-grad":
                continue
            if g is None or g == "no-grad":
                return f"no gradient reaches the input {name}", mutated
            message = compare_packed(e, g, f"gradient with respect to {name}", rtol, atol)
            if message:
                return message, mutated
        exp_params = expected.get("param_grads") or {}
        got_params = got.get("param_grads") or {}
        for pname, e in exp_params.items():
            g = got_params.get(pname)
            if e is None:
                continue
            if g is None:
                return f"no gradient reaches the parameter {pname!r}: is it used in forward?", mutated
            message = compare_packed(e, g, f"gradient of the parameter {pname!r}", rtol, atol)
            if message:
                return message, mutated
    exp_buffers = expected.get("buffers") or {}
    got_buffers = got.get("buffers") or {}
    for bname, e in exp_buffers.items():
        if not isinstance(e, torch.Tensor) or not e.is_floating_point():
            continue
        message = compare_packed(e, got_buffers.get(bname), f"the buffer {bname!r} after a training step", rtol, atol)
        if message:
            return message, mutated
    return None, mutated


def judge(
    plan: Plan,
    outcomes: list | None,
    *,
    identity: str | None = None,
    name: str | None = None,
) -> CheckResult:
    """Compare a candidate's outcomes with the reference's, row by row."""
    name = name or plan.name
    rows: dict[tuple[bool, str], Check] = {}
    order: list[tuple[bool, str]] = []
    first_failure: dict[tuple[bool, str], str] = {}
    mutation_message = None
    mutation_probes = 0
    watched = None
    outcomes = outcomes if isinstance(outcomes, list) else []
    score = max_score = 0.0
    skipped = 0
    cases: list[dict] = []
    errors: set = set()  # the messages of failures that were errors (None for wrong values)
    for i, probe in enumerate(plan.probes):
        expected = plan.expected[i]
        got = outcomes[i] if i < len(outcomes) else None
        key = (probe.hidden, probe.check)
        if key not in rows:
            rows[key] = Check(name=("hidden: " if probe.hidden else "") + probe.check, passed=True, hidden=probe.hidden)
            order.append(key)
        row = rows[key]
        if expected.get("error"):
            skipped += 1  # the reference itself rejects this input: nothing to compare
            continue
        if isinstance(got, dict) and got.get("watched") and watched is None:
            watched = got["watched"]
        message, mutated = judge_probe(probe, expected, got, plan.kind)
        cases.append(
            {"check": probe.check, "case": probe.label, "passed": message is None, "message": message or "", "hidden": probe.hidden}
        )
        if message is not None:
            errors.add(message if isinstance(got, dict) and got.get("error") else None)
        row.probes += 1
        row.weight += probe.weight
        max_score += probe.weight
        if message is None:
            row.earned += probe.weight
            score += probe.weight
        else:
            row.failed += 1
            row.passed = False
            if key not in first_failure:
                first_failure[key] = f"{probe.label}: {message}"
        if probe.device != "meta" and _tensor_leaves((probe.args, probe.kwargs)) and not (
            isinstance(got, dict) and got.get("error")
        ):
            mutation_probes += 1
            if mutated and mutation_message is None:
                mutation_message = f"{probe.label}: {mutated}"
    # Value rows first (in case order), then the variants, hidden rows last.
    variant_rows = {name for name, _ in (*MODULE_VARIANTS[1:], *FUNCTION_VARIANTS[1:])}
    order.sort(key=lambda k: (k[0], k[1] in variant_rows and plan.kind == "function"))
    checks = []
    for key in order:
        row = rows[key]
        if row.probes == 0:
            continue
        if row.passed:
            row.message = f"{row.probes} case{'s' if row.probes != 1 else ''}"
        else:
            more = row.failed - 1
            row.message = first_failure[key] + (f" (and {more} more failing case{'s' if more != 1 else ''})" if more else "")
        checks.append(row)
    if plan.kind != "class" and any(_tensor_leaves((p.args, p.kwargs)) for p in plan.probes):
        # Worth points only next to some correct output: code that fails
        # everything earns nothing for leaving its inputs alone.
        weight = MUTATION_WEIGHT
        ok = mutation_message is None and mutation_probes > 0
        if mutation_message:
            message = mutation_message
        elif mutation_probes:
            message = f"{mutation_probes} case{'s' if mutation_probes != 1 else ''}"
        else:
            message = "not checked: no case ran without an error"
        earned = weight if ok and score > 0 else 0.0
        checks.append(
            Check(
                name=MUTATION_CHECK,
                passed=ok,
                message=message,
                earned=earned,
                weight=weight,
                probes=mutation_probes,
                failed=0 if ok else 1,
            )
        )
        max_score += weight
        score += earned
    if cases and score == 0 and len(errors) == 1 and None not in errors and all(not c["passed"] for c in cases):
        # The same error everywhere (a stub, a typo): one row says it all.
        (error,) = errors
        hidden = sum(1 for c in cases if c["hidden"])
        where = f"all {len(cases)} cases" + (f" ({hidden} of them hidden)" if hidden else "")
        checks = [Check(name="runs", passed=False, message=f"{error}, in {where}", weight=max_score, probes=len(cases), failed=len(cases))]
    flags = []
    if identity is None and watched is not None:
        identity = f"it calls {watched}, the library's own implementation"
    if identity is not None:
        flags.append("reference-used")
        checks.insert(
            0,
            Check(
                name=IDENTITY_CHECK,
                passed=False,
                message=f"{identity}. Write it yourself with PyTorch; answers that use attn_edu's own "
                "implementation get 0 points.",
            ),
        )
        score = 0.0
    notes = []
    if skipped:
        notes.append(f"{skipped} case{'s' if skipped != 1 else ''} skipped because the reference rejects the input.")
    passed = bool(checks) and all(c.passed for c in checks) and max_score > 0
    return CheckResult(
        name=name, passed=passed, score=score, max_score=max_score, checks=checks, flags=flags, notes=notes, cases=cases
    )


def missing_result(plan: Plan, message: str, *, name: str | None = None, flag: str = "missing") -> CheckResult:
    """A result with zero score for an answer that could not be run at all."""
    max_score = sum(p.weight for p, e in zip(plan.probes, plan.expected) if not e.get("error"))
    if plan.kind != "class":
        max_score += MUTATION_WEIGHT
    return CheckResult(
        name=name or plan.name,
        passed=False,
        score=0.0,
        max_score=max_score,
        checks=[Check(name="answer found", passed=False, message=message)],
        flags=[flag],
    )


def check_against(
    reference: Any,
    candidate: Any,
    cases: list | None = None,
    *,
    hidden_cases: list | None = None,
    seeds: tuple[int, ...] = (0, 1),
    forbidden: tuple = (),
    detect_reference: bool = True,
    name: str | None = None,
) -> CheckResult:
    """Compare ``candidate`` with ``reference`` and say where they differ.

    For a module class both are built with the same constructor arguments,
    the reference's (randomised) weights are loaded into the candidate, and
    the two are compared on forward values, input and parameter gradients
    for a random upstream gradient, train and eval mode, a batch of 1, a
    1×1 map, an odd non-square map, several channel counts and seeds,
    float64 and bfloat16 (dtype kept) and the meta device (device kept);
    inputs must not be modified. For a function, outputs and gradients are
    compared over the cases' random and edge inputs. Tolerances depend on
    the dtype (``TOLERANCES``).

    ``cases`` defaults to ``attn_edu.grading.cases.default_cases(reference)``,
    which knows every public class and function of ``attn_edu``.
    ``forbidden`` lists further library functions the candidate must not call;
    a candidate that is, inherits from or calls the reference scores 0 with
    the flag ``"reference-used"`` unless ``detect_reference=False`` (for
    comparing two versions of the library itself).

    >>> from attn_edu.functional import global_avg_pool
    >>> check_against(global_avg_pool, lambda x: x.mean(dim=(2, 3), keepdim=True)).passed
    False
    """
    plan = make_plan(reference, cases, hidden_cases=hidden_cases, seeds=seeds, name=name)
    return check_plan(plan, reference, candidate, forbidden=forbidden, detect_reference=detect_reference, name=name)


def check_plan(
    plan: Plan,
    reference: Any,
    candidate: Any,
    *,
    forbidden: tuple = (),
    detect_reference: bool = True,
    name: str | None = None,
) -> CheckResult:
    """Run ``candidate`` on a ready plan in this process and judge it."""
    problem = shape_problem(plan.kind, candidate)
    if problem:
        return missing_result(plan, problem, name=name, flag="wrong-kind")
    watch = Watch([reference, *forbidden]) if detect_reference else None
    identity = identify(candidate, reference, watch) if detect_reference else None
    outcomes = run_plan(candidate, plan, watch)
    return judge(plan, outcomes, identity=identity, name=name)
