"""The exercises of each chapter: what a student writes, and what it is checked against.

Every exercise names the object the notebook defines (``answer``), the
reference it is compared with, its points and difficulty, and the visible
cases. The solution notebook (``solutions/NN-slug.md``) adds hidden cases in
its check cells; ``has_hidden`` says that it does, so the notebook can tell
a student that passing the visible checks is not yet full marks.

Some exercises ask for a number (a parameter or FLOP count) for which the
library has no single function; their references are written out below.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .. import functional, modules, profile, registry
from ..functional import eca_kernel_size
from .compare import CheckResult, Plan, check_plan, make_plan
from .specs import bool_mask, causal, randn, uniform

# ---------------------------------------------------------------------------
# References that the library does not have as one function
# ---------------------------------------------------------------------------


def se_parameter_count(channels: int, reduction: int = 16, bias: bool = True) -> int:
    """Parameters of an SE block: 2*C*h (+ h + C with biases), h = C // r."""
    return profile.parameter_formula("se", channels, reduction=reduction, bias=bias)


def eca_cost(channels: int, batch: int = 1) -> tuple[int, int]:
    """(parameters, multiply-accumulates) of ECA with k = psi(C), for a batch of B."""
    k = eca_kernel_size(channels)
    params = profile.parameter_formula("eca", channels)
    macs = profile.flops("eca", (batch, channels, 1, 1))["macs"]
    assert params == k and macs == batch * channels * k
    return params, macs


def causal_mask(length: int) -> torch.Tensor:
    """(L, L) boolean: True where query i may attend to key j, i.e. j <= i."""
    return torch.ones(length, length, dtype=torch.bool).tril()


def attention_flops(length: int, dim: int) -> int:
    """FLOPs of softmax(Q K^T / sqrt(d)) V for L queries and keys of width d.

    Counted as in attn_edu.profile: 2 FLOPs per multiply-accumulate of the
    two matrix products (L*L*d MACs each), one per score for the scaling,
    and 3n - 1 per softmax over n numbers.
    """
    matmuls = 2 * (length * length * dim) * 2
    scaling = length * length
    softmax = length * (3 * length - 1)
    return matmuls + scaling + softmax


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    """One exercise of one chapter."""

    chapter: str
    id: str  # grade_id of the solution cell; its check cell is f"{id}-check"
    title: str
    stars: int
    points: float
    answer: str  # the name the notebook defines
    reference: Any
    cases: tuple = ()
    forbidden: tuple = ()  # further library code the answer must not call
    has_hidden: bool = True
    seeds: tuple = (0, 1)

    @property
    def check_id(self) -> str:
        return f"{self.id}-check"

    @property
    def label(self) -> str:
        return f"{self.title} {'★' * self.stars}"

    def plan(self, hidden_cases: list | None = None) -> Plan:
        """The probes for this exercise (visible, plus hidden cases if given)."""
        return make_plan(self.reference, list(self.cases), hidden_cases=hidden_cases, seeds=self.seeds, name=self.answer)

    def check(self, candidate: Any, hidden_cases: list | None = None) -> CheckResult:
        """Compare ``candidate`` with the reference in this process."""
        return check_plan(self.plan(hidden_cases), self.reference, candidate, forbidden=self.forbidden, name=self.answer)

    def points_for(self, result: CheckResult) -> float:
        """Points earned: the exercise's points times the passed fraction; 0 if the reference was used."""
        if "reference-used" in result.flags:
            return 0
        earned = round(self.points * result.fraction, 2)
        return int(earned) if earned == int(earned) else earned


def bandwidth_floor_us(shape, itemsize: int, passes_read: int, passes_write: int, peak_gbps: float) -> float:
    """The fewest microseconds a kernel can take: passes over a tensor of ``shape`` at peak bandwidth."""
    moved = math.prod(shape) * itemsize * (passes_read + passes_write)  # bytes
    return moved / (peak_gbps * 1e9) * 1e6


def channel_means(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C): the mean of each channel, as a float32 tensor."""
    return x.float().mean(dim=(2, 3))


def scale_channels(x: torch.Tensor, gates: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) x (B, C) -> (B, C, H, W): every channel times its gate (SE's pass 2)."""
    return x * gates[:, :, None, None]


