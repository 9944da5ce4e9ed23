"""Shared fixtures: a small, valid configuration of every registered mechanism."""

from __future__ import annotations

import os

import pytest
import torch

if not torch.cuda.is_available():
    # Triton fixes "interpreted or compiled" when first imported, and several
    # tests import it through torch (torch._dynamo). Choose the interpreter
    # before any of them, as attn_edu.gpu and `attn-edu grade` do, so that the
    # Triton exercises forked from this process by the grading tests run.
    os.environ.setdefault("TRITON_INTERPRET", "1")

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
