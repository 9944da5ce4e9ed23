"""Train an attention network on real images, on one process or many: ``python -m attn_edu.train``.

    python -m attn_edu.train --data /data/imagenet --model resnet50 --attn se --out runs/se-resnet50
    torchrun --nproc_per_node=8 -m attn_edu.train --data /data/imagenet --model resnet50 --attn se
    attn-edu train --data object_in_clutter --model smallcnn --attn cbam --epochs 5 --batch-size 64 --lr-batch 64

The engine is PyTorch's own: ``torch.distributed`` with
DistributedDataParallel (DDP), started by ``torchrun``, which sets RANK,
WORLD_SIZE and LOCAL_RANK for every process. Without those variables the
same command trains in one process. Each process holds a copy of the model
and reads its own share of every epoch (``DistributedSampler``, reshuffled
with ``set_epoch``); after each backward pass DDP averages the gradients of
all processes (an all-reduce: NCCL between GPUs, gloo between CPU
processes), so one step on N processes with b images each is one step with
a batch of N x b. BatchNorm is the exception: each process normalises with
the statistics of its own b images unless ``--sync-bn`` converts the
BatchNorm layers to ``SyncBatchNorm`` (GPUs only).

Data: ``--data`` is a folder in the ImageFolder layout
(``train/<class>/*.jpg``, ``val/<class>/*.jpg``; PNG, JPEG, BMP, GIF, TIFF,
WebP) read with Pillow, or the name of an ``attn_edu.data`` set
(``attn_edu.data.available()``), generated on the fly. Images are augmented
by the functions of torchvision when it can be imported and by the few
Pillow functions below when it cannot (torchvision does not import beside
the CPU build of torch this project pins). The random choices of the
augmentation (crop box, flip) come from the seed, the epoch and the image's
index, never from a process's random state, so a run gives the same images
on any number of processes and data-loading workers, and after a resume.

The default recipe is the ImageNet recipe of the SE paper (Jie Hu, Li Shen,
Gang Sun. "Squeeze-and-Excitation Networks." CVPR 2018. arXiv:1709.01507;
Section 5, "Implementation", of the CVPR version, Section 6.1 of the journal
version), every value a flag:

- synchronous SGD, momentum 0.9, mini-batch 1024 (``--batch-size``,
  the global batch over all processes);
- learning rate 0.6, divided by 10 every 30 epochs, for 100 epochs
  (``--lr``, ``--lr-step``, ``--lr-gamma``, ``--epochs``). ``--lr`` is the
  rate for a global batch of ``--lr-batch`` (1024) images and is scaled
  linearly with the global batch you choose: 0.15 at batch 256;
- training images: a random crop "using scale and aspect ratio", i.e. the
  random-size crop of the Inception networks, 8% to 100% of the area and
  aspect ratio 3/4 to 4/3 (``--crop-scale``, ``--crop-ratio``), resized to
  224 x 224 (``--image-size``), and a random horizontal flip (``--no-flip``
  turns it off); validation: shorter side resized to 256 (``--resize``),
  centre crop 224 x 224;
- "mean RGB-channel subtraction" (``--mean``); the paper divides by nothing,
  so ``--std`` defaults to 1 1 1 (pass ``--std 0.229 0.224 0.225`` for
  torchvision's convention);
- weights initialised with the "MSRA" (Kaiming) scheme of the ResNet
  authors, which the ResNets of ``attn_edu.models`` already use.

Where the paper is silent we chose: weight decay 1e-4 (``--weight-decay``;
the value of the ResNet paper), no warm-up, no label smoothing, no Nesterov
momentum, pixel values scaled to [0, 1] before the mean is subtracted. The
CVPR version also balances the classes in each mini-batch; we sample
uniformly, as the journal version describes.

On a GPU: bfloat16 autocast (``--no-amp`` turns it off), channels_last
memory format, ``--compile`` for ``torch.compile`` and ``--backend triton``
for the fused attention kernels of ``attn_edu.gpu``.

Output (rank 0 only): ``--out``/checkpoint.pt after every epoch (written to
a temporary file, then renamed, so a crash never leaves half a checkpoint),
log.csv (epoch, train_loss, val_loss, top1, top5, lr, seconds),
learning_curve.png and model.pt (the final weights) at the end.
``--resume`` continues from checkpoint.pt exactly: model, optimiser,
scheduler, epoch, the sampler's order and the random states of every
process, so an interrupted run ends with the weights of an uninterrupted one.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset

# The SE paper's ImageNet recipe (Hu et al. 2018, Section 5), see the module docstring.
SE_RECIPE = {
    "epochs": 100,
    "batch_size": 1024,
    "lr": 0.6,
    "lr_batch": 1024,
    "lr_step": 30,
    "lr_gamma": 0.1,
    "momentum": 0.9,
    "weight_decay": 1e-4,  # not in the paper: the ResNet paper's value
    "image_size": 224,
    "resize": 256,
    "crop_scale": (0.08, 1.0),
    "crop_ratio": (3 / 4, 4 / 3),
    "mean": (0.485, 0.456, 0.406),  # ImageNet's mean RGB value, pixels in [0, 1]
    "std": (1.0, 1.0, 1.0),  # the paper subtracts the mean only
}

MODELS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d", "smallcnn", "signalcnn1d")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "top1", "top5", "lr", "seconds")


class TrainError(ValueError):
    """A problem with what the user asked for; the message says what was expected and what came."""


# ----------------------------------------------------------------- processes


class Processes:
    """Who this process is among the ones torchrun started (or the only one).

    ``rank`` numbers the processes 0 .. ``world_size`` - 1 over all
    machines; ``local_rank`` numbers them on this machine and picks its GPU.
    """

    def __init__(self, device: str = "auto"):
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
        if use_cuda and not torch.cuda.is_available():
            raise TrainError("--device cuda was asked for, but torch sees no CUDA GPU on this machine")
        if use_cuda:
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        self.distributed = self.world_size > 1
        if self.distributed and not dist.is_initialized():
            # torchrun has set MASTER_ADDR and MASTER_PORT: the env:// rendezvous.
            dist.init_process_group("nccl" if use_cuda else "gloo")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def sum(self, values: list[float]) -> list[float]:
        """The element-wise sum of ``values`` over all processes (an all-reduce)."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        if self.distributed:
            dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor.tolist()

    def gather(self, value) -> list:
        """``value`` of every process, in rank order (any picklable object)."""
        if not self.distributed:
            return [value]
        gathered = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


