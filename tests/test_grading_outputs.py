"""Reading what a sandboxed run sends back: frames that parse, and frames that must not."""

from __future__ import annotations

import torch

from attn_edu.grading import outputs


def test_a_frame_round_trips_tensors_numbers_and_text():
    record = {"event": "answer", "outcomes": [{"output": torch.arange(6.0).reshape(2, 3), "error": None}],
              "nan": float("nan"), "flag": True}
    (back,), problem = outputs.parse(outputs.frame(record))
    assert problem is None
    assert torch.equal(back["outcomes"][0]["output"], record["outcomes"][0]["output"])
    assert back["flag"] is True and back["nan"] != back["nan"]


def test_reading_stops_at_the_first_malformed_frame_and_keeps_what_came_before():
    good = outputs.frame({"event": "start"})
    cases = {
        "not a frame": b"garbage",
        "cut off": outputs.frame({"event": "done"})[:-3],
        "lies about its size": outputs.HEADER.pack(outputs.MAGIC, 10**9, 0) + b"{}",
        "a tensor beyond its data": outputs.HEADER.pack(outputs.MAGIC, 63, 0)
        + b'{"__tensor__": 0, "nbytes": 8, "dtype": "torch.float32", "shape": [2]}'[:63],
    }
    for name, tail in cases.items():
        records, problem = outputs.parse(good + tail)
        assert records == [{"event": "start"}], name
        assert problem, name


def test_a_tensor_whose_shape_does_not_match_its_bytes_is_refused():
    document = b'{"__tensor__": 0, "nbytes": 8, "dtype": "torch.float32", "shape": [3]}'
    raw = outputs.HEADER.pack(outputs.MAGIC, len(document), 8) + document + bytes(8)
    records, problem = outputs.parse(raw)
    assert records == [] and "does not match its shape" in problem
