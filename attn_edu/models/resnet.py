"""ResNets with an attention module placed where its paper places it.

The backbone is torchvision's ResNet ("v1.5": in a bottleneck the stride sits
on the 3x3 convolution, not on the first 1x1), with the same attribute names
(``conv1``, ``bn1``, ``layer1`` ... ``layer4``, ``fc``; blocks with ``conv1``,
``bn1``, ``conv2``, ``bn2``, ``conv3``, ``bn3``, ``downsample``), so the two
can be printed side by side. With ``attn=None`` the parameter counts are
torchvision's: ResNet-18 11,689,512, ResNet-34 21,797,672, ResNet-50
25,557,032, ResNet-101 44,549,160 and ResNeXt-50 (32x4d) 25,028,904.

Where each mechanism goes (``attn=...``):

- ``"se"``, ``"cse"``, ``"sse"``, ``"scse"``, ``"cbam"``, ``"eca"``,
  ``"drsn-cs"``, ``"drsn-cw"``: inside every residual block, on the residual
  branch after its last BatchNorm and before the identity is added
  (Hu et al. 2018, Fig. 3; Woo et al. 2018, Fig. 3; Wang et al. 2020, Fig. 2;
  Zhao et al. 2020, Fig. 4)::

      out = attn(bn3(conv3(...)))     # the block's ``attn``
      out = out + identity
      out = relu(out)

  Roy et al. (2018) designed cSE/sSE/scSE for segmentation networks; in a
  ResNet they take SE's place.
- ``"bam"``: not inside blocks. One BAM at the end of stages 1, 2 and 3, i.e.
  after ``layer1``, ``layer2`` and ``layer3``, on their output channels; the
  attributes are ``bam1``, ``bam2``, ``bam3`` as in the official code (Park et
  al. 2018, Sec. 3: "at every bottleneck of the network", where the feature
  map is about to be downsampled).
- ``"nonlocal"``: whole non-local blocks inserted between residual blocks of
  ``layer2`` (res3) and ``layer3`` (res4), as Wang et al. (2018, Sec. 4.1)
  do for their ResNet-50 C2D baseline. ``nonlocal_blocks`` picks one of the
  paper's three settings; see ``nonlocal_positions``.
- ``"sk"``: SK replaces a convolution instead of following one. SKNet-50
  (Li et al. 2019, Table 1) is ResNeXt-50 (32x4d) with every grouped 3x3
  convolution replaced by ``SelectiveKernel(width, stride=stride, groups=32)``,
  so it is built by ``resnext50_32x4d(attn="sk")``; the plain ResNets reject
  ``"sk"``.

``attn_kwargs`` go to every attention module; ``stage_kwargs`` (one dict per
stage, layer1 ... layer4) are merged over them, for example ECA's released
kernel sizes::

    resnet50(attn="eca", stage_kwargs=[{"k_size": k} for k in ECA_RELEASED_KERNEL_SIZES])
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from .. import modules
from .._checks import check_feature_map
from ..registry import create

# ECA-ResNet-50 as released (BangguWu/ECANet, ``--ksize 3557``): k for
# layer1 ... layer4. The formula of Eq. 12 would give 5, 5, 5, 7.
ECA_RELEASED_KERNEL_SIZES = (3, 5, 5, 7)

# Mechanisms that sit on the residual branch of every block.
IN_BLOCK = ("se", "cse", "sse", "scse", "cbam", "eca", "drsn-cs", "drsn-cw")
SUPPORTED = IN_BLOCK + ("bam", "nonlocal", "sk")

# Wang et al. 2018, Sec. 4.1: non-local blocks in (res3, res4) = (layer2, layer3).
NONLOCAL_SPLIT = {1: (0, 1), 5: (2, 3), 10: (4, 6)}

# The classes ``attention_modules`` looks for.
ATTENTION_TYPES = (
    modules.SqueezeExcitation,
    modules.ChannelSE,
    modules.SpatialSE,
    modules.ConcurrentSE,
    modules.CBAM,
    modules.BAM,
    modules.EfficientChannelAttention,
    modules.SelectiveKernel,
    modules.Shrinkage,
    modules.NonLocalBlock,
)


def attention_modules(model: nn.Module) -> list[nn.Module]:
    """The attention modules of ``model``, in the order the forward pass meets them.

    The search stops at an attention module, so the cSE and sSE inside an
    scSE are not listed twice: ``attention_modules(resnet50(attn="scse"))``
    has 16 entries, one per residual block.
    """
    found = []

    def visit(module: nn.Module) -> None:
        for child in module.children():
            if isinstance(child, ATTENTION_TYPES):
                found.append(child)
            else:
                visit(child)

    visit(model)
    return found


def nonlocal_positions(stage_blocks: int, count: int) -> list[int]:
    """Indices of the residual blocks of a stage that a non-local block follows.

    Our reading of Wang et al. (2018), Sec. 4.1, for ResNet-50:

    - "1 block (to res4)": Table 2b adds a single block "right before the last
      residual block of a stage", so after block ``stage_blocks - 2``:
      layer3 = res4 has 6 blocks, the non-local block follows block 4.
    - "5 blocks (3 to res4 and 2 to res3, to every other residual block)":
      after blocks 1, 3 of layer2 (4 blocks) and 1, 3, 5 of layer3 (6 blocks).
    - "10 blocks (to every residual block in res3 and res4)": after all
      4 + 6 blocks.

    For more than one block we use the rule of the official code
    (facebookresearch/video-nonlocal-net, ``res_stage_nonlocal``): a
    non-local block follows block ``i`` when ``i % step == step - 1``. The code
    sets ``step`` to 2 (5 blocks) or 1 (10 blocks), and to ``4 * step - 1`` in
    the 23-block res4 of ResNet-101; ``step = stage_blocks // count`` gives
    the same numbers. We keep the first ``count`` positions, so ResNet-101
    with 10 blocks gets 4 + 6 (the code's rule would put 7 into res4).

    >>> nonlocal_positions(6, 1), nonlocal_positions(4, 2), nonlocal_positions(6, 3)
    ([4], [1, 3], [1, 3, 5])
    """
    if count == 0:
        return []
    if count == 1:
        if stage_blocks < 2:
            raise ValueError(
                f"a single non-local block goes right before the last residual block of a stage; "
                f"that needs a stage of at least 2 blocks, got {stage_blocks}"
            )
        return [stage_blocks - 2]
    if count > stage_blocks:
        raise ValueError(
            f"cannot spread {count} non-local blocks over a stage of {stage_blocks} residual blocks "
            f"(at most one after each block)"
        )
    step = stage_blocks // count  # the official code's nonlocal_mod
    return [i for i in range(stage_blocks) if i % step == step - 1][:count]


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias (a BatchNorm follows)."""
    return nn.Conv2d(in_planes, out_planes, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions (ResNet-18/34), with optional attention on the residual.

    ``attn`` names a mechanism from ``IN_BLOCK``; it is built for the
    ``planes`` channels of the residual branch and applied after ``bn2``,
    before the identity is added.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        attn: str | None = None,
        attn_kwargs: dict | None = None,
    ):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock supports only groups=1 and base_width=64 (as torchvision); "
                f"got groups={groups}, base_width={base_width}"
            )
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.attn = create(attn, planes, **(attn_kwargs or {})) if attn else nn.Identity()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))  # (B, C_in, H, W) -> (B, planes, H/s, W/s)
        out = self.bn2(self.conv2(out))  # (B, planes, H/s, W/s), same shape
        out = self.attn(out)  # recalibrate the residual before the sum: same shape
        if self.downsample is not None:
            identity = self.downsample(x)  # (B, C_in, H, W) -> (B, planes, H/s, W/s)
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (stride here: v1.5), 1x1 expand (ResNet-50/101, ResNeXt).

    The 3x3 convolution has ``width = int(planes * base_width / 64) * groups``
    channels: ``planes`` for ResNet, twice that for ResNeXt-50 32x4d. ``attn``
    is built for the ``planes * 4`` channels of the residual branch and applied
    after ``bn3``, before the identity is added.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        attn: str | None = None,
        attn_kwargs: dict | None = None,
    ):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.attn = create(attn, planes * self.expansion, **(attn_kwargs or {})) if attn else nn.Identity()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))  # (B, C_in, H, W) -> (B, width, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # -> (B, width, H/s, W/s)
        out = self.bn3(self.conv3(out))  # -> (B, 4 planes, H/s, W/s)
        out = self.attn(out)  # recalibrate the residual before the sum: same shape
        if self.downsample is not None:
            identity = self.downsample(x)  # (B, C_in, H, W) -> (B, 4 planes, H/s, W/s)
        return self.relu(out + identity)


