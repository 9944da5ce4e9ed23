"""How ``attn_edu.gpu`` finds Triton and lays a feature map out for its kernels.

Nothing here imports Triton at module level: ``import attn_edu`` and
``import attn_edu.gpu`` work without it. ``load_triton()`` imports it on the
first kernel call.

Interpreter. Triton compiles kernels for a GPU. Its interpreter
(``TRITON_INTERPRET=1``) runs the same kernel source on the CPU, one program
instance after another, with NumPy: slow, but exact enough to test against
the reference modules on a laptop or in CI. On a machine without CUDA,
``load_triton`` turns the interpreter on (unless ``TRITON_INTERPRET`` is
already set) before the kernel files are imported, because ``@triton.jit``
decides between compiling and interpreting when it decorates a function.

Layout. Every kernel sees a feature map as a (B, C, P) tensor, P = H * W
positions, and takes its three strides as arguments, so one kernel serves
contiguous NCHW (strides C*P, P, 1), channels_last (P*C, 1, C) and (B, C, L)
signals alike. ``as_bcp`` makes that view; it copies only when H and W
cannot be merged into one axis (a strided slice, for example).
"""

from __future__ import annotations

import math
import os

import torch

INSTALL_HINT = "pip install 'triton==3.9.0' (Linux)"

# Set by load_triton(): whether the kernels run in Triton's interpreter.
INTERPRET: bool | None = None

# Set by attn_edu.gpu.compile_check, which compiles the kernels for a GPU on a
# machine without one: the kernels are compiled and not launched, so CPU
# tensors are accepted, and grids are planned for this many streaming
# multiprocessors as on that GPU.
COMPILE_ONLY_MULTIPROCESSORS: int | None = None

# Number of programs that share one reduction (see ``splits``); None lets the
# heuristic decide. Tests set it to exercise the partial-sum path on small shapes.
FORCE_SPLITS: int | None = None


def triton_available() -> bool:
    """True when ``import triton`` succeeds (it is imported, but no kernel is compiled)."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def interpret_without_cuda() -> None:
    """On a machine without CUDA, ask for Triton's interpreter (unless ``TRITON_INTERPRET`` is set).

    It must run before anything imports Triton: Triton fixes "interpreted or
    compiled" on its first import, and torch imports it on the way
    (``torch._dynamo``). ``load_triton``, the batch grader and the tests call it.
    """
    if not torch.cuda.is_available():
        os.environ.setdefault("TRITON_INTERPRET", "1")


def load_triton():
    """Import Triton (interpreted on a machine without CUDA) and return ``(triton, triton.language)``."""
    global INTERPRET
    interpret_without_cuda()
    try:
        import triton
        import triton.language as tl
    except ImportError as exc:
        raise ImportError(
            f"attn_edu.gpu runs its kernels with Triton, which is not installed: {INSTALL_HINT}. "
            f"The reference modules (attn_edu.create(name, channels)) need no Triton."
        ) from exc
    INTERPRET = os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")
    return triton, tl


def check_device(who: str, x: torch.Tensor) -> None:
    """Compiled kernels need CUDA tensors; the interpreter takes CPU tensors too."""
    if x.device.type != "cuda" and not INTERPRET and COMPILE_ONLY_MULTIPROCESSORS is None:
        raise ValueError(
            f"{who}: the Triton kernels run on CUDA tensors; got a tensor on {x.device}. "
            f"Without a GPU they run in Triton's interpreter: set TRITON_INTERPRET=1 "
            f"before the first kernel call (attn_edu.gpu does this itself when CUDA is absent)."
        )


def as_bcp(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, P), P = H * W, a view for NCHW and channels_last; (B, C, L) as is."""
    return t.flatten(2) if t.dim() == 4 else t


def small(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A gate, threshold or statistic handed to a kernel: contiguous, in the accumulation dtype."""
    return t.detach().to(acc_dtype(like)).contiguous()


def acc_dtype(x: torch.Tensor) -> torch.dtype:
    """Kernels accumulate in float32 (float64 for float64 inputs, so gradcheck can run)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def tl_acc(x: torch.Tensor):
    """The Triton spelling of ``acc_dtype(x)``, passed to kernels as a constexpr."""
    import triton.language as tl

    return tl.float64 if x.dtype == torch.float64 else tl.float32


def pow2(n: int) -> int:
    """The smallest power of two >= n (block sizes must be powers of two)."""
    return 1 << max(0, math.ceil(math.log2(max(n, 1))))


def multiprocessors(device: torch.device) -> int | None:
    """Streaming multiprocessors of the GPU that will run the kernels; None in the interpreter."""
    if COMPILE_ONLY_MULTIPROCESSORS is not None:
        return COMPILE_ONLY_MULTIPROCESSORS
    if device.type != "cuda":
        return None
    return torch.cuda.get_device_properties(device).multi_processor_count


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def tile(x3: torch.Tensor, elements: int = 2048) -> tuple[int, int]:
    """(BLOCK_C, BLOCK_P): the tile of channels x positions one program loads at a time.

    The tile is long along whichever axis is contiguous in memory, so that a
    warp reads consecutive addresses: positions for NCHW (up to 256), channels
    for channels_last (up to 128). The other side fills ``elements`` (2048,
    8 KB of float32: 16 values per thread of a 4-warp program).
    """
    _, c, p = x3.shape
    channels_contiguous = x3.stride(1) == 1 and c > 1 and not (x3.stride(2) == 1 and p > 1)
    if channels_contiguous:
        block_c = min(pow2(c), 128)
        block_p = min(pow2(p), max(1, elements // block_c))
    else:
        block_p = min(pow2(p), 256)
        block_c = min(pow2(c), max(1, elements // block_p))
    return block_c, block_p


def channel_loop_tile(x3: torch.Tensor) -> tuple[int, int]:
    """The tile of a kernel whose program owns BLOCK_P positions of one sample and loops over all C.

    Same shape rule as ``tile``, but on a GPU BLOCK_P shrinks (down to 16)
    until there are two programs per streaming multiprocessor: late ResNet
    stages have few positions (7 x 7 = 49) and many channels.
    """
    block_c, block_p = tile(x3)
    b, _, p = x3.shape
    sms = multiprocessors(x3.device)
    if sms is not None:
        want = 2 * sms
        while block_p > 16 and b * cdiv(p, block_p) < want:
            block_p //= 2
    return block_c, block_p


def splits(outer: int, length: int, block: int, device: torch.device) -> int:
    """How many programs share one reduction of ``length`` elements.

    A reduction over the H * W positions of each (sample, channel block) has
    only ``outer`` programs; with few of them (channels_last tiles, batch 1)
    most of a GPU would idle. Splitting each reduction over several programs,
    each writing a partial result that torch adds up (a (splits, B, C)
    tensor, at most 1 / (4 BLOCK_P) the size of x), gives the GPU about four
    programs per streaming multiprocessor. The interpreter runs programs one
    after another, so it gets one split.
    """
    if FORCE_SPLITS is not None:
        return max(1, min(FORCE_SPLITS, cdiv(length, block)))
    sms = multiprocessors(device)
    if sms is None:
        return 1
    want = cdiv(4 * sms, outer)
    return max(1, min(want, cdiv(length, 4 * block)))  # each program keeps >= 4 tiles of work
