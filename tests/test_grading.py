"""attn_edu.grading.check_against and the exercise registry: right answers pass,
wrong answers fail, the library's own code is not accepted as an answer."""

from __future__ import annotations

import functools
import math
from pathlib import Path

import pytest
import torch
from torch import nn

import attn_edu
from attn_edu.grading import check_against, make_plan, randn
from attn_edu.grading.assign import Assignment
from attn_edu.grading.cases import default_cases, public_objects
from attn_edu.grading.compare import compare_tensors, pack, run_probe
from attn_edu.grading.exercises import CHAPTERS
from grading_fixtures.wrong_implementations import RIGHT, WRONG

ROOT = Path(__file__).resolve().parents[1]
ALL_EXERCISES = {ex.id: ex for chapter in CHAPTERS.values() for ex in chapter.values()}


@functools.lru_cache(maxsize=None)
def hidden(exercise_id: str):
    ex = ALL_EXERCISES[exercise_id]
    return Assignment.load(ROOT / "solutions" / f"{ex.chapter}.md").hidden_cases(exercise_id)


# -- every public class and function ------------------------------------------


def test_public_objects_cover_modules_functional_models_profile_data_and_registry():
    names = set(public_objects())
    for expected in (
        "attn_edu.modules.se.SqueezeExcitation",
        "attn_edu.functional.scaled_dot_product_attention",
        "attn_edu.models.resnet.resnet50",
        "attn_edu.profile.flops",
        "attn_edu.data.channel_selection",
        "attn_edu.registry.create",
    ):
        assert expected in names


@pytest.mark.parametrize("name", sorted(public_objects()))
def test_check_against_accepts_every_public_object_compared_with_itself(name):
    obj = public_objects()[name]
    result = check_against(obj, obj, seeds=(0,), detect_reference=False)
    assert result.passed, str(result)
    assert result.score == result.max_score > 0


@pytest.mark.parametrize("name", ["attn_edu.modules.eca.EfficientChannelAttention", "attn_edu.functional.channel_pool"])
def test_the_reference_itself_scores_zero_as_an_answer(name):
    obj = public_objects()[name]
    result = check_against(obj, obj, seeds=(0,))
    assert not result.passed and result.score == 0
    assert result.flags == ["reference-used"]
    assert "attn_edu" in result.checks[0].message


def test_default_cases_explain_what_to_do_for_an_unknown_signature():
    def mystery(a, b):
        return a

    with pytest.raises(LookupError, match="pass cases="):
        default_cases(mystery)


# -- wrong and right answers ---------------------------------------------------

WRONG_CASES = [(ex_id, name) for ex_id, impls in WRONG.items() for name in impls]


def test_every_module_exercise_has_at_least_five_wrong_implementations():
    module_exercises = [ex.id for ex in ALL_EXERCISES.values() if make_plan_kind(ex) == "module"]
    assert module_exercises
    for ex_id in module_exercises:
        assert len(WRONG[ex_id]) >= 5, ex_id


def make_plan_kind(ex):
    from attn_edu.grading.compare import kind_of

    return kind_of(ex.reference)


@pytest.mark.parametrize("exercise_id, mistake", WRONG_CASES)
def test_every_wrong_implementation_is_caught(exercise_id, mistake):
    ex = ALL_EXERCISES[exercise_id]
    result = ex.check(WRONG[exercise_id][mistake], hidden(exercise_id))
    assert not result.passed, f"{exercise_id}: '{mistake}' passed"
    assert ex.points_for(result) < ex.points
    failing = [c for c in result.checks if not c.passed]
    assert failing and all(c.message for c in failing)


@pytest.mark.parametrize("exercise_id, way", [(e, w) for e, impls in RIGHT.items() for w in impls])
def test_a_correct_answer_written_differently_gets_full_marks(exercise_id, way):
    ex = ALL_EXERCISES[exercise_id]
    result = ex.check(RIGHT[exercise_id][way], hidden(exercise_id))
    assert result.passed, str(result)
    assert ex.points_for(result) == ex.points


