"""Input checks shared by every module, with errors written for a student.

Each message says what was expected and what arrived, for example::

    SqueezeExcitation(channels=64) expects input (B, 64, H, W); got (2, 32, 8, 8)
"""

from __future__ import annotations

import torch


def _shape(x: torch.Tensor) -> str:
    return "(" + ", ".join(str(s) for s in x.shape) + ")"


def check_feature_map(who: str, channels: int, x: torch.Tensor, spatial: str = "H, W") -> None:
    """Raise ``ValueError`` unless ``x`` is a (B, channels, *spatial) tensor.

    ``spatial`` lists the names of the trailing axes the module accepts:
    ``"H, W"`` for images, ``"L"`` for signals, or ``"L | H, W"`` for modules
    that take either.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{who} expects a torch.Tensor; got {type(x).__name__}")
    allowed = [len(option.split(",")) + 2 for option in spatial.split("|")]
    expected = " or ".join(f"(B, {channels}, {option.strip()})" for option in spatial.split("|"))
    if x.dim() not in allowed or x.shape[1] != channels:
        raise ValueError(f"{who} expects input {expected}; got {_shape(x)}")
    if not x.is_floating_point():
        raise ValueError(f"{who} expects a floating-point tensor; got dtype {x.dtype}")


def check_batch_for_norm(who: str, x: torch.Tensor, training: bool) -> None:
    """BatchNorm over pooled features needs two samples or more in training mode."""
    if training and x.shape[0] < 2:
        raise ValueError(
            f"{who} in training mode needs a batch of at least 2: its BatchNorm sees one "
            f"pooled value per channel per sample; got a batch of {x.shape[0]}. "
            f"Call .eval() to run a single sample."
        )


def hidden_units(who: str, channels: int, reduction: int) -> int:
    """``channels // reduction``, the width of a bottleneck MLP; must be at least 1."""
    check_positive(who, "channels", channels)
    check_positive(who, "reduction", reduction)
    hidden = channels // reduction
    if hidden < 1:
        raise ValueError(
            f"{who}: reduction={reduction} leaves no hidden unit for channels={channels} "
            f"(channels // reduction = {hidden}); use reduction <= {channels}"
        )
    return hidden


def check_positive(who: str, name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{who}: {name} must be a positive integer; got {value!r}")


def check_selective_kernel(
    who: str, channels: int, branches: int, groups: int, reduction: int, min_dim: int, stride: int
) -> int:
    """Validate SelectiveKernel's arguments; returns d = max(C // r, L), the fuse width."""
    hidden_units(who, channels, reduction)
    for name, value in (("branches", branches), ("groups", groups), ("min_dim", min_dim), ("stride", stride)):
        check_positive(who, name, value)
    if channels % groups:
        divisors = [g for g in (1, 2, 4, 8, 16, 32, 64) if channels % g == 0]
        raise ValueError(f"{who}: groups={groups} must divide channels={channels}; try one of {divisors}")
    return max(channels // reduction, min_dim)


def check_odd(who: str, name: str, value: int) -> None:
    """Odd kernels keep the spatial size with padding (k - 1) // 2."""
    check_positive(who, name, value)
    if value % 2 == 0:
        raise ValueError(
            f"{who}: {name} must be odd so that padding {name} // 2 keeps the size; got {value}"
        )


def check_choice(who: str, name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{who}: {name} must be one of {options}; got {value!r}")
