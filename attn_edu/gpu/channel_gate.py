"""SE, cSE and ECA as Triton kernels: pool, then gate and scale, in two passes over x.

All three multiply each channel by a gate computed from the channel means;
they differ only in the small function from means to gate (SE and cSE: FC,
ReLU, FC, sigmoid; ECA: a 1-D convolution across channels, sigmoid), which
runs in torch on a (B, C) tensor. With x seen as (B, C, P), P = H * W:

    forward
      pass 1  z[b, c] = 1/P sum_p x[b, c, p]             _pool_positions_kernel   reads x
      torch   s = excite(z)                              (B, C): FC layers or conv1d, sigmoid
      pass 2  y[b, c, p] = s[b, c] * x[b, c, p]          _scale_kernel            reads x, writes y

    backward, g = dL/dy
      pass 1  ds[b, c] = sum_p g * x                     _scale_grad_kernel       reads g and x
      torch   dz = ds backpropagated through excite      (and the gradients of its parameters)
      pass 2  dx = g * s[b, c] + dz[b, c] / P            _scale_backward_kernel   reads g, writes dx

Two reads and one write of x-sized tensors forward, three reads and one write
backward: the minimum of ``attn_edu.profile.bytes_moved`` (the pool must
finish before anything can be scaled). Eager autograd does the forward in the
same two passes (``x.mean``, ``x * s``), but its backward writes ``g * x`` to
memory before summing it, and adds the pooling's gradient to ``g * s`` in a
pass of its own.

``_pool_positions_kernel`` is shared with CBAM (it also finds the max of each
channel) and DRSN (it pools |x|).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._lang import add, graph_grads, maximum, offsets, sample_and_channels, tl, tracks_grad, triton
from ._runtime import acc_dtype, as_bcp, cdiv, check_device, small, splits, tile, tl_acc


@triton.jit
def _pool_positions_kernel(
    x_ptr, sum_ptr, max_ptr, count_ptr,  # x: (B, C, P) strided; outputs: (splits, B, C), contiguous
    B, C, P, chunk,  # chunk: positions per split, a multiple of BLOCK_P
    stride_b, stride_c, stride_p,
    ABS: tl.constexpr,  # pool |x| instead of x (DRSN)
    PEAK: tl.constexpr,  # also the max over positions, and how many positions reach it (CBAM)
    ACC: tl.constexpr,  # accumulation dtype: float32 (float64 for float64 inputs)
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """Sum (and max) over positions: one program per (sample, BLOCK_C channels, split).

    The program walks its ``chunk`` of positions BLOCK_P at a time, keeping
    a (BLOCK_C, BLOCK_P) tile of running sums (and maxima, and counts of
    positions equal to the maximum) in registers, and reduces the tile along
    positions once at the end. Grid: (B * ceil(C / BLOCK_C), splits).
    """
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    split = tl.program_id(1)
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    peak = tl.full((BLOCK_C, BLOCK_P), float("-inf"), ACC)
    count = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for p0 in range(split * chunk, (split + 1) * chunk, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        mask = (c[:, None] < C) & (p[None, :] < P)
        v = tl.load(x_ptr + offsets(b, c, p, stride_b, stride_c, stride_p), mask=mask, other=0.0).to(ACC)
        if ABS:
            v = tl.abs(v)
        total += v
        if PEAK:
            v = tl.where(mask, v, float("-inf"))
            count = tl.where(v > peak, 1.0, tl.where(mask & (v == peak), count + 1.0, count))
            peak = tl.maximum(peak, v)
    out = split * B * C + b * C + c  # this program's row of the (splits, B, C) partials
    keep = c < C
    tl.store(sum_ptr + out, tl.reduce(total, 1, add), mask=keep)
    if PEAK:
        row_peak = tl.reduce(peak, 1, maximum)  # (BLOCK_C,)
        ties = tl.where(peak == row_peak[:, None], count, 0.0)
        tl.store(max_ptr + out, row_peak, mask=keep)
        tl.store(count_ptr + out, tl.reduce(ties, 1, add), mask=keep)


@triton.jit
def _scale_kernel(
    x_ptr, s_ptr, y_ptr,  # x, y: (B, C, P) strided; s: (B, C) contiguous
    C, P,
    xs_b, xs_c, xs_p, ys_b, ys_c, ys_p,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """y = s[b, c] * x: one program per (BLOCK_C, BLOCK_P) tile.

    Grid: (B * ceil(C / BLOCK_C), ceil(P / BLOCK_P)).
    """
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (c[:, None] < C) & (p[None, :] < P)
    x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0)
    s = tl.load(s_ptr + b * C + c, mask=c < C, other=0.0)  # (BLOCK_C,), float32
    y = x.to(s.dtype) * s[:, None]
    tl.store(y_ptr + offsets(b, c, p, ys_b, ys_c, ys_p), y.to(x.dtype), mask=mask)


@triton.jit
def _scale_grad_kernel(
    g_ptr, x_ptr, out_ptr,  # g, x: (B, C, P) strided; out: (splits, B, C)
    B, C, P, chunk,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """ds[b, c] = sum_p g * x: the same walk as _pool_positions_kernel, over two tensors."""
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    split = tl.program_id(1)
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for p0 in range(split * chunk, (split + 1) * chunk, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        mask = (c[:, None] < C) & (p[None, :] < P)
        g = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        total += g * x
    tl.store(out_ptr + split * B * C + b * C + c, tl.reduce(total, 1, add), mask=c < C)


@triton.jit
def _scale_backward_kernel(
    g_ptr, s_ptr, dz_ptr, dx_ptr,  # g, dx: (B, C, P) strided; s, dz: (B, C) contiguous
    C, P,
    gs_b, gs_c, gs_p, ds_b, ds_c, ds_p,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dx = g * s[b, c] + dz[b, c]: the scale's gradient plus the pooling's, in one pass.

    ``dz`` arrives already divided by P (d mean / dx = 1 / P). Grid as _scale_kernel.
    """
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (c[:, None] < C) & (p[None, :] < P)
    g = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0)
    s = tl.load(s_ptr + b * C + c, mask=c < C, other=0.0)
    dz = tl.load(dz_ptr + b * C + c, mask=c < C, other=0.0)
    dx = g.to(s.dtype) * s[:, None] + dz[:, None]
    tl.store(dx_ptr + offsets(b, c, p, ds_b, ds_c, ds_p), dx.to(g.dtype), mask=mask)


