"""CBAM as Triton kernels: channel gate, then spatial gate, in three passes over x.

CBAM refines x twice, F' = M_c x, then y = M_s F'. M_c needs a pool over
all positions and M_s a pool over all channels of F', so x is read three
times; F' is never written, each pass recomputes it on chip. With x seen as
(B, C, P), P = H * W:

    forward
      pass 1  avg[b, c], max[b, c] over positions          _pool_positions_kernel (PEAK)   reads x
      torch   M_c = sigma(MLP(avg) + MLP(max))              (B, C)
      pass 2  mean and max over channels of F' = M_c x      _channel_stats_kernel           reads x
              -> the (B, 2, H, W) map of Eq. 3
      torch   M_s = sigma(BN(conv7x7(map)))                  (B, 1, H, W); train-mode BN included
      pass 3  y = M_s[b, p] M_c[b, c] x                      _scale_kernel (here)            reads x, writes y

    backward, g = dL/dy; dF' = g M_s + dmean / C + dmax [F' = max_c F'] / ties
      pass 1  dM_s[b, p] = sum_c g M_c x                    _spatial_grad_kernel            reads g and x
      torch   dmean, dmax = dM_s through BN, conv, sigmoid
      pass 2  dM_c[b, c] = sum_p dF' x                      _channel_grad_kernel            reads g and x
      torch   davg, dmax_c = dM_c through the sigmoid and the MLP
      pass 3  dx = dF' M_c + davg / P                       _backward_kernel                reads g and x, writes dx
                 + dmax_c [x = max_p x] / ties

A max hands its gradient to the element that attains it; where several tie,
torch's ``amax`` splits it evenly, and so do these kernels (the forward
passes count the ties). Without the spatial gate (``spatial=False``) CBAM is
SE with max pooling added: passes 2 and 3 are ``channel_gate``'s scale and
its gradient, and pass 3 of the backward drops the spatial terms.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._lang import add, add_grads, graph_grads, maximum, offsets, sample_and_channels, tl, tracks_grad, triton
from ._runtime import acc_dtype, as_bcp, cdiv, channel_loop_tile, check_device, small, tl_acc
from .channel_gate import elementwise_grid, pool_positions, reduction_grid, scale, scale_grad


@triton.jit
def _channel_stats_kernel(
    x_ptr, mc_ptr, stats_ptr, ties_ptr,  # x: (B, C, P) strided; mc: (B, C); stats out: (B, 2, P); ties out: (B, P)
    C, P,
    xs_b, xs_c, xs_p,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """Mean and max over channels of F' = M_c x, and how many channels reach the max.

    One program: BLOCK_P positions of sample b, looping over the channels
    BLOCK_C at a time. Grid: (B, ceil(P / BLOCK_P)).
    """
    b = tl.program_id(0)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    peak = tl.full((BLOCK_C, BLOCK_P), float("-inf"), ACC)
    count = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = (c[:, None] < C) & (p[None, :] < P)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        mc = tl.load(mc_ptr + b * C + c, mask=c < C, other=0.0)
        f = tl.where(mask, x * mc[:, None], float("-inf"))  # F' = M_c x
        total += tl.where(mask, f, 0.0)
        count = tl.where(f > peak, 1.0, tl.where(mask & (f == peak), count + 1.0, count))
        peak = tl.maximum(peak, f)
    col_peak = tl.reduce(peak, 0, maximum)  # (BLOCK_P,)
    ties = tl.reduce(tl.where(peak == col_peak[None, :], count, 0.0), 0, add)
    keep = p < P
    tl.store(stats_ptr + b * 2 * P + p, tl.reduce(total, 0, add) / C, mask=keep)  # channel 0: mean
    tl.store(stats_ptr + b * 2 * P + P + p, col_peak, mask=keep)  # channel 1: max
    tl.store(ties_ptr + b * P + p, ties, mask=keep)


@triton.jit
def _scale_kernel(
    x_ptr, mc_ptr, ms_ptr, y_ptr,  # mc: (B, C); ms: (B, P)
    C, P,
    xs_b, xs_c, xs_p, ys_b, ys_c, ys_p,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """y = M_s[b, p] (M_c[b, c] x): both gates in one pass. Grid: (B * ceil(C / BLOCK_C), ceil(P / BLOCK_P))."""
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (c[:, None] < C) & (p[None, :] < P)
    x_in = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0)
    mc = tl.load(mc_ptr + b * C + c, mask=c < C, other=0.0)
    ms = tl.load(ms_ptr + b * P + p, mask=p < P, other=0.0)
    y = (x_in.to(mc.dtype) * mc[:, None]) * ms[None, :]
    tl.store(y_ptr + offsets(b, c, p, ys_b, ys_c, ys_p), y.to(x_in.dtype), mask=mask)


@triton.jit
def _spatial_grad_kernel(
    g_ptr, x_ptr, mc_ptr, dms_ptr,  # dms out: (B, P)
    C, P,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dM_s[b, p] = sum_c g F' = sum_c g M_c x. Grid as _channel_stats_kernel."""
    b = tl.program_id(0)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for c0 in range(0, C, BLOCK_C):
        c = c0 + tl.arange(0, BLOCK_C)
        mask = (c[:, None] < C) & (p[None, :] < P)
        g = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        mc = tl.load(mc_ptr + b * C + c, mask=c < C, other=0.0)
        total += g * x * mc[:, None]
    tl.store(dms_ptr + b * P + p, tl.reduce(total, 0, add), mask=p < P)


