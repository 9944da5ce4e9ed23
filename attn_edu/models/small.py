"""CPU-sized networks for the book's experiments.

Each network takes ``attn=None`` or a registered name (see
``attn_edu.available()``) plus keyword arguments for ``attn_edu.create``, and
has an ``attention_modules()`` method that lists its attention modules in
forward order, for the "look inside" steps of the book.

- ``SmallCNN``: image classification on 16x16 to 32x32 inputs.
- ``SignalCNN1d``: classification of 1-D signals (B, C, L); with
  ``attn="drsn-cs"`` or ``"drsn-cw"`` it is a small deep residual shrinkage
  network (Zhao et al. 2020).
- ``SmallUNet``: segmentation, (B, C, H, W) -> (B, num_classes, H, W), with
  attention after every encoder, bottleneck and decoder block as Roy et al.
  (2018) place scSE.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .. import modules
from .._checks import _shape, check_feature_map, check_positive
from ..registry import create
from .resnet import attention_modules


def _check_sizes(who: str, **sizes: int) -> None:
    for name, value in sizes.items():
        check_positive(who, name, value)


class SmallCNN(nn.Module):
    """A plain CNN: ``depth`` blocks, global average pooling, a linear classifier.

    Block i has ``width * 2**i`` channels::

        conv3x3 - BN - ReLU - attention - maxpool 2x2 (not after the last block)

    The attention module sees the block's activated output at full
    resolution, before it is pooled, the same place for every mechanism so
    that they compare on equal terms. Two of them are not used quite as
    their papers use them: BAM, which Park et al. put only where a network
    downsamples, also follows the last block here; and SK, which in SKNet
    replaces a convolution, here adds one (an SK convolution after each
    block), so it makes the network deeper as well as attentive.

    With ``depth`` blocks the input is halved ``depth - 1`` times; H and W
    must be at least ``2 ** (depth - 1)``.

    Cost, measured on two CPU cores with the defaults, batches of 64: an
    epoch of 2,000 images of 32x32 takes about 1.5 s (SE), 2.5 s (CBAM),
    4 s (SK) and 20 s (non-local: after the first block it compares all
    1,024 positions with each other; ``subsample=True`` brings it to 8 s).
    At 16x16 every mechanism stays near or under a second.

    Args:
        in_channels: channels of the input images (3 for RGB).
        num_classes: outputs of the classifier.
        width: channels of the first block (doubled at every block).
        depth: number of blocks.
        attn: a registered mechanism name, or None.
        **attn_kwargs: passed to ``attn_edu.create`` for every module.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 32,
        depth: int = 3,
        attn: str | None = None,
        **attn_kwargs,
    ):
        super().__init__()
        self.who = f"SmallCNN(in_channels={in_channels}, depth={depth})"
        _check_sizes(self.who, in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        self.in_channels = in_channels
        self.depth = depth
        layers = OrderedDict()
        channels = in_channels
        for i in range(depth):
            out_channels = width * 2**i
            layers[f"block{i}"] = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(channels, out_channels, 3, padding=1, bias=False),
                    bn=nn.BatchNorm2d(out_channels),
                    relu=nn.ReLU(inplace=True),
                    attn=create(attn, out_channels, **attn_kwargs) if attn else nn.Identity(),
                )
            )
            if i < depth - 1:
                layers[f"pool{i}"] = nn.MaxPool2d(2)  # (B, C, H, W) -> (B, C, H/2, W/2)
            channels = out_channels
        self.features = nn.Sequential(layers)
        self.classifier = nn.Linear(channels, num_classes)

    def attention_modules(self) -> list[nn.Module]:
        """One attention module per block, first block first (empty for ``attn=None``)."""
        return attention_modules(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(self.who, self.in_channels, x)
        smallest = 2 ** (self.depth - 1)
        if min(x.shape[2:]) < smallest:
            raise ValueError(
                f"{self.who} halves the input {self.depth - 1} times, "
                f"so H and W must be at least {smallest}; got {_shape(x)}"
            )
        # (B, C_in, H, W) -> (B, width * 2**(depth-1), H / 2**(depth-1), W / 2**(depth-1))
        x = self.features(x)
        x = x.mean(dim=(2, 3))  # global average pool: (B, C, h, w) -> (B, C)
        return self.classifier(x)  # (B, C) -> (B, num_classes)


class On1d(nn.Module):
    """Run a module written for maps (B, C, H, W) on signals (B, C, L).

    The signal becomes a map of width one, (B, C, L) -> (B, C, L, 1), and
    back. Channel attention (SE, cSE, ECA) is unchanged by this. A k x k
    kernel over a width-one map is padded with zeros on both sides, so only
    its middle column ever meets data: CBAM's 7x7 spatial convolution acts
    as a 7-tap 1-D convolution (42 of its 49 weights never receive a
    gradient), and likewise the 3x3 kernels of BAM and SK.
    """

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x[..., None])[..., 0]  # (B, C, L) -> (B, C, L, 1) -> (B, C, L)


