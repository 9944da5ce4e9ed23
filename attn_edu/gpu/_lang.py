"""The Triton building blocks every kernel file shares, and the torch glue around them.

Importing this file imports Triton (through ``load_triton``, which turns the
interpreter on where there is no CUDA), so only the kernel files import it,
and only when a fused module first runs.

The kernels call only Triton's built-in operations (``tl.load``, ``tl.where``,
``tl.reduce``, ``tl.full``, ...) and the small ``@triton.jit`` helpers below.
Triton's own convenience functions (``tl.sum``, ``tl.max``, ``tl.zeros``,
``tl.sigmoid``, ``tl.cdiv``) are ``@triton.jit`` functions too, fixed as
compiled or interpreted when ``triton`` is first imported; if something else
(``torch.compile``, for one) imported Triton before the interpreter was
switched on, they would fail in the interpreter. Ours are decorated here,
after ``load_triton``, so they always match.
"""

from __future__ import annotations

import torch

from ._runtime import load_triton

triton, tl = load_triton()


@triton.jit
def add(a, b):
    """Combine function of a sum: ``tl.reduce(v, axis, add)`` is ``tl.sum(v, axis)``."""
    return a + b


@triton.jit
def maximum(a, b):
    """Combine function of a max: ``tl.reduce(v, axis, maximum)`` is ``tl.max(v, axis)``."""
    return tl.maximum(a, b)


@triton.jit
def sigmoid(q):
    """sigma(q) = 1 / (1 + exp(-q))."""
    return 1.0 / (1.0 + tl.exp(-q))


@triton.jit
def sample_and_channels(pid, C, BLOCK_C: tl.constexpr):
    """Program ``pid`` of a grid over (sample, block of channels): b and the BLOCK_C channel indices."""
    blocks = (C + BLOCK_C - 1) // BLOCK_C
    return pid // blocks, (pid % blocks) * BLOCK_C + tl.arange(0, BLOCK_C)


@triton.jit
def offsets(b, c, p, stride_b, stride_c, stride_p):
    """Memory offsets of the (BLOCK_C, BLOCK_P) tile at sample b, channels c, positions p.

    In 64-bit integers: batch 256 of a 256 x 56 x 56 map has 2**27.6 elements,
    and the offsets of wider maps would overflow 32 bits.
    """
    return (
        b.to(tl.int64) * stride_b
        + c[:, None].to(tl.int64) * stride_c
        + p[None, :].to(tl.int64) * stride_p
    )


# ---------------------------------------------------------------------------
# Torch glue: the small graphs that run between passes.
# ---------------------------------------------------------------------------


def graph_grads(output, grad_output, leaves, params):
    """Backpropagate through a small torch graph recorded during the forward pass.

    ``output`` was computed from ``leaves`` (pooled statistics, made leaf
    tensors that require grad) and from module ``params``. Returns the
    gradients of the leaves (zeros where unused) and one entry per param
    (None where it does not require grad or does not reach ``output``).
    The graph is kept (``retain_graph``) so that an outer
    ``backward(retain_graph=True)`` can run twice.
    """
    wanted = list(leaves) + [p for p in params if p.requires_grad]
    grads = torch.autograd.grad(
        output, wanted, grad_output.to(output.dtype), retain_graph=True, allow_unused=True
    )
    leaf_grads = [torch.zeros_like(leaf) if g is None else g for leaf, g in zip(leaves, grads)]
    rest = iter(grads[len(leaves):])
    param_grads = tuple(next(rest) if p.requires_grad else None for p in params)
    return leaf_grads, param_grads


def add_grads(*grad_lists):
    """Element-wise sum of several tuples of parameter gradients, where None means zero."""
    total = []
    for grads in zip(*grad_lists):
        present = [g for g in grads if g is not None]
        total.append(sum(present[1:], present[0]) if present else None)
    return tuple(total)


def tracks_grad(x: torch.Tensor, params) -> bool:
    """Whether autograd will ask for a backward pass through this call."""
    return torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in params))