# ---------------------------------------------------------------------------
# Launchers: torch tensors in, torch tensors out. ``x3`` is a (B, C, P) view.
# ---------------------------------------------------------------------------


def reduction_grid(x3):
    """Tile, number of splits and positions per split of a reduction over positions."""
    b, c, p = x3.shape
    block_c, block_p = tile(x3)
    outer = b * cdiv(c, block_c)
    n = splits(outer, p, block_p, x3.device)
    chunk = cdiv(cdiv(p, n), block_p) * block_p
    return block_c, block_p, (outer, cdiv(p, chunk)), chunk


def elementwise_grid(x3):
    b, c, p = x3.shape
    block_c, block_p = tile(x3)
    return block_c, block_p, (b * cdiv(c, block_c), cdiv(p, block_p))


def pool_positions(x3: torch.Tensor, absolute: bool = False, peak: bool = False):
    """Per (b, c): the mean of x (or of |x|) over positions, (B, C) in the accumulation dtype.

    With ``peak=True`` also the max over positions and the number of
    positions that reach it (ties share the max's gradient, as in torch).
    """
    check_device("attn_edu.gpu", x3)
    b, c, p = x3.shape
    block_c, block_p, grid, chunk = reduction_grid(x3)
    partial = torch.empty(grid[1], b, c, device=x3.device, dtype=acc_dtype(x3))
    peaks = torch.empty_like(partial) if peak else partial  # unused unless peak
    counts = torch.empty_like(partial) if peak else partial
    _pool_positions_kernel[grid](
        x3, partial, peaks, counts, b, c, p, chunk, *x3.stride(),
        ABS=absolute, PEAK=peak, ACC=tl_acc(x3), BLOCK_C=block_c, BLOCK_P=block_p,
    )
    mean = partial.sum(0) / p  # add the splits' partial sums: (splits, B, C) -> (B, C)
    if not peak:
        return mean
    top = peaks.amax(0)
    return mean, top, (counts * (peaks == top)).sum(0)


