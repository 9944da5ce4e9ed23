"""Build any mechanism by its short name: ``attn_edu.create("se", 64)``.

Every registered module takes the channel count first, then its own keyword
arguments, and maps (B, C, H, W) to (B, C, H, W).
"""

from __future__ import annotations

from torch import nn

from . import modules

def _shrinkage(channels: int, channel_wise: bool, kwargs: dict) -> nn.Module:
    if "channel_wise" in kwargs:  # the name already decides it
        raise ValueError("drsn-cs and drsn-cw fix the threshold kind; do not pass channel_wise")
    return modules.Shrinkage(channels, channel_wise=channel_wise, **kwargs)


_REGISTRY = {
    "se": modules.SqueezeExcitation,
    "cse": modules.ChannelSE,
    "sse": modules.SpatialSE,
    "scse": modules.ConcurrentSE,
    "cbam": modules.CBAM,
    "bam": modules.BAM,
    "eca": modules.EfficientChannelAttention,
    "sk": modules.SelectiveKernel,
    "drsn-cs": lambda channels, **kw: _shrinkage(channels, False, kw),
    "drsn-cw": lambda channels, **kw: _shrinkage(channels, True, kw),
    "nonlocal": modules.NonLocalBlock,
}


def available() -> list[str]:
    """The names ``create`` accepts, sorted."""
    return sorted(_REGISTRY)


BACKENDS = ("reference", "triton")


def create(name: str, channels: int, backend: str = "reference", **kwargs) -> nn.Module:
    """Build the attention module called ``name`` for ``channels`` channels.

    ``backend="reference"`` (default) gives the readable PyTorch module;
    ``backend="triton"`` the same module with its forward and backward run
    by the fused kernels of ``attn_edu.gpu`` (same ``state_dict``; needs
    Triton, see ``attn_edu.gpu.available()`` for the names it covers).

    >>> create("eca", 256)
    EfficientChannelAttention(
      channels=256, k_size=5
      (conv): Conv1d(1, 1, kernel_size=(5,), stride=(1,), padding=(2,), bias=False)
    )
    """
    key = name.lower().replace("_", "-") if isinstance(name, str) else name
    if key not in _REGISTRY:
        raise ValueError(f"unknown attention {name!r}; available: {', '.join(available())}")
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(repr(b) for b in BACKENDS)}")
    if backend == "triton":
        from . import gpu  # imports no Triton until a kernel runs

        if key not in gpu.available():
            raise ValueError(
                f"attention {key!r} has no Triton kernels; backend='triton' covers: {', '.join(gpu.available())}"
            )
        return gpu.fuse(_REGISTRY[key](channels, **kwargs))
    return _REGISTRY[key](channels, **kwargs)
