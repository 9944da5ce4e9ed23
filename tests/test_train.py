"""attn_edu.train: DistributedDataParallel under torchrun, on the CPU with gloo.

The tests write a small ImageFolder of PNG files drawn from
``attn_edu.data.object_in_clutter`` and start ``torchrun --standalone
--nproc_per_node=2`` on it, as a reader would on a machine with two GPUs:

- two processes train two epochs and the loss falls;
- one step of 2 processes x b images equals one step of 1 process x 2b;
- a run stopped after epoch 1, or killed in epoch 2, and resumed ends with
  the weights of an uninterrupted run;
- each bad input stops the run with an error that names it, before anything
  is written.
"""

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from attn_edu import data, train

ROOT = Path(__file__).resolve().parents[1]

# A tiny network and tiny images, so that most of the time goes into starting processes.
TINY = [
    "--model", "smallcnn", "--attn", "se", "--width", "16", "--depth", "2",
    "--image-size", "16", "--resize", "16", "--workers", "0", "--no-progress", "--device", "cpu",
]


def write_image_folder(root: Path, n_train: int = 512, n_val: int = 128, size: int = 16) -> Path:
    """train/<shape>/NNNN.png and val/<shape>/NNNN.png: grey 16 x 16 images of object_in_clutter."""
    for split, n, seed in (("train", n_train, 0), ("val", n_val, 1)):
        images = data.object_in_clutter(n=n, size=size, object_size=7, clutter=3, seed=seed)
        names = images.meta["shape_names"]
        pixels = ((images.x[:, 0] + 0.5) / 2).clamp(0, 1).mul(255).round().to(torch.uint8)  # (N, H, W)
        for i, (image, label) in enumerate(zip(pixels, images.y)):
            folder = root / split / names[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.numpy(), mode="L").save(folder / f"{i:04d}.png")
    return root


def torchrun(*args: str, processes: int = 2) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node=N -m attn_edu.train ARGS``; fails the test if it fails."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command += ["-m", "attn_edu.train", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread per process on a 2-core machine
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def read_log(out: Path) -> list[dict]:
    with open(out / "log.csv", newline="") as f:
        return list(csv.DictReader(f))


def assert_same_weights(first: Path, second: Path, **tolerance) -> None:
    a, b = torch.load(first, weights_only=True), torch.load(second, weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], **tolerance, msg=lambda m, key=key: f"{key}: {m}")


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory) -> Path:
    return write_image_folder(tmp_path_factory.mktemp("images"))


RECIPE = ["--epochs", "2", "--batch-size", "32", "--lr", "0.2", "--lr-batch", "32", "--crop-scale", "0.5", "1"]


@pytest.fixture(scope="module")
def two_process_run(image_folder, tmp_path_factory) -> Path:
    """Two processes, two epochs, uninterrupted."""
    out = tmp_path_factory.mktemp("runs") / "uninterrupted"
    torchrun("--data", str(image_folder), *TINY, *RECIPE, "--out", str(out))
    return out


# ----------------------------------------------------------------- training under torchrun


def test_two_processes_train_two_epochs_and_the_loss_falls(two_process_run):
    log = read_log(two_process_run)
    assert [row["epoch"] for row in log] == ["1", "2"]
    assert list(log[0]) == list(train.LOG_COLUMNS)
    losses = [float(row["train_loss"]) for row in log]
    assert losses[1] < losses[0] - 0.05, losses
    for row in log:
        assert 0 <= float(row["top1"]) <= float(row["top5"]) <= 1
        assert float(row["lr"]) == pytest.approx(0.2)  # 0.2 at a global batch of 32, as asked
    checkpoint = torch.load(two_process_run / "checkpoint.pt", weights_only=False)
    assert checkpoint["epoch"] == 2 and len(checkpoint["random_states"]) == 2  # one per process
    assert (two_process_run / "learning_curve.png").stat().st_size > 0
    assert not list(two_process_run.glob("*.tmp")), "temporary files were left behind"


def test_an_interrupted_run_resumed_ends_with_the_weights_of_an_uninterrupted_one(image_folder, two_process_run, tmp_path):
    out = tmp_path / "resumed"
    torchrun("--data", str(image_folder), *TINY, *RECIPE, "--out", str(out), "--stop-after-epoch", "1")
    assert torch.load(out / "checkpoint.pt", weights_only=False)["epoch"] == 1
    assert not (out / "model.pt").exists(), "a stopped run has no final weights yet"
    torchrun("--data", str(image_folder), *TINY, *RECIPE, "--out", str(out), "--resume")
    assert_same_weights(out / "model.pt", two_process_run / "model.pt")
    resumed, uninterrupted = read_log(out), read_log(two_process_run)
    for column in ("epoch", "train_loss", "val_loss", "top1", "top5", "lr"):
        assert [r[column] for r in resumed] == [r[column] for r in uninterrupted], column


