"""Probes: one call each, with everything needed to make it and nothing of the answer.

A ``Probe`` holds constructor arguments, the reference's weights, inputs,
mode, dtype, device and whether to take gradients. ``make_plan`` builds the
probes for a reference from its cases and records the reference's outcome
on each; ``run_probe`` builds and runs any target on a probe and returns
plain data only (``values.pack``). The batch grader runs ``run_probe`` in
the student's sandboxed process; ``Watch`` and ``identify`` notice a target
that is, inherits from or calls the reference.
"""

from __future__ import annotations

import copy
import functools
import inspect
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from .specs import TensorSpec
from .values import MAX_DEPTH, _shape, _type_name, describe, pack

# The rows of the feedback table for a module, in the order they are shown:
# (name, settings). Every configuration gets these with its first seed;
# further seeds repeat the first two.
MODULE_VARIANTS = (
    ("forward values (train mode)", {"mode": "train"}),
    ("gradients (input and parameters)", {"mode": "train", "grad": True}),
    ("eval mode", {"mode": "eval"}),
    ("batch of 1", {"mode": "eval", "batch": 1}),
    ("1×1 map", {"mode": "train", "spatial": "ones"}),
    ("odd, non-square map", {"mode": "train", "spatial": "odd"}),
    ("float64: dtype kept, values, gradients", {"mode": "train", "dtype": torch.float64, "grad": True}),
    ("bfloat16: dtype kept", {"mode": "eval", "dtype": torch.bfloat16}),
    ("device kept (meta tensors)", {"mode": "eval", "device": "meta", "weight": 0.0}),
)
REPEATED_VARIANTS = 2  # how many of MODULE_VARIANTS run again for the other seeds

FUNCTION_VARIANTS = (
    ("values", {}),
    ("gradients", {"grad": True}),
    ("float64: dtype kept, values, gradients", {"dtype": torch.float64, "grad": True}),
    ("device kept (meta tensors)", {"device": "meta", "weight": 0.0}),
)



@dataclass
class Probe:
    """One thing to try: build (for a class), call, and maybe differentiate."""

    check: str  # the row of the feedback table
    label: str  # where, in words: configuration, input shapes, dtype, mode, seed
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    names: tuple = ()  # names of the tensor inputs, in the order of _tensor_leaves
    init: tuple | None = None  # (args, kwargs) to build a class
    state: dict | None = None  # the reference's weights, loaded into the candidate
    mode: str | None = None  # "train" / "eval" for modules
    dtype: torch.dtype | None = None
    device: str = "cpu"
    grad: bool = False
    seed: int = 0
    weight: float = 1.0
    hidden: bool = False


def _tensor_leaves(obj: Any) -> list[torch.Tensor]:
    """Tensors inside nested lists, tuples and dicts, in a fixed order."""
    found: list[torch.Tensor] = []

    def walk(x, depth=0):
        if isinstance(x, torch.Tensor):
            found.append(x)
        elif depth < MAX_DEPTH and isinstance(x, (list, tuple)):
            for item in x:
                walk(item, depth + 1)
        elif depth < MAX_DEPTH and isinstance(x, dict):
            for item in x.values():
                walk(item, depth + 1)

    walk(obj)
    return found