@triton.jit
def _refined_grad(g, x, mc, ms, dmean, dmax, peak):
    """dL/dF' on a tile: through the spatial scale, the channel mean, and the channel max (ties share)."""
    f = x * mc[:, None]
    return g * ms[None, :] + dmean[None, :] + tl.where(f == peak[None, :], dmax[None, :], 0.0)


@triton.jit
def _channel_grad_kernel(
    g_ptr, x_ptr, mc_ptr, ms_ptr, dmean_ptr, dmax_ptr, peak_ptr, out_ptr,  # (B, P) maps; out: (splits, B, C)
    B, C, P, chunk,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dM_c[b, c] = sum_p dF' x: one program per (sample, BLOCK_C channels, split of positions).

    ``dmean`` arrives divided by C, ``dmax`` by the number of tied channels.
    """
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    split = tl.program_id(1)
    mc = tl.load(mc_ptr + b * C + c, mask=c < C, other=0.0)
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for p0 in range(split * chunk, (split + 1) * chunk, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        mask = (c[:, None] < C) & (p[None, :] < P)
        g = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        ms = tl.load(ms_ptr + b * P + p, mask=p < P, other=0.0)
        dmean = tl.load(dmean_ptr + b * P + p, mask=p < P, other=0.0)
        dmax = tl.load(dmax_ptr + b * P + p, mask=p < P, other=0.0)
        peak = tl.load(peak_ptr + b * P + p, mask=p < P, other=0.0)
        total += _refined_grad(g, x, mc, ms, dmean, dmax, peak) * x
    tl.store(out_ptr + split * B * C + b * C + c, tl.reduce(total, 1, add), mask=c < C)


@triton.jit
def _backward_kernel(
    g_ptr, x_ptr, mc_ptr, ms_ptr, dmean_ptr, dmax_ptr, peak_ptr,  # as _channel_grad_kernel
    davg_ptr, dtop_ptr, top_ptr, dx_ptr,  # (B, C): davg / P, dmax_c / ties, max over positions
    C, P,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p, ds_b, ds_c, ds_p,
    SPATIAL: tl.constexpr,  # False: CBAM without its spatial gate, dF' = g
    PEAK: tl.constexpr,  # the channel gate pools with max
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dx = dF' M_c + davg / P + dmax_c [x = max_p x] / ties. Grid: as _scale_kernel."""
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (c[:, None] < C) & (p[None, :] < P)
    g_in = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0)
    mc = tl.load(mc_ptr + b * C + c, mask=c < C, other=0.0)
    g = g_in.to(mc.dtype)
    x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(mc.dtype)
    if SPATIAL:
        ms = tl.load(ms_ptr + b * P + p, mask=p < P, other=0.0)
        dmean = tl.load(dmean_ptr + b * P + p, mask=p < P, other=0.0)
        dmax = tl.load(dmax_ptr + b * P + p, mask=p < P, other=0.0)
        peak = tl.load(peak_ptr + b * P + p, mask=p < P, other=0.0)
        df = _refined_grad(g, x, mc, ms, dmean, dmax, peak)
    else:
        df = g
    davg = tl.load(davg_ptr + b * C + c, mask=c < C, other=0.0)
    dx = df * mc[:, None] + davg[:, None]
    if PEAK:
        top = tl.load(top_ptr + b * C + c, mask=c < C, other=0.0)
        dtop = tl.load(dtop_ptr + b * C + c, mask=c < C, other=0.0)
        dx += tl.where(x == top[:, None], dtop[:, None], 0.0)
    tl.store(dx_ptr + offsets(b, c, p, ds_b, ds_c, ds_p), dx.to(g_in.dtype), mask=mask)