# ----------------------------------------------------------------- images


def _torchvision_functional():
    """torchvision.transforms.functional, or None where torchvision does not import."""
    try:
        from torchvision.transforms import functional
    except Exception:  # not installed, or built for another torch
        return None
    return functional


def random_crop_box(width: int, height: int, scale, ratio, rng: random.Random) -> tuple[int, int, int, int]:
    """(left, top, crop width, crop height) of a random-size crop (the Inception crop).

    The crop covers a fraction of the image's area drawn uniformly from
    ``scale`` and has an aspect ratio (width / height) drawn log-uniformly
    from ``ratio``. Ten tries; then the largest centred crop within the ratios.
    """
    area = width * height
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(log_low, log_high))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, width - w), rng.randint(0, height - h), w, h
    aspect = width / height
    if aspect < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif aspect > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


class ImageTransform:
    """PIL image -> normalised (3, size, size) tensor; random-size crop and flip when ``train``.

    ``rng`` supplies every random choice, so the caller decides where the
    randomness comes from (here: the seed, the epoch and the image's index).
    """

    def __init__(self, train: bool, size: int, resize: int, scale, ratio, flip: bool, mean, std):
        self.train, self.size, self.resize = train, size, resize
        self.scale, self.ratio, self.flip = tuple(scale), tuple(ratio), flip
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
        self.tv = _torchvision_functional()

    def __call__(self, image, rng: random.Random) -> torch.Tensor:
        from PIL import Image

        if self.train:
            left, top, w, h = random_crop_box(image.width, image.height, self.scale, self.ratio, rng)
            flip = self.flip and rng.random() < 0.5
            if self.tv is not None:
                image = self.tv.resized_crop(image, top, left, h, w, [self.size, self.size], antialias=True)
                image = self.tv.hflip(image) if flip else image
            else:
                box = (left, top, left + w, top + h)
                image = image.resize((self.size, self.size), Image.BILINEAR, box=box)
                image = image.transpose(Image.FLIP_LEFT_RIGHT) if flip else image
        elif self.tv is not None:
            image = self.tv.center_crop(self.tv.resize(image, self.resize, antialias=True), [self.size, self.size])
        else:
            factor = self.resize / min(image.width, image.height)  # shorter side -> resize
            image = image.resize((round(image.width * factor), round(image.height * factor)), Image.BILINEAR)
            left, top = (image.width - self.size) // 2, (image.height - self.size) // 2
            image = image.crop((left, top, left + self.size, top + self.size))
        if self.tv is not None:
            x = self.tv.to_tensor(image)
        else:
            x = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
            x = x.view(image.height, image.width, 3).permute(2, 0, 1).float() / 255  # (H, W, 3) -> (3, H, W)
        return (x - self.mean) / self.std