SE = "02-squeeze-and-excitation"
ECA = "03-efficient-channel-attention"
SCSE = "04-concurrent-squeeze-excitation"
CBAM = "05-cbam"
BAM = "06-bam"
SK = "07-selective-kernel"
DRSN = "08-residual-shrinkage"
SDPA = "09-scaled-dot-product-attention"
NONLOCAL = "10-non-local"
FAST = "11-making-attention-fast"

# A Triton kernel computes values in float32 and has no autograd or meta-device
# support, so its cases check values only.
_KERNEL = {"variants": ["values"]}

_COUNTERS = (profile.parameter_formula, profile.count_parameters, profile.flops, profile.bytes_moved, registry.create)

_EXERCISES = [
    # 02 Squeeze-and-Excitation ------------------------------------------------
    Exercise(
        SE, "se-squeeze", "The squeeze: global average pooling", 1, 1, "squeeze",
        functional.global_avg_pool,
        cases=(
            {"args": [randn(2, 3, 4, 5)]},
            {"args": [randn(4, 6, 7)], "check": "signals (B, C, L)"},
            {"args": [randn(1, 1, 1, 1)], "check": "edge inputs"},
        ),
    ),
    Exercise(
        SE, "se-forward", "SE's forward pass", 2, 3, "SqueezeExcitation",
        modules.SqueezeExcitation,
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 32, "reduction": 8}, "input": (3, 32, 4, 6)},
        ),
        forbidden=(functional.global_avg_pool, registry.create),
    ),
    Exercise(
        SE, "se-parameters", "Counting SE's parameters", 1, 1, "se_parameter_count",
        se_parameter_count,
        cases=(
            {"args": [64]},
            {"args": [256]},
            {"args": [512, 16]},
            {"args": [100, 16]},
            {"args": [64, 4, False]},
        ),
        forbidden=(*_COUNTERS, modules.SqueezeExcitation),
    ),
    Exercise(
        SE, "se-fix", "Fix the blog's SE block", 3, 2, "SEBlock",
        functools.partial(modules.SqueezeExcitation, bias=False),
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 32, "reduction": 8}, "input": (2, 32, 6, 3)},
        ),
        forbidden=(modules.SqueezeExcitation, registry.create),
    ),
    # 03 Efficient Channel Attention -------------------------------------------
    Exercise(
        ECA, "eca-kernel-size", "ECA's adaptive kernel size", 1, 1, "eca_kernel_size",
        functional.eca_kernel_size,
        cases=tuple({"args": [c]} for c in (16, 64, 256, 512, 1024, 2048)),
    ),
    Exercise(
        ECA, "eca-forward", "ECA's forward pass", 2, 3, "EfficientChannelAttention",
        modules.EfficientChannelAttention,
        cases=(
            {"init": {"channels": 16, "k_size": 3}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 64, "k_size": 5}, "input": (2, 64, 3, 3)},
        ),
        forbidden=(registry.create,),
    ),
    Exercise(
        ECA, "eca-cost", "What ECA costs", 1, 1, "eca_cost",
        eca_cost,
        cases=(
            {"args": [64]},
            {"args": [256, 1]},
            {"args": [2048, 8]},
            {"args": [512, 32]},
        ),
        forbidden=(*_COUNTERS, modules.EfficientChannelAttention),
    ),
    Exercise(
        ECA, "eca-fix", "Fix the blog's ECA block", 3, 2, "ECABlock",
        modules.EfficientChannelAttention,
        cases=(
            {"init": {"channels": 16}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 64}, "input": (2, 64, 4, 6)},
        ),
        forbidden=(registry.create,),
    ),
    # 04 cSE, sSE and scSE ------------------------------------------------------
    Exercise(
        SCSE, "scse-sse-forward", "sSE's forward pass", 2, 2, "SpatialSE",
        modules.SpatialSE,
        cases=(
            {"init": {"channels": 16}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 3}, "input": (3, 3, 6, 7)},
        ),
        forbidden=(registry.create, modules.ConcurrentSE),
    ),
    Exercise(
        SCSE, "scse-forward", "scSE, by sum or by maximum", 3, 3, "ConcurrentSE",
        modules.ConcurrentSE,
        cases=(
            {"init": {"channels": 16}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 16, "aggregation": "max"}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 32, "reduction": 8, "aggregation": "max"}, "input": (3, 32, 4, 6)},
        ),
        forbidden=(functional.global_avg_pool, registry.create, modules.ChannelSE, modules.SpatialSE,
                   modules.SqueezeExcitation),
    ),
    Exercise(
        SCSE, "scse-parameters", "Counting scSE's parameters", 1, 1, "scse_parameter_count",
        functools.partial(profile.parameter_formula, "scse"),
        cases=(
            {"args": [64]},
            {"args": [256]},
            {"args": [33]},
            {"args": [64], "kwargs": {"reduction": 16}},
            {"args": [100], "kwargs": {"reduction": 8}},
        ),
        forbidden=(*_COUNTERS, modules.ConcurrentSE, modules.ChannelSE, modules.SpatialSE),
    ),
    Exercise(
        SCSE, "scse-fix", "Fix the blog's scSE", 2, 2, "SCSEBlock",
        modules.ConcurrentSE,
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 8}, "input": (2, 8, 6, 6)},
        ),
        forbidden=(functional.global_avg_pool, registry.create, modules.ChannelSE, modules.SpatialSE),
    ),
    # 05 CBAM ------------------------------------------------------------------
    Exercise(
        CBAM, "cbam-channel-pool", "Pooling along the channel axis", 1, 1, "channel_pool",
        functional.channel_pool,
        cases=(
            {"args": [randn(2, 5, 4, 6)]},
            {"args": [randn(3, 1, 5, 5)], "check": "a single channel"},
            {"args": [randn(1, 16, 1, 1)], "check": "edge inputs"},
        ),
    ),
    Exercise(
        CBAM, "cbam-channel-gate", "The channel gate, Eq. 2", 2, 3, "ChannelGate",
        modules.ChannelGate,
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 32, "reduction": 8, "pool_types": ("avg",)}, "input": (2, 32, 4, 6)},
            {"init": {"channels": 12, "reduction": 3, "pool_types": ("max",)}, "input": (3, 12, 3, 5)},
        ),
        forbidden=(functional.global_avg_pool, registry.create, modules.CBAM),
    ),
    Exercise(
        CBAM, "cbam-parameters", "Counting CBAM's parameters", 1, 1, "cbam_parameter_count",
        functools.partial(profile.parameter_formula, "cbam"),
        cases=(
            {"args": [64]},
            {"args": [256]},
            {"args": [2048]},
            {"args": [64], "kwargs": {"reduction": 4, "kernel_size": 3}},
            {"args": [100], "kwargs": {"spatial_norm": False}},
        ),
        forbidden=(*_COUNTERS, modules.CBAM, modules.ChannelGate, modules.SpatialGate),
    ),
    Exercise(
        CBAM, "cbam-fix", "Fix the blog's spatial gate", 2, 2, "SpatialAttention",
        functools.partial(modules.SpatialGate, norm=False),
        cases=(
            {"init": {}, "input": (2, 8, 9, 7)},
            {"init": {"kernel_size": 3}, "input": (2, 16, 6, 6)},
        ),
        forbidden=(functional.channel_pool, registry.create, modules.SpatialGate, modules.CBAM),
    ),
    Exercise(
        CBAM, "cbam-module", "The whole CBAM, with the official code's BatchNorm", 3, 3, "CBAM",
        modules.CBAM,
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 5, 4)},
            {"init": {"channels": 32, "reduction": 8, "kernel_size": 3}, "input": (2, 32, 6, 5)},
        ),
        forbidden=(functional.channel_pool, registry.create, modules.CBAM, modules.ChannelGate, modules.SpatialGate),
    ),
    # 06 BAM -------------------------------------------------------------------
    Exercise(
        BAM, "bam-parameters", "Counting BAM's parameters", 1, 1, "bam_parameter_count",
        functools.partial(profile.parameter_formula, "bam"),
        cases=(
            {"args": [256]},
            {"args": [1024]},
            {"args": [64], "kwargs": {"reduction": 4}},
            {"args": [512], "kwargs": {"num_dilated": 3}},
            {"args": [256], "kwargs": {"branch_norm": "official"}},
        ),
        forbidden=(*_COUNTERS, modules.BAM),
    ),
    Exercise(
        BAM, "bam-reach", "How far the spatial branch sees", 1, 1, "spatial_reach",
        # (side of the window the logit at one position depends on, number of positions in it that it reads):
        # each 3x3 convolution with dilation d widens the window by 2d and reads every d-th position.
        lambda dilation, num_dilated=2: (1 + 2 * dilation * num_dilated, (2 * num_dilated + 1) ** 2),
        cases=(
            {"args": [4]},
            {"args": [1]},
            {"args": [2, 1]},
            {"args": [4, 3]},
        ),
    ),
    Exercise(
        BAM, "bam-forward", "BAM's forward pass", 2, 3, "BottleneckAttention",
        modules.BAM,
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 9, 9)},
            {"init": {"channels": 32, "reduction": 8, "dilation": 2}, "input": (3, 32, 6, 7)},
        ),
        forbidden=(registry.create, modules.bam.BAMChannel, modules.bam.BAMSpatial),
    ),
    Exercise(
        BAM, "bam-fix", "Fix the blog's BAM", 3, 2, "BAMBlock",
        modules.BAM,
        cases=(
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 9, 9)},
            {"init": {"channels": 32, "reduction": 8, "dilation": 2}, "input": (2, 32, 5, 8)},
        ),
        forbidden=(registry.create, modules.bam.BAMChannel, modules.bam.BAMSpatial),
    ),
    # 07 Selective Kernel ------------------------------------------------------
    Exercise(
        SK, "sk-hidden", "The width of the fuse layer, d = max(C/r, L)", 1, 1, "sk_hidden_dim",
        # Eq. 4, with C/r rounded down as the module and the official SKNet-50 (d = 32, 32, 32, 64) do.
        lambda channels, reduction=16, min_dim=32: max(channels // reduction, min_dim),
        cases=(
            {"args": [128]},
            {"args": [1024]},
            {"args": [2048]},
            {"args": [64], "kwargs": {"reduction": 2}},
            {"args": [100], "kwargs": {"reduction": 3, "min_dim": 8}},
        ),
    ),
    Exercise(
        SK, "sk-parameters", "Counting an SK convolution's parameters", 2, 2, "sk_parameter_count",
        functools.partial(profile.parameter_formula, "sk"),
        cases=(
            {"args": [128]},
            {"args": [1024]},
            {"args": [256], "kwargs": {"branches": 3}},
            {"args": [64], "kwargs": {"groups": 8, "reduction": 4, "min_dim": 8}},
        ),
        forbidden=(*_COUNTERS, modules.SelectiveKernel),
    ),
    Exercise(
        SK, "sk-module", "The whole SK convolution: split, fuse, select", 3, 3, "SelectiveKernel",
        modules.SelectiveKernel,
        cases=(
            {"init": {"channels": 16, "groups": 4, "reduction": 4, "min_dim": 8}, "input": (2, 16, 6, 5)},
            {"init": {"channels": 32, "branches": 3, "groups": 8, "reduction": 8, "min_dim": 4},
             "input": (3, 32, 7, 7)},
            {"init": {"channels": 8, "groups": 2, "reduction": 2, "min_dim": 2, "stride": 2}, "input": (2, 8, 9, 6)},
        ),
        forbidden=(registry.create, modules.SelectiveKernel),
    ),
    Exercise(
        SK, "sk-fix", "Fix the blog's SK convolution", 2, 2, "SKConv",
        modules.SelectiveKernel,
        cases=(
            {"init": {"channels": 16, "groups": 4, "reduction": 4, "min_dim": 8}, "input": (2, 16, 6, 5)},
            {"init": {"channels": 32, "groups": 8, "reduction": 16, "min_dim": 4}, "input": (3, 32, 5, 7)},
        ),
        forbidden=(registry.create, modules.SelectiveKernel),
    ),
    # 08 Deep residual shrinkage -----------------------------------------------
    Exercise(
        DRSN, "drsn-threshold", "The threshold, Eqs. 12 and 14", 1, 1, "shrinkage_threshold",
        # tau = alpha * mean |x|: each channel's own mean for alpha (B, C) (DRSN-CW, Eq. 14), the mean over
        # positions and channels for alpha (B, 1) (DRSN-CS, Eq. 12); shaped (B, C or 1, 1, ...) for x.
        lambda x, alpha: (alpha * (x.abs().flatten(2).mean(dim=2) if alpha.shape[1] > 1
                                   else x.abs().flatten(1).mean(dim=1, keepdim=True))
                          ).reshape(*alpha.shape, *[1] * (x.dim() - 2)),
        cases=(
            {"args": [randn(2, 8, 16), uniform(2, 8)], "check": "a threshold per channel (CW), signals"},
            {"args": [randn(3, 6, 5, 4), uniform(3, 1)], "check": "one threshold per sample (CS), maps"},
            {"args": [randn(2, 4, 10), uniform(2, 1)], "check": "one threshold per sample (CS), signals"},
        ),
        forbidden=(registry.create, modules.Shrinkage),
    ),
    Exercise(
        DRSN, "drsn-parameters", "Counting a shrinkage module's parameters", 1, 1, "drsn_parameter_count",
        lambda channels, channel_wise=True: profile.parameter_formula("drsn-cw" if channel_wise else "drsn-cs", channels),
        cases=(
            {"args": [4]},
            {"args": [16]},
            {"args": [64, False]},
            {"args": [256]},
            {"args": [256], "kwargs": {"channel_wise": False}},
        ),
        forbidden=(*_COUNTERS, modules.Shrinkage),
    ),
    Exercise(
        DRSN, "drsn-shrinkage", "The shrinkage, CS and CW", 2, 3, "Shrinkage",
        modules.Shrinkage,
        cases=(
            {"init": {"channels": 8}, "input": (2, 8, 16)},
            {"init": {"channels": 6, "channel_wise": False}, "input": (3, 6, 10)},
            {"init": {"channels": 4, "channel_wise": False}, "input": (2, 4, 5, 6)},
        ),
        forbidden=(registry.create, functional.soft_threshold),
    ),
    Exercise(
        DRSN, "drsn-fix", "Fix the blog's shrinkage", 2, 2, "ShrinkageBlock",
        functools.partial(modules.Shrinkage, channel_wise=True),
        cases=(
            {"init": {"channels": 8}, "input": (2, 8, 32)},
            {"init": {"channels": 16}, "input": (3, 16, 20)},
        ),
        forbidden=(registry.create, functional.soft_threshold),
    ),
    Exercise(
        DRSN, "drsn-rsbu", "The residual shrinkage building unit", 3, 3, "ResidualShrinkageUnit",
        modules.ResidualShrinkageUnit,
        cases=(
            {"init": {"in_channels": 4, "out_channels": 4}, "input": (2, 4, 16)},
            {"init": {"in_channels": 4, "out_channels": 8, "stride": 2, "channel_wise": False}, "input": (2, 4, 16)},
            {"init": {"in_channels": 3, "out_channels": 8, "stride": 2}, "input": (3, 3, 12)},
        ),
        forbidden=(registry.create, modules.Shrinkage, functional.soft_threshold),
    ),
    # 09 Scaled dot-product attention ------------------------------------------
    Exercise(
        SDPA, "sdpa", "Scaled dot-product attention with a mask", 3, 3, "scaled_dot_product_attention",
        functional.scaled_dot_product_attention,
        cases=(
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "check": "no mask"},
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "kwargs": {"mask": bool_mask(2, 5, 7)},
             "check": "boolean mask"},
            {"args": [randn(2, 3, 4, 6), randn(2, 3, 4, 6), randn(2, 3, 4, 6)], "kwargs": {"mask": causal(4, 4)},
             "check": "heads and a causal mask"},
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "kwargs": {"mask": randn(5, 7, grad=False)},
             "check": "float mask (added to the scores)"},
            {"args": [randn(1, 4, 16, scale=4), randn(1, 6, 16, scale=4), randn(1, 6, 2)], "check": "large scores"},
        ),
        forbidden=(F.scaled_dot_product_attention,),
    ),
    Exercise(
        SDPA, "causal-mask", "A causal mask", 1, 1, "causal_mask",
        causal_mask,
        cases=tuple({"args": [n]} for n in (1, 2, 5, 8)),
    ),
    Exercise(
        SDPA, "attention-flops", "Counting attention's FLOPs", 2, 1, "attention_flops",
        attention_flops,
        cases=tuple({"args": list(a)} for a in ((1, 1), (4, 8), (196, 64), (1024, 64))),
    ),
    Exercise(
        SDPA, "sdpa-fix", "Fix the blog's attention", 2, 2, "attention",
        functional.scaled_dot_product_attention,
        cases=(
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "check": "no mask"},
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "kwargs": {"mask": bool_mask(2, 5, 7)},
             "check": "boolean mask"},
        ),
        forbidden=(F.scaled_dot_product_attention,),
    ),
    # 10 The non-local block ---------------------------------------------------
    Exercise(
        NONLOCAL, "nl-affinity-bytes", "The affinity matrix's size in bytes", 1, 1, "affinity_bytes",
        # N x N' numbers per image, N = H W; with the paper's 2x2 max pooling N' = ceil(H/2) ceil(W/2).
        lambda height, width, subsample=False, itemsize=4: (
            height * width * math.prod(modules.non_local.key_grid(height, width, bool(subsample))) * itemsize),
        cases=(
            {"args": [12, 12]},
            {"args": [14, 14, True]},
            {"args": [28, 28], "kwargs": {"subsample": True, "itemsize": 2}},
            {"args": [7, 9, True]},
        ),
        forbidden=(modules.non_local.key_grid,),
    ),
    Exercise(
        NONLOCAL, "nl-embedded-gaussian", "The embedded Gaussian, Eq. 1", 2, 2, "embedded_gaussian",
        # y = softmax(theta^T phi) g over the keys, as maps: (B, C', H, W), (B, C', H', W') x 2 -> (B, C', H, W).
        lambda theta, phi, g: functional.scaled_dot_product_attention(
            theta.flatten(2).transpose(1, 2), phi.flatten(2).transpose(1, 2), g.flatten(2).transpose(1, 2), scale=1.0,
        ).transpose(1, 2).reshape(theta.shape),
        cases=(
            {"args": [randn(2, 4, 3, 5), randn(2, 4, 3, 5), randn(2, 4, 3, 5)], "check": "keys at every position"},
            {"args": [randn(1, 8, 4, 4), randn(1, 8, 2, 2), randn(1, 8, 2, 2)], "check": "subsampled keys"},
            {"args": [randn(2, 2, 5, 3, scale=3), randn(2, 2, 5, 3, scale=3), randn(2, 2, 5, 3)],
             "check": "large scores"},
        ),
        forbidden=(F.scaled_dot_product_attention, functional.scaled_dot_product_attention),
    ),
    Exercise(
        NONLOCAL, "nl-fix", "Find the bugs in a non-local block", 2, 2, "FixedNonLocal",
        modules.NonLocalBlock,
        cases=(
            {"init": {"channels": 8}, "input": (2, 8, 5, 5)},
            {"init": {"channels": 16}, "input": (3, 16, 4, 6)},
        ),
        forbidden=(registry.create, modules.NonLocalBlock, F.scaled_dot_product_attention,
                   functional.scaled_dot_product_attention),
    ),
    Exercise(
        NONLOCAL, "nl-block", "The non-local block, Eq. 6", 3, 3, "NonLocal",
        modules.NonLocalBlock,
        cases=(
            {"init": {"channels": 8}, "input": (2, 8, 5, 5)},
            {"init": {"channels": 16, "reduction": 4}, "input": (2, 16, 3, 7)},
            {"init": {"channels": 6, "reduction": 2}, "input": (3, 6, 4, 4)},
        ),
        forbidden=(registry.create, modules.NonLocalBlock, F.scaled_dot_product_attention,
                   functional.scaled_dot_product_attention),
    ),
    # 11 Making attention fast -----------------------------------------------
    Exercise(
        FAST, "bandwidth-floor", "The bandwidth floor", 1, 1, "bandwidth_floor_us",
        bandwidth_floor_us,
        cases=(
            {"args": [[64, 256, 56, 56], 2, 2, 1, 3350.0], "check": "SE, bfloat16, H100 SXM"},
            {"args": [[64, 256, 56, 56], 4, 3, 1, 4800.0], "check": "CBAM, float32, H200"},
            {"args": [[1, 1, 1, 1], 4, 1, 1, 1000.0], "check": "one number"},
        ),
        forbidden=_COUNTERS,
    ),
    Exercise(
        FAST, "soft-threshold", "Soft thresholding in fewer passes", 2, 2, "soft_threshold",
        functional.soft_threshold,
        cases=(
            {"args": [randn(2, 8, 5, 5), uniform(2, 8, 1, 1, low=0.1, high=1.0)], "check": "a threshold per channel"},
            {"args": [randn(3, 4, 6), uniform(3, 1, 1, low=0.1, high=1.0)], "check": "signals, one per sample"},
            {"args": [randn(2, 3, 4, 4, scale=0.1), uniform(2, 3, 1, 1, low=0.5, high=1.0)],
             "check": "everything inside the band"},
        ),
        forbidden=(registry.create, modules.Shrinkage),
    ),
    Exercise(
        FAST, "triton-channel-means", "A pooling kernel in Triton", 3, 3, "channel_means",
        channel_means,
        cases=(
            {"args": [randn(2, 8, 5, 7, grad=False)], "check": "odd, non-square map", **_KERNEL},
            {"args": [randn(1, 3, 1, 1, grad=False)], "check": "a 1 x 1 map", **_KERNEL},
            {"args": [randn(2, 4, 16, 16, grad=False)], "check": "a map of exactly a few blocks", **_KERNEL},
        ),
    ),
    Exercise(
        FAST, "triton-scale-fix", "Fix the scale kernel", 2, 2, "scale_channels",
        scale_channels,
        cases=(
            {"args": [randn(2, 3, 4, 4, grad=False), randn(2, 3, grad=False)], "check": "P a multiple of the block", **_KERNEL},
            {"args": [randn(2, 3, 5, 7, grad=False), randn(2, 3, grad=False)], "check": "odd, non-square map", **_KERNEL},
            {"args": [randn(3, 5, 1, 1, grad=False), randn(3, 5, grad=False)], "check": "a 1 x 1 map", **_KERNEL},
        ),
    ),
]