def scale(x3: torch.Tensor, s: torch.Tensor, y3: torch.Tensor) -> None:
    """y3 = s[b, c] * x3, with s a (B, C) tensor from ``small``."""
    block_c, block_p, grid = elementwise_grid(x3)
    _, c, p = x3.shape
    _scale_kernel[grid](x3, s, y3, c, p, *x3.stride(), *y3.stride(), BLOCK_C=block_c, BLOCK_P=block_p)


def scale_grad(g3: torch.Tensor, x3: torch.Tensor) -> torch.Tensor:
    """sum_p g * x, (B, C)."""
    b, c, p = x3.shape
    block_c, block_p, grid, chunk = reduction_grid(x3)
    partial = torch.empty(grid[1], b, c, device=x3.device, dtype=acc_dtype(x3))
    _scale_grad_kernel[grid](
        g3, x3, partial, b, c, p, chunk, *g3.stride(), *x3.stride(),
        ACC=tl_acc(x3), BLOCK_C=block_c, BLOCK_P=block_p,
    )
    return partial.sum(0)


def scale_backward(g3, s, dz_over_p, dx3) -> None:
    """dx3 = g3 * s[b, c] + dz_over_p[b, c]."""
    block_c, block_p, grid = elementwise_grid(dx3)
    _, c, p = dx3.shape
    _scale_backward_kernel[grid](
        g3, s, dz_over_p, dx3, c, p, *g3.stride(), *dx3.stride(), BLOCK_C=block_c, BLOCK_P=block_p
    )


# ---------------------------------------------------------------------------
# Autograd
# ---------------------------------------------------------------------------


class _ChannelGate(torch.autograd.Function):
    """y = x * excite(mean over positions of x); the kernels above, forward and backward."""

    @staticmethod
    def forward(ctx, x, excite, track, *params):
        x3 = as_bcp(x)
        z = pool_positions(x3)  # pass 1: (B, C, P) -> (B, C)
        with torch.set_grad_enabled(track):  # record excite's small graph for backward
            z.requires_grad_(track)
            s = excite(z)  # (B, C) -> (B, C), in torch
        y = torch.empty_like(x)  # same memory format as x
        scale(x3, small(s, x), as_bcp(y))  # pass 2
        ctx.save_for_backward(x)
        ctx.graph, ctx.params = (z, s), params
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        (x,) = ctx.saved_tensors
        z, s = ctx.graph
        x3, g3 = as_bcp(x), as_bcp(grad_y)
        ds = scale_grad(g3, x3)  # pass 1: sum_p g * x, (B, C)
        (dz,), param_grads = graph_grads(s, ds, [z], ctx.params)  # through excite, in torch
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.empty_like(x)
            scale_backward(g3, small(s, x), small(dz, x) / x3.shape[2], as_bcp(grad_x))  # pass 2
        return (grad_x, None, None, *param_grads)


def channel_gate(x: torch.Tensor, excite, params) -> torch.Tensor:
    """x * excite(z)[:, :, None, None], z = the mean of x over positions.

    ``excite`` maps the (B, C) means (float32) to the (B, C) gate in torch,
    with ``params`` its parameters (their gradients come back through
    autograd). Works for (B, C, H, W) and (B, C, L), NCHW or channels_last.
    """
    params = tuple(params)
    return _ChannelGate.apply(x, excite, tracks_grad(x, params), *params)