def scan_split(root: Path, split: str) -> tuple[list[str], list[tuple[Path, int]]]:
    """(class names, [(image path, class index)]) of ``root/split``, classes in sorted order."""
    folder = root / split
    if not folder.is_dir():
        raise TrainError(
            f"the image folder {root} has no {split}/ folder; expected {root}/{split}/<class>/<image> "
            f"(the ImageFolder layout: one folder per class, in train/ and val/)"
        )
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise TrainError(f"{folder} has no classes: expected one folder per class, {folder}/<class>/<image>")
    samples = []
    for index, name in enumerate(classes):
        images = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            suffixes = ", ".join(sorted(IMAGE_SUFFIXES))
            raise TrainError(f"class {name!r} in {folder} has no images (looked for {suffixes})")
        samples += [(path, index) for path in images]
    return classes, samples


class ImageFolder(Dataset):
    """The images of one split of an ImageFolder-layout folder, read with Pillow.

    ``epoch`` (set before each epoch) and ``seed`` seed the augmentation of
    each image, together with its index.
    """

    def __init__(self, samples: list[tuple[Path, int]], transform: ImageTransform, seed: int):
        self.samples, self.transform, self.seed = samples, transform, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        from PIL import Image, UnidentifiedImageError

        path, label = self.samples[index]
        try:
            with Image.open(path) as image:
                image = image.convert("RGB")
        except (OSError, UnidentifiedImageError, ValueError) as err:
            raise TrainError(f"cannot read the image {path}: {err}") from None
        rng = random.Random(f"{self.seed}-{self.epoch}-{index}")
        return self.transform(image, rng), label


