"""Read a submission's code without running it: imports from attn_edu, monkeypatches.

The batch grader never trusts what a student's process says about itself,
so this scan runs in the grader's own process on the source text. It finds

- ``uses``: names of ``attn_edu`` (other than ``attn_edu.grading``) that the
  code imports or reaches, e.g. ``attn_edu.modules.SqueezeExcitation``;
- ``patches``: assignments to attributes of imported modules (``torch``,
  ``attn_edu``, ``sys``, ``builtins``, ...), e.g. ``torch.allclose = ...``,
  ``setattr(torch, ...)`` or ``sys.modules[...] = ...``.

Aliases carry from cell to cell, as names do in a notebook.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

GUARDED = ("torch", "attn_edu", "sys", "builtins", "os", "importlib", "numpy", "IPython", "math", "functools")
NOT_PATCHES = ("os.environ",)  # setting environment variables is not monkeypatching
# What a notebook may take from attn_edu.grading; anything else there (its
# internals, the exercise references) counts as a use of the library.
GRADING_API = {
    "check", "hidden_cases", "check_against", "randn", "uniform", "bool_mask", "causal",
    "Check", "CheckResult", "Exercise", "exercises", "get_exercise", "make_plan",
}


def python_source(source: str) -> str:
    """Notebook cell source with IPython syntax (magics, shell escapes) turned into Python."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with jupyterlab
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


@dataclass
class Findings:
    uses: set[str] = field(default_factory=set)
    patches: list[str] = field(default_factory=list)


class Scanner:
    """Scan cells in notebook order, keeping the import aliases between them."""

    def __init__(self):
        self.aliases: dict[str, str] = {}

    def scan(self, source: str) -> Findings:
        found = Findings()
        try:
            tree = ast.parse(python_source(source))
        except SyntaxError:
            return found
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.aliases[top] = top
                    self._use(found, alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    self.aliases[alias.asname or alias.name] = full
                    self._use(found, full)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(getattr(node, "ctx", None), ast.Load):
                dotted = self.resolve(node)
                if dotted:
                    self._use(found, dotted)
            elif isinstance(node, ast.Call):
                self._call(found, node)
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                for target in targets:
                    for t in _flatten_targets(target):
                        self._target(found, t)
        return found

    def resolve(self, node: ast.AST) -> str | None:
        """The dotted name an expression like ``F.softmax`` refers to, if it starts at an import."""
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name) or node.id not in self.aliases:
            return None
        return ".".join([self.aliases[node.id], *reversed(parts)])

    def _use(self, found: Findings, dotted: str) -> None:
        parts = dotted.split(".")
        if parts[0] != "attn_edu" or len(parts) < 2:
            return
        if parts[1] == "grading" and (len(parts) == 2 or parts[2] in GRADING_API):
            return
        found.uses.add(dotted)

    def _call(self, found: Findings, node: ast.Call) -> None:
        name = self.resolve(node.func) if isinstance(node.func, (ast.Attribute, ast.Name)) else None
        bare = node.func.id if isinstance(node.func, ast.Name) else None
        if bare == "setattr" or name == "builtins.setattr":
            if node.args:
                owner = self.resolve(node.args[0]) if isinstance(node.args[0], (ast.Attribute, ast.Name)) else None
                if owner and owner.split(".")[0] in GUARDED:
                    attr = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else "?"
                    found.patches.append(f"setattr({owner}, {attr!r})")
        if bare == "__import__" or name in ("importlib.import_module", "builtins.__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                self._use(found, node.args[0].value)

    def _target(self, found: Findings, target: ast.AST) -> None:
        base = target
        if isinstance(base, ast.Subscript):
            base = base.value
        if isinstance(base, (ast.Attribute,)) or (isinstance(target, ast.Subscript) and isinstance(base, ast.Name)):
            dotted = self.resolve(base)
            if dotted and dotted.split(".")[0] in GUARDED and not dotted.startswith(NOT_PATCHES):
                found.patches.append(dotted + ("[...]" if isinstance(target, ast.Subscript) else ""))


def _flatten_targets(target: ast.AST):
    if isinstance(target, (ast.Tuple, ast.List)):
        for t in target.elts:
            yield from _flatten_targets(t)
    else:
        yield target
