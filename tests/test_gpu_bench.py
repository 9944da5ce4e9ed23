"""attn-edu bench: the plan of rows, the dry run, and the refusal without a GPU.

Nothing here measures anything: timing needs a CUDA GPU, which CI does not have.
"""

from __future__ import annotations

import csv

import pytest
import torch

from attn_edu import bench, gpu
from attn_edu.cli import main as cli_main
from attn_edu.profile import bytes_moved


def test_dry_run_plans_every_kernel_at_every_resnet50_stage_and_the_whole_model(capsys):
    assert bench.main(["--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    mechanisms, stages, batches, dtypes = len(gpu.available()), 4, 2, 2
    kernel_rows = mechanisms * stages * batches * dtypes  # 8 * 4 * 2 * 2 = 128
    model_rows = mechanisms * batches * dtypes  # 8 * 2 * 2 = 32
    assert lines[0] == f"{kernel_rows + model_rows} rows, each timed as: eager, compile, triton"
    rows = [line.split() for line in lines[2:]]
    assert len(rows) == kernel_rows + model_rows
    assert sum(r[0] == "kernel" for r in rows) == kernel_rows
    assert {r[1] for r in rows} == set(gpu.available())
    shapes = {" ".join(r[3:7]) for r in rows if r[0] == "kernel"}
    assert "(64, 256, 56, 56)" in shapes and "(256, 2048, 7, 7)" in shapes
    assert any(r[0] == "model" and " ".join(r[3:7]) == "(256, 3, 224, 224)" and r[7] == "bf16" for r in rows)


def test_planned_bytes_are_the_profile_minimum():
    rows = bench.plan(["se", "cbam", "sse"], [64], ["fp32", "bf16"], model=False)
    assert len(rows) == 3 * 4 * 2
    for row in rows:
        expected = bytes_moved(row["mechanism"], (64, row["channels"], row["height"], row["width"]),
                               bench.DTYPES[row["dtype"]])
        assert row["min_bytes"] == expected["bytes_total"]
    reads = {row["mechanism"]: row["passes_read"] for row in rows}
    assert reads == {"se": 2, "cbam": 3, "sse": 1}


def test_filters_choose_the_rows(capsys):
    assert bench.main(["--dry-run", "--mechanisms", "eca", "--batches", "64", "--dtypes", "bf16", "--no-model"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 rows") and "resnet50" not in out and "fp32" not in out


def test_the_attn_edu_command_has_a_bench_subcommand(capsys):
    assert cli_main(["bench", "--dry-run", "--model-only", "--mechanisms", "se"]) == 0
    assert capsys.readouterr().out.startswith("4 rows")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_without_cuda_it_says_so_and_fails(capsys):
    assert bench.main(["--mechanisms", "se", "--no-model"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_peak_bandwidth_by_device_name():
    assert bench.peak_for_device("NVIDIA H100 80GB HBM3") == (3350.0, "H100 SXM")
    assert bench.peak_for_device("NVIDIA H100 PCIe") == (2000.0, "H100 PCIe")
    assert bench.peak_for_device("NVIDIA H200") == (4800.0, "H200")
    assert bench.peak_for_device("NVIDIA H100 NVL") == (None, "")


def test_reports_have_every_column(tmp_path):
    """The Markdown and CSV writers, fed a planned row with placeholder timings (not measurements)."""
    row = bench.plan(["se"], [64], ["fp32"], model=False)[0]
    placeholder = {f"{i}_ms": 1.0 for i in bench.IMPLEMENTATIONS}
    placeholder.update({f"{i}_{k}": None for i in bench.IMPLEMENTATIONS for k in ("gbps", "pct_peak")})
    placeholder.update({k: 1.0 for k in bench.CSV_FIELDS if k.startswith("speedup")}, triton_max_rel_err=0.0)
    rows = [{**row, **placeholder}]
    bench.write_csv(rows, tmp_path / "bench.csv")
    with open(tmp_path / "bench.csv") as f:
        (written,) = list(csv.DictReader(f))
    assert list(written) == bench.CSV_FIELDS and written["mechanism"] == "se"
    text = bench.markdown(rows, ["# header"])
    assert "| se | layer1 | 64 x 256 x 56 x 56 | fp32 | 2 |" in text