class ResidualUnit1d(nn.Module):
    """The residual shrinkage building unit (RSBU) with any attention in place of the shrinkage.

    Same layers as ``attn_edu.modules.ResidualShrinkageUnit`` with
    ``dims=1``: BN, ReLU, conv (stride), BN, ReLU, conv, then ``attn`` on the
    residual, then the identity (subsampled and zero-padded with channels,
    no parameters) is added. With ``attn=None`` it is the plain
    pre-activation residual unit, so a DRSN and its baseline differ only
    by the shrinkage.
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 1, attn: nn.Module | None = None, kernel_size: int = 3
    ):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"ResidualUnit1d: the zero-padded identity needs out_channels >= in_channels; "
                f"got {in_channels} -> {out_channels}"
            )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.residual = nn.Sequential(
            nn.BatchNorm1d(in_channels),
            nn.ReLU(),
            nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(),
            nn.Conv1d(out_channels, out_channels, kernel_size, padding=kernel_size // 2),
            attn if attn is not None else nn.Identity(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x[..., :: self.stride]  # (B, C_in, L) -> (B, C_in, ceil(L / stride))
        extra = self.out_channels - self.in_channels
        identity = F.pad(identity, [0, 0, extra // 2, extra - extra // 2])  # zero channels -> (B, C_out, ...)
        return self.residual(x) + identity  # (B, C_out, ceil(L / stride))


class SignalCNN1d(nn.Module):
    """A small residual network for signals (B, C, L), after Zhao et al. (2020).

    stem conv (k=3) -> ``depth`` residual units -> BN -> ReLU -> global
    average pool -> linear. Unit i has ``width * 2**i`` channels; every unit
    but the first halves the length (stride 2).

    - ``attn="drsn-cs"`` / ``"drsn-cw"``: the units are
      ``ResidualShrinkageUnit(..., dims=1)``, a DRSN-CS / DRSN-CW.
    - ``attn=None``: the same units without the shrinkage
      (``ResidualUnit1d``), the fair baseline.
    - any other mechanism: the same units with that module where the
      shrinkage would be, at the end of the residual branch. The 2-D modules
      run on the signal as a map of width one (see ``On1d``).

    ``attn_kwargs`` go to ``attn_edu.create``; for the DRSN variants they go
    to ``ResidualShrinkageUnit`` (for example ``kernel_size``).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 16,
        depth: int = 3,
        attn: str | None = None,
        **attn_kwargs,
    ):
        super().__init__()
        self.who = f"SignalCNN1d(in_channels={in_channels})"
        _check_sizes(self.who, in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        self.in_channels = in_channels
        key = attn.lower().replace("_", "-") if isinstance(attn, str) else attn
        self.stem = nn.Conv1d(in_channels, width, 3, padding=1, bias=False)  # (B, C_in, L) -> (B, width, L)
        units = []
        channels = width
        for i in range(depth):
            out_channels, stride = width * 2**i, (1 if i == 0 else 2)
            if key in ("drsn-cs", "drsn-cw"):
                unit = modules.ResidualShrinkageUnit(
                    channels, out_channels, stride, channel_wise=(key == "drsn-cw"), dims=1, **attn_kwargs
                )
            else:
                module = On1d(create(attn, out_channels, **attn_kwargs)) if attn else None
                unit = ResidualUnit1d(channels, out_channels, stride, attn=module)
            units.append(unit)
            channels = out_channels
        self.units = nn.Sequential(*units)
        self.head_norm = nn.BatchNorm1d(channels)  # the units are pre-activation: close with BN, ReLU
        self.classifier = nn.Linear(channels, num_classes)

    def attention_modules(self) -> list[nn.Module]:
        """One module per unit (the ``Shrinkage`` modules for DRSN), first unit first."""
        return attention_modules(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(self.who, self.in_channels, x, spatial="L")
        x = self.units(self.stem(x))  # (B, C_in, L) -> (B, width * 2**(depth-1), L / 2**(depth-1))
        x = torch.relu(self.head_norm(x)).mean(dim=2)  # global average pool: (B, C, l) -> (B, C)
        return self.classifier(x)  # (B, C) -> (B, num_classes)


def unet_block(in_channels: int, out_channels: int, attn: str | None, attn_kwargs: dict) -> nn.Sequential:
    """Two conv3x3-BN-ReLU, then the attention module: one U-Net block as Roy et al. (2018) extend it."""
    return nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),  # keeps H x W
            bn1=nn.BatchNorm2d(out_channels),
            relu1=nn.ReLU(inplace=True),
            conv2=nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            bn2=nn.BatchNorm2d(out_channels),
            relu2=nn.ReLU(inplace=True),
            attn=create(attn, out_channels, **attn_kwargs) if attn else nn.Identity(),
        )
    )


