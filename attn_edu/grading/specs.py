"""Descriptions of random inputs, turned into tensors only when a check runs.

A case for a function check lists its arguments. Concrete values (numbers,
strings, tensors) are passed as they are; a spec such as ``randn(2, 5, 8)``
becomes a new tensor for every seed, so one case tests many inputs::

    {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)],
     "kwargs": {"mask": bool_mask(5, 7)}}
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TensorSpec:
    """A tensor to draw from a seeded generator: its shape and how to fill it.

    kind:
        ``"randn"``    standard normal values (times ``scale``);
        ``"uniform"``  values in [low, high);
        ``"mask"``     a boolean mask with at least one True in every row of
                       the last axis, so no query is left with nothing to attend to;
        ``"causal"``   the lower-triangular boolean mask of the last two axes.
    Float specs take the dtype of the check (float32, float64, ...) and get
    gradients in gradient checks unless ``grad=False``.
    """

    shape: tuple[int, ...]
    kind: str = "randn"
    scale: float = 1.0
    low: float = 0.0
    high: float = 1.0
    grad: bool = True

    @property
    def is_float(self) -> bool:
        return self.kind in ("randn", "uniform")

    def make(self, gen: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        shape = tuple(self.shape)
        if self.kind == "randn":
            return (torch.randn(shape, generator=gen, dtype=torch.float64) * self.scale).to(dtype)
        if self.kind == "uniform":
            u = torch.rand(shape, generator=gen, dtype=torch.float64)
            return (self.low + (self.high - self.low) * u).to(dtype)
        if self.kind == "mask":
            mask = torch.rand(shape, generator=gen) < 0.6
            keep = torch.randint(0, shape[-1], shape[:-1], generator=gen)
            mask.scatter_(-1, keep[..., None], True)  # at least one True per row
            return mask
        if self.kind == "causal":
            rows, cols = shape[-2], shape[-1]
            return torch.ones(rows, cols, dtype=torch.bool).tril().expand(shape).clone()
        raise ValueError(f"unknown TensorSpec kind {self.kind!r}")

    def describe(self) -> str:
        return "(" + ", ".join(str(s) for s in self.shape) + ")"


def randn(*shape: int, scale: float = 1.0, grad: bool = True) -> TensorSpec:
    """Standard normal values of this shape, new for every seed."""
    return TensorSpec(tuple(shape), "randn", scale=scale, grad=grad)


def uniform(*shape: int, low: float = 0.0, high: float = 1.0, grad: bool = True) -> TensorSpec:
    """Values drawn uniformly from [low, high), new for every seed."""
    return TensorSpec(tuple(shape), "uniform", low=low, high=high, grad=grad)


def bool_mask(*shape: int) -> TensorSpec:
    """A random boolean attention mask with at least one True per row."""
    return TensorSpec(tuple(shape), "mask")


def causal(*shape: int) -> TensorSpec:
    """The causal (lower-triangular) boolean mask, True where a query may attend."""
    return TensorSpec(tuple(shape), "causal")