def _clone_inputs(obj: Any, grad: bool, device: str) -> Any:
    """Fresh copies of the inputs for one call; float tensors get gradients if asked."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().clone()
        if device == "meta":
            t = t.to("meta")
        if grad and t.is_floating_point() and getattr(obj, "_attn_edu_grad", True):
            t.requires_grad_(True)
        return t
    if isinstance(obj, tuple):
        return tuple(_clone_inputs(x, grad, device) for x in obj)
    if isinstance(obj, list):
        return [_clone_inputs(x, grad, device) for x in obj]
    if isinstance(obj, dict):
        return {k: _clone_inputs(x, grad, device) for k, x in obj.items()}
    if isinstance(obj, nn.Module):
        return copy.deepcopy(obj)
    return obj


class Watch:
    """The code of a reference, to notice a candidate that calls it.

    ``codes`` are Python code objects (a function's ``__code__``, every method
    of a class); ``builtins`` are C functions such as
    ``torch.nn.functional.scaled_dot_product_attention``.
    """

    def __init__(self, objects=()):
        self.codes: dict = {}
        self.builtins: dict = {}
        for obj in objects:
            self.add(obj)

    def add(self, obj: Any, name: str | None = None) -> None:
        name = name or getattr(obj, "__qualname__", None) or repr(obj)
        if isinstance(obj, functools.partial):
            self.add(obj.func, name)
            return
        if inspect.isclass(obj):
            for klass in obj.__mro__:
                if not klass.__module__.startswith("attn_edu"):
                    continue
                for attr, value in vars(klass).items():
                    func = getattr(value, "__func__", value)
                    code = getattr(func, "__code__", None)
                    if code is not None:
                        self.codes[code] = f"{klass.__module__}.{klass.__qualname__}.{attr}"
            return
        func = getattr(obj, "__func__", obj)
        code = getattr(func, "__code__", None)
        if code is not None:
            self.codes[code] = f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', name)}"
        elif callable(obj):
            self.builtins[id(obj)] = name

    def __bool__(self) -> bool:
        return bool(self.codes or self.builtins)


def identify(candidate: Any, reference: Any, watch: Watch | None = None) -> str | None:
    """Why ``candidate`` is the library's own code, or None when it is not."""
    target = candidate.func if isinstance(candidate, functools.partial) else candidate
    base = reference.func if isinstance(reference, functools.partial) else reference
    name = getattr(target, "__qualname__", _type_name(target))
    if base is not None and target is base:
        return f"it is the reference implementation {getattr(base, '__module__', '')}.{name}"
    module = getattr(target, "__module__", "") or ""
    if module.startswith("attn_edu"):
        return f"it is {module}.{name}, imported from the attn_edu library"
    if inspect.isclass(target):
        for klass in target.__mro__[1:]:
            if klass.__module__.startswith("attn_edu"):
                return f"it inherits from {klass.__module__}.{klass.__qualname__}, the library's own implementation"
    func = getattr(target, "__func__", target)
    code = getattr(func, "__code__", None)
    if watch is not None and code is not None and code in watch.codes:
        return f"it runs the code of {watch.codes[code]}"
    wrapped = getattr(target, "__wrapped__", None)
    if wrapped is not None and wrapped is not target:
        return identify(wrapped, reference, watch)
    return None


