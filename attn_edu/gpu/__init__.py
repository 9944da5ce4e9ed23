"""Fused Triton kernels for the gating mechanisms: the fast versions of ``attn_edu.modules``.

    fast = attn_edu.gpu.fuse(attn_edu.create("se", 256))     # or:
    fast = attn_edu.create("se", 256, backend="triton")
    fast.load_state_dict(reference.state_dict())             # same keys, same values

A gating module is memory-bound: it does a few FLOPs per element but must
stream over x more than once, because its gate depends on a pool over the
whole map (``attn_edu.profile``, "the model of passes"). Eager PyTorch runs
each operation as its own kernel and writes every intermediate as large as
x to memory before the next operation reads it back: |x| and |x| - tau in
DRSN, F' = M_c x in CBAM, the two recalibrated maps of scSE, and in every
backward pass products such as g * x before they are summed. The kernels
here keep per-element and per-position values on chip and hand only small
tensors (pooled vectors, gates, B x H x W maps) from one pass to the next.
(SE, cSE and ECA make the minimum two passes forward in eager mode already;
their backward is where eager makes extra ones.) The small functions between
passes (SE's two FC layers, ECA's 1-D convolution, CBAM's 7 x 7 convolution,
DRSN's scale network) stay in torch.

Passes over x-sized tensors (R reads, W writes), forward | backward:

    se, cse, eca     2R 1W | 3R 1W    pool; scale                     channel_gate.py
    sse              1R 1W | 4R 1W    gate and scale                  spatial_gate.py
    scse             2R 1W | 4R 1W    pool; gates and scale           spatial_gate.py
    cbam             3R 1W | 6R 1W    pool; channel stats; scale      cbam.py
    drsn-cs, -cw     2R 1W | 4R 1W    pool |x|; shrink                shrinkage.py

The forward counts are the minimum of ``attn_edu.profile.bytes_moved``. The
pass that computes sSE's gate (sse, and scse's second pass) reads each tile
of x twice, once for the gate and once to scale it; the count assumes the
second read is served by the GPU's L2 cache. Backward reads the incoming
gradient as well as x.

Every kernel accepts float32, float16 and bfloat16 (accumulating in float32;
float64 is accepted too, for ``gradcheck``), contiguous NCHW and
channels_last inputs (through the strides; the output has the input's memory
format), any H and W, and (B, C, L) signals for DRSN. On a machine without
CUDA the kernels run in Triton's interpreter, slowly, which is how the tests
check them in CI.

``import attn_edu.gpu`` does not import Triton; the first forward does.
"""

from __future__ import annotations

import copy

from torch import nn

from .. import modules
from ._runtime import INSTALL_HINT, triton_available
from .fused import FUSED

__all__ = ["available", "fuse", "fuse_model", "triton_available"]

# registry name -> the reference class its module is an instance of
_NAMES = {
    "se": "SqueezeExcitation",
    "cse": "ChannelSE",
    "sse": "SpatialSE",
    "scse": "ConcurrentSE",
    "cbam": "CBAM",
    "eca": "EfficientChannelAttention",
    "drsn-cs": "Shrinkage",
    "drsn-cw": "Shrinkage",
}


def available() -> list[str]:
    """The mechanisms (``attn_edu.create`` names) that have Triton kernels, sorted."""
    return sorted(_NAMES)


def _supported() -> str:
    return ", ".join(sorted({cls.__name__ for cls in FUSED}))


def fuse(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose forward runs the Triton kernels; same ``state_dict``.

    ``module`` is a reference module (``SqueezeExcitation``, ``ChannelSE``,
    ``SpatialSE``, ``ConcurrentSE``, ``CBAM``, ``EfficientChannelAttention``
    or ``Shrinkage``). The copy keeps its parameters, buffers, device, dtype
    and train/eval mode; the original is left untouched.
    """
    if type(module) in FUSED.values():
        return copy.deepcopy(module)
    fused_type = FUSED.get(type(module))
    if fused_type is None:
        raise ValueError(
            f"attn_edu.gpu.fuse: no Triton kernel for {type(module).__name__}; "
            f"kernels exist for {_supported()} (attn_edu.create names: {', '.join(available())}). "
            f"To fuse the attention modules inside a network, use attn_edu.gpu.fuse_model."
        )
    if isinstance(module, modules.CBAM) and not set(module.channel_gate.pool_types) <= {"avg", "max"}:
        raise ValueError(
            f"attn_edu.gpu.fuse: CBAM's kernels pool with 'avg' and 'max'; "
            f"got pool_types={module.channel_gate.pool_types}"
        )
    if not triton_available():
        raise ImportError(f"attn_edu.gpu.fuse needs Triton, which is not installed: {INSTALL_HINT}")
    fused = copy.deepcopy(module)  # the same parameters, buffers, device, dtype and mode
    fused.__class__ = fused_type  # a subclass that replaces forward only
    return fused


def fuse_model(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every attention module that has kernels replaced by ``fuse(module)``.

    For example ``fuse_model(attn_edu.models.resnet50(attn="cbam"))``. Other
    modules (convolutions, BAM, SK, non-local blocks) are kept as they are.
    Raises ``ValueError`` if the model has no module to fuse.
    """
    model = copy.deepcopy(model)
    replaced = 0

    def visit(parent: nn.Module) -> None:
        nonlocal replaced
        for name, child in parent.named_children():
            if type(child) in FUSED:
                setattr(parent, name, fuse(child))
                replaced += 1
            else:
                visit(child)

    visit(model)
    if not replaced:
        raise ValueError(
            f"attn_edu.gpu.fuse_model: {type(model).__name__} has no module with Triton kernels "
            f"({_supported()})"
        )
    return model