class SKBottleneck(nn.Module):
    """A ResNeXt bottleneck whose grouped 3x3 convolution is an SK convolution (SKNet).

    Li et al. (2019), Table 1: [1x1, width; SK[M=2, G=32, r=16], width;
    1x1, 4 planes]. ``SelectiveKernel`` brings its own BN + ReLU in each
    branch, so the block is::

        conv1 (1x1) - bn1 - relu - conv2 = SK (with stride) - conv3 (1x1) - bn3, + identity, relu

    There is no ``bn2``: it lives inside the SK branches. ``attn`` is accepted
    only so that all blocks share one signature; ``attn_kwargs`` go to
    ``SelectiveKernel``.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 32,
        base_width: int = 4,
        attn: str | None = "sk",
        attn_kwargs: dict | None = None,
    ):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = nn.BatchNorm2d(width)
        sk_options = {"groups": groups, **(attn_kwargs or {})}  # G of the ResNeXt unless overridden
        self.conv2 = modules.SelectiveKernel(width, stride=stride, **sk_options)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))  # (B, C_in, H, W) -> (B, width, H, W)
        out = self.conv2(out)  # SK: split, fuse, select -> (B, width, H/s, W/s)
        out = self.bn3(self.conv3(out))  # -> (B, 4 planes, H/s, W/s)
        if self.downsample is not None:
            identity = self.downsample(x)  # (B, C_in, H, W) -> (B, 4 planes, H/s, W/s)
        return self.relu(out + identity)


def _attention_key(attn: str | None) -> str | None:
    """``"SE"``, ``"drsn_cw"`` -> ``"se"``, ``"drsn-cw"``; reject names without a placement."""
    if attn is None:
        return None
    key = attn.lower().replace("_", "-") if isinstance(attn, str) else attn
    if key not in SUPPORTED:
        raise ValueError(f"unknown attention {attn!r} for a ResNet; supported: {', '.join(SUPPORTED)} (or None)")
    return key


class ResNet(nn.Module):
    """torchvision's ResNet/ResNeXt with an attention mechanism placed as its paper does.

    Use the builders (``resnet50(attn="se")`` ...); see the module docstring
    for where each mechanism goes.

    Args:
        block: ``BasicBlock`` or ``Bottleneck``.
        layers: residual blocks per stage, e.g. [3, 4, 6, 3] for ResNet-50.
        num_classes: outputs of ``fc``.
        groups, width_per_group: ResNeXt's cardinality and width (1, 64 for ResNet).
        attn: a name from ``SUPPORTED`` or None.
        attn_kwargs: keyword arguments for every attention module.
        stage_kwargs: None, or four dicts (layer1 ... layer4) merged over
            ``attn_kwargs`` for the modules of that stage. A stage without an
            attention module (layer4 with BAM) ignores its dict.
        nonlocal_blocks: 1 (default), 5 or 10, with ``attn="nonlocal"`` only.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: list[int],
        num_classes: int = 1000,
        groups: int = 1,
        width_per_group: int = 64,
        attn: str | None = None,
        attn_kwargs: dict | None = None,
        stage_kwargs: list[dict] | None = None,
        nonlocal_blocks: int | None = None,
    ):
        super().__init__()
        attn = _attention_key(attn)
        if attn == "sk" and (block is not Bottleneck or groups == 1):
            raise ValueError(
                "attn='sk' replaces the grouped 3x3 convolution of a ResNeXt bottleneck "
                "(SKNet-50 is ResNeXt-50 32x4d with SK units, Li et al. 2019, Table 1); "
                "use resnext50_32x4d(attn='sk')"
            )
        if nonlocal_blocks is not None and attn != "nonlocal":
            raise ValueError(f"nonlocal_blocks is for attn='nonlocal'; got attn={attn!r}")
        if attn == "nonlocal":
            nonlocal_blocks = 1 if nonlocal_blocks is None else nonlocal_blocks
            if nonlocal_blocks not in NONLOCAL_SPLIT:
                raise ValueError(
                    f"nonlocal_blocks must be one of the paper's settings {tuple(NONLOCAL_SPLIT)}; "
                    f"got {nonlocal_blocks!r}"
                )
        self.attn_name = attn
        self.nonlocal_blocks = nonlocal_blocks
        self._stage_kwargs = self._merge_stage_kwargs(attn_kwargs or {}, stage_kwargs)
        self.groups = groups
        self.base_width = width_per_group
        if attn == "sk":
            block = SKBottleneck

        self.inplanes = 64
        # Stem: (B, 3, H, W) -> (B, 64, H/2, W/2) -> maxpool -> (B, 64, H/4, W/4)
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0], stage=1)  # -> (B, 64 e, H/4, W/4)
        self.bam1 = self._make_bam(stage=1)  # None unless attn="bam"
        self.layer2 = self._make_layer(block, 128, layers[1], stage=2, stride=2)  # -> (B, 128 e, H/8, W/8)
        self.bam2 = self._make_bam(stage=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stage=3, stride=2)  # -> (B, 256 e, H/16, W/16)
        self.bam3 = self._make_bam(stage=3)
        self.layer4 = self._make_layer(block, 512, layers[3], stage=4, stride=2)  # -> (B, 512 e, H/32, W/32)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

        # torchvision's initialisation for the backbone convolutions. The
        # attention modules keep their own (the non-local block's BN, for
        # instance, starts at zero so that the block starts as the identity).
        inside_attention = {id(m) for a in attention_modules(self) for m in a.modules()}
        for m in self.modules():
            if isinstance(m, nn.Conv2d) and id(m) not in inside_attention:
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _merge_stage_kwargs(attn_kwargs: dict, stage_kwargs: list[dict] | None) -> list[dict]:
        """One dict of module arguments per stage: ``stage_kwargs[i]`` over ``attn_kwargs``."""
        if stage_kwargs is None:
            return [dict(attn_kwargs) for _ in range(4)]
        stage_kwargs = list(stage_kwargs)
        if len(stage_kwargs) != 4 or not all(isinstance(d, dict) for d in stage_kwargs):
            raise ValueError(
                "stage_kwargs must be 4 dicts, one per stage (layer1 ... layer4), e.g. "
                f"[{{'k_size': k}} for k in {ECA_RELEASED_KERNEL_SIZES}]; got {stage_kwargs!r}"
            )
        return [{**attn_kwargs, **d} for d in stage_kwargs]

    def _make_layer(self, block, planes: int, blocks: int, stage: int, stride: int = 1) -> nn.Sequential:
        """One stage: ``blocks`` residual blocks, the first of which may downsample.

        Residual blocks are named "0", "1", ... as in torchvision, so their
        state-dict keys match; a non-local block after block i is "nonlocal{i}".
        """
        kwargs = self._stage_kwargs[stage - 1]
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        in_block = self.attn_name if self.attn_name in IN_BLOCK + ("sk",) else None
        nonlocal_after = []
        if self.attn_name == "nonlocal":
            count = NONLOCAL_SPLIT[self.nonlocal_blocks][stage - 2] if stage in (2, 3) else 0
            try:
                nonlocal_after = nonlocal_positions(blocks, count)
            except ValueError as err:
                raise ValueError(
                    f"nonlocal_blocks={self.nonlocal_blocks} does not fit layer{stage}: {err}"
                ) from None

        layers = OrderedDict()
        for i in range(blocks):
            layers[str(i)] = block(
                self.inplanes,
                planes,
                stride if i == 0 else 1,
                downsample if i == 0 else None,
                self.groups,
                self.base_width,
                attn=in_block,
                attn_kwargs=kwargs,
            )
            self.inplanes = planes * block.expansion
            if i in nonlocal_after:
                layers[f"nonlocal{i}"] = create("nonlocal", self.inplanes, **kwargs)
        return nn.Sequential(layers)

    def _make_bam(self, stage: int) -> nn.Module | None:
        """BAM on the output of ``layer{stage}`` (its ``self.inplanes`` channels), or None."""
        if self.attn_name != "bam":
            return None
        return create("bam", self.inplanes, **self._stage_kwargs[stage - 1])

    def attention_modules(self) -> list[nn.Module]:
        """The attention modules in forward order (see ``attention_modules``)."""
        return attention_modules(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(type(self).__name__, 3, x)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 3, H, W) -> (B, 64, H/4, W/4)
        x = self.layer1(x)  # -> (B, 64 e, H/4, W/4), e = block.expansion
        if self.bam1 is not None:
            x = self.bam1(x)
        x = self.layer2(x)  # -> (B, 128 e, H/8, W/8)
        if self.bam2 is not None:
            x = self.bam2(x)
        x = self.layer3(x)  # -> (B, 256 e, H/16, W/16)
        if self.bam3 is not None:
            x = self.bam3(x)
        x = self.layer4(x)  # -> (B, 512 e, H/32, W/32)
        x = torch.flatten(self.avgpool(x), 1)  # (B, 512 e, h, w) -> (B, 512 e)
        return self.fc(x)  # (B, 512 e) -> (B, num_classes)


