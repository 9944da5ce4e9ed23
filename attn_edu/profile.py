"""What each attention mechanism costs: parameters, FLOPs and bytes moved.

Four questions, four functions:

- ``count_parameters(module)`` counts the trainable parameters of a built
  module, and ``parameter_formula(name, channels, **kw)`` gives the same
  number from a closed-form formula read off the paper's structure, without
  building anything. The tests check that the two always agree.
- ``flops(module_or_name, input_shape, **kw)``: the arithmetic of one forward
  pass, split into multiply-accumulates of matrix products and convolutions,
  and element-wise work (pooling, activations, gating).
- ``bytes_moved(module_or_name, input_shape, dtype, **kw)``: the fewest bytes
  an implementation must read from and write to memory, and the resulting
  arithmetic intensity (FLOPs per byte).
- ``summary(...)`` and ``table(...)``: all of the above for every mechanism,
  as a list of dicts or as a Markdown table for the book's cost sections.

Every count is analytic: a formula per mechanism, written out below. The
tests check the formulas against counting (``count_parameters``) and against
PyTorch's own ``torch.utils.flop_counter.FlopCounterMode``.

Counting conventions (read these before quoting a number)
--------------------------------------------------------

Units. A multiply-accumulate (MAC) is one multiply and one add, a * b + c.
A matrix product or convolution with K inputs per output costs K MACs per
output, and we count it as 2 FLOPs per MAC::

    macs          = multiply-accumulates of FC layers, convolutions, matmuls
    flops_matmul  = 2 * macs            (what FlopCounterMode reports)
    flops_elementwise                   (everything else, rules below)
    flops_total   = flops_matmul + flops_elementwise

A convolution costs (output elements) x (C_in / groups) x k x k MACs at
every output position, padded border positions included, and a bias is not
part of its MACs (it is element-wise work). This is FlopCounterMode's rule,
so ``flops_matmul`` equals its count exactly.

Element-wise FLOPs:

- one FLOP per output element for each element-wise operation: add,
  multiply, max of two tensors, and each elementary function (ReLU, sigmoid,
  exp, log, sqrt, abs, sign). A sigmoid counts as one FLOP even though it
  takes an exp, an add and a divide;
- a bias add is one FLOP per output element of its layer;
- BatchNorm in inference folds into y = a * x + b: 2 FLOPs per element;
- reducing n numbers to one costs n - 1 FLOPs (adds for a sum, comparisons
  for a max); a mean adds one divide, so a mean of n numbers costs n FLOPs;
- a softmax over n numbers costs 3n - 1 FLOPs: n exps, n - 1 adds for the
  sum, n divides (we leave out the max subtraction that implementations add
  for numerical safety);
- reshapes, transposes, concatenation and broadcasting cost nothing.

All counts are for inference (``module.eval()``): in training, BatchNorm also
computes batch statistics, which we do not count.

Bytes moved: the model of passes
--------------------------------

A gating module cannot compute its output from one element of x alone: the
gate depends on a pool over the whole map. So an implementation streams over
x more than once. We call one streaming read of the whole input tensor
(B * C * H * W elements) a read pass, and one write of the whole output
tensor a write pass. Our rules for the minimum:

1. Per-element and per-position work (activations, gating, 1 x 1
   convolutions, pooling across the channels of one position) is done on chip,
   inside whichever pass is already reading that data. It may be recomputed
   in a later pass instead of being stored.
2. A new pass is needed after a global reduction (a pool over all H x W
   positions), because nothing can be scaled before the pool is complete.
3. Spatial convolutions larger than 1 x 1 read their input map once and
   write their output map to memory; we do not count halo or recomputation
   tricks that would avoid this.
4. Smaller tensors handed from one pass to the next (pooled vectors of
   B * C numbers, gates, BAM's bottleneck maps, CBAM's 2-channel statistics
   map) are "intermediates": each is written once and read by each consumer.
5. Every parameter is read once (BatchNorm's running statistics fold into
   its 2 numbers per channel in inference).
6. The output is written once.

For example SE reads x to pool it (pass 1), then reads x again to scale it
and writes the output (pass 2): ``passes_read = 2``, ``passes_write = 1``. A
kernel that kept a whole sample of x on chip between the two steps would
read it once; with real feature maps (256 x 56 x 56 floats is 3.2 MB per
sample) that does not fit, so we do not assume it.

Why these modules are memory-bound: a gating module does a handful of FLOPs
per element of x (a pool, a multiply) but moves 3 or more elements' worth of
bytes for each (two reads and a write, 4 bytes each in float32), so its
arithmetic intensity is a fraction of a FLOP per byte. A modern GPU can do
tens of FLOPs in the time it moves one byte from its main memory, so these
modules leave its arithmetic units idle, and their run time follows bytes
moved, not FLOPs. The modules that convolve over the map do more work per
byte: BAM (its bottleneck 3 x 3 convolutions) and SK (its grouped 3 x 3
convolutions) reach several FLOPs per byte (about 6 and 12 at 256 x 56 x 56),
the low end of what a GPU needs. Only the non-local block, whose N x N
attention (N = H * W) grows with the square of the map while its bytes grow
linearly, becomes compute-bound on large maps.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import nn

from . import modules
from ._checks import check_choice, check_odd, check_positive, check_selective_kernel, hidden_units
from .functional import eca_kernel_size
from .modules.non_local import key_grid, pooling_order
from .registry import available
from .traffic import eager_traffic  # noqa: F401 - part of this module's API, see traffic.py

__all__ = ["count_parameters", "parameter_formula", "flops", "bytes_moved", "eager_traffic", "summary", "table"]

FLOP_UNITS = (
    "macs: multiply-accumulates of FC layers, convolutions and matmuls; "
    "flops_matmul = 2 * macs (FLOPs, as FlopCounterMode counts); "
    "flops_elementwise: FLOPs of pooling, activations, gating, BatchNorm, biases and adds, "
    "one per output element per operation; flops_total = flops_matmul + flops_elementwise; "
    "inference (eval mode), one forward pass"
)
BYTE_UNITS = (
    "bytes: the minimum read and written by one forward pass; a pass is one streaming read of the "
    "whole input (passes_read) or write of the whole output (passes_write); intermediates are "
    "written once and read by each consumer; parameters are read once"
)


# ---------------------------------------------------------------------------
# Bookkeeping
# ---------------------------------------------------------------------------


class _Tally:
    """Adds up a forward pass step by step and keeps each step for the breakdown."""

    def __init__(self):
        self.steps: list[dict] = []
        self.prefix = ""

    def matmul(self, step: str, macs: int) -> None:
        """An FC layer, convolution or matrix product: ``macs`` multiply-accumulates."""
        if macs:
            self.steps.append({"step": self.prefix + step, "macs": macs, "flops_elementwise": 0})

    def elementwise(self, step: str, count: int) -> None:
        """Element-wise work: ``count`` FLOPs under the module docstring's rules."""
        if count:
            self.steps.append({"step": self.prefix + step, "macs": 0, "flops_elementwise": count})

    @contextmanager
    def section(self, name: str):
        """Prefix the steps of a sub-block, e.g. "cSE: squeeze"."""
        outer = self.prefix
        self.prefix = f"{outer}{name}: "
        try:
            yield
        finally:
            self.prefix = outer