class _Tripwire:
    """A profile hook that records the first call into watched code."""

    def __init__(self, watch: Watch):
        self.watch = watch
        self.hit: str | None = None

    def __call__(self, frame, event, arg):
        if self.hit is not None:
            return
        if event == "call":
            name = self.watch.codes.get(frame.f_code)
            if name is not None:
                self.hit = name
        elif event == "c_call":
            name = self.watch.builtins.get(id(arg))
            if name is not None:
                self.hit = name


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def run_probe(target: Any, probe: Probe, watch: Watch | None = None) -> dict:
    """Build and run ``target`` on one probe; return plain data only.

    Keys: ``error`` (None or "Type: message"), ``stage`` (where it failed),
    ``output``, ``inputs_after``, ``input_grads``, ``param_grads``,
    ``buffers``, ``watched`` (the first watched function the call reached).
    """
    outcome: dict = {"error": None, "stage": None, "watched": None}
    tripwire = _Tripwire(watch) if watch else None
    stage = "preparing the inputs"
    try:
        args = _clone_inputs(probe.args, probe.grad, probe.device)
        kwargs = _clone_inputs(probe.kwargs, probe.grad, probe.device)
        previous = sys.getprofile()
        if tripwire:
            sys.setprofile(tripwire)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = None
                if probe.init is not None:
                    init_args, init_kwargs = probe.init
                    stage = "building it"
                    built = target(*copy.deepcopy(init_args), **copy.deepcopy(init_kwargs))
                    if probe.state is not None:
                        if not isinstance(built, nn.Module):
                            raise TypeError(f"it built a {_type_name(built)}, not a torch.nn.Module")
                        module = built
                        stage = "loading the reference's weights"
                        _load_state(module, probe.state)
                        if probe.dtype is not None:
                            module.to(probe.dtype)
                        if probe.device == "meta":
                            module.to("meta")
                        module.train(probe.mode != "eval")
                        stage = "running forward"
                        out = module(*args, **kwargs)
                    else:
                        out = built
                else:
                    stage = "calling it"
                    out = target(*args, **kwargs)
                stage = "reading its output"
                outcome["output"] = pack(out)
                leaves_in = _tensor_leaves((args, kwargs))
                outcome["inputs_after"] = [pack(t) for t in leaves_in]
                if probe.grad:
                    stage = "computing gradients"
                    leaves_out = [t for t in _tensor_leaves(out) if t.requires_grad and t.is_floating_point()]
                    outcome["has_graph"] = bool(leaves_out)
                    if leaves_out:
                        gen = torch.Generator().manual_seed(10_000 + probe.seed)
                        upstream = [
                            torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype) for t in leaves_out
                        ]
                        torch.autograd.backward(leaves_out, upstream)
                    outcome["input_grads"] = [
                        pack(t.grad) if t.requires_grad else "no-grad" for t in leaves_in
                    ]
                    if module is not None:
                        outcome["param_grads"] = {n: pack(p.grad) for n, p in module.named_parameters()}
                if module is not None and probe.mode == "train" and probe.device != "meta":
                    outcome["buffers"] = {n: pack(b) for n, b in module.named_buffers()}
        finally:
            if tripwire:
                sys.setprofile(previous)
    except Exception as exc:  # the candidate's own errors become feedback
        outcome["error"] = _error_text(exc)
        outcome["stage"] = stage
    except SystemExit as exc:
        outcome["error"] = f"SystemExit({exc.code!r}): the code called sys.exit()"
        outcome["stage"] = stage
    if tripwire and tripwire.hit:
        outcome["watched"] = tripwire.hit
    return outcome


def _load_state(module: nn.Module, state: dict) -> None:
    own = module.state_dict()
    missing = [k for k in state if k not in own]
    unexpected = [k for k in own if k not in state]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append("it has no " + ", ".join(repr(k) for k in missing[:4]) + (" ..." if len(missing) > 4 else ""))
        if unexpected:
            parts.append(
                "it has " + ", ".join(repr(k) for k in unexpected[:4]) + (" ..." if len(unexpected) > 4 else "")
                + ", which the reference does not"
            )
        raise ValueError(
            "its parameters and buffers do not match the reference's, so the reference's weights cannot be "
            "loaded: " + "; ".join(parts) + ". Keep the names and shapes that __init__ gives you."
        )
    for k, v in state.items():
        if own[k].shape != v.shape:
            raise ValueError(
                f"its {k!r} has shape {_shape(own[k].shape)} but the reference's has {_shape(v.shape)}; "
                "keep the layers that __init__ gives you"
            )
    module.load_state_dict({k: v.clone() for k, v in state.items()})


# ---------------------------------------------------------------------------
# Plans
# ---------------------------------------------------------------------------


@dataclass
class Plan:
    """The probes for one reference, with the reference's outcome for each."""

    name: str
    kind: str  # "module", "class" or "function"
    probes: list[Probe]
    expected: list[dict]
    notes: list[str] = field(default_factory=list)


def kind_of(reference: Any) -> str:
    base = reference.func if isinstance(reference, functools.partial) else reference
    if inspect.isclass(base):
        return "module" if issubclass(base, nn.Module) else "class"
    if callable(base):
        return "function"
    raise TypeError(f"check_against expects a class or a function as the reference; got {_type_name(reference)}")


def _name_of(obj: Any) -> str:
    base = obj.func if isinstance(obj, functools.partial) else obj
    return getattr(base, "__qualname__", None) or getattr(base, "__name__", None) or _type_name(base)


