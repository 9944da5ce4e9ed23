"""attn_edu: the library behind the attn-edu textbook on attention in CNNs.

- ``attn_edu.modules``: reference implementations, one file per paper.
- ``attn_edu.functional``: the pure functions they are built from.
- ``attn_edu.create(name, channels, **kw)`` / ``attn_edu.available()``.
- ``attn_edu.models``: ResNets that place each module where its paper does,
  and small networks for CPU experiments.
- ``attn_edu.profile``: parameters, FLOPs and bytes moved.
- ``attn_edu.data``: seeded synthetic data sets, generated on the fly.
- ``attn_edu.shapes``: ``trace(name, input_shape)``, every intermediate tensor
  of a mechanism, step by step, in the paper's words.
- ``attn_edu.widgets``: the shape explorer, the broadcast explorer and the
  plots of what a trained model attends to (import it in a notebook).
- ``attn_edu.gpu``: fused Triton kernels, ``create(name, C, backend="triton")``;
  Triton is imported only when a kernel first runs.
- ``attn_edu.images`` and ``attn_edu.training``: the photograph-based feature
  maps and the seeded training loop the chapters share.
"""

from . import functional, modules, shapes
from .registry import available, create

__version__ = "0.1.0"

__all__ = ["available", "create", "functional", "modules", "shapes", "__version__"]