# -- messages a student can act on ---------------------------------------------


def test_a_shape_mismatch_names_the_expected_and_received_shape():
    message = compare_tensors(torch.zeros(2, 16, 5, 4), torch.zeros(2, 16, 1, 1), "output", 1e-4, 1e-5)
    assert message == "output: expected shape (2, 16, 5, 4), got (2, 16, 1, 1)"


def test_a_value_mismatch_gives_the_largest_error_and_where():
    expected = torch.zeros(2, 3)
    got = expected.clone()
    got[1, 2] = 0.5
    message = compare_tensors(expected, got, "output", 1e-4, 1e-5)
    assert "largest error 0.5 at index (1, 2)" in message and "expected 0, got 0.5" in message


def test_a_parameter_without_gradient_is_named():
    class FrozenDown(WRONG["se-forward"]["missing sigmoid"].__mro__[1]):
        def forward(self, x):
            z = x.mean(dim=(2, 3))
            hidden = torch.relu(torch.nn.functional.linear(z, self.down.weight.detach(), self.down.bias))
            return x * torch.sigmoid(self.up(hidden))[:, :, None, None]

    result = ALL_EXERCISES["se-forward"].check(FrozenDown)
    row = next(c for c in result.checks if c.name.startswith("gradients"))
    assert not row.passed and "no gradient reaches the parameter 'down.weight'" in row.message
    assert next(c for c in result.checks if c.name.startswith("forward values")).passed


def test_an_input_changed_in_place_is_reported():
    ex = ALL_EXERCISES["se-forward"]
    result = ex.check(WRONG["se-forward"]["changes its input in place"])
    row = next(c for c in result.checks if c.name == "inputs left unchanged")
    assert not row.passed and "in place" in row.message


def test_a_stub_gets_one_row_that_says_it_is_not_implemented():
    def squeeze(x):
        raise NotImplementedError()

    result = ALL_EXERCISES["se-squeeze"].check(squeeze)
    assert result.score == 0 and len(result.checks) == 1
    assert "not implemented yet" in result.checks[0].message