def test_a_run_killed_in_its_second_epoch_resumed_ends_with_the_weights_of_an_uninterrupted_one(
    image_folder, two_process_run, tmp_path
):
    import signal
    import time

    out = tmp_path / "killed"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "attn_edu.train", "--data", str(image_folder), *TINY, *RECIPE, "--out", str(out)]
    run = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while not (out / "checkpoint.pt").exists() and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)  # the whole launch, both workers included, with no chance to clean up
    run.wait()
    assert torch.load(out / "checkpoint.pt", weights_only=False)["epoch"] == 1
    assert not (out / "model.pt").exists(), "the run finished its second epoch before it could be killed"
    torchrun("--data", str(image_folder), *TINY, *RECIPE, "--out", str(out), "--resume")
    assert_same_weights(out / "model.pt", two_process_run / "model.pt")


def test_two_processes_with_batch_b_take_the_step_of_one_process_with_batch_2b(image_folder, tmp_path):
    # 512 training images and a global batch of 512: exactly one optimiser step. With
    # --frozen-bn no layer uses batch statistics, so the averaged gradient of 2 x 256 images
    # is the gradient of the 512 together.
    one_step = ["--epochs", "1", "--batch-size", "512", "--lr", "0.2", "--lr-batch", "512", "--frozen-bn"]
    torchrun("--data", str(image_folder), *TINY, *one_step, "--out", str(tmp_path / "two"))
    assert train.main(["--data", str(image_folder), *TINY, *one_step, "--out", str(tmp_path / "one")]) == 0
    assert_same_weights(tmp_path / "two" / "model.pt", tmp_path / "one" / "model.pt", rtol=1e-5, atol=1e-6)
    before = train.build_model(train.build_parser().parse_args(["--data", "x", *TINY]), 4, 3).state_dict()
    after = torch.load(tmp_path / "one" / "model.pt", weights_only=True)
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"]), "the step changed nothing"


# ----------------------------------------------------------------- bad input


def run_in_process(tmp_path, capsys, *args: str) -> tuple[int, str, Path]:
    """(exit status, stderr, --out) of ``python -m attn_edu.train`` run in this process."""
    out = tmp_path / "out"
    status = train.main([*args, *TINY, "--out", str(out), "--batch-size", "2", "--epochs", "1"])
    return status, capsys.readouterr().err, out


@pytest.fixture(autouse=True)
def one_process(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)


def test_a_missing_folder_is_named(tmp_path, capsys):
    status, err, out = run_in_process(tmp_path, capsys, "--data", str(tmp_path / "nowhere"))
    assert status == 2 and "nowhere" in err and "neither a folder nor an attn_edu.data set" in err
    assert not out.exists()


def test_a_folder_without_val_is_named(tmp_path, capsys):
    (tmp_path / "images" / "train" / "cat").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(tmp_path / "images" / "train" / "cat" / "0.png")
    status, err, out = run_in_process(tmp_path, capsys, "--data", str(tmp_path / "images"))
    assert status == 2 and "has no val/ folder" in err and not out.exists()


def test_a_split_with_no_classes_is_named(tmp_path, capsys):
    write_image_folder(tmp_path / "images", n_train=8, n_val=4)
    for class_folder in (tmp_path / "images" / "val").iterdir():
        for image in class_folder.iterdir():
            image.unlink()
        class_folder.rmdir()
    status, err, out = run_in_process(tmp_path, capsys, "--data", str(tmp_path / "images"))
    assert status == 2 and f"{tmp_path / 'images' / 'val'} has no classes" in err and not out.exists()


def test_classes_that_differ_between_train_and_val_are_listed(tmp_path, capsys):
    write_image_folder(tmp_path / "images", n_train=8, n_val=4)
    (tmp_path / "images" / "val" / "ring").rename(tmp_path / "images" / "val" / "circle")
    status, err, out = run_in_process(tmp_path, capsys, "--data", str(tmp_path / "images"))
    assert status == 2 and "only in train: ['ring']" in err and "only in val: ['circle']" in err
    assert not out.exists()