@dataclass
class _Traffic:
    """Passes over x and the output, and the intermediates handed between passes."""

    passes_read: int
    passes_write: int
    # (what, elements, how many times it is read); each is written once.
    intermediates: list[tuple[str, int, int]] = field(default_factory=list)


def _mean_flops(rows: int, n: int) -> int:
    """``rows`` means of n numbers each: n - 1 adds and 1 divide per row."""
    return rows * n


def _max_flops(rows: int, n: int) -> int:
    """``rows`` maxima of n numbers each: n - 1 comparisons per row."""
    return rows * (n - 1)


def _softmax_flops(rows: int, n: int) -> int:
    """``rows`` softmaxes over n numbers: n exps, n - 1 adds, n divides per row."""
    return rows * (3 * n - 1)


# ---------------------------------------------------------------------------
# One cost model per mechanism. Each knows its structure (channels, hidden
# units, kernel sizes, ...) and answers three questions: how many
# parameters, how many FLOPs for an input, how many passes and intermediates.
# ---------------------------------------------------------------------------


class _SECost:
    """SE (Hu et al. 2018) and cSE (Roy et al. 2018): GAP, FC, ReLU, FC, sigmoid, scale.

    With h = C // r hidden units:

        params = C*h + h*C  (+ h + C with biases)   = 2*C*h + h + C
        MACs   = B * (C*h + h*C)
        elementwise = B*C*N (mean) + B*h (ReLU) + B*C (sigmoid) + B*C*N (scale)
                      (+ B*h + B*C for the biases),          N = H * W
        passes: read x to pool, read x again to scale and write: 2 reads, 1 write.
    """

    def __init__(self, name: str, channels: int, hidden: int, bias: bool):
        self.name, self.c, self.hidden, self.bias = name, channels, hidden, bool(bias)

    def parameters(self) -> int:
        c, h = self.c, self.hidden
        weights = c * h + h * c  # W_1: C -> C/r, W_2: C/r -> C
        biases = h + c if self.bias else 0
        return weights + biases

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, h, n = self.c, self.hidden, math.prod(spatial)
        t.elementwise("squeeze: mean over H x W", _mean_flops(b * c, n))
        t.matmul("W_1: FC C -> C/r", b * c * h)
        t.elementwise("bias of W_1", b * h if self.bias else 0)
        t.elementwise("ReLU", b * h)
        t.matmul("W_2: FC C/r -> C", b * h * c)
        t.elementwise("bias of W_2", b * c if self.bias else 0)
        t.elementwise("sigmoid", b * c)
        t.elementwise("scale: x * s", b * c * n)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        c = self.c
        return _Traffic(2, 1, [("pooled z (B, C)", b * c, 1), ("gate s (B, C)", b * c, 1)])


class _SSECost:
    """sSE (Roy et al. 2018): a 1x1 convolution C -> 1, sigmoid, scale.

        params = C + 1                        (weights and bias of the 1x1 convolution)
        MACs   = B * N * C
        elementwise = B*N (bias) + B*N (sigmoid) + B*C*N (scale)
        passes: the gate of a position needs only that position's C values,
                so one pass reads x and writes the output: 1 read, 1 write.
    """

    name = "sse"

    def __init__(self, channels: int):
        self.c = channels

    def parameters(self) -> int:
        return self.c + 1

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, n = self.c, math.prod(spatial)
        t.matmul("W_sq: 1x1 conv C -> 1", b * n * c)
        t.elementwise("bias of W_sq", b * n)
        t.elementwise("sigmoid", b * n)
        t.elementwise("scale: x * q", b * c * n)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        return _Traffic(1, 1)


class _SCSECost:
    """scSE (Roy et al. 2018): cSE and sSE side by side, then their sum (or max).

        params = cSE + sSE = (2*C*h + h + C) + (C + 1)
        FLOPs  = cSE + sSE + B*C*N (the sum or max of the two maps)
        passes: pass 1 reads x to pool for cSE; pass 2 reads x, computes the sSE
                gate per position on chip, combines and writes: 2 reads, 1 write.
    """

    name = "scse"

    def __init__(self, channels: int, hidden: int, aggregation: str):
        self.c, self.aggregation = channels, aggregation
        self.cse = _SECost("cse", channels, hidden, bias=True)
        self.sse = _SSECost(channels)

    def parameters(self) -> int:
        return self.cse.parameters() + self.sse.parameters()

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        with t.section("cSE"):
            self.cse.count(t, b, spatial)
        with t.section("sSE"):
            self.sse.count(t, b, spatial)
        t.elementwise(f"combine the two maps ({self.aggregation})", b * self.c * math.prod(spatial))

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        return self.cse.traffic(b, spatial)


def _pool_flops(kind: str, rows: int, n: int) -> int:
    """CBAM's channel-gate descriptors: ``rows`` pools over n positions each.

    avg: mean, n.  max: n - 1 comparisons.
    lp (p = 2): sqrt(sum x^2): n squares, n - 1 adds, 1 sqrt = 2n.
    lse: log(sum exp x): n exps, n - 1 adds, 1 log = 2n.
    """
    if kind == "avg":
        return _mean_flops(rows, n)
    if kind == "max":
        return _max_flops(rows, n)
    return rows * 2 * n  # "lp" and "lse"