def _randomize(module: nn.Module, gen: torch.Generator) -> None:
    """Move every weight and statistic off its initial value, so zero- or
    one-initialised layers cannot hide a bug."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if not t.is_floating_point():
                continue
            noise = torch.randn(t.shape, generator=gen, dtype=torch.float64).to(t.dtype)
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=gen, dtype=torch.float64).to(t.dtype))
            elif name.endswith("running_mean"):
                t.copy_(0.1 * noise)
            else:
                t.add_(0.1 * noise)


def _init_parts(case: dict) -> tuple[tuple, dict]:
    init = case.get("init", {})
    if isinstance(init, dict) and set(init) <= {"args", "kwargs"} and init:
        return tuple(init.get("args", ())), dict(init.get("kwargs", {}))
    if isinstance(init, (list, tuple)):
        return tuple(init), {}
    return (), dict(init)


def _call_text(name: str, args: tuple, kwargs: dict) -> str:
    parts = [_value_text(a) for a in args] + [f"{k}={_value_text(v)}" for k, v in kwargs.items()]
    return f"{name}(" + ", ".join(parts) + ")"


def _value_text(v: Any) -> str:
    if isinstance(v, TensorSpec):
        kind = {"mask": "bool_mask"}.get(v.kind, v.kind)
        return f"{kind}{v.describe()}"
    if isinstance(v, torch.Tensor):
        return f"tensor{_shape(v.shape)}"
    if isinstance(v, nn.Module):
        return f"{_type_name(v)}(...)"
    if inspect.isclass(v) or callable(v):
        return getattr(v, "__name__", _type_name(v))
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _input_shapes(case: dict) -> list[tuple[int, ...]]:
    shapes = case.get("input")
    if shapes is None:
        return []
    if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], (list, tuple)):
        return [tuple(s) for s in shapes]
    return [tuple(shapes)]


def _variant_shape(shape: tuple[int, ...], settings: dict) -> tuple[int, ...]:
    shape = list(shape)
    if settings.get("batch") is not None:
        shape[0] = settings["batch"]
    spatial = settings.get("spatial")
    if spatial == "ones":
        shape[2:] = [1] * (len(shape) - 2)
    elif spatial == "odd":
        odd = {1: [7], 2: [7, 3], 3: [3, 5, 2]}.get(len(shape) - 2, [s + 1 for s in shape[2:]])
        shape[2:] = odd
    return tuple(shape)


def _make_input(shape: tuple[int, ...], gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Normal noise plus a random offset per (sample, channel), so that pooled
    descriptors are far from zero and every gate has something to do."""
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    if len(shape) >= 3:
        x = x + torch.randn(shape[:2] + (1,) * (len(shape) - 2), generator=gen, dtype=torch.float64)
    return x.to(dtype)


def _materialize(value: Any, gen: torch.Generator, dtype: torch.dtype) -> Any:
    if isinstance(value, TensorSpec):
        t = value.make(gen, dtype if value.is_float else torch.float32)
        if not value.grad:
            t._attn_edu_grad = False  # type: ignore[attr-defined]
        return t
    if isinstance(value, torch.Tensor):
        t = value.detach().clone()
        return t.to(dtype) if t.is_floating_point() else t
    if isinstance(value, tuple):
        return tuple(_materialize(v, gen, dtype) for v in value)
    if isinstance(value, list):
        return [_materialize(v, gen, dtype) for v in value]
    if isinstance(value, dict):
        return {k: _materialize(v, gen, dtype) for k, v in value.items()}
    if callable(value) and getattr(value, "_attn_edu_build", False):
        return value()
    return value


def build(factory: Callable) -> Callable:
    """Mark a zero-argument callable whose result is a case's argument
    (for example a model to count the parameters of): it is built once per probe."""
    factory._attn_edu_build = True  # type: ignore[attr-defined]
    return factory


def _has_random(value: Any) -> bool:
    if isinstance(value, TensorSpec):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_random(v) for v in value)
    if isinstance(value, dict):
        return any(_has_random(v) for v in value.values())
    return False


def _has_float_tensor(value: Any) -> bool:
    if isinstance(value, TensorSpec):
        return value.is_float
    if isinstance(value, torch.Tensor):
        return value.is_floating_point()
    if isinstance(value, (list, tuple)):
        return any(_has_float_tensor(v) for v in value)
    if isinstance(value, dict):
        return any(_has_float_tensor(v) for v in value.values())
    return False


