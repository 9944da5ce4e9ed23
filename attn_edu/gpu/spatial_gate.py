"""sSE and scSE as Triton kernels: the spatial gate computed per position, on chip.

sSE's gate at a position needs only that position's C values (a 1 x 1
convolution C -> 1, then a sigmoid), so one program owns BLOCK_P positions
of one sample and loops over the channels twice: first to compute the gate
q, then to scale. The second loop reads again the BLOCK_P x C values the
first one read. If they are still in the GPU's L2 cache, x crosses the
memory bus once, the minimum of ``attn_edu.profile.bytes_moved``; whether
they are depends on how much all the programs running at the same time read
in between, so it is a question for the benchmark, not for this docstring.
With x seen as (B, C, P), w the 1 x 1 convolution's C weights and b0 its bias:

    sSE forward, one pass                                  _spatial_gate_kernel
      q[b, p] = sigma( sum_c w[c] x[b, c, p] + b0 )        loop 1 over channels: reads x
      y[b, c, p] = q[b, p] x[b, c, p]                      loop 2: re-reads the tile, writes y

    scSE forward, two passes
      pass 1  z = mean over positions; s = excite(z)       _pool_positions_kernel, then torch
      pass 2  y = s[b, c] x + q[b, p] x  (or the max)      _spatial_gate_kernel with CHANNEL

    backward, g = dL/dy; a = s x and v = q x are the two maps, weighted in
    the output by 1 each (sum) or by the max's indicator (ties split 1/2, 1/2,
    as torch.maximum does): wa, wv
      pass 1  dq[b, p] = q (1 - q) sum_c g wv x            _spatial_gate_grad_kernel: reads g and x
              ds[b, c] = sum_p g wa x   (scSE)             the same loop, partial sums per block of positions
      torch   dz = ds through excite (scSE)
      pass 2  dx = g (wa s + wv q) + dz / P + dq w[c]      _spatial_gate_backward_kernel: reads g and x,
              dw[c] = sum_b,p dq x                         writes dx; partial sums of dw per program

Four reads and one write backward (sSE and scSE alike).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._lang import add, graph_grads, offsets, sigmoid, tl, tracks_grad, triton
from ._runtime import acc_dtype, as_bcp, cdiv, channel_loop_tile, check_device, small, tl_acc
from .channel_gate import pool_positions


@triton.jit
def _spatial_gate_kernel(
    x_ptr, w_ptr, bias_ptr, s_ptr, y_ptr, q_ptr,  # x, y: (B, C, P) strided; w: (C,); s: (B, C); q out: (B, P)
    C, P,
    xs_b, xs_c, xs_p, ys_b, ys_c, ys_p,
    CHANNEL: tl.constexpr,  # scSE: add (or max) the channel-gated map s[b, c] x
    MAX: tl.constexpr,  # scSE with aggregation="max"
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """One program: positions p of sample b, all channels. Grid: (B, ceil(P / BLOCK_P))."""
    b = tl.program_id(0)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    # Loop 1: the 1 x 1 convolution, q = sigma(sum_c w[c] x[c, p] + b0).
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = (c[:, None] < C) & (p[None, :] < P)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        w = tl.load(w_ptr + c, mask=c < C, other=0.0).to(ACC)
        total += x * w[:, None]
    q = sigmoid(tl.reduce(total, 0, add) + tl.load(bias_ptr).to(ACC))  # (BLOCK_P,)
    tl.store(q_ptr + b * P + p, q, mask=p < P)  # kept for the backward pass
    # Loop 2: scale the same tile (now in cache) and write it.
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = (c[:, None] < C) & (p[None, :] < P)
        x_in = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0)
        x = x_in.to(ACC)
        y = x * q[None, :]  # U^_sSE
        if CHANNEL:
            s = tl.load(s_ptr + b * C + c, mask=c < C, other=0.0)
            if MAX:
                y = tl.maximum(x * s[:, None], y)
            else:
                y = x * s[:, None] + y  # U^_cSE + U^_sSE
        tl.store(y_ptr + offsets(b, c, p, ys_b, ys_c, ys_p), y.to(x_in.dtype), mask=mask)


@triton.jit
def _channel_gate(ptr, b, c, C, CHANNEL: tl.constexpr, ACC: tl.constexpr, BLOCK_C: tl.constexpr):
    """The (B, C) tensor at ``ptr`` for sample b, channels c: scSE's channel gate (or its gradient); zeros for sSE."""
    if CHANNEL:
        values = tl.load(ptr + b * C + c, mask=c < C, other=0.0)
    else:
        values = tl.full((BLOCK_C,), 0.0, ACC)
    return values