class _CBAMCost:
    """CBAM (Woo et al. 2018): channel gate, then spatial gate.

    With h = C // r, P pooled descriptors and a k x k spatial convolution:

        params = (C*h + h) + (h*C + C)                 shared MLP, with biases
               + 2*k*k + 2   (BatchNorm after the conv, official code)
               or 2*k*k + 1  (spatial_norm=False: a biased conv instead)
        MACs   = P * B * 2*C*h  +  B * N * 2*k*k
        elementwise: P pools over H x W, per descriptor a bias and ReLU,
                     P - 1 adds of the logits, sigmoid, scale; then the mean
                     (B*N*C) and max (B*N*(C - 1)) over channels, BN (2*B*N),
                     sigmoid (B*N) and the second scale (B*C*N).
        passes: pass 1 reads x to pool; pass 2 reads x, applies M_c on chip and
                pools over channels; pass 3 reads x, applies both gates and
                writes: 3 reads, 1 write (2 reads without the spatial gate).
    """

    name = "cbam"

    def __init__(self, channels, hidden, pool_types, kernel_size, spatial, spatial_norm):
        self.c, self.hidden, self.pool_types = channels, hidden, tuple(pool_types)
        self.k, self.spatial, self.spatial_norm = kernel_size, bool(spatial), bool(spatial_norm)

    def parameters(self) -> int:
        c, h, k = self.c, self.hidden, self.k
        mlp = (c * h + h) + (h * c + c)  # W_0 with bias, W_1 with bias
        if not self.spatial:
            return mlp
        if self.spatial_norm:
            return mlp + 2 * k * k + 2  # conv 2 -> 1 without bias, BatchNorm2d(1)
        return mlp + 2 * k * k + 1  # conv 2 -> 1 with bias

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, h, n, p = self.c, self.hidden, math.prod(spatial), len(self.pool_types)
        with t.section("channel gate"):
            for kind in self.pool_types:
                t.elementwise(f"{kind} pool over H x W", _pool_flops(kind, b * c, n))
            t.matmul("shared MLP W_0: C -> C/r, per descriptor", p * b * c * h)
            t.elementwise("bias of W_0", p * b * h)
            t.elementwise("ReLU", p * b * h)
            t.matmul("shared MLP W_1: C/r -> C, per descriptor", p * b * h * c)
            t.elementwise("bias of W_1", p * b * c)
            t.elementwise("sum of the descriptors' logits", (p - 1) * b * c)
            t.elementwise("sigmoid", b * c)
            t.elementwise("scale: F' = M_c * F", b * c * n)
        if not self.spatial:
            return
        with t.section("spatial gate"):
            t.elementwise("mean over channels", _mean_flops(b * n, c))
            t.elementwise("max over channels", _max_flops(b * n, c))
            t.matmul(f"{self.k}x{self.k} conv 2 -> 1", b * n * 2 * self.k * self.k)
            if self.spatial_norm:
                t.elementwise("BatchNorm", 2 * b * n)
            else:
                t.elementwise("bias of the conv", b * n)
            t.elementwise("sigmoid", b * n)
            t.elementwise("scale: F'' = M_s * F'", b * c * n)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        c, n, p = self.c, math.prod(spatial), len(self.pool_types)
        pooled = (f"{p} pooled descriptors (B, C)", p * b * c, 1)
        if not self.spatial:
            return _Traffic(2, 1, [pooled, ("channel gate M_c (B, C)", b * c, 1)])
        return _Traffic(
            3,
            1,
            [
                pooled,
                ("channel gate M_c (B, C), read in passes 2 and 3", b * c, 2),
                ("channel mean and max (B, 2, H, W)", 2 * b * n, 1),
                ("spatial gate M_s (B, 1, H, W)", b * n, 1),
            ],
        )


class _BAMCost:
    """BAM (Park et al. 2018): channel and spatial logits, summed, sigmoid, F + F * M.

    With h = C // r and D dilated 3x3 convolutions (default 2):

        channel branch = (C*h + h) + (h*C + C) + 2*C     paper: BN at the end
                       = (C*h + h) + 2*h + (h*C + C)     official: BN after the hidden layer
        spatial branch = (C*h + h + 2*h)                 1x1 conv C -> h, BN
                       + D * (9*h*h + h + 2*h)           3x3 dilated conv h -> h, BN
                       + (h + 1)                         1x1 conv h -> 1
                       + 2                               final BN (paper only)
        MACs   = B * 2*C*h  +  B * N * (C*h + D*9*h*h + h)
        elementwise: the branches' pools, biases, BNs and ReLUs, then four
                     B*C*N operations: combine, sigmoid, F * M, F + ...
        passes: pass 1 reads x, pools it and computes the first 1x1 conv on chip;
                the dilated convs read and write h-channel maps; pass 2 reads x
                and writes: 2 reads, 1 write.
    """

    name = "bam"

    def __init__(self, channels, hidden, dilation, num_dilated, combine, branch_norm):
        self.c, self.hidden, self.dilation, self.num_dilated = channels, hidden, dilation, num_dilated
        self.combine, self.official = combine, branch_norm == "official"

    def parameters(self) -> int:
        c, h, d = self.c, self.hidden, self.num_dilated
        if self.official:
            channel = (c * h + h) + 2 * h + (h * c + c)
        else:
            channel = (c * h + h) + (h * c + c) + 2 * c
        spatial = (c * h + h + 2 * h) + d * (9 * h * h + h + 2 * h) + (h + 1)
        if not self.official:
            spatial += 2
        return channel + spatial

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, h, n = self.c, self.hidden, math.prod(spatial)
        with t.section("channel branch"):
            t.elementwise("mean over H x W", _mean_flops(b * c, n))
            t.matmul("FC C -> C/r", b * c * h)
            t.elementwise("bias", b * h)
            t.elementwise("BatchNorm of the hidden layer", 2 * b * h if self.official else 0)
            t.elementwise("ReLU", b * h)
            t.matmul("FC C/r -> C", b * h * c)
            t.elementwise("bias", b * c)
            t.elementwise("BatchNorm", 0 if self.official else 2 * b * c)
        with t.section("spatial branch"):
            t.matmul("1x1 conv C -> C/r", b * n * c * h)
            t.elementwise("bias, BatchNorm, ReLU", 4 * b * n * h)
            for i in range(self.num_dilated):
                t.matmul(f"dilated 3x3 conv {i + 1}", b * n * h * h * 9)
                t.elementwise(f"bias, BatchNorm, ReLU {i + 1}", 4 * b * n * h)
            t.matmul("1x1 conv C/r -> 1", b * n * h)
            t.elementwise("bias", b * n)
            t.elementwise("BatchNorm", 0 if self.official else 2 * b * n)
        t.elementwise(f"combine the branches ({self.combine}), broadcast to (B, C, H, W)", b * c * n)
        t.elementwise("sigmoid", b * c * n)
        t.elementwise("F * M(F)", b * c * n)
        t.elementwise("F + F * M(F)", b * c * n)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        c, h, n = self.c, self.hidden, math.prod(spatial)
        inter = [("pooled (B, C)", b * c, 1), ("channel logits (B, C)", b * c, 1)]
        # Each dilated conv reads an h-channel map from memory; the first is
        # written by pass 1, the others by the conv before. The last conv
        # applies the 1x1 conv h -> 1 on chip and writes the logit map.
        inter += [(f"bottleneck map {i} (B, C/r, H, W)", b * h * n, 1) for i in range(self.num_dilated)]
        inter.append(("spatial logits (B, 1, H, W)", b * n, 1))
        return _Traffic(2, 1, inter)


