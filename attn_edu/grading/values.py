"""What came back, as plain data, and where it differs from what was expected.

``pack`` turns anything a function or module returns into data that can
cross from the student's process to the grader's: tensors (detached, on the
CPU), numbers, strings, and tagged lists, dicts, modules and objects.
``compare_packed`` walks two such values and returns the first difference
as a sentence for a student ("expected shape (2, 16, 5, 4), got (2, 16, 1, 1)",
"largest error 0.42 at index (1, 3, 2, 0): expected 0.731, got 0.512").
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch
from torch import nn

SCALAR_TOLERANCE = (1e-7, 1e-9)  # (rtol, atol) for plain Python floats


MAX_ITEMS = 10_000
MAX_DEPTH = 8


def _type_name(obj: Any) -> str:
    kind = obj if isinstance(obj, type) else type(obj)
    return getattr(kind, "__name__", str(kind))


def pack(obj: Any, depth: int = 0) -> Any:
    """A plain-data copy of ``obj``: tensors detached on the CPU, containers tagged.

    Modules become their parameter and buffer shapes, other objects their
    public attributes; nothing of the object's own code survives.
    """
    if isinstance(obj, torch.Tensor):
        if obj.is_meta:
            return {"__kind__": "meta", "shape": list(obj.shape), "dtype": str(obj.dtype)}
        t = obj.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        return t.to("cpu").clone().contiguous()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, complex):
        return {"__kind__": "complex", "real": obj.real, "imag": obj.imag}
    if isinstance(obj, torch.dtype):
        return {"__kind__": "dtype", "name": str(obj)}
    if isinstance(obj, torch.device):
        return {"__kind__": "device", "name": str(obj)}
    if isinstance(obj, numbers.Number) and hasattr(obj, "item"):  # numpy scalars
        return pack(obj.item(), depth)
    if type(obj).__module__ == "numpy" and hasattr(obj, "shape"):
        return torch.as_tensor(obj).clone()
    if depth >= MAX_DEPTH:
        return {"__kind__": "object", "type": _type_name(obj), "repr": "(nested too deep to compare)"}
    if isinstance(obj, (list, tuple)):
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {"__kind__": kind, "items": [pack(x, depth + 1) for x in list(obj)[:MAX_ITEMS]], "length": len(obj)}
    if isinstance(obj, dict):
        items = list(obj.items())[:MAX_ITEMS]
        return {"__kind__": "dict", "items": [[pack(k, depth + 1), pack(v, depth + 1)] for k, v in items]}
    if isinstance(obj, nn.Module):
        state = {name: [list(t.shape), str(t.dtype)] for name, t in obj.state_dict().items()}
        count = sum(p.numel() for p in obj.parameters() if p.requires_grad)
        return {"__kind__": "module", "type": _type_name(obj), "state": state, "parameters": count}
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        public = {k: v for k, v in attrs.items() if isinstance(k, str) and not k.startswith("_")}
        return {"__kind__": "object", "type": _type_name(obj), "attrs": pack(public, depth + 1)}
    return {"__kind__": "object", "type": _type_name(obj), "repr": repr(obj)[:200]}


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def describe(value: Any) -> str:
    """A short description of a packed value, for messages."""
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {_shape(value.shape)} and dtype {value.dtype}"
    if isinstance(value, dict) and "__kind__" in value:
        kind = value["__kind__"]
        if kind == "meta":
            return f"a tensor on the meta device of shape {_shape(value['shape'])} and dtype {value['dtype']}"
        if kind in ("list", "tuple"):
            return f"a {kind} of {value['length']} items"
        if kind == "dict":
            return f"a dict with {len(value['items'])} keys"
        if kind == "module":
            return f"a {value['type']} module"
        if kind in ("dtype", "device"):
            return value["name"]
        if kind == "complex":
            return repr(complex(value["real"], value["imag"]))
        return f"a {value.get('type', kind)} object"
    if value is None:
        return "None"
    if isinstance(value, str):
        return repr(value if len(value) < 60 else value[:57] + "...")
    return f"{type(value).__name__} {value!r}"


def _number(x: float) -> str:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    return f"{x:.6g}"


def _index(flat: int, shape) -> str:
    if len(shape) == 0:
        return "()"
    idx = []
    for size in reversed(shape):
        idx.append(flat % size)
        flat //= size
    return "(" + ", ".join(str(i) for i in reversed(idx)) + ")"


def compare_tensors(expected: torch.Tensor, got: Any, what: str, rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``expected``, else a message for a student."""
    if not isinstance(got, torch.Tensor):
        return f"{what}: expected a tensor of shape {_shape(expected.shape)}, got {describe(got)}"
    if got.shape != expected.shape:
        return f"{what}: expected shape {_shape(expected.shape)}, got {_shape(got.shape)}"
    if got.dtype != expected.dtype:
        return f"{what}: expected dtype {expected.dtype}, got {got.dtype}"
    if expected.numel() == 0:
        return None
    if not expected.is_floating_point() and not expected.is_complex():
        differ = (expected != got).flatten()
        if differ.any():
            first = int(differ.nonzero()[0])
            e, g = expected.flatten()[first].item(), got.flatten()[first].item()
            return (
                f"{what}: {int(differ.sum())} of {expected.numel()} entries differ; "
                f"first at index {_index(first, expected.shape)}: expected {e}, got {g}"
            )
        return None
    e = expected.detach().to(torch.float64).flatten()
    g = got.detach().to(torch.float64).flatten()
    e_nan, g_nan = torch.isnan(e), torch.isnan(g)
    if (e_nan != g_nan).any():
        first = int((e_nan != g_nan).nonzero()[0])
        return (
            f"{what}: at index {_index(first, expected.shape)} expected {_number(e[first].item())}, "
            f"got {_number(g[first].item())}"
        )
    finite = torch.isfinite(e) & ~e_nan
    inf_wrong = ~finite & ~e_nan & (e != g)
    if inf_wrong.any():
        first = int(inf_wrong.nonzero()[0])
        return f"{what}: at index {_index(first, expected.shape)} expected {e[first].item()}, got {_number(g[first].item())}"
    e_f, g_f = torch.where(finite, e, 0.0), torch.where(finite, g, 0.0)
    err = (e_f - g_f).abs()
    err = torch.where(torch.isnan(err), torch.full_like(err, math.inf), err)
    allowed = atol + rtol * e_f.abs()
    bad = err > allowed
    if bad.any():
        worst = int(torch.where(bad, err, torch.zeros_like(err)).argmax())
        return (
            f"{what}: largest error {_number(err[worst].item())} at index {_index(worst, expected.shape)}: "
            f"expected {_number(e[worst].item())}, got {_number(g[worst].item())} "
            f"({int(bad.sum())} of {expected.numel()} values outside {atol:g} + {rtol:g}·|expected|)"
        )
    return None