def _input_names(func: Any, args: tuple, kwargs: dict) -> tuple:
    """Names for the tensor inputs of a call, from the reference's signature."""
    try:
        params = [p.name for p in inspect.signature(func).parameters.values()]
    except (TypeError, ValueError):
        params = []
    names = []
    for i, a in enumerate(args):
        n = params[i] if i < len(params) else f"argument {i + 1}"
        names += [n] * len(_tensor_leaves(a))
    for k, v in kwargs.items():
        names += [k] * len(_tensor_leaves(v))
    return tuple(names)


def _module_probes(reference: Any, name: str, case: dict, seeds, hidden: bool, variants) -> list[Probe]:
    init_args, init_kwargs = _init_parts(case)
    shapes = _input_shapes(case)
    allowed = case.get("variants")
    probes = []
    config = _call_text(name, init_args, init_kwargs)
    for s_index, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(1_000 * seed + 17)
        torch_state = torch.random.get_rng_state()
        try:
            torch.manual_seed(seed)
            module = reference(*copy.deepcopy(init_args), **copy.deepcopy(init_kwargs))
        finally:
            torch.random.set_rng_state(torch_state)
        _randomize(module, gen)
        state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        chosen = variants if s_index == 0 else variants[:REPEATED_VARIANTS]
        for check, settings in chosen:
            if allowed is not None and check not in allowed:
                continue
            dtype = settings.get("dtype", torch.float32)
            variant_shapes = [_variant_shape(s, settings) for s in shapes]
            inputs = tuple(_make_input(s, gen, dtype) for s in variant_shapes)
            shape_text = ", ".join(_shape(s) for s in variant_shapes)
            extra = [str(dtype).replace("torch.", ""), f"{settings.get('mode', 'train')} mode"]
            if settings.get("device") == "meta":
                extra.append("meta device")
            label = f"{config} on input {shape_text} ({', '.join(extra)}, seed {seed})"
            probes.append(
                Probe(
                    check=check,
                    label=label,
                    args=inputs,
                    names=tuple("x" if len(inputs) == 1 else f"input {i + 1}" for i in range(len(inputs))),
                    init=(init_args, init_kwargs),
                    state=state,
                    mode=settings.get("mode", "train"),
                    dtype=None if dtype == torch.float32 else dtype,
                    device=settings.get("device", "cpu"),
                    grad=settings.get("grad", False),
                    seed=seed,
                    weight=settings.get("weight", 1.0),
                    hidden=hidden,
                )
            )
    return probes


def _class_probes(name: str, case: dict, hidden: bool) -> list[Probe]:
    init_args, init_kwargs = _init_parts(case)
    gen = torch.Generator().manual_seed(17)
    init_args = _materialize(init_args, gen, torch.float32)
    init_kwargs = _materialize(init_kwargs, gen, torch.float32)
    return [
        Probe(
            check=case.get("check", "attributes after construction"),
            label=_call_text(name, init_args, init_kwargs),
            init=(init_args, init_kwargs),
            hidden=hidden,
        )
    ]


def _function_probes(reference: Any, name: str, case: dict, seeds, hidden: bool, variants) -> list[Probe]:
    raw_args = tuple(case.get("args", ()))
    raw_kwargs = dict(case.get("kwargs", {}))
    random = _has_random((raw_args, raw_kwargs))
    floats = _has_float_tensor((raw_args, raw_kwargs))
    grad_ok = case.get("grad", True)
    allowed = case.get("variants")
    values_name = case.get("check", "values")
    probes = []
    for s_index, seed in enumerate(seeds if random else seeds[:1]):
        for check, settings in variants:
            if not floats and check != "values":
                continue
            if s_index > 0 and check != "values":
                continue
            if settings.get("grad") and not grad_ok:
                settings = {k: v for k, v in settings.items() if k != "grad"}
                if check == "gradients":
                    continue
            if allowed is not None and check not in allowed:
                continue
            dtype = settings.get("dtype", torch.float32)
            gen = torch.Generator().manual_seed(1_000 * seed + 29)
            args = _materialize(raw_args, gen, dtype)
            kwargs = _materialize(raw_kwargs, gen, dtype)
            label = _call_text(name, raw_args, raw_kwargs)
            if random:
                label += f" ({str(dtype).replace('torch.', '')}, seed {seed})"
            elif settings.get("dtype") is not None:
                label += f" ({str(dtype).replace('torch.', '')})"
            if settings.get("device") == "meta":
                label += " on the meta device"
            probes.append(
                Probe(
                    check=values_name if check == "values" else check,
                    label=label,
                    args=args,
                    kwargs=kwargs,
                    names=_input_names(reference, args, kwargs),
                    device=settings.get("device", "cpu"),
                    dtype=None if dtype == torch.float32 else dtype,
                    grad=settings.get("grad", False),
                    seed=seed,
                    weight=settings.get("weight", 1.0),
                    hidden=hidden,
                )
            )
    return probes