def test_a_module_with_other_layer_names_is_told_to_keep_them():
    class Renamed(nn.Module):
        def __init__(self, channels, reduction=16, bias=True):
            super().__init__()
            self.fc1 = nn.Linear(channels, channels // reduction, bias=bias)
            self.fc2 = nn.Linear(channels // reduction, channels, bias=bias)

        def forward(self, x):
            return x

    result = ALL_EXERCISES["se-forward"].check(Renamed)
    assert "Keep the names" in result.checks[0].message and "'down.weight'" in result.checks[0].message


def test_passing_an_instance_instead_of_the_class_is_explained():
    result = ALL_EXERCISES["se-forward"].check(attn_edu.modules.SqueezeExcitation(16, 4))
    assert result.score == 0 and "not a module built from it" in result.checks[0].message


# -- tolerances, dtypes, devices -----------------------------------------------


def test_tolerances_depend_on_the_dtype():
    ex = ALL_EXERCISES["se-squeeze"]
    nearly = ex.check(lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True) * (1 + 1e-6))
    rows = {c.name: c.passed for c in nearly.checks}
    assert rows["values"] and rows["gradients"]  # float32: 1e-6 relative is within tolerance
    assert not rows["float64: dtype kept, values, gradients"]  # float64: it is not
    off = ex.check(lambda x: x.mean(dim=tuple(range(2, x.dim())), keepdim=True) * (1 + 1e-3))
    assert not {c.name: c.passed for c in off.checks}["values"]


def test_a_float64_input_must_give_a_float64_output():
    result = ALL_EXERCISES["se-squeeze"].check(lambda x: x.float().mean(dim=tuple(range(2, x.dim())), keepdim=True))
    row = next(c for c in result.checks if c.name.startswith("float64"))
    assert not row.passed and "expected dtype torch.float64, got torch.float32" in row.message


def test_the_device_check_runs_on_meta_tensors_and_carries_no_points():
    plan = make_plan(attn_edu.functional.global_avg_pool, [{"args": [randn(2, 3, 4, 4)]}], seeds=(0,))
    meta = [p for p in plan.probes if p.device == "meta"]
    assert meta and all(p.weight == 0 for p in meta)
    outcome = run_probe(attn_edu.functional.global_avg_pool, meta[0])
    assert outcome["output"]["__kind__"] == "meta"


def test_pack_keeps_only_plain_data():
    packed = pack({"w": torch.ones(2, requires_grad=True), "n": 3, "m": nn.Linear(2, 3)})
    assert packed["__kind__"] == "dict"
    values = dict((k, v) for k, v in packed["items"])
    assert not values["w"].requires_grad
    assert values["m"]["state"] == {"weight": [[3, 2], "torch.float32"], "bias": [[3], "torch.float32"]}


# -- the library's own code is not an answer -----------------------------------


def test_a_subclass_of_the_reference_is_flagged():
    class Mine(attn_edu.modules.SqueezeExcitation):
        pass

    result = ALL_EXERCISES["se-forward"].check(Mine)
    assert "reference-used" in result.flags and result.score == 0


def test_calling_the_reference_at_run_time_is_flagged():
    def squeeze(x):
        return attn_edu.functional.global_avg_pool(x)

    result = ALL_EXERCISES["se-squeeze"].check(squeeze)
    assert "reference-used" in result.flags
    assert "global_avg_pool" in result.checks[0].message


def test_calling_torch_attention_is_flagged_for_the_attention_exercise():
    def sdpa(q, k, v, mask=None):
        return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    result = ALL_EXERCISES["sdpa"].check(sdpa)
    assert "reference-used" in result.flags


def test_counting_parameters_with_the_library_is_flagged():
    def se_parameter_count(channels, reduction=16, bias=True):
        return attn_edu.profile.parameter_formula("se", channels, reduction=reduction, bias=bias)

    assert "reference-used" in ALL_EXERCISES["se-parameters"].check(se_parameter_count).flags


def test_an_honest_answer_that_uses_torch_is_not_flagged():
    def squeeze(x):
        return torch.mean(x, dim=tuple(range(2, x.dim())), keepdim=True)

    result = ALL_EXERCISES["se-squeeze"].check(squeeze, hidden("se-squeeze"))
    assert result.passed and not result.flags


# -- the registry ----------------------------------------------------------------


def test_every_chapter_has_four_exercises_or_more_with_stars_and_points():
    solutions = Path(__file__).resolve().parents[1] / "solutions"
    assert set(CHAPTERS) == {p.stem for p in solutions.glob("[0-9][0-9]-*.md")}
    assert {"02-squeeze-and-excitation", "03-efficient-channel-attention"} <= set(CHAPTERS)
    for exercises in CHAPTERS.values():
        assert len(exercises) >= 4
        for ex in exercises.values():
            assert ex.stars in (1, 2, 3) and ex.points > 0


def test_points_are_the_passed_fraction_rounded_and_zero_for_the_reference():
    ex = ALL_EXERCISES["se-forward"]
    result = ex.check(attn_edu.modules.SqueezeExcitation)
    assert ex.points_for(result) == 0
    full = ex.check(RIGHT["se-forward"]["einsum and a hand-written sigmoid"])
    assert ex.points_for(full) == ex.points and isinstance(ex.points_for(full), int)


def test_eca_cost_and_attention_flops_references_agree_with_the_profile_module():
    from attn_edu.grading.exercises import attention_flops, eca_cost

    assert eca_cost(256, 2) == (5, 2 * 256 * 5)
    assert attention_flops(1, 1) == 7
    assert attention_flops(196, 64) == 4 * 196 * 196 * 64 + 196 * 196 + 196 * (3 * 196 - 1)
    assert math.isclose(attention_flops(1024, 64) / (4 * 1024**2 * 64), 1.0, rel_tol=0.02)