class _ECACost:
    """ECA (Wang et al. 2020): GAP, a k-tap 1-D conv across channels, sigmoid, scale.

        params = k
        MACs   = B * C * k                    (every output of the conv, padding included)
        elementwise = B*C*N (mean) + B*C (sigmoid) + B*C*N (scale)
        passes: as SE: 2 reads, 1 write.
    """

    name = "eca"

    def __init__(self, channels: int, k_size: int):
        self.c, self.k = channels, k_size

    def parameters(self) -> int:
        return self.k

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, n = self.c, math.prod(spatial)
        t.elementwise("mean over H x W", _mean_flops(b * c, n))
        t.matmul(f"1-D conv across channels, k = {self.k}", b * c * self.k)
        t.elementwise("sigmoid", b * c)
        t.elementwise("scale: x * omega", b * c * n)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        c = self.c
        return _Traffic(2, 1, [("pooled y (B, C)", b * c, 1), ("gate omega (B, C)", b * c, 1)])


class _SKCost:
    """SK convolution (Li et al. 2019): M grouped 3x3 branches mixed by a per-channel softmax.

    With G groups, d = max(C // r, L) and N' = H' * W' output positions:

        params = M * (C * (C/G) * 9 + 2*C)     grouped 3x3 conv without bias, BN
               + (d*C + 2*d)                   fuse: 1x1 conv C -> d without bias, BN
               + d * M*C                       select: 1x1 conv d -> M*C without bias
        MACs   = M * B * N' * C * (C/G) * 9  +  B * (C*d + d*M*C)
        elementwise: per branch BN and ReLU (3*B*C*N'), the sum of the branches,
                     the mean, BN and ReLU of z, the softmax over M, the weighting
                     and the final sum.
        passes: pass 1 reads x, runs the branch convs, writes the M branch maps
                and pools their sum; the select step reads the M maps and writes
                the output: x is read once (1 read, 1 write), and the M branch
                maps (each as large as the output) are written and read once.
    """

    name = "sk"

    def __init__(self, channels, branches, groups, hidden, stride):
        self.c, self.m, self.groups, self.d, self.stride = channels, branches, groups, hidden, stride

    def parameters(self) -> int:
        c, m, g, d = self.c, self.m, self.groups, self.d
        branches = m * (c * (c // g) * 9 + 2 * c)
        fuse = d * c + 2 * d
        select = d * m * c
        return branches + fuse + select

    def output_spatial(self, spatial: tuple[int, ...]) -> tuple[int, ...]:
        # Branch m: kernel 3, dilation m + 1, padding m + 1, so
        # H' = (H + 2(m+1) - 2(m+1) - 1) // stride + 1 = (H - 1) // stride + 1.
        return tuple((size - 1) // self.stride + 1 for size in spatial)

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, m, g, d = self.c, self.m, self.groups, self.d
        n_out = math.prod(self.output_spatial(spatial))
        with t.section("split"):
            t.matmul(f"{m} grouped 3x3 convs", m * b * n_out * c * (c // g) * 9)
            t.elementwise("BatchNorm and ReLU", m * 3 * b * c * n_out)
        with t.section("fuse"):
            t.elementwise("U = sum of the branches", (m - 1) * b * c * n_out)
            t.elementwise("s = mean of U over H x W", _mean_flops(b * c, n_out))
            t.matmul("z = W s: 1x1 conv C -> d", b * c * d)
            t.elementwise("BatchNorm and ReLU", 3 * b * d)
        with t.section("select"):
            t.matmul("1x1 conv d -> M*C", b * d * m * c)
            t.elementwise("softmax over the branches", _softmax_flops(b * c, m))
            t.elementwise("weight each branch", m * b * c * n_out)
            t.elementwise("sum the weighted branches", (m - 1) * b * c * n_out)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        c, m = self.c, self.m
        n_out = math.prod(self.output_spatial(spatial))
        return _Traffic(
            1,
            1,
            [
                (f"{m} branch maps (B, C, H', W')", m * b * c * n_out, 1),
                ("pooled s (B, C)", b * c, 1),
                ("branch weights (B, M, C)", b * m * c, 1),
            ],
        )


class _DRSNCost:
    """Shrinkage of DRSN-CW / DRSN-CS (Zhao et al. 2020): soft thresholding with a learned tau.

    The last FC has C_out = C units (CW) or 1 unit (CS):

        params = (C*C + C) + 2*C + (C*C_out + C_out)    FC, BN, FC, all with biases
               = 2*C^2 + 4*C  (CW)      C^2 + 4*C + 1  (CS)
        MACs   = B * (C*C + C*C_out)
        elementwise: |x| and its mean (2*B*C*N), the scale network, tau, and the
                     soft threshold sign(x) * max(|x| - tau, 0): 5 FLOPs per element.
        passes: pass 1 reads x for GAP(|x|); pass 2 reads x, shrinks, writes: 2 reads, 1 write.
    Works for signals (B, C, L) as well as maps (B, C, H, W): N is L or H * W.
    """

    def __init__(self, channels: int, channel_wise: bool):
        self.c, self.channel_wise = channels, bool(channel_wise)
        self.name = "drsn-cw" if self.channel_wise else "drsn-cs"

    def parameters(self) -> int:
        c = self.c
        out = c if self.channel_wise else 1
        return (c * c + c) + 2 * c + (c * out + out)

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, n = self.c, math.prod(spatial)
        out = c if self.channel_wise else 1
        with t.section("threshold"):
            t.elementwise("|x|", b * c * n)
            t.elementwise("a = mean of |x| over positions", _mean_flops(b * c, n))
            t.matmul("FC C -> C", b * c * c)
            t.elementwise("bias, BatchNorm, ReLU", 4 * b * c)
            t.matmul(f"FC C -> {'C' if self.channel_wise else '1'}", b * c * out)
            t.elementwise("bias and sigmoid", 2 * b * out)
            if self.channel_wise:
                t.elementwise("tau_c = alpha_c * a_c", b * c)
            else:
                t.elementwise("mean of a over channels", _mean_flops(b, c))
                t.elementwise("tau = alpha * mean", b)
        t.elementwise("soft threshold: sign(x) * max(|x| - tau, 0)", 5 * b * c * n)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        c = self.c
        tau = ("threshold tau (B, C)", b * c, 1) if self.channel_wise else ("threshold tau (B,)", b, 1)
        return _Traffic(2, 1, [("a = GAP(|x|) (B, C)", b * c, 1), tau])


class _NonLocalCost:
    """Non-local block (Wang et al. 2018), embedded Gaussian, with c' = C // r (r = 2).

    With N = H * W queries and N' keys on an H' x W' grid (``key_grid``):
    N' = N without subsampling; ceil(H/2) * ceil(W/2) with subsample="paper"
    (True); floor(H/2) * floor(W/2) with subsample="code". phi and g run on
    N_phi positions: N, but N' in the code's order, which pools x first.

        params = 3 * (C*c' + c')      theta, phi, g: 1x1 convs with bias
               + (c'*C + C)           W_z: 1x1 conv with bias
               + 2*C                  BatchNorm
        MACs   = B*N*C*c'             theta
               + 2 * B*N_phi*C*c'     phi, g
               + 2 * B*N*N'*c'        theta^T phi and (softmax) g
               + B*N*c'*C             W_z
        elementwise: biases, the 2x2 max pools (each window of w numbers
                     costs w - 1 comparisons: c' channels of phi and of g in
                     the paper's order, C channels of x in the code's), the
                     optional scaling, the softmax over N' keys, BN, the residual.
        passes: pass 1 reads x and writes the keys phi and values g (2x2 pooling
                on chip); pass 2 reads x, computes theta on chip, attends to the
                keys and values without storing the N x N' matrix (as
                FlashAttention does), applies W_z, BN, adds x and writes:
                2 reads, 1 write. A plain implementation also writes and reads
                the B * N * N' affinities, which dominates for large maps.
    """

    name = "nonlocal"

    def __init__(self, channels: int, inner: int, subsample: bool | str, scale: bool):
        who = f"NonLocalBlock(channels={channels})"
        self.c, self.inner, self.subsample, self.scale = channels, inner, pooling_order(who, subsample), bool(scale)

    def parameters(self) -> int:
        c, ci = self.c, self.inner
        return 3 * (c * ci + ci) + (ci * c + c) + 2 * c

    def keys(self, spatial: tuple[int, ...]) -> int:
        """N', the number of key positions."""
        h, w = spatial
        if self.subsample == "code" and (h < 2 or w < 2):
            raise ValueError(
                f"NonLocalBlock(channels={self.c}, subsample='code') max-pools x with a 2x2 window, "
                f"rounding down as the official code does, so it needs H >= 2 and W >= 2; got {spatial}"
            )
        return math.prod(key_grid(h, w, self.subsample))

    def count(self, t: _Tally, b: int, spatial: tuple[int, ...]) -> None:
        c, ci, n = self.c, self.inner, math.prod(spatial)
        nk = self.keys(spatial)
        if self.subsample == "code":
            # windows of 4 cover 2 H' x 2 W' = 4 N' positions: 3 comparisons per key position
            t.elementwise("2x2 max pool of x (official code's order)", b * c * 3 * nk)
            t.matmul("theta: 1x1 conv C -> C/2, on all N positions", b * n * c * ci)
            t.matmul("phi, g: two 1x1 convs C -> C/2, on the N' pooled positions", 2 * b * nk * c * ci)
            t.elementwise("their biases", b * n * ci + 2 * b * nk * ci)
        else:
            t.matmul("theta, phi, g: three 1x1 convs C -> C/2", 3 * b * n * c * ci)
            t.elementwise("their biases", 3 * b * n * ci)
        if self.subsample == "paper":
            # ceil_mode: the windows tile the map, N positions in N' windows
            t.elementwise("2x2 max pool of phi and g", 2 * b * ci * (n - nk))
        t.matmul("affinities theta^T phi (B, N, N')", b * n * nk * ci)
        t.elementwise("scale by 1/sqrt(C/2)", b * n * nk if self.scale else 0)
        t.elementwise("softmax over the keys", _softmax_flops(b * n, nk))
        t.matmul("y = softmax(...) g", b * n * nk * ci)
        t.matmul("W_z: 1x1 conv C/2 -> C", b * n * ci * c)
        t.elementwise("bias of W_z", b * n * c)
        t.elementwise("BatchNorm", 2 * b * n * c)
        t.elementwise("residual: z = W_z y + x", b * n * c)

    def traffic(self, b: int, spatial: tuple[int, ...]) -> _Traffic:
        nk = self.keys(spatial)
        return _Traffic(
            2,
            1,
            [("keys phi (B, C/2, N')", b * self.inner * nk, 1), ("values g (B, C/2, N')", b * self.inner * nk, 1)],
        )


# ---------------------------------------------------------------------------
# From a name and keyword arguments to a cost model. Each resolver has the
# same signature and defaults as the module it describes, and rejects what
# the module rejects, with the module's own error messages.
# ---------------------------------------------------------------------------


def _resolve_se(channels, reduction=16, bias=True):
    who = f"SqueezeExcitation(channels={channels}, reduction={reduction})"
    return _SECost("se", channels, hidden_units(who, channels, reduction), bias)


def _resolve_cse(channels, reduction=2):
    who = f"ChannelSE(channels={channels}, reduction={reduction})"
    return _SECost("cse", channels, hidden_units(who, channels, reduction), True)


def _resolve_sse(channels):
    hidden_units(f"SpatialSE(channels={channels})", channels, 1)  # validates channels
    return _SSECost(channels)


def _resolve_scse(channels, reduction=2, aggregation="sum"):
    check_choice(f"ConcurrentSE(channels={channels})", "aggregation", aggregation, ("sum", "max"))
    hidden = hidden_units(f"ChannelSE(channels={channels}, reduction={reduction})", channels, reduction)
    return _SCSECost(channels, hidden, aggregation)


def _resolve_cbam(
    channels, reduction=16, kernel_size=7, pool_types=("avg", "max"), spatial=True, spatial_norm=True,
    spatial_zero_init=False,
):
    # spatial_zero_init changes only the initial weights, not the cost.
    who = f"ChannelGate(channels={channels}, reduction={reduction})"
    hidden = hidden_units(who, channels, reduction)
    pool_types = tuple(pool_types)
    allowed = ("avg", "max", "lp", "lse")
    if not pool_types or any(p not in allowed for p in pool_types):
        raise ValueError(f"{who}: pool_types must be a non-empty subset of {allowed}; got {pool_types}")
    if spatial:
        check_odd("SpatialGate", "kernel_size", kernel_size)
    if spatial_zero_init and not spatial_norm:
        raise ValueError("CBAM: spatial_zero_init=True zeroes the spatial BatchNorm's weight; it needs spatial_norm=True")
    return _CBAMCost(channels, hidden, pool_types, kernel_size, spatial, spatial_norm)


def _resolve_bam(channels, reduction=16, dilation=4, num_dilated=2, combine="sum", branch_norm="paper"):
    who = f"BAM(channels={channels})"
    check_choice(who, "combine", combine, ("sum", "product"))
    check_choice(who, "branch_norm", branch_norm, ("paper", "official"))
    hidden = hidden_units(f"BAM(channels={channels}, reduction={reduction})", channels, reduction)
    check_positive(who, "dilation", dilation)
    if isinstance(num_dilated, bool) or not isinstance(num_dilated, int) or num_dilated < 0:
        raise ValueError(f"{who}: num_dilated must be a non-negative integer; got {num_dilated!r}")
    return _BAMCost(channels, hidden, dilation, num_dilated, combine, branch_norm)


def _resolve_eca(channels, k_size=None, gamma=2, b=1):
    who = f"EfficientChannelAttention(channels={channels})"
    check_positive(who, "channels", channels)
    if k_size is None:
        k_size = eca_kernel_size(channels, gamma, b)  # k = psi(C), Eq. 12
    check_odd(who, "k_size", k_size)
    return _ECACost(channels, k_size)


def _resolve_sk(channels, branches=2, groups=32, reduction=16, min_dim=32, stride=1):
    hidden = check_selective_kernel(
        f"SelectiveKernel(channels={channels})", channels, branches, groups, reduction, min_dim, stride
    )
    return _SKCost(channels, branches, groups, hidden, stride)


def _resolve_drsn_cs(channels):
    check_positive(f"Shrinkage(channels={channels})", "channels", channels)
    return _DRSNCost(channels, channel_wise=False)


def _resolve_drsn_cw(channels):
    check_positive(f"Shrinkage(channels={channels})", "channels", channels)
    return _DRSNCost(channels, channel_wise=True)


def _resolve_nonlocal(channels, reduction=2, subsample=False, scale=False, zero_init=True):
    # zero_init only sets BN's initial scale to 0: it changes no count.
    who = f"NonLocalBlock(channels={channels}, reduction={reduction})"
    inner = hidden_units(who, channels, reduction)
    return _NonLocalCost(channels, inner, pooling_order(who, subsample), scale)


_RESOLVERS = {
    "se": _resolve_se,
    "cse": _resolve_cse,
    "sse": _resolve_sse,
    "scse": _resolve_scse,
    "cbam": _resolve_cbam,
    "bam": _resolve_bam,
    "eca": _resolve_eca,
    "sk": _resolve_sk,
    "drsn-cs": _resolve_drsn_cs,
    "drsn-cw": _resolve_drsn_cw,
    "nonlocal": _resolve_nonlocal,
}


def _cost_from_name(name: str, channels: int, kwargs: dict):
    key = name.lower().replace("_", "-") if isinstance(name, str) else name
    if key not in available():
        raise ValueError(f"unknown attention {name!r}; available: {', '.join(available())}")
    if key not in _RESOLVERS:
        raise NotImplementedError(
            f"attn_edu.profile has no cost formula for {key!r} yet; it covers {', '.join(sorted(_RESOLVERS))}"
        )
    return _RESOLVERS[key](channels, **kwargs)


def _cost_from_module(module: nn.Module):
    """Read the structure of a built module (hidden units, kernel sizes...) off its layers."""
    m = module
    if isinstance(m, modules.SqueezeExcitation):
        return _SECost("se", m.channels, m.down.out_features, m.down.bias is not None)
    if isinstance(m, modules.ChannelSE):
        return _SECost("cse", m.channels, m.down.out_features, True)
    if isinstance(m, modules.SpatialSE):
        return _SSECost(m.channels)
    if isinstance(m, modules.ConcurrentSE):
        return _SCSECost(m.channels, m.cse.down.out_features, m.aggregation)
    if isinstance(m, modules.CBAM):
        gate, spatial = m.channel_gate, m.spatial_gate
        kernel = spatial.kernel_size if spatial is not None else 7
        norm = spatial is None or isinstance(spatial.norm, nn.BatchNorm2d)
        return _CBAMCost(m.channels, gate.mlp[0].out_features, gate.pool_types, kernel, spatial is not None, norm)
    if isinstance(m, modules.BAM):
        official = isinstance(m.channel_branch.norm, nn.Identity)
        convs = [layer for layer in m.spatial_branch.body if isinstance(layer, nn.Conv2d)]
        dilation = convs[1].dilation[0] if len(convs) > 2 else 4
        return _BAMCost(
            m.channels,
            m.channel_branch.mlp[0].out_features,
            dilation,
            len(convs) - 2,
            m.combine,
            "official" if official else "paper",
        )
    if isinstance(m, modules.EfficientChannelAttention):
        return _ECACost(m.channels, m.k_size)
    if isinstance(m, modules.SelectiveKernel):
        conv = m.paths[0][0]
        return _SKCost(m.channels, m.branches, conv.groups, m.hidden, conv.stride[0])
    if isinstance(m, modules.Shrinkage):
        return _DRSNCost(m.channels, m.channel_wise)
    if isinstance(m, modules.NonLocalBlock):
        return _NonLocalCost(m.channels, m.inner, m.subsample, m.scale)
    supported = "SqueezeExcitation, ChannelSE, SpatialSE, ConcurrentSE, CBAM, BAM, EfficientChannelAttention, "
    supported += "SelectiveKernel, Shrinkage, NonLocalBlock"
    raise TypeError(f"attn_edu.profile expects one of the registered modules ({supported}); got {type(m).__name__}")


def _resolve(who: str, module_or_name, input_shape, kwargs: dict):
    """The cost model and the checked shape (B, C, *spatial) for a module or a name."""
    shape = _check_shape(who, input_shape)
    if isinstance(module_or_name, nn.Module):
        if kwargs:
            raise TypeError(
                f"{who}: keyword arguments configure a mechanism given by name; "
                f"a built module already has its configuration; got {sorted(kwargs)}"
            )
        cost = _cost_from_module(module_or_name)
        if cost.c != shape[1]:
            raise ValueError(
                f"{who}: {type(module_or_name).__name__}(channels={cost.c}) expects input_shape "
                f"(B, {cost.c}, H, W); got {shape}"
            )
    elif isinstance(module_or_name, str):
        cost = _cost_from_name(module_or_name, shape[1], kwargs)
    else:
        raise TypeError(f"{who} expects a module or a mechanism name; got {type(module_or_name).__name__}")
    if len(shape) != 4 and not isinstance(cost, _DRSNCost):
        raise ValueError(f"{who}: {cost.name} expects input_shape (B, C, H, W); got {shape}")
    return cost, shape


def _check_shape(who: str, input_shape) -> tuple[int, ...]:
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if (
        shape is None
        or len(shape) not in (3, 4)
        or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape)
    ):
        raise ValueError(
            f"{who} expects input_shape (B, C, H, W) of positive integers "
            f"((B, C, L) for the DRSN shrinkage); got {input_shape!r}"
        )
    return shape


# ---------------------------------------------------------------------------
# 1. Parameters
# ---------------------------------------------------------------------------


def counted_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of one forward pass of ``module`` as PyTorch's ``FlopCounterMode`` counts them.

    It counts matrix products and convolutions only (2 FLOPs per
    multiply-accumulate), not pooling, activations or element-wise work, so it
    measures a convolution or a whole backbone; ``flops`` counts a mechanism's
    element-wise steps too. Runs without gradients.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(*inputs)
    return counter.get_total_flops()


def count_parameters(module: nn.Module) -> int:
    """The number of trainable parameters of ``module``, by counting.

    Sums ``p.numel()`` over ``module.parameters()`` with ``requires_grad``;
    a parameter shared by two layers is counted once, and buffers (such as
    BatchNorm's running mean and variance) are not parameters.

    >>> import attn_edu
    >>> count_parameters(attn_edu.create("eca", 256))
    5
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"count_parameters expects a torch.nn.Module; got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def parameter_formula(name: str, channels: int, **kwargs) -> int:
    """The number of parameters of mechanism ``name``, from its closed-form formula.

    Nothing is built: the count is arithmetic on the paper's structure, with
    the same keyword arguments and defaults as ``attn_edu.create``. With
    h = C // r hidden units:

        se        2*C*h + h + C                  (2*C*h with bias=False)
        cse       2*C*h + h + C                  (r = 2)
        sse       C + 1
        scse      cse + sse
        cbam      2*C*h + h + C  +  2*k*k + 2    (BN after the k x k conv;
                                                  2*k*k + 1 with spatial_norm=False,
                                                  nothing with spatial=False)
        bam       channel: 2*C*h + h + C + 2*C   (official: + 2*h instead of + 2*C)
                  spatial: C*h + 3*h + D*(9*h*h + 3*h) + h + 1 + 2   (official: no + 2)
        eca       k                              (k = psi(C) unless k_size is given)
        sk        M*(9*C*C/G + 2*C) + d*C + 2*d + d*M*C,   d = max(C // r, L)
        drsn-cw   2*C^2 + 4*C
        drsn-cs   C^2 + 4*C + 1
        nonlocal  3*(C*c' + c') + c'*C + C + 2*C,          c' = C // r (r = 2)

    BatchNorm contributes its 2 trainable numbers per channel (weight and
    bias); its running statistics are buffers, not parameters.

    >>> parameter_formula("se", 256)      # 2*256*16 + 16 + 256
    8464
    """
    return _cost_from_name(name, channels, kwargs).parameters()


# ---------------------------------------------------------------------------
# 2. FLOPs
# ---------------------------------------------------------------------------


def flops(module_or_name, input_shape, **kwargs) -> dict:
    """FLOPs of one forward pass (inference) on an input of ``input_shape`` = (B, C, H, W).

    ``module_or_name`` is a built module (its configuration is read off its
    layers) or a registered name with the keyword arguments of
    ``attn_edu.create``; the channel count is ``input_shape[1]``.

    Returns a dict:

        macs               multiply-accumulates of FC layers, convolutions and
                           matrix products (one MAC = one multiply + one add)
        flops_matmul       2 * macs; equals torch.utils.flop_counter.FlopCounterMode
        flops_elementwise  pooling, activations, gating, BatchNorm, biases, adds:
                           one FLOP per output element per operation, a reduction
                           of n numbers n - 1 FLOPs (+1 for a mean's divide), a
                           softmax over n numbers 3n - 1 (see the module docstring)
        flops_total        flops_matmul + flops_elementwise
        breakdown          the steps, in order: {"step", "macs", "flops_elementwise"}
        units              this convention, in words
        mechanism, input_shape, output_shape

    >>> flops("eca", (1, 256, 56, 56), k_size=5)["macs"]   # B * C * k
    1280
    """
    cost, shape = _resolve("flops", module_or_name, input_shape, kwargs)
    b, spatial = shape[0], shape[2:]
    tally = _Tally()
    cost.count(tally, b, spatial)
    macs = sum(step["macs"] for step in tally.steps)
    elementwise = sum(step["flops_elementwise"] for step in tally.steps)
    out_spatial = cost.output_spatial(spatial) if hasattr(cost, "output_spatial") else spatial
    return {
        "mechanism": cost.name,
        "input_shape": shape,
        "output_shape": (b, cost.c, *out_spatial),
        "macs": macs,
        "flops_matmul": 2 * macs,
        "flops_elementwise": elementwise,
        "flops_total": 2 * macs + elementwise,
        "breakdown": tally.steps,
        "units": FLOP_UNITS,
    }


# ---------------------------------------------------------------------------
# 3. Bytes moved
# ---------------------------------------------------------------------------


def bytes_moved(module_or_name, input_shape, dtype: torch.dtype = torch.float32, **kwargs) -> dict:
    """The fewest bytes one forward pass must read and write, under the model of passes.

    The model (module docstring, "Bytes moved"): an implementation streams
    over the input x ``passes_read`` times and writes the output
    ``passes_write`` times (once); what it hands from one pass to the next
    (pooled vectors, gates, small maps) is written once and read by each
    consumer; every parameter is read once. Everything is stored in ``dtype``.

        bytes_read    = passes_read * numel(x) * itemsize
                      + parameters * itemsize + intermediate reads
        bytes_written = passes_write * numel(output) * itemsize + intermediate writes
        bytes_total   = bytes_read + bytes_written
        arithmetic_intensity = flops_total / bytes_total     (FLOPs per byte)

    Passes over x per mechanism: sse 1; se, cse, scse, eca, bam, drsn-cs,
    drsn-cw, nonlocal 2; cbam 3 (2 with spatial=False); sk 1 (but its M
    branch maps, each as large as the output, are written and read once).

    The result also has ``bytes_activations`` (the passes over x and the
    output), ``bytes_parameters``, ``bytes_intermediate`` (written + read) and
    ``intermediates`` ({what: elements}).

    Why the intensity is low: a gating module does a few FLOPs per element of
    x but moves at least three elements' worth of bytes for it (two reads and
    a write), so it lands well below 1 FLOP per byte, where a GPU needs tens
    of FLOPs per byte of main-memory traffic to keep its arithmetic units
    busy. Such modules are memory-bound: their time follows bytes, not FLOPs.
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"bytes_moved expects a floating-point torch.dtype such as torch.float32; got {dtype!r}")
    cost, shape = _resolve("bytes_moved", module_or_name, input_shape, kwargs)
    size = dtype.itemsize
    counted = flops(module_or_name, shape, **kwargs)
    traffic = cost.traffic(shape[0], shape[2:])
    x_bytes = math.prod(shape) * size
    out_bytes = math.prod(counted["output_shape"]) * size
    param_bytes = cost.parameters() * size
    written_inter = sum(numel for _, numel, _ in traffic.intermediates) * size
    read_inter = sum(numel * reads for _, numel, reads in traffic.intermediates) * size
    bytes_read = traffic.passes_read * x_bytes + param_bytes + read_inter
    bytes_written = traffic.passes_write * out_bytes + written_inter
    total = bytes_read + bytes_written
    return {
        "mechanism": cost.name,
        "input_shape": shape,
        "dtype": dtype,
        "itemsize": size,
        "passes_read": traffic.passes_read,
        "passes_write": traffic.passes_write,
        "bytes_read": bytes_read,
        "bytes_written": bytes_written,
        "bytes_total": total,
        "bytes_activations": traffic.passes_read * x_bytes + traffic.passes_write * out_bytes,
        "bytes_parameters": param_bytes,
        "bytes_intermediate": written_inter + read_inter,
        "intermediates": {what: numel for what, numel, _ in traffic.intermediates},
        "flops_total": counted["flops_total"],
        "arithmetic_intensity": counted["flops_total"] / total,
        "units": BYTE_UNITS,
    }


# ---------------------------------------------------------------------------
# 4. Summary and table
# ---------------------------------------------------------------------------


def summary(
    names=None,
    channels: int = 256,
    input_shape=None,
    dtype: torch.dtype = torch.float32,
    options: dict | None = None,
) -> list[dict]:
    """Parameters, MACs, FLOPs and bytes of each mechanism, one dict per name.

    ``names`` defaults to ``attn_edu.available()``; ``input_shape`` to
    (1, channels, 56, 56), the size of ResNet-50's first stage; ``options``
    maps a name to its keyword arguments, e.g. ``{"sk": {"groups": 16}}``.
    """
    names = available() if names is None else list(names)
    input_shape = (1, channels, 56, 56) if input_shape is None else tuple(input_shape)
    if len(input_shape) < 2 or input_shape[1] != channels:
        raise ValueError(
            f"summary: input_shape must have channels={channels} in position 1, "
            f"e.g. (1, {channels}, 56, 56); got {input_shape!r}"
        )
    options = options or {}
    unknown = sorted(set(options) - set(names))
    if unknown:
        raise ValueError(f"summary: options given for {unknown}, which are not among names={names}")
    rows = []
    for name in names:
        kwargs = options.get(name, {})
        counted = flops(name, input_shape, **kwargs)
        moved = bytes_moved(name, input_shape, dtype, **kwargs)
        rows.append(
            {
                "mechanism": counted["mechanism"],
                "parameters": parameter_formula(name, channels, **kwargs),
                "macs": counted["macs"],
                "flops_matmul": counted["flops_matmul"],
                "flops_elementwise": counted["flops_elementwise"],
                "flops_total": counted["flops_total"],
                "passes_read": moved["passes_read"],
                "bytes_total": moved["bytes_total"],
                "arithmetic_intensity": moved["arithmetic_intensity"],
            }
        )
    return rows


TABLE_COLUMNS = (
    "mechanism",
    "params",
    "MACs",
    "FLOPs (matmul)",
    "FLOPs (element-wise)",
    "FLOPs (total)",
    "reads of x",
    "bytes moved",
    "FLOP/byte",
)


def human(value: float, unit: str = "") -> str:
    """1234567 -> '1.23 M': three significant digits and an SI prefix."""
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            v = value / scale
            digits = f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"
            return f"{digits} {prefix}{unit}"
    return f"{value:.0f} {unit}".rstrip()


def table(
    names=None,
    channels: int = 256,
    input_shape=None,
    dtype: torch.dtype = torch.float32,
    options: dict | None = None,
) -> str:
    """``summary(...)`` as a Markdown table, one row per mechanism.

    Columns: mechanism, params (exact), MACs, FLOPs (matmul = 2 * MACs),
    FLOPs (element-wise), FLOPs (total), reads of x (passes), bytes moved,
    FLOP/byte. Counts use SI prefixes (k = 10^3, M = 10^6, G = 10^9); bytes
    are in the given dtype (float32 by default).
    """
    rows = summary(names, channels, input_shape, dtype, options)
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(TABLE_COLUMNS) - 1)) + "|"]
    for row in rows:
        cells = [
            row["mechanism"],
            f"{row['parameters']:,}",
            human(row["macs"]),
            human(row["flops_matmul"]),
            human(row["flops_elementwise"]),
            human(row["flops_total"]),
            str(row["passes_read"]),
            human(row["bytes_total"], "B"),
            f"{row['arithmetic_intensity']:.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
