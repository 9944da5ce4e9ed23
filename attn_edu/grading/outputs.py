"""What a submission's process sends back: framed, size-bounded, untrusted data.

Everything the sandboxed process writes is written, or could have been
rewritten, by the student's code: it runs in the same process as the runner
that reports on it. So the grader treats it as data to validate, never as
code and never as a verdict:

- no pickle (unpickling runs code): a frame is a JSON document in which every
  tensor is replaced by ``{"__tensor__": offset, "nbytes", "dtype", "shape"}``,
  followed by the tensors' bytes; reading needs only ``json`` and
  ``torch.frombuffer``;
- sizes are bounded: the grader keeps at most ``MAX_BYTES`` of frames, and a
  frame that declares more than is there is malformed;
- ``parse`` returns the frames it could read and, at the first malformed
  one, a problem in words; the grader then checks every field of every
  record it uses (``batch.Grader``), and a forged record can only claim
  outcomes that are compared with the reference outside the sandbox.

A frame, on the wire::

    b"AEF1" | json length (4 bytes, little-endian) | blob length (8 bytes) | json | blob
"""

from __future__ import annotations

import json
import math
import os
import struct
from typing import Any

import torch

MAGIC = b"AEF1"
HEADER = struct.Struct("<4sIQ")
MAX_BYTES = 256 * 2**20  # all frames of one submission
MAX_JSON = 8 * 2**20  # the JSON part of one frame
MAX_DEPTH = 24
DTYPES = {
    str(d): d
    for d in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int16,
        torch.int8,
        torch.uint8,
        torch.bool,
        torch.complex64,
        torch.complex128,
    )
}


def _encode(obj: Any, blobs: list[bytes], offset: list[int]) -> Any:
    if isinstance(obj, torch.Tensor):
        t = obj.detach().to("cpu").contiguous()
        if str(t.dtype) not in DTYPES:
            t = t.to(torch.float64)
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        entry = {"__tensor__": offset[0], "nbytes": len(data), "dtype": str(t.dtype), "shape": list(t.shape)}
        blobs.append(data)
        offset[0] += len(data)
        return entry
    if isinstance(obj, dict):
        return {str(k): _encode(v, blobs, offset) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_encode(v, blobs, offset) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return repr(obj)


def frame(obj: Any) -> bytes:
    """One frame holding ``obj`` (dicts, lists, numbers, strings, tensors)."""
    blobs: list[bytes] = []
    document = json.dumps(_encode(obj, blobs, [0])).encode("utf-8")
    blob = b"".join(blobs)
    return HEADER.pack(MAGIC, len(document), len(blob)) + document + blob


def write_frame(fd: int, obj: Any) -> None:
    """Send one frame down the file descriptor ``fd`` (used inside the sandbox)."""
    view = memoryview(frame(obj))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _decode(obj: Any, data: memoryview, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            start, nbytes = obj["__tensor__"], obj.get("nbytes")
            dtype, shape = DTYPES.get(obj.get("dtype")), obj.get("shape")
            if not (isinstance(start, int) and isinstance(nbytes, int) and dtype is not None and isinstance(shape, list)):
                raise ValueError("a malformed tensor entry")
            if not all(isinstance(s, int) and s >= 0 for s in shape) or len(shape) > 16:
                raise ValueError("a malformed tensor shape")
            if start < 0 or nbytes < 0 or start + nbytes > len(data):
                raise ValueError("tensor data out of range")
            itemsize = torch.empty((), dtype=dtype).element_size()
            if nbytes != math.prod(shape) * itemsize:
                raise ValueError("tensor size does not match its shape")
            if nbytes == 0:
                return torch.empty(shape, dtype=dtype)
            flat = torch.frombuffer(bytearray(data[start : start + nbytes]), dtype=dtype)
            return flat.reshape(shape)
        if "__float__" in obj and len(obj) == 1:
            if obj["__float__"] not in ("nan", "inf", "-inf"):
                raise ValueError("a malformed special float")
            return float(obj["__float__"])
        return {k: _decode(v, data, depth + 1) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, data, depth + 1) for v in obj]
    return obj


def parse(raw: bytes) -> tuple[list[Any], str | None]:
    """The frames in ``raw``, in order, and the problem that stopped reading (or None)."""
    records: list[Any] = []
    view = memoryview(raw)
    position = 0
    while position < len(view):
        if len(view) - position < HEADER.size:
            return records, f"a frame cut off after {len(view) - position} bytes"
        magic, json_length, blob_length = HEADER.unpack_from(view, position)
        if magic != MAGIC:
            return records, f"bytes that are not a frame at offset {position}"
        if json_length > MAX_JSON:
            return records, f"a frame declaring {json_length} bytes of JSON (at most {MAX_JSON})"
        start = position + HEADER.size
        end = start + json_length + blob_length
        if end > len(view):
            return records, "a frame longer than the data that arrived"
        try:
            document = json.loads(bytes(view[start : start + json_length]).decode("utf-8"))
            records.append(_decode(document, view[start + json_length : end]))
        except (ValueError, RecursionError, UnicodeDecodeError, OverflowError, RuntimeError) as exc:
            return records, f"a malformed frame ({type(exc).__name__}: {str(exc)[:120]})"
        position = end
    return records, None