CHAPTERS: dict[str, dict[str, Exercise]] = {}
for _ex in _EXERCISES:
    CHAPTERS.setdefault(_ex.chapter, {})[_ex.id] = _ex


def chapter_slug(chapter: str | int) -> str:
    """'02', 2 or '02-squeeze-and-excitation' -> '02-squeeze-and-excitation'."""
    text = f"{chapter:02d}" if isinstance(chapter, int) else str(chapter).strip()
    if text in CHAPTERS:
        return text
    matches = [slug for slug in CHAPTERS if slug.split("-", 1)[0] == text.zfill(2)]
    if len(matches) == 1:
        return matches[0]
    raise KeyError(f"no exercises for chapter {chapter!r}; chapters with exercises: {', '.join(CHAPTERS)}")


def exercises(chapter: str | int) -> list[Exercise]:
    """The exercises of a chapter, in notebook order."""
    return list(CHAPTERS[chapter_slug(chapter)].values())


def get_exercise(chapter: str | int, exercise_id: str) -> Exercise:
    slug = chapter_slug(chapter)
    try:
        return CHAPTERS[slug][exercise_id]
    except KeyError:
        known = ", ".join(CHAPTERS[slug])
        raise KeyError(f"chapter {slug} has no exercise {exercise_id!r}; its exercises are {known}") from None