def load_data(args) -> tuple[Dataset, Dataset, list[str], int]:
    """(train set, val set, class names, input channels) for ``--data``; checks the folder first."""
    from . import data

    if args.data in data.available() and not Path(args.data).exists():
        if args.data == "shapes_segmentation":
            raise TrainError("shapes_segmentation labels pixels, not images; attn_edu.train trains classifiers")
        train = data.make(args.data, n=args.synthetic_train, seed=args.seed)
        val = data.make(args.data, n=args.synthetic_val, seed=args.seed + 1)
        classes = [str(i) for i in range(train.num_classes)]
        return train, val, classes, train.x.shape[1]
    root = Path(args.data)
    if not root.is_dir():
        raise TrainError(
            f"--data {args.data!r} is neither a folder nor an attn_edu.data set; "
            f"expected a folder with train/<class>/ and val/<class>/, or one of {', '.join(data.available())}"
        )
    train_classes, train_samples = scan_split(root, "train")
    val_classes, val_samples = scan_split(root, "val")
    if train_classes != val_classes:
        only_train = sorted(set(train_classes) - set(val_classes))
        only_val = sorted(set(val_classes) - set(train_classes))
        raise TrainError(
            f"the classes of {root}/train and {root}/val differ: only in train: {only_train or 'none'}, "
            f"only in val: {only_val or 'none'}; both splits need the same class folders"
        )
    common = dict(size=args.image_size, scale=args.crop_scale, ratio=args.crop_ratio, mean=args.mean, std=args.std)
    train = ImageFolder(train_samples, ImageTransform(True, resize=args.resize, flip=args.flip, **common), args.seed)
    val = ImageFolder(val_samples, ImageTransform(False, resize=args.resize, flip=False, **common), args.seed)
    return train, val, train_classes, 3


# ----------------------------------------------------------------- the model


def build_model(args, num_classes: int, in_channels: int) -> nn.Module:
    """The network of ``--model`` with ``--attn``, its weights seeded by ``--seed``."""
    from . import available, models

    attn = None if args.attn in (None, "none") else args.attn
    if attn is not None and attn.lower().replace("_", "-") not in available():
        raise TrainError(f"unknown --attn {args.attn!r}; expected none or one of {', '.join(available())}")
    torch.manual_seed(args.seed)  # the same initial weights in every process
    try:
        if args.model == "smallcnn":
            return models.SmallCNN(in_channels, num_classes, width=args.width, depth=args.depth, attn=attn)
        if args.model == "signalcnn1d":
            return models.SignalCNN1d(in_channels, num_classes, width=args.width, depth=args.depth, attn=attn)
        if in_channels != 3:
            raise TrainError(f"--model {args.model} takes RGB images (3 channels); --data {args.data} has {in_channels}")
        return getattr(models, args.model)(attn=attn, num_classes=num_classes)
    except TrainError:
        raise
    except ValueError as err:  # the models say which mechanisms they place (e.g. SK needs ResNeXt)
        raise TrainError(f"--model {args.model} --attn {args.attn}: {err}") from None


def freeze_batchnorm(model: nn.Module) -> None:
    """Put every BatchNorm layer in eval mode: normalise with the running statistics, not the batch's."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


# ----------------------------------------------------------------- checkpoints


def save_atomically(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename it: readers see the old file or the new."""
    temporary = path.with_name(path.name + ".tmp")
    torch.save(obj, temporary)
    os.replace(temporary, path)


def write_log(history: list[dict], path: Path) -> None:
    """The CSV log, rewritten whole (atomically) from the history."""
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=LOG_COLUMNS)
        writer.writeheader()
        writer.writerows(history)
    os.replace(temporary, path)