@triton.jit
def _weights(x, s, q, CHANNEL: tl.constexpr, MAX: tl.constexpr):
    """wa, wv: how much of g reaches the channel-gated map a = s x and the position-gated v = q x."""
    if CHANNEL:
        if MAX:  # the larger map takes the gradient; a tie splits it
            a = x * s[:, None]
            v = x * q[None, :]
            wa = tl.where(a > v, 1.0, tl.where(a == v, 0.5, 0.0))
            wv = 1.0 - wa
        else:  # sum: both maps take all of it
            wa = tl.full(x.shape, 1.0, x.dtype)
            wv = tl.full(x.shape, 1.0, x.dtype)
    else:  # sSE: there is no channel-gated map
        wa = tl.full(x.shape, 0.0, x.dtype)
        wv = tl.full(x.shape, 1.0, x.dtype)
    return wa, wv


@triton.jit
def _spatial_gate_grad_kernel(
    g_ptr, x_ptr, s_ptr, q_ptr, dq_ptr, ds_ptr,  # dq out: (B, P); ds out: (blocks of P, B, C)
    B, C, P,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p,
    CHANNEL: tl.constexpr, MAX: tl.constexpr,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dq (the gradient of the 1 x 1 convolution's output) and partial sums of ds. Grid as the forward."""
    b = tl.program_id(0)
    block = tl.program_id(1)
    p = block * BLOCK_P + tl.arange(0, BLOCK_P)
    q = tl.load(q_ptr + b * P + p, mask=p < P, other=0.0)
    dq = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = (c[:, None] < C) & (p[None, :] < P)
        g = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        s = _channel_gate(s_ptr, b, c, C, CHANNEL, ACC, BLOCK_C)
        wa, wv = _weights(x, s, q, CHANNEL, MAX)
        dq += g * wv * x
        if CHANNEL:  # this block's share of ds[b, c] = sum_p g wa x
            tl.store(ds_ptr + block * B * C + b * C + c, tl.reduce(g * wa * x, 1, add), mask=c < C)
    dq = tl.reduce(dq, 0, add) * q * (1.0 - q)  # through the sigmoid
    tl.store(dq_ptr + b * P + p, dq, mask=p < P)


@triton.jit
def _spatial_gate_backward_kernel(
    g_ptr, x_ptr, w_ptr, s_ptr, q_ptr, dq_ptr, dz_ptr, dx_ptr, dw_ptr,  # dw out: (B * blocks of P, C)
    C, P,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p, ds_b, ds_c, ds_p,
    CHANNEL: tl.constexpr, MAX: tl.constexpr,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dx = g (wa s + wv q) + dz / P + dq w, and this program's partial sum of dw. Grid as the forward."""
    b = tl.program_id(0)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    row = b * tl.num_programs(1) + tl.program_id(1)  # this program's row of the dw partials
    q = tl.load(q_ptr + b * P + p, mask=p < P, other=0.0)
    dq = tl.load(dq_ptr + b * P + p, mask=p < P, other=0.0)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = (c[:, None] < C) & (p[None, :] < P)
        g_in = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0)
        g = g_in.to(ACC)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        w = tl.load(w_ptr + c, mask=c < C, other=0.0).to(ACC)
        s = _channel_gate(s_ptr, b, c, C, CHANNEL, ACC, BLOCK_C)
        dz = _channel_gate(dz_ptr, b, c, C, CHANNEL, ACC, BLOCK_C)
        wa, wv = _weights(x, s, q, CHANNEL, MAX)
        dx = g * (wa * s[:, None] + wv * q[None, :]) + dz[:, None] + dq[None, :] * w[:, None]
        tl.store(dx_ptr + offsets(b, c, p, ds_b, ds_c, ds_p), dx.to(g_in.dtype), mask=mask)
        tl.store(dw_ptr + row * C + c, tl.reduce(dq[None, :] * x, 1, add), mask=c < C)


# ---------------------------------------------------------------------------
# Autograd
# ---------------------------------------------------------------------------


class _SpatialGate(torch.autograd.Function):
    """sSE (``excite`` None) or scSE (``excite`` maps the channel means to cSE's gate)."""

    @staticmethod
    def forward(ctx, x, excite, use_max, track, weight, bias, *params):
        check_device("attn_edu.gpu spatial gate", x)
        x3 = as_bcp(x)
        b, c, p = x3.shape
        channel = excite is not None
        s = z = None
        if channel:  # scSE pass 1: the channel gate
            z = pool_positions(x3)
            with torch.set_grad_enabled(track):
                z.requires_grad_(track)
                s = excite(z)  # (B, C)
        s_small = small(s, x) if channel else x3.new_zeros(1, dtype=acc_dtype(x))  # unused for sSE
        y = torch.empty_like(x)
        y3 = as_bcp(y)
        q = torch.empty(b, p, device=x.device, dtype=acc_dtype(x))
        block_c, block_p = channel_loop_tile(x3)
        _spatial_gate_kernel[(b, cdiv(p, block_p))](
            x3, small(weight.reshape(c), x), small(bias, x), s_small, y3, q, c, p, *x3.stride(), *y3.stride(),
            CHANNEL=channel, MAX=use_max, ACC=tl_acc(x), BLOCK_C=block_c, BLOCK_P=block_p,
        )
        ctx.save_for_backward(x, weight, bias, q)
        ctx.graph, ctx.params, ctx.use_max = (z, s), params, use_max
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, weight, bias, q = ctx.saved_tensors
        z, s = ctx.graph
        channel = s is not None
        x3, g3 = as_bcp(x), as_bcp(grad_y)
        b, c, p = x3.shape
        block_c, block_p = channel_loop_tile(x3)
        grid = (b, cdiv(p, block_p))
        flags = dict(CHANNEL=channel, MAX=ctx.use_max, ACC=tl_acc(x), BLOCK_C=block_c, BLOCK_P=block_p)
        acc = acc_dtype(x)
        s_small = small(s, x) if channel else x3.new_zeros(1, dtype=acc)
        dq = torch.empty(b, p, device=x.device, dtype=acc)
        ds = torch.empty(grid[1], b, c, device=x.device, dtype=acc) if channel else dq
        _spatial_gate_grad_kernel[grid](  # pass 1
            g3, x3, s_small, q, dq, ds, b, c, p, *g3.stride(), *x3.stride(), **flags
        )
        param_grads = (None,) * len(ctx.params)
        dz = s_small
        if channel:  # through cSE's excite, in torch
            (dz,), param_grads = graph_grads(s, ds.sum(0), [z], ctx.params)
            dz = small(dz, x) / p
        grad_x = torch.empty_like(x)
        dw = torch.empty(b * grid[1], c, device=x.device, dtype=acc)
        _spatial_gate_backward_kernel[grid](  # pass 2
            g3, x3, small(weight.reshape(c), x), s_small, q, dq, dz, as_bcp(grad_x), dw,
            c, p, *g3.stride(), *x3.stride(), *as_bcp(grad_x).stride(), **flags
        )
        grad_w = dw.sum(0).to(weight.dtype).view_as(weight)
        grad_bias = dq.sum().to(bias.dtype).view_as(bias)
        return (grad_x, None, None, None, grad_w, grad_bias, *param_grads)


def spatial_gate(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """sSE: x * sigma(conv1x1(x)), with the (1, C, 1, 1) ``weight`` and (1,) ``bias`` of the convolution."""
    return _SpatialGate.apply(x, None, False, tracks_grad(x, (weight, bias)), weight, bias)


def concurrent_gate(x, excite, params, weight, bias, aggregation: str = "sum") -> torch.Tensor:
    """scSE: cSE's x * excite(mean of x) and sSE's x * sigma(conv1x1(x)), summed or maxed.

    ``excite`` maps the (B, C) channel means to cSE's gate, ``params`` are
    its parameters; ``weight`` and ``bias`` are sSE's 1 x 1 convolution.
    """
    params = tuple(params)
    track = tracks_grad(x, params + (weight, bias))
    return _SpatialGate.apply(x, excite, aggregation == "max", track, weight, bias, *params)