def test_an_unreadable_image_is_named_and_nothing_is_written(tmp_path, capsys):
    write_image_folder(tmp_path / "images", n_train=8, n_val=4)
    broken = sorted((tmp_path / "images" / "train" / "cross").iterdir())[0]
    broken.write_bytes(b"not a PNG at all")
    status, err, out = run_in_process(tmp_path, capsys, "--data", str(tmp_path / "images"))
    assert status == 2 and f"cannot read the image {broken}" in err
    assert not out.exists()


def test_a_batch_smaller_than_the_number_of_processes_is_refused():
    with pytest.raises(train.TrainError, match=r"--batch-size 1 is the global batch.*at least the number of processes \(2\)"):
        train.check_batch(argparse.Namespace(batch_size=1), world_size=2)
    with pytest.raises(train.TrainError, match="does not split evenly over 4 processes"):
        train.check_batch(argparse.Namespace(batch_size=6), world_size=4)
    assert train.check_batch(argparse.Namespace(batch_size=1024), world_size=8) == 128


def test_a_checkpoint_of_another_model_is_refused(two_process_run):
    args = train.build_parser().parse_args(["--data", "x", *TINY, "--attn", "cbam"])
    classes = ["cross", "ring", "square", "x"]
    with pytest.raises(train.TrainError, match="another model.*attn 'se' there, 'cbam' here"):
        train.load_checkpoint(two_process_run / "checkpoint.pt", train.model_identity(args, classes))
    args.attn = "se"
    with pytest.raises(train.TrainError, match="classes"):
        train.load_checkpoint(two_process_run / "checkpoint.pt", train.model_identity(args, ["a", "b"]))
    assert train.load_checkpoint(two_process_run / "checkpoint.pt", train.model_identity(args, classes))["epoch"] == 2


def test_an_existing_run_is_not_overwritten_without_resume(two_process_run, image_folder, capsys):
    before = (two_process_run / "checkpoint.pt").stat().st_mtime_ns
    status = train.main(["--data", str(image_folder), *TINY, *RECIPE, "--out", str(two_process_run)])
    assert status == 2 and "pass --resume" in capsys.readouterr().err
    assert (two_process_run / "checkpoint.pt").stat().st_mtime_ns == before


def test_sync_bn_on_cpu_processes_is_refused(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(train.Processes, "__init__", _pretend_two_cpu_processes)
    status, err, out = run_in_process(tmp_path, capsys, "--data", "object_in_clutter", "--sync-bn")
    assert status == 2 and "--sync-bn needs GPUs" in err and not out.exists()


def _pretend_two_cpu_processes(self, device="auto"):
    self.world_size, self.rank, self.local_rank = 2, 0, 0
    self.device, self.distributed = torch.device("cpu"), True


# ----------------------------------------------------------------- pieces


def test_an_attn_edu_data_set_trains_by_name(tmp_path, capsys):
    args = ["--data", "object_in_clutter", "--synthetic-train", "64", "--synthetic-val", "16", "--batch-size", "16"]
    assert train.main([*args, *TINY, "--lr-batch", "16", "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    assert len(read_log(tmp_path / "run")) == 1


def test_the_random_size_crop_stays_inside_the_image_and_within_the_ratios():
    import random

    rng = random.Random(0)
    for width, height in [(64, 48), (16, 16), (300, 20)]:
        for _ in range(200):
            left, top, w, h = train.random_crop_box(width, height, (0.08, 1.0), (3 / 4, 4 / 3), rng)
            assert 0 <= left and left + w <= width and 0 <= top and top + h <= height and w > 0 and h > 0


def test_validation_images_are_resized_then_centre_cropped():
    transform = train.ImageTransform(False, size=8, resize=10, scale=(0.08, 1), ratio=(0.75, 4 / 3), flip=False,
                                     mean=(0, 0, 0), std=(1, 1, 1))
    image = Image.new("RGB", (40, 20), (255, 0, 0))  # shorter side 20 -> 10, i.e. 20 x 10, then 8 x 8
    x = transform(image, rng=None)
    assert x.shape == (3, 8, 8)
    torch.testing.assert_close(x[0], torch.ones(8, 8))
    torch.testing.assert_close(x[1:], torch.zeros(2, 8, 8))


def test_the_default_recipe_is_the_se_papers():
    args = train.build_parser().parse_args(["--data", "x"])
    assert (args.epochs, args.batch_size, args.lr, args.momentum) == (100, 1024, 0.6, 0.9)
    assert (args.lr_step, args.lr_gamma, args.image_size, args.resize) == (30, 0.1, 224, 256)
    assert train.scaled_lr(args) == pytest.approx(0.6)
    args.batch_size = 256
    assert train.scaled_lr(args) == pytest.approx(0.15)