def random_states() -> dict:
    """This process's random states: Python's, torch's CPU generator and, where there is one, CUDA's."""
    states = {"python": random.getstate(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state()
    return states


def set_random_states(states: dict) -> None:
    random.setstate(states["python"])
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state(states["cuda"])


def model_identity(args, classes: list[str]) -> dict:
    """What a checkpoint must match to be resumed: the network and the classes it predicts."""
    identity = {"model": args.model, "attn": args.attn, "classes": list(classes)}
    if args.model in ("smallcnn", "signalcnn1d"):
        identity.update(width=args.width, depth=args.depth)
    return identity


def load_checkpoint(path: Path, identity: dict) -> dict:
    """The checkpoint at ``path``, after checking that it was written for the same network and classes."""
    if not path.is_file():
        raise TrainError(f"--resume: no checkpoint at {path}; train without --resume first, or check --out")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:
        raise TrainError(f"--resume: cannot read the checkpoint {path}: {err}") from None
    theirs = checkpoint.get("identity") if isinstance(checkpoint, dict) else None
    if theirs != identity:
        differ = [
            f"{key} {theirs.get(key)!r} there, {identity[key]!r} here" if isinstance(theirs, dict) else key
            for key in identity
            if not isinstance(theirs, dict) or theirs.get(key) != identity[key]
        ] or [
            f"{key} {theirs[key]!r} there, not set here" for key in theirs if key not in identity
        ]
        raise TrainError(
            f"--resume: {path} is a checkpoint of another model or data set ({'; '.join(differ)}); "
            f"resume with the same --model, --attn, --width, --depth and --data, or choose another --out"
        )
    return checkpoint


# ----------------------------------------------------------------- training


def check_batch(args, world_size: int) -> int:
    """The batch of one process: ``--batch-size`` (the global batch) shared by ``world_size`` processes."""
    if args.batch_size < world_size:
        raise TrainError(
            f"--batch-size {args.batch_size} is the global batch, shared by all processes; "
            f"it must be at least the number of processes ({world_size})"
        )
    if args.batch_size % world_size:
        raise TrainError(
            f"--batch-size {args.batch_size} does not split evenly over {world_size} processes; "
            f"use a multiple of {world_size}, e.g. {args.batch_size // world_size * world_size}"
        )
    return args.batch_size // world_size


def scaled_lr(args) -> float:
    """``--lr`` scaled linearly from a global batch of ``--lr-batch`` to ``--batch-size``."""
    return args.lr * args.batch_size / args.lr_batch


def evaluate(model: nn.Module, loader, procs: Processes, args, num_classes: int) -> tuple[float, float, float]:
    """(mean loss, top-1, top-5) over the whole validation set, summed over all processes."""
    model.eval()
    k = min(5, num_classes)
    totals = [0.0, 0.0, 0.0, 0.0]  # loss sum, top-1 hits, top-k hits, images
    with torch.no_grad():
        for x, y in loader:
            x, y = to_device(x, y, procs, args)
            with autocast(procs, args):
                logits = model(x)
            loss = nn.functional.cross_entropy(logits.float(), y, reduction="sum")
            best = logits.topk(k, dim=1).indices  # (B, num_classes) -> (B, k)
            hits = best == y[:, None]
            totals = [a + b for a, b in zip(totals, (loss.item(), hits[:, 0].sum().item(), hits.any(1).sum().item(), len(y)))]
    loss, top1, top5, count = procs.sum(totals)
    return loss / count, top1 / count, top5 / count


def to_device(x, y, procs: Processes, args):
    x = x.to(procs.device, non_blocking=True)
    if args.channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(procs.device, non_blocking=True)


def autocast(procs: Processes, args):
    """bfloat16 autocast on a GPU (unless --no-amp); a no-op on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=procs.device.type == "cuda" and args.amp)


def plot_learning_curve(history: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
    left.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    left.plot(epochs, [row["val_loss"] for row in history], marker="o", label="val")
    left.set(xlabel="epoch", ylabel="loss (cross-entropy)", title="Loss")
    left.legend()
    right.plot(epochs, [100 * row["top1"] for row in history], marker="o", label="top-1")
    right.plot(epochs, [100 * row["top5"] for row in history], marker="o", label="top-5")
    right.set(xlabel="epoch", ylabel="val accuracy (%)", title="Validation accuracy", ylim=(0, 101))
    right.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(args) -> None:
    """Check everything, then train; raises TrainError (before writing anything) on bad input."""
    procs = Processes(args.device)
    try:
        _train(args, procs)
    finally:
        procs.close()


def _train(args, procs: Processes) -> None:
    local_batch = check_batch(args, procs.world_size)
    if args.sync_bn and procs.distributed and procs.device.type != "cuda":
        raise TrainError("--sync-bn needs GPUs: PyTorch's SyncBatchNorm does not run on the CPU")
    if args.backend == "triton" and procs.device.type != "cuda":
        raise TrainError("--backend triton runs the fused kernels of attn_edu.gpu on a CUDA GPU; none is in use here")
    train_set, val_set, classes, in_channels = load_data(args)
    out = Path(args.out)
    checkpoint_path = out / "checkpoint.pt"
    identity = model_identity(args, classes)
    checkpoint = load_checkpoint(checkpoint_path, identity) if args.resume else None
    if not args.resume and checkpoint_path.exists():
        raise TrainError(f"{out} already holds a run (checkpoint.pt); pass --resume to continue it, or choose another --out")

    net = build_model(args, len(classes), in_channels)
    if args.backend == "triton":
        from . import gpu

        try:
            net = gpu.fuse_model(net)
        except ValueError as err:
            raise TrainError(f"--backend triton: {err}") from None
    if args.sync_bn and procs.distributed:
        net = nn.SyncBatchNorm.convert_sync_batchnorm(net)
    net = net.to(procs.device)
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(
        net.parameters(), lr=scaled_lr(args), momentum=args.momentum, weight_decay=args.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.StepLR(optimiser, step_size=args.lr_step, gamma=args.lr_gamma)
    history, first_epoch = [], 1
    if checkpoint is not None:
        net.load_state_dict(checkpoint["model"])
        optimiser.load_state_dict(checkpoint["optimiser"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        history, first_epoch = checkpoint["history"], checkpoint["epoch"] + 1
        if len(checkpoint["random_states"]) == procs.world_size:
            set_random_states(checkpoint["random_states"][procs.rank])
        elif procs.is_main:
            print(
                f"attn-edu train: the checkpoint was written by {len(checkpoint['random_states'])} processes, "
                f"this run has {procs.world_size}: the sampler's shares differ, so the run will not repeat exactly",
                file=sys.stderr,
            )
    model = nn.parallel.DistributedDataParallel(net, device_ids=[procs.local_rank] if procs.device.type == "cuda" else None) if procs.distributed else net
    if args.compile:
        model = torch.compile(model)

    # Every process reads its own share of the shuffled training set; the shares of an epoch
    # together are one permutation, fixed by --seed and the epoch (set_epoch).
    sampler = DistributedSampler(train_set, num_replicas=procs.world_size, rank=procs.rank, shuffle=True, seed=args.seed, drop_last=True)
    loader_options = dict(num_workers=args.workers, pin_memory=procs.device.type == "cuda", persistent_workers=False)
    train_loader = DataLoader(train_set, batch_size=local_batch, sampler=sampler, drop_last=True, **loader_options)
    val_share = Subset(val_set, range(procs.rank, len(val_set), procs.world_size))  # every image exactly once
    val_loader = DataLoader(val_share, batch_size=local_batch, shuffle=False, **loader_options)
    if len(train_loader) == 0:
        raise TrainError(
            f"the training set has {len(train_set)} images, fewer than one global batch of {args.batch_size}; "
            f"lower --batch-size"
        )

    from tqdm.auto import tqdm

    title = f"{args.model}" + (f" + {args.attn}" if args.attn not in (None, "none") else "")
    for epoch in range(first_epoch, args.epochs + 1):
        started = time.monotonic()
        sampler.set_epoch(epoch)
        if hasattr(train_set, "epoch"):
            train_set.epoch = epoch
        model.train()
        if args.frozen_bn:
            freeze_batchnorm(model)
        lr = optimiser.param_groups[0]["lr"]
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{args.epochs}", disable=not procs.is_main or not args.progress, leave=False)
        loss_sum, seen = 0.0, 0
        for x, y in bar:
            x, y = to_device(x, y, procs, args)
            with autocast(procs, args):
                loss = nn.functional.cross_entropy(model(x).float(), y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()  # DDP averages the gradients of all processes here
            optimiser.step()
            loss_sum, seen = loss_sum + loss.item() * len(y), seen + len(y)
            bar.set_postfix(loss=f"{loss.item():.3f}")
        scheduler.step()
        train_sum, train_count = procs.sum([loss_sum, seen])
        val_loss, top1, top5 = evaluate(model, val_loader, procs, args, len(classes))
        seconds = procs.sum([time.monotonic() - started])[0] / procs.world_size
        history.append(
            {"epoch": epoch, "train_loss": train_sum / train_count, "val_loss": val_loss,
             "top1": top1, "top5": top5, "lr": lr, "seconds": round(seconds, 3)}
        )
        states = procs.gather(random_states())  # every process's, so each resumes its own
        if procs.is_main:
            out.mkdir(parents=True, exist_ok=True)  # only now: a run that fails earlier leaves nothing behind
            save_atomically(
                {"identity": identity, "epoch": epoch, "model": net.state_dict(), "optimiser": optimiser.state_dict(),
                 "scheduler": scheduler.state_dict(), "history": history, "random_states": states,
                 "args": vars(args)},
                checkpoint_path,
            )
            write_log(history, out / "log.csv")
            row = history[-1]
            print(
                f"epoch {epoch}/{args.epochs}: train loss {row['train_loss']:.4f}, val loss {row['val_loss']:.4f}, "
                f"top-1 {100 * top1:.2f}%, top-5 {100 * top5:.2f}%, lr {lr:.4g}, {seconds:.1f} s",
                flush=True,
            )
        if args.stop_after_epoch is not None and epoch >= args.stop_after_epoch and epoch < args.epochs:
            if procs.is_main:
                print(f"stopped after epoch {epoch} (--stop-after-epoch); continue with --resume", flush=True)
            return
    if procs.is_main:
        save_atomically(net.state_dict(), out / "model.pt")
        plot_learning_curve(history, out / "learning_curve.png", f"{title}: {len(history)} epochs on {procs.world_size} process(es)")
        print(f"wrote {out / 'model.pt'}, {out / 'log.csv'}, {out / 'learning_curve.png'}", flush=True)


# ----------------------------------------------------------------- the command line


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``attn-edu train`` / ``python -m attn_edu.train``."""
    r = SE_RECIPE
    parser.add_argument("--data", required=True, help="an ImageFolder folder (train/<class>/, val/<class>/) or an attn_edu.data set name")
    parser.add_argument("--model", choices=MODELS, default="resnet50", help="network (default: resnet50); SKNet-50 is --model resnext50_32x4d --attn sk")
    parser.add_argument("--attn", default="se", help="attention mechanism, a name from attn_edu.available(), or none (default: se)")
    parser.add_argument("--width", type=_positive_int, default=16, help="smallcnn/signalcnn1d: channels of the first block (default: 16)")
    parser.add_argument("--depth", type=_positive_int, default=3, help="smallcnn/signalcnn1d: number of blocks (default: 3)")
    parser.add_argument("--out", default="runs/train", help="folder for checkpoint.pt, log.csv, learning_curve.png, model.pt (default: runs/train)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint.pt")
    recipe = parser.add_argument_group("recipe (defaults: the SE paper's ImageNet recipe, Hu et al. 2018, Section 5)")
    recipe.add_argument("--epochs", type=_positive_int, default=r["epochs"], help=f"epochs (default: {r['epochs']})")
    recipe.add_argument("--batch-size", type=_positive_int, default=r["batch_size"], help=f"global batch over all processes (default: {r['batch_size']})")
    recipe.add_argument("--lr", type=float, default=r["lr"], help=f"learning rate at a global batch of --lr-batch (default: {r['lr']})")
    recipe.add_argument("--lr-batch", type=_positive_int, default=r["lr_batch"], help=f"the batch --lr is for; the rate is scaled by batch-size / lr-batch (default: {r['lr_batch']})")
    recipe.add_argument("--lr-step", type=_positive_int, default=r["lr_step"], help=f"multiply the rate by --lr-gamma every this many epochs (default: {r['lr_step']})")
    recipe.add_argument("--lr-gamma", type=float, default=r["lr_gamma"], help=f"(default: {r['lr_gamma']})")
    recipe.add_argument("--momentum", type=float, default=r["momentum"], help=f"SGD momentum (default: {r['momentum']})")
    recipe.add_argument("--weight-decay", type=float, default=r["weight_decay"], help=f"(default: {r['weight_decay']}; the paper does not say, this is the ResNet paper's)")
    recipe.add_argument("--image-size", type=_positive_int, default=r["image_size"], help=f"crop side in pixels (default: {r['image_size']})")
    recipe.add_argument("--resize", type=_positive_int, default=r["resize"], help=f"validation: shorter side before the centre crop (default: {r['resize']})")
    recipe.add_argument("--crop-scale", type=float, nargs=2, default=r["crop_scale"], metavar=("LOW", "HIGH"), help="random-size crop: fraction of the area (default: 0.08 1.0)")
    recipe.add_argument("--crop-ratio", type=float, nargs=2, default=r["crop_ratio"], metavar=("LOW", "HIGH"), help="random-size crop: aspect ratio (default: 3/4 4/3)")
    recipe.add_argument("--no-flip", dest="flip", action="store_false", help="no random horizontal flip")
    recipe.add_argument("--mean", type=float, nargs=3, default=r["mean"], help="subtracted per RGB channel, pixels in [0, 1] (default: ImageNet's mean)")
    recipe.add_argument("--std", type=float, nargs=3, default=r["std"], help="divided per channel after (default: 1 1 1: the paper subtracts the mean only)")
    recipe.add_argument("--seed", type=int, default=0, help="initial weights, shuffling and augmentation (default: 0)")
    run = parser.add_argument_group("processes and devices")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="default: a GPU where there is one")
    run.add_argument("--workers", type=int, default=4, help="data-loading processes per training process (default: 4)")
    run.add_argument("--sync-bn", action="store_true", help="BatchNorm statistics over the batches of all processes (SyncBatchNorm, GPUs only)")
    run.add_argument("--frozen-bn", action="store_true", help="BatchNorm in eval mode: normalise with running statistics, none from the batch")
    run.add_argument("--no-amp", dest="amp", action="store_false", help="on a GPU: float32 instead of bfloat16 autocast")
    run.add_argument("--no-channels-last", dest="channels_last", action="store_false", help="on a GPU: keep NCHW memory format")
    run.add_argument("--compile", action="store_true", help="torch.compile the model")
    run.add_argument("--backend", choices=("reference", "triton"), default="reference", help="attention modules: readable PyTorch, or attn_edu.gpu's fused Triton kernels")
    run.add_argument("--synthetic-train", type=_positive_int, default=2000, help="images in an attn_edu.data training set (default: 2000)")
    run.add_argument("--synthetic-val", type=_positive_int, default=500, help="images in an attn_edu.data validation set (default: 500)")
    run.add_argument("--stop-after-epoch", type=_positive_int, default=None, help="stop after this epoch, as if interrupted (to try --resume)")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def run(args) -> int:
    """Train; a bad input is reported in one line and exits with status 2."""
    if not torch.cuda.is_available() or args.device == "cpu":
        args.channels_last = False  # a GPU layout; on the CPU it only costs copies
    try:
        train(args)
    except TrainError as err:
        print(f"attn-edu train: {err}", file=sys.stderr)
        return 2
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m attn_edu.train",
        description="Train an attn_edu network on an image folder or an attn_edu.data set, on one process or under "
        "torchrun with DistributedDataParallel. Defaults: the SE paper's ImageNet recipe (Hu et al. 2018, Section 5).",
    )
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