def resnet18(
    attn: str | None = None,
    num_classes: int = 1000,
    *,
    stage_kwargs: list[dict] | None = None,
    nonlocal_blocks: int | None = None,
    **attn_kwargs,
) -> ResNet:
    """ResNet-18 (He et al. 2016): BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters with ``attn=None``."""
    return ResNet(
        BasicBlock,
        [2, 2, 2, 2],
        num_classes,
        attn=attn,
        attn_kwargs=attn_kwargs,
        stage_kwargs=stage_kwargs,
        nonlocal_blocks=nonlocal_blocks,
    )


def resnet34(
    attn: str | None = None,
    num_classes: int = 1000,
    *,
    stage_kwargs: list[dict] | None = None,
    nonlocal_blocks: int | None = None,
    **attn_kwargs,
) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters with ``attn=None``."""
    return ResNet(
        BasicBlock,
        [3, 4, 6, 3],
        num_classes,
        attn=attn,
        attn_kwargs=attn_kwargs,
        stage_kwargs=stage_kwargs,
        nonlocal_blocks=nonlocal_blocks,
    )


def resnet50(
    attn: str | None = None,
    num_classes: int = 1000,
    *,
    stage_kwargs: list[dict] | None = None,
    nonlocal_blocks: int | None = None,
    **attn_kwargs,
) -> ResNet:
    """ResNet-50 (v1.5): Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters with ``attn=None``.

    SE-ResNet-50 (``attn="se"``) has 28,088,024, CBAM 28,089,624, BAM 25,918,465.
    ``attn="sk"`` raises: SKNet-50 is ``resnext50_32x4d(attn="sk")``.
    """
    return ResNet(
        Bottleneck,
        [3, 4, 6, 3],
        num_classes,
        attn=attn,
        attn_kwargs=attn_kwargs,
        stage_kwargs=stage_kwargs,
        nonlocal_blocks=nonlocal_blocks,
    )


def resnet101(
    attn: str | None = None,
    num_classes: int = 1000,
    *,
    stage_kwargs: list[dict] | None = None,
    nonlocal_blocks: int | None = None,
    **attn_kwargs,
) -> ResNet:
    """ResNet-101 (v1.5): Bottlenecks [3, 4, 23, 3]; 44,549,160 parameters with ``attn=None``."""
    return ResNet(
        Bottleneck,
        [3, 4, 23, 3],
        num_classes,
        attn=attn,
        attn_kwargs=attn_kwargs,
        stage_kwargs=stage_kwargs,
        nonlocal_blocks=nonlocal_blocks,
    )


def resnext50_32x4d(
    attn: str | None = None,
    num_classes: int = 1000,
    *,
    stage_kwargs: list[dict] | None = None,
    nonlocal_blocks: int | None = None,
    **attn_kwargs,
) -> ResNet:
    """ResNeXt-50 (32x4d, Xie et al. 2017): 25,028,904 parameters with ``attn=None``.

    Bottlenecks [3, 4, 6, 3] with 32 groups of 4 channels per group at the
    first stage: the 3x3 convolution has width = int(planes * 4 / 64) * 32,
    i.e. 128, 256, 512, 1024 channels in layer1 ... layer4.

    ``attn="sk"`` gives SKNet-50 (Li et al. 2019): every grouped 3x3
    convolution becomes ``SelectiveKernel(width, stride=stride, groups=32)``
    with M=2, r=16, L=32; 27,479,784 parameters (27.5M in Table 2 of Li et al.
    2019: ``papers.figure("sk.table2.sknet50_params")``).
    ``attn="se"`` gives SE-ResNeXt-50: 27,559,896 parameters, the 27.56M
    of Table 4 of the CBAM paper (Woo et al. 2018;
    ``papers.figure("cbam.table4.se_resnext50_params")``). The SE paper
    (Hu et al. 2018, Table 2) gives SE-ResNeXt-50's GFLOPs, not its parameters.
    """
    return ResNet(
        Bottleneck,
        [3, 4, 6, 3],
        num_classes,
        groups=32,
        width_per_group=4,
        attn=attn,
        attn_kwargs=attn_kwargs,
        stage_kwargs=stage_kwargs,
        nonlocal_blocks=nonlocal_blocks,
    )