class _CBAM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, channel_logits, spatial_logits, pool_types, track, *params):
        check_device("attn_edu.gpu CBAM", x)
        x3 = as_bcp(x)
        b, c, p = x3.shape
        peak = "max" in pool_types
        acc = acc_dtype(x)
        # Pass 1: avg (and max) over positions.
        if peak:
            avg, top, top_ties = pool_positions(x3, peak=True)
        else:
            avg, top, top_ties = pool_positions(x3), None, None
        with torch.set_grad_enabled(track):
            pooled = {"avg": avg.requires_grad_(track)}
            if peak:
                pooled["max"] = top.clone().requires_grad_(track)
            mc = torch.sigmoid(channel_logits(pooled))  # M_c, (B, C), in torch
        mc_small = small(mc, x)
        y = torch.empty_like(x)
        y3 = as_bcp(y)
        ms = stats = ms_small = ties = None
        if spatial_logits is None:
            scale(x3, mc_small, y3)  # pass 2: y = M_c x
        else:
            # Pass 2: the channel mean and max of F' = M_c x.
            stats = torch.empty(b, 2, *x.shape[2:], device=x.device, dtype=acc)
            ties = torch.empty(b, p, device=x.device, dtype=acc)
            block_c, block_p = channel_loop_tile(x3)
            _channel_stats_kernel[(b, cdiv(p, block_p))](
                x3, mc_small, stats, ties, c, p, *x3.stride(),
                ACC=tl_acc(x), BLOCK_C=block_c, BLOCK_P=block_p,
            )
            with torch.set_grad_enabled(track):
                stats.requires_grad_(track)
                ms = torch.sigmoid(spatial_logits(stats))  # M_s, (B, 1, H, W), in torch
            ms_small = small(ms, x).view(b, p)
            block_c, block_p, grid = elementwise_grid(x3)
            _scale_kernel[grid](  # pass 3: y = M_s M_c x
                x3, mc_small, ms_small, y3, c, p, *x3.stride(), *y3.stride(), BLOCK_C=block_c, BLOCK_P=block_p
            )
        ctx.save_for_backward(x)
        ctx.graph = (pooled, mc, stats, ms)
        ctx.small = (mc_small, ms_small, ties, top, top_ties)
        ctx.params = params
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        (x,) = ctx.saved_tensors
        pooled, mc, stats, ms = ctx.graph
        mc_small, ms_small, ties, top, top_ties = ctx.small
        x3, g3 = as_bcp(x), as_bcp(grad_y)
        b, c, p = x3.shape
        acc = acc_dtype(x)
        spatial = ms is not None
        spatial_grads = (None,) * len(ctx.params)
        maps = [x3.new_zeros(1, dtype=acc)] * 4  # M_s, dmean / C, dmax / ties, max over channels
        if spatial:
            # Pass 1: dM_s = sum_c g M_c x, then through sigmoid, BN and the conv in torch.
            dms = torch.empty(b, p, device=x.device, dtype=acc)
            block_c, block_p = channel_loop_tile(x3)
            _spatial_grad_kernel[(b, cdiv(p, block_p))](
                g3, x3, mc_small, dms, c, p, *g3.stride(), *x3.stride(),
                ACC=tl_acc(x), BLOCK_C=block_c, BLOCK_P=block_p,
            )
            (dstats,), spatial_grads = graph_grads(ms, dms.view_as(ms), [stats], ctx.params)
            dstats = small(dstats, x).view(b, 2, p)
            peak_c = stats.detach().view(b, 2, p)[:, 1].contiguous()
            maps = [ms_small, (dstats[:, 0] / c).contiguous(), (dstats[:, 1] / ties).contiguous(), peak_c]
            # Pass 2: dM_c = sum_p dF' x.
            block_c, block_p, grid, chunk = reduction_grid(x3)
            partial = torch.empty(grid[1], b, c, device=x.device, dtype=acc)
            _channel_grad_kernel[grid](
                g3, x3, mc_small, *maps, partial, b, c, p, chunk, *g3.stride(), *x3.stride(),
                ACC=tl_acc(x), BLOCK_C=block_c, BLOCK_P=block_p,
            )
            dmc = partial.sum(0)
        else:
            dmc = scale_grad(g3, x3)  # pass 2 without the spatial gate: dM_c = sum_p g x
        leaves = [pooled[kind] for kind in ("avg", "max") if kind in pooled]
        leaf_grads, channel_grads = graph_grads(mc, dmc, leaves, ctx.params)  # through the MLP, in torch
        grad_x = None
        if ctx.needs_input_grad[0]:
            davg = small(leaf_grads[0], x) / p
            peak = top is not None
            dtop = small(leaf_grads[1], x) / top_ties if peak else davg
            grad_x = torch.empty_like(x)
            dx3 = as_bcp(grad_x)
            block_c, block_p, grid = elementwise_grid(x3)
            _backward_kernel[grid](  # pass 3
                g3, x3, mc_small, *maps, davg, dtop, top if peak else davg, dx3,
                c, p, *g3.stride(), *x3.stride(), *dx3.stride(),
                SPATIAL=spatial, PEAK=peak, BLOCK_C=block_c, BLOCK_P=block_p,
            )
        return (grad_x, None, None, None, None, *add_grads(spatial_grads, channel_grads))


def cbam(x: torch.Tensor, channel_logits, spatial_logits, pool_types, params) -> torch.Tensor:
    """CBAM's forward with the kernels above.

    ``channel_logits`` maps {"avg": (B, C), "max": (B, C)} to the (B, C)
    logits of M_c; ``spatial_logits`` maps the (B, 2, H, W) channel mean and
    max to the (B, 1, H, W) logits of M_s, or is None (no spatial gate);
    ``params`` are the parameters both use.
    """
    params = tuple(params)
    return _CBAM.apply(x, channel_logits, spatial_logits, tuple(pool_types), tracks_grad(x, params), *params)