def make_plan(
    reference: Any,
    cases: list | None = None,
    *,
    hidden_cases: list | None = None,
    seeds: tuple[int, ...] = (0, 1),
    name: str | None = None,
    kind: str | None = None,
) -> Plan:
    """Decide what to try and record what the reference does on each probe.

    ``cases`` (default: ``attn_edu.grading.cases.default_cases(reference)``):

    - for a module class: ``{"init": {kwargs}, "input": (B, C, H, W)}``; the
      plan adds train and eval mode, gradients, batch of 1, a 1×1 map, an odd
      non-square map, float64, bfloat16 and the meta device, for every seed;
    - for a function: ``{"args": [...], "kwargs": {...}}``, where
      ``randn(...)``-style specs become new tensors for every seed; the plan
      adds gradients, float64 and the meta device when there are float tensors;
    - for another class: ``{"init": {kwargs}}``; its public attributes are compared.

    Optional keys: ``"check"`` (the table row for a function case),
    ``"variants"`` (the names of the variants to keep).
    """
    kind = kind or kind_of(reference)
    name = name or _name_of(reference)
    if cases is None:
        raise TypeError(f"make_plan needs the cases to try on {name}; attn_edu.grading.cases.default_cases gives defaults")
    probes: list[Probe] = []
    for hidden, group in ((False, cases), (True, hidden_cases or [])):
        for case in group:
            if kind == "module":
                probes += _module_probes(reference, name, case, seeds, hidden, MODULE_VARIANTS)
            elif kind == "class":
                probes += _class_probes(name, case, hidden)
            else:
                probes += _function_probes(reference, name, case, seeds, hidden, FUNCTION_VARIANTS)
    torch_state = torch.random.get_rng_state()
    try:
        expected = []
        with _OneThread():
            for probe in probes:
                torch.manual_seed(probe.seed)
                expected.append(run_probe(reference, probe))
    finally:
        torch.random.set_rng_state(torch_state)
    return Plan(name=name, kind=kind, probes=probes, expected=expected)


class _OneThread:
    """Run small probes on one thread: as fast, and immune to a busy machine."""

    def __enter__(self):
        self.before = torch.get_num_threads()
        if self.before != 1:
            torch.set_num_threads(1)

    def __exit__(self, *exc):
        if self.before != 1:
            torch.set_num_threads(self.before)


def run_plan(target: Any, plan: Plan, watch: Watch | None = None) -> list[dict]:
    """Run a target on every probe of a plan (same seeds as the reference)."""
    torch_state = torch.random.get_rng_state()
    try:
        outcomes = []
        with _OneThread():
            for probe in plan.probes:
                torch.manual_seed(probe.seed)
                outcomes.append(run_probe(target, probe, watch))
        return outcomes
    finally:
        torch.random.set_rng_state(torch_state)


def shape_problem(kind: str, candidate: Any) -> str | None:
    """A message when the candidate is not even the right kind of thing."""
    if kind in ("module", "class"):
        base = candidate.func if isinstance(candidate, functools.partial) else candidate
        if not callable(base):
            return f"expected a class, got {describe(pack(candidate))}"
        if kind == "module" and isinstance(base, nn.Module):
            return "expected the class itself (for example SqueezeExcitation), not a module built from it"
        return None
    if not callable(candidate):
        return f"expected a function, got {describe(pack(candidate))}"
    return None