class SmallUNet(nn.Module):
    """A small U-Net (Ronneberger et al. 2015) with attention after every block.

    Roy et al. (2018) add scSE "after every encoder and decoder block" of
    U-Net, SD-Net and FC-DenseNet, the bottleneck included; here any
    mechanism goes there::

        encoder i = 0 .. depth-1:  block(width * 2**i) -> attention -> maxpool 2x2
                                   (the skip connection is taken before the pool)
        bottleneck:                block(width * 2**depth) -> attention
        decoder i = depth-1 .. 0:  up-convolution 2x2 -> concatenate the skip -> block(width * 2**i) -> attention
        head:                      1x1 convolution to num_classes

    where block = two conv3x3-BN-ReLU. ``2 * depth + 1`` attention modules in
    all. H and W must be divisible by ``2 ** depth``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 16,
        depth: int = 2,
        attn: str | None = None,
        **attn_kwargs,
    ):
        super().__init__()
        self.who = f"SmallUNet(in_channels={in_channels}, depth={depth})"
        _check_sizes(self.who, in_channels=in_channels, num_classes=num_classes, width=width, depth=depth)
        self.in_channels = in_channels
        self.depth = depth
        self.encoders = nn.ModuleList()
        channels = in_channels
        for i in range(depth):
            self.encoders.append(unet_block(channels, width * 2**i, attn, attn_kwargs))
            channels = width * 2**i
        self.pool = nn.MaxPool2d(2)
        self.bottleneck = unet_block(channels, width * 2**depth, attn, attn_kwargs)
        self.ups = nn.ModuleList()
        self.decoders = nn.ModuleList()
        for i in reversed(range(depth)):
            # (B, 2c, h, w) -> (B, c, 2h, 2w), then the skip (B, c, 2h, 2w) is concatenated -> (B, 2c, 2h, 2w)
            self.ups.append(nn.ConvTranspose2d(width * 2 ** (i + 1), width * 2**i, kernel_size=2, stride=2))
            self.decoders.append(unet_block(width * 2 ** (i + 1), width * 2**i, attn, attn_kwargs))
        self.head = nn.Conv2d(width, num_classes, 1)

    def attention_modules(self) -> list[nn.Module]:
        """Encoder modules (shallow to deep), the bottleneck's, then the decoder's (deep to shallow)."""
        return attention_modules(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(self.who, self.in_channels, x)
        factor = 2**self.depth
        if x.shape[2] % factor or x.shape[3] % factor:
            raise ValueError(
                f"{self.who} halves the map {self.depth} times, "
                f"so H and W must be divisible by {factor}; got {_shape(x)}"
            )
        skips = []
        for encoder in self.encoders:
            x = encoder(x)  # (B, c_in, h, w) -> (B, c, h, w)
            skips.append(x)
            x = self.pool(x)  # -> (B, c, h/2, w/2)
        x = self.bottleneck(x)  # (B, width * 2**(depth-1), H/f, W/f) -> (B, width * 2**depth, H/f, W/f)
        for up, decoder, skip in zip(self.ups, self.decoders, reversed(skips)):
            x = up(x)  # (B, 2c, h, w) -> (B, c, 2h, 2w)
            x = decoder(torch.cat([skip, x], dim=1))  # (B, 2c, 2h, 2w) -> (B, c, 2h, 2w)
        return self.head(x)  # (B, width, H, W) -> (B, num_classes, H, W)
