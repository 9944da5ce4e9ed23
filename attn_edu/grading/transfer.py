"""Hand plain data from the student's process to the grader: JSON plus raw tensor bytes.

The grader must not unpickle anything a student's process wrote (a pickle
can run code), and ``torch.load(weights_only=True)`` is safe but slow. So
the sandbox writes two things: a JSON document in which every tensor is
replaced by ``{"__tensor__": i, "dtype": ..., "shape": [...]}``, and one
binary blob with the tensors' bytes, one after another. Reading needs only
``json`` and ``torch.frombuffer``, and a malformed file is an error, never
code.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import torch

MAGIC = b"ATTNEDU1"
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
MAX_BYTES = 512 * 2**20


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


def dump(obj: Any, path: Path | str) -> None:
    """Write ``obj`` (dicts, lists, numbers, strings, tensors) to ``path`` atomically."""
    blobs: list[bytes] = []
    document = json.dumps(_encode(obj, blobs, [0])).encode("utf-8")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(document)) + document)
        for blob in blobs:
            f.write(blob)
    os.replace(tmp, path)


def _decode(obj: Any, data: memoryview) -> Any:
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            start, nbytes = int(obj["__tensor__"]), int(obj["nbytes"])
            dtype = DTYPES[obj["dtype"]]
            shape = [int(s) for s in obj["shape"]]
            if start < 0 or nbytes < 0 or start + nbytes > len(data):
                raise ValueError("tensor data out of range")
            if nbytes == 0:
                return torch.empty(shape, dtype=dtype)
            flat = torch.frombuffer(bytearray(data[start : start + nbytes]), dtype=dtype)
            return flat.reshape(shape)
        if "__float__" in obj and len(obj) == 1:
            return float(obj["__float__"])
        return {k: _decode(v, data) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v, data) for v in obj]
    return obj


def load(path: Path | str) -> Any:
    """Read what ``dump`` wrote; ``ValueError`` if the file is not such a file."""
    raw = Path(path).read_bytes()
    if len(raw) > MAX_BYTES:
        raise ValueError("result file too large")
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + 8:
        raise ValueError("not a result file")
    (length,) = struct.unpack("<Q", raw[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    if start + length > len(raw):
        raise ValueError("truncated result file")
    document = json.loads(raw[start : start + length].decode("utf-8"))
    return _decode(document, memoryview(raw)[start + length :])