def compare_packed(expected: Any, got: Any, what: str, rtol: float, atol: float) -> str | None:
    """Compare two packed values recursively; the first difference as a message."""
    if isinstance(expected, torch.Tensor):
        return compare_tensors(expected, got, what, rtol, atol)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is not type(expected) or got != expected:
            return f"{what}: expected {describe(expected)}, got {describe(got)}"
        return None
    if isinstance(expected, (int, float)):
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            return f"{what}: expected the number {_number(expected)}, got {describe(got)}"
        if isinstance(expected, int) and isinstance(got, float) and not got.is_integer():
            return f"{what}: expected the whole number {expected}, got {_number(got)}"
        if isinstance(expected, int) and isinstance(got, int):
            return None if got == expected else f"{what}: expected {expected}, got {got}"
        s_rtol, s_atol = SCALAR_TOLERANCE
        if math.isnan(expected) and isinstance(got, float) and math.isnan(got):
            return None
        if not abs(expected - got) <= s_atol + s_rtol * abs(expected):
            return f"{what}: expected {_number(expected)}, got {_number(got)}"
        return None
    if isinstance(expected, dict) and "__kind__" in expected:
        kind = expected["__kind__"]
        if not (isinstance(got, dict) and got.get("__kind__") == kind) and not (
            kind in ("list", "tuple") and isinstance(got, dict) and got.get("__kind__") in ("list", "tuple")
        ):
            return f"{what}: expected {describe(expected)}, got {describe(got)}"
        if kind in ("list", "tuple"):
            if got.get("length") != expected["length"]:
                return f"{what}: expected {expected['length']} items, got {got.get('length')}"
            for i, (e, g) in enumerate(zip(expected["items"], got["items"])):
                message = compare_packed(e, g, f"{what}[{i}]", rtol, atol)
                if message:
                    return message
            return None
        if kind == "dict":
            e_items, g_items = expected["items"], got.get("items", [])
            e_keys = [k for k, _ in e_items]
            g_keys = [k for k, _ in g_items]
            missing = [k for k in e_keys if k not in g_keys]
            extra = [k for k in g_keys if k not in e_keys]
            if missing or extra:
                parts = []
                if missing:
                    parts.append("missing keys " + ", ".join(repr(k) for k in missing[:5]))
                if extra:
                    parts.append("unexpected keys " + ", ".join(repr(k) for k in extra[:5]))
                return f"{what}: " + "; ".join(parts)
            got_map = {repr(k): v for k, v in g_items}
            for k, e in e_items:
                message = compare_packed(e, got_map[repr(k)], f"{what}[{k!r}]", rtol, atol)
                if message:
                    return message
            return None
        if kind == "module":
            if got["type"] != expected["type"]:
                return f"{what}: expected a {expected['type']} module, got a {got['type']}"
            message = compare_packed(
                pack(expected["state"]), pack(got["state"]), f"{what} parameters and buffers", rtol, atol
            )
            if message:
                return message
            if got["parameters"] != expected["parameters"]:
                return f"{what}: expected {expected['parameters']} parameters, got {got['parameters']}"
            return None
        if kind == "object":
            if got.get("type") != expected.get("type"):
                return f"{what}: expected a {expected.get('type')} object, got a {got.get('type')}"
            if "attrs" in expected:
                return compare_packed(expected["attrs"], got.get("attrs"), what, rtol, atol)
            return None if got.get("repr") == expected.get("repr") else f"{what}: expected {expected.get('repr')}, got {got.get('repr')}"
        if got != expected:
            return f"{what}: expected {describe(expected)}, got {describe(got)}"
        return None
    if got != expected:
        return f"{what}: expected {describe(expected)}, got {describe(got)}"
    return None
