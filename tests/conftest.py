"""Shared fixtures: a small, valid configuration of every registered mechanism."""

from __future__ import annotations

import pytest
import torch

from attn_edu.gpu._runtime import interpret_without_cuda

# Before any test imports Triton (several do, through torch._dynamo), as
# attn_edu.gpu and `attn-edu grade` do: the Triton exercises that the grading
# tests fork from this process need the interpreter.
interpret_without_cuda()

# name -> (channels, kwargs): small enough for float64 gradcheck, large enough
# that every branch has more than one hidden unit.
SMALL = {
    "se": (16, {"reduction": 4}),
    "cse": (16, {}),
    "sse": (8, {}),
    "scse": (16, {}),
    "cbam": (16, {"reduction": 4}),
    "bam": (16, {"reduction": 4, "dilation": 2}),
    "eca": (16, {}),
    "sk": (16, {"groups": 4, "reduction": 4, "min_dim": 4}),
    "drsn-cs": (8, {}),
    "drsn-cw": (8, {}),
    "nonlocal": (8, {}),
}


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    yield
