"""DRSN's shrinkage as Triton kernels: pool |x|, then soft-threshold, in two passes over x.

With x seen as (B, C, P) (P = H * W for maps, L for signals):

    forward
      pass 1  a[b, c] = 1/P sum_p |x[b, c, p]|            _pool_positions_kernel (ABS)   reads x
      torch   tau = threshold(a)                          (B, C): FC, BN, ReLU, FC, sigmoid, times a
      pass 2  y = sign(x) max(|x| - tau[b, c], 0)         _soft_threshold_kernel         reads x, writes y

    backward, g = dL/dy; inside the band |x| <= tau the output is 0 and so is its gradient
      pass 1  dtau[b, c] = - sum_p g sign(x) [|x| > tau]  _soft_threshold_grad_kernel    reads g and x
      torch   da = dtau through threshold                 (and the gradients of the scale network)
      pass 2  dx = g [|x| > tau] + da[b, c] sign(x) / P   _soft_threshold_backward_kernel reads g and x, writes dx

DRSN-CS shares one threshold per sample; ``threshold`` repeats it over the
C channels, so the same kernels serve both variants.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._lang import add, graph_grads, offsets, sample_and_channels, tl, tracks_grad, triton
from ._runtime import acc_dtype, as_bcp, small, tl_acc
from .channel_gate import elementwise_grid, pool_positions, reduction_grid


@triton.jit
def _soft_threshold_kernel(
    x_ptr, tau_ptr, y_ptr,  # x, y: (B, C, P) strided; tau: (B, C)
    C, P,
    xs_b, xs_c, xs_p, ys_b, ys_c, ys_p,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """y = x - tau above the band, x + tau below it, 0 inside: one program per (BLOCK_C, BLOCK_P) tile.

    Grid: (B * ceil(C / BLOCK_C), ceil(P / BLOCK_P)).
    """
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (c[:, None] < C) & (p[None, :] < P)
    x_in = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0)
    tau = tl.load(tau_ptr + b * C + c, mask=c < C, other=0.0)[:, None]
    x = x_in.to(tau.dtype)
    y = tl.where(x > tau, x - tau, tl.where(x < -tau, x + tau, 0.0))  # sign(x) max(|x| - tau, 0)
    tl.store(y_ptr + offsets(b, c, p, ys_b, ys_c, ys_p), y.to(x_in.dtype), mask=mask)


@triton.jit
def _soft_threshold_grad_kernel(
    g_ptr, x_ptr, tau_ptr, out_ptr,  # out: (splits, B, C)
    B, C, P, chunk,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dtau[b, c] = sum_p (-g above the band, +g below it): one program per (sample, channels, split)."""
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    split = tl.program_id(1)
    tau = tl.load(tau_ptr + b * C + c, mask=c < C, other=0.0)[:, None]
    total = tl.full((BLOCK_C, BLOCK_P), 0.0, ACC)
    for p0 in range(split * chunk, (split + 1) * chunk, BLOCK_P):
        p = p0 + tl.arange(0, BLOCK_P)
        mask = (c[:, None] < C) & (p[None, :] < P)
        g = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0).to(ACC)
        x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(ACC)
        total += tl.where(x > tau, -g, tl.where(x < -tau, g, 0.0))
    tl.store(out_ptr + split * B * C + b * C + c, tl.reduce(total, 1, add), mask=c < C)


@triton.jit
def _soft_threshold_backward_kernel(
    g_ptr, x_ptr, tau_ptr, da_ptr, dx_ptr,  # da: (B, C), already divided by P
    C, P,
    gs_b, gs_c, gs_p, xs_b, xs_c, xs_p, ds_b, ds_c, ds_p,
    BLOCK_C: tl.constexpr, BLOCK_P: tl.constexpr,
):
    """dx = g outside the band + da sign(x) (the gradient of a = mean |x|). Grid as the forward."""
    b, c = sample_and_channels(tl.program_id(0), C, BLOCK_C)
    p = tl.program_id(1) * BLOCK_P + tl.arange(0, BLOCK_P)
    mask = (c[:, None] < C) & (p[None, :] < P)
    g_in = tl.load(g_ptr + offsets(b, c, p, gs_b, gs_c, gs_p), mask=mask, other=0.0)
    tau = tl.load(tau_ptr + b * C + c, mask=c < C, other=0.0)[:, None]
    da = tl.load(da_ptr + b * C + c, mask=c < C, other=0.0)[:, None]
    g = g_in.to(tau.dtype)
    x = tl.load(x_ptr + offsets(b, c, p, xs_b, xs_c, xs_p), mask=mask, other=0.0).to(tau.dtype)
    sign = tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, 0.0))
    dx = tl.where((x > tau) | (x < -tau), g, 0.0) + da * sign
    tl.store(dx_ptr + offsets(b, c, p, ds_b, ds_c, ds_p), dx.to(g_in.dtype), mask=mask)


class _Shrink(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, threshold, track, *params):
        x3 = as_bcp(x)
        b, c, p = x3.shape
        a = pool_positions(x3, absolute=True)  # pass 1: (B, C, P) -> (B, C)
        with torch.set_grad_enabled(track):
            a.requires_grad_(track)
            tau = threshold(a)  # (B, C), in torch
        tau_small = small(tau, x)
        y = torch.empty_like(x)
        y3 = as_bcp(y)
        block_c, block_p, grid = elementwise_grid(x3)
        _soft_threshold_kernel[grid](  # pass 2
            x3, tau_small, y3, c, p, *x3.stride(), *y3.stride(), BLOCK_C=block_c, BLOCK_P=block_p
        )
        ctx.save_for_backward(x, tau_small)
        ctx.graph, ctx.params = (a, tau), params
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, tau_small = ctx.saved_tensors
        a, tau = ctx.graph
        x3, g3 = as_bcp(x), as_bcp(grad_y)
        b, c, p = x3.shape
        block_c, block_p, grid, chunk = reduction_grid(x3)
        partial = torch.empty(grid[1], b, c, device=x.device, dtype=acc_dtype(x))
        _soft_threshold_grad_kernel[grid](  # pass 1
            g3, x3, tau_small, partial, b, c, p, chunk, *g3.stride(), *x3.stride(),
            ACC=tl_acc(x), BLOCK_C=block_c, BLOCK_P=block_p,
        )
        (da,), param_grads = graph_grads(tau, partial.sum(0), [a], ctx.params)  # in torch
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.empty_like(x)
            dx3 = as_bcp(grad_x)
            _soft_threshold_backward_kernel[elementwise_grid(x3)[2]](  # pass 2
                g3, x3, tau_small, small(da, x) / p, dx3, c, p, *g3.stride(), *x3.stride(), *dx3.stride(),
                BLOCK_C=block_c, BLOCK_P=block_p,
            )
        return (grad_x, None, None, *param_grads)


def shrink(x: torch.Tensor, threshold, params) -> torch.Tensor:
    """sign(x) max(|x| - tau, 0) with tau = threshold(mean over positions of |x|), (B, C).

    ``threshold`` maps the (B, C) means to the (B, C) thresholds in torch;
    ``params`` are its parameters. Works for (B, C, L) and (B, C, H, W).
    """
    params = tuple(params)
    return _Shrink.apply(x, threshold, tracks_grad(x, params), *params)
