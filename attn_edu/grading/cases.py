"""Default cases for every public class and function of ``attn_edu``.

``check_against(reference, candidate)`` needs to know how to build a class
and what to call a function with. For the library's own public objects the
answer is here, small enough to run in a fraction of a second on a CPU;
``public_objects()`` lists what counts as public. For anything else,
``default_cases`` falls back on the signature: a module whose only required
argument is ``channels``, a function of one tensor ``x``, or anything whose
arguments all have defaults.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import Any, Callable

import torch
from torch import nn

from .probes import build
from .specs import bool_mask, causal, randn, uniform

# Where the public API lives: the names in each module's __all__, or, without
# __all__, the classes and functions the module defines itself.
PUBLIC_MODULES = (
    "attn_edu",
    "attn_edu.registry",
    "attn_edu.functional",
    "attn_edu.modules",
    "attn_edu.models",
    "attn_edu.profile",
    "attn_edu.data",
)


def public_objects() -> dict[str, Any]:
    """Every public class and function of attn_edu, by its full dotted name."""
    found: dict[str, Any] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None)
        if names is None:
            names = [
                n
                for n, v in vars(module).items()
                if not n.startswith("_") and getattr(v, "__module__", None) == module_name
            ]
        for n in names:
            obj = getattr(module, n)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            found.setdefault(qualified_name(obj), obj)
    return dict(sorted(found.items()))


def qualified_name(obj: Any) -> str:
    base = obj.func if isinstance(obj, functools.partial) else obj
    return f"{getattr(base, '__module__', '?')}.{getattr(base, '__qualname__', getattr(base, '__name__', '?'))}"


def _feature_map(channels: int, **init) -> dict:
    return {"init": {"channels": channels, **init}, "input": (2, channels, 5, 4)}


def _model(factory: Callable, **kwargs) -> Callable:
    return build(functools.partial(factory, **kwargs))


def _cases() -> dict[str, Callable[[], list]]:
    """Lazily built: the models are imported only when a case is asked for."""
    from .. import models, registry

    few = ["forward values (train mode)", "gradients (input and parameters)", "eval mode"]
    return {
        # modules -------------------------------------------------------------
        "attn_edu.modules.se.SqueezeExcitation": lambda: [
            _feature_map(16, reduction=4),
            {"init": {"channels": 8, "reduction": 2, "bias": False}, "input": (3, 8, 4, 4)},
        ],
        "attn_edu.modules.scse.ChannelSE": lambda: [_feature_map(16)],
        "attn_edu.modules.scse.SpatialSE": lambda: [_feature_map(8)],
        "attn_edu.modules.scse.ConcurrentSE": lambda: [
            _feature_map(16),
            _feature_map(8, aggregation="max"),
        ],
        "attn_edu.modules.cbam.CBAM": lambda: [
            _feature_map(16, reduction=4),
            _feature_map(8, reduction=2, spatial=False),
        ],
        "attn_edu.modules.cbam.ChannelGate": lambda: [_feature_map(16, reduction=4)],
        "attn_edu.modules.cbam.SpatialGate": lambda: [
            {"init": {"kernel_size": 3}, "input": (2, 5, 6, 7)},
            {"init": {"kernel_size": 7, "norm": False}, "input": (2, 3, 8, 8)},
        ],
        "attn_edu.modules.bam.BAM": lambda: [_feature_map(16, reduction=4, dilation=2)],
        "attn_edu.modules.eca.EfficientChannelAttention": lambda: [
            _feature_map(16),
            _feature_map(64),
            _feature_map(7, k_size=5),
        ],
        "attn_edu.modules.sk.SelectiveKernel": lambda: [_feature_map(16, groups=4, reduction=4, min_dim=4)],
        "attn_edu.modules.drsn.Shrinkage": lambda: [
            _feature_map(8),
            {"init": {"channels": 8, "channel_wise": False}, "input": (2, 8, 9)},
        ],
        "attn_edu.modules.drsn.ResidualShrinkageUnit": lambda: [
            {"init": {"in_channels": 4, "out_channels": 8, "stride": 2}, "input": (2, 4, 9)},
        ],
        "attn_edu.modules.non_local.NonLocalBlock": lambda: [
            {"init": {"channels": 8}, "input": (2, 8, 4, 5)},
            {"init": {"channels": 8, "subsample": True, "scale": True}, "input": (2, 8, 4, 5)},
        ],
        # models --------------------------------------------------------------
        "attn_edu.models.resnet.BasicBlock": lambda: [
            {"init": {"inplanes": 8, "planes": 8, "attn": "se", "attn_kwargs": {"reduction": 4}}, "input": (2, 8, 6, 5)},
        ],
        "attn_edu.models.resnet.Bottleneck": lambda: [
            {"init": {"inplanes": 16, "planes": 4, "attn": "eca"}, "input": (2, 16, 5, 4)},
        ],
        "attn_edu.models.resnet.SKBottleneck": lambda: [
            {"init": {"inplanes": 64, "planes": 16}, "input": (2, 64, 6, 6), "variants": few},
        ],
        "attn_edu.models.resnet.ResNet": lambda: [
            {
                "init": {"block": models.BasicBlock, "layers": [1, 1, 1, 1], "num_classes": 5, "attn": "se"},
                "input": (2, 3, 32, 32),
                "variants": few,
            },
        ],
        "attn_edu.models.small.SmallCNN": lambda: [
            {"init": {"in_channels": 3, "num_classes": 4, "width": 8, "attn": "se", "reduction": 4}, "input": (2, 3, 16, 16)},
        ],
        "attn_edu.models.small.SignalCNN1d": lambda: [
            {"init": {"in_channels": 1, "num_classes": 4, "width": 8, "attn": "drsn-cw"}, "input": (2, 1, 64)},
        ],
        "attn_edu.models.small.SmallUNet": lambda: [
            {"init": {"in_channels": 3, "num_classes": 4, "width": 8, "attn": "scse"}, "input": (2, 3, 16, 16)},
        ],
        "attn_edu.models.resnet.attention_modules": lambda: [
            {"args": [_model(models.resnet18, attn="se", num_classes=10)]},
        ],
        "attn_edu.models.resnet.nonlocal_positions": lambda: [
            {"args": [6, 1]},
            {"args": [4, 2]},
            {"args": [6, 3]},
            {"args": [6, 0]},
            {"args": [23, 5]},
        ],
        "attn_edu.models.resnet.resnet18": lambda: [{"kwargs": {"attn": "se", "num_classes": 10}}],
        "attn_edu.models.resnet.resnet34": lambda: [{"kwargs": {"num_classes": 10}}],
        "attn_edu.models.resnet.resnet50": lambda: [{"kwargs": {"attn": "eca", "num_classes": 10}}],
        "attn_edu.models.resnet.resnet101": lambda: [{"kwargs": {"num_classes": 10}}],
        "attn_edu.models.resnet.resnext50_32x4d": lambda: [{"kwargs": {"attn": "sk", "num_classes": 10}}],
        # functional ----------------------------------------------------------
        "attn_edu.functional.global_avg_pool": lambda: [
            {"args": [randn(2, 3, 4, 5)]},
            {"args": [randn(2, 3, 7)]},
            {"args": [randn(1, 1, 1, 1)], "check": "edge inputs"},
        ],
        "attn_edu.functional.channel_pool": lambda: [
            {"args": [randn(2, 5, 4, 3)]},
            {"args": [randn(1, 1, 1, 1)], "check": "edge inputs"},
        ],
        "attn_edu.functional.eca_kernel_size": lambda: [
            *({"args": [c]} for c in (1, 2, 3, 8, 15, 16, 31, 64, 100, 256, 512, 1000, 1024, 2048, 4096)),
            {"args": [256], "kwargs": {"gamma": 3, "b": 2}},
            {"args": [64], "kwargs": {"gamma": 1, "b": 0}},
        ],
        "attn_edu.functional.soft_threshold": lambda: [
            {"args": [randn(2, 3, 4, 5), 0.3]},
            {"args": [randn(2, 4, 6), uniform(2, 4, 1, low=0.1, high=1.0)]},
            {"args": [randn(1, 1), 0.0], "check": "edge inputs"},
        ],
        "attn_edu.functional.scaled_dot_product_attention": lambda: [
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)]},
            {"args": [randn(2, 3, 4, 6), randn(2, 3, 4, 6), randn(2, 3, 4, 6)], "kwargs": {"mask": causal(4, 4)}},
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "kwargs": {"mask": bool_mask(2, 5, 7)}},
            {"args": [randn(1, 5, 4), randn(1, 6, 4), randn(1, 6, 2)], "kwargs": {"mask": randn(5, 6, grad=False)}},
            {"args": [randn(2, 5, 8), randn(2, 7, 8), randn(2, 7, 3)], "kwargs": {"scale": 0.5, "return_weights": True}},
        ],
        # registry ------------------------------------------------------------
        "attn_edu.registry.available": lambda: [{}],
        "attn_edu.registry.create": lambda: [
            {"args": ["se", 16], "kwargs": {"reduction": 4}},
            {"args": ["eca", 64]},
            {"args": ["drsn-cs", 8]},
            {"args": ["nonlocal", 8]},
        ],
        # profile -------------------------------------------------------------
        "attn_edu.profile.count_parameters": lambda: [
            {"args": [build(functools.partial(registry.create, "cbam", 32))]},
            {"args": [build(functools.partial(registry.create, "eca", 256))]},
        ],
        "attn_edu.profile.parameter_formula": lambda: [
            {"args": ["se", 256]},
            {"args": ["se", 64], "kwargs": {"reduction": 4, "bias": False}},
            {"args": ["eca", 2048]},
            {"args": ["sk", 64], "kwargs": {"groups": 16}},
            {"args": ["nonlocal", 64]},
        ],
        "attn_edu.profile.flops": lambda: [
            {"args": ["se", (2, 64, 8, 8)]},
            {"args": ["eca", (1, 256, 56, 56)], "kwargs": {"k_size": 5}},
            {"args": [build(functools.partial(registry.create, "cbam", 32)), (1, 32, 8, 8)]},
        ],
        "attn_edu.profile.bytes_moved": lambda: [
            {"args": ["cbam", (1, 64, 8, 8)]},
            {"args": ["se", (2, 64, 8, 8)], "kwargs": {"dtype": torch.bfloat16}},
        ],
        "attn_edu.traffic.eager_traffic": lambda: [
            {"args": [torch.sigmoid, randn(2, 8, 4, 4, grad=False)]},
            {"args": [build(functools.partial(registry.create, "se", 16)), randn(2, 16, 4, 4, grad=False)]},
        ],
        "attn_edu.profile.summary": lambda: [{"kwargs": {"channels": 64, "input_shape": (1, 64, 8, 8)}}],
        "attn_edu.profile.table": lambda: [{"kwargs": {"channels": 64, "input_shape": (1, 64, 8, 8)}}],
        # data ----------------------------------------------------------------
        "attn_edu.data.SyntheticDataset": lambda: [
            {"init": {"x": randn(4, 2), "y": torch.arange(4), "meta": {}, "num_classes": 2, "description": "toy"}},
        ],
        "attn_edu.data.channel_selection": lambda: [{"kwargs": {"n": 16, "seed": 1}}],
        "attn_edu.data.object_in_clutter": lambda: [{"kwargs": {"n": 8, "seed": 1}}],
        "attn_edu.data.multi_scale_objects": lambda: [{"kwargs": {"n": 8, "seed": 1}}],
        "attn_edu.data.noisy_vibration": lambda: [{"kwargs": {"n": 8, "length": 128, "seed": 1}}],
        "attn_edu.data.shapes_segmentation": lambda: [{"kwargs": {"n": 4, "seed": 1}}],
        "attn_edu.data.long_range": lambda: [{"kwargs": {"n": 8, "seed": 1}}],
        "attn_edu.data.available": lambda: [{}],
        "attn_edu.data.make": lambda: [{"args": ["long_range"], "kwargs": {"n": 8, "seed": 1}}],
    }


@functools.lru_cache(maxsize=1)
def _table() -> dict[str, Callable[[], list]]:
    return _cases()


def default_cases(reference: Any) -> list[dict]:
    """The cases ``check_against`` uses when none are given.

    Raises ``LookupError`` with advice when neither the table nor the
    signature says how to call ``reference``.
    """
    key = qualified_name(reference)
    table = _table()
    if key in table:
        return table[key]()
    return _from_signature(reference, key)


def _from_signature(reference: Any, key: str) -> list[dict]:
    base = reference.func if isinstance(reference, functools.partial) else reference
    try:
        params = list(inspect.signature(reference).parameters.values())
    except (TypeError, ValueError):
        params = []
    required = [
        p.name
        for p in params
        if p.default is inspect.Parameter.empty
        and p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    if inspect.isclass(base) and issubclass(base, nn.Module):
        if required == ["channels"]:
            return [_feature_map(16), _feature_map(8)]
        if not required:
            return [{"init": {}, "input": (2, 3, 8, 8)}]
    elif inspect.isclass(base):
        if not required:
            return [{"init": {}}]
    elif required == ["x"]:
        return [{"args": [randn(2, 4, 5, 6)]}, {"args": [randn(1, 1, 1, 1)], "check": "edge inputs"}]
    elif not required:
        return [{}]
    raise LookupError(
        f"check_against does not know how to call {key}; pass cases=[...] "
        f"(see attn_edu.grading.make_plan), or add default cases in attn_edu/grading/cases.py"
    )
