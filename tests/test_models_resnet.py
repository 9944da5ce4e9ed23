"""ResNets with attention: exact parameter counts, placement, forward passes.

Every expected count is derived twice: once by hand from the per-layer
formulas below (written without looking at the model), once as the literal
integer it must come to. Models built only to count parameters are built on
the "meta" device: shapes without memory or initialisation, so a ResNet-101
costs milliseconds.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import attn_edu
from attn_edu import modules, papers
from attn_edu.models import (
    ECA_RELEASED_KERNEL_SIZES,
    ResNet,
    attention_modules,
    nonlocal_positions,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnext50_32x4d,
)
from attn_edu.models.resnet import BasicBlock, Bottleneck

# ---------------------------------------------------------------------------
# Parameter counts by hand, layer by layer.


def conv(c_in, c_out, k, groups=1, bias=False):
    return (c_in // groups) * c_out * k * k + (c_out if bias else 0)


def linear(n_in, n_out):
    return n_in * n_out + n_out


def bn(c):
    return 2 * c  # weight and bias; running statistics are buffers


def backbone(kind, layers, groups=1, width_per_group=64, num_classes=1000):
    """torchvision's ResNet / ResNeXt: stem, four stages, fc."""
    total = conv(3, 64, 7) + bn(64)
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            if kind == "basic":
                out = planes
                total += conv(inplanes, planes, 3) + bn(planes) + conv(planes, planes, 3) + bn(planes)
            else:
                width = int(planes * width_per_group / 64) * groups
                out = planes * 4
                total += conv(inplanes, width, 1) + bn(width)
                total += conv(width, width, 3, groups) + bn(width)
                total += conv(width, out, 1) + bn(out)
            if stride != 1 or inplanes != out:
                total += conv(inplanes, out, 1) + bn(out)  # downsample
            inplanes = out
    return total + linear(inplanes, num_classes)


def se(c, r=16):
    return 2 * c * c // r + c // r + c  # two biased linear layers C -> C/r -> C


def cbam(c, r=16):
    return se(c, r) + 2 * 7 * 7 + bn(1)  # shared MLP, then 7x7 conv (2 -> 1, no bias) + BN


def bam(c, r=16, branch_norm="paper"):
    h = c // r
    official = branch_norm == "official"
    channel = linear(c, h) + linear(h, c) + (bn(h) if official else bn(c))
    spatial = conv(c, h, 1, bias=True) + bn(h)  # f_0
    spatial += 2 * (conv(h, h, 3, bias=True) + bn(h))  # f_1, f_2 (dilated)
    spatial += conv(h, 1, 1, bias=True) + (0 if official else bn(1))  # f_3 (+ the outer BN of Eq. 4)
    return channel + spatial


def non_local(c):
    inner = c // 2
    return 3 * conv(c, inner, 1, bias=True) + conv(inner, c, 1, bias=True) + bn(c)  # theta, phi, g, W_z + BN


def sk_instead_of_grouped_conv(width, groups=32, r=16, L=32):
    """What an SK unit adds over the grouped 3x3 conv + BN it replaces."""
    d = max(width // r, L)
    sk = 2 * (conv(width, width, 3, groups) + bn(width))  # M = 2 branches
    sk += conv(width, d, 1) + bn(d)  # fuse: W and B of Eq. 3
    sk += conv(d, 2 * width, 1)  # select: A and B of Eq. 5, stacked
    return sk - (conv(width, width, 3, groups) + bn(width))


# Channels of the residual branch of each block of ResNet-50 (= ResNeXt-50).
R50_BLOCKS = [256] * 3 + [512] * 4 + [1024] * 6 + [2048] * 3
R18_BLOCKS = [64] * 2 + [128] * 2 + [256] * 2 + [512] * 2
R50 = 25_557_032


def count(builder, **kwargs) -> int:
    with torch.device("meta"):
        model = builder(**kwargs)
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------------------
# Plain backbones: torchvision's counts.


@pytest.mark.parametrize(
    "builder, kind, layers, groups, width_per_group, expected",
    [
        (resnet18, "basic", [2, 2, 2, 2], 1, 64, 11_689_512),
        (resnet34, "basic", [3, 4, 6, 3], 1, 64, 21_797_672),
        (resnet50, "bottleneck", [3, 4, 6, 3], 1, 64, 25_557_032),
        (resnet101, "bottleneck", [3, 4, 23, 3], 1, 64, 44_549_160),
        (resnext50_32x4d, "bottleneck", [3, 4, 6, 3], 32, 4, 25_028_904),
    ],
)
def test_plain_backbones_have_torchvisions_parameter_counts(builder, kind, layers, groups, width_per_group, expected):
    assert backbone(kind, layers, groups, width_per_group) == expected
    assert count(builder) == expected


def test_num_classes_changes_only_the_classifier():
    assert count(resnet50, num_classes=10) == R50 - linear(2048, 1000) + linear(2048, 10)


def test_attribute_names_mirror_torchvision():
    with torch.device("meta"):
        keys = set(resnet50().state_dict())
    for key in (
        "conv1.weight",
        "bn1.running_mean",
        "layer1.0.conv1.weight",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.weight",
        "layer2.0.conv2.weight",
        "layer3.5.bn3.bias",
        "layer4.2.conv3.weight",
        "fc.weight",
        "fc.bias",
    ):
        assert key in keys
    with torch.device("meta"):
        keys18 = set(resnet18().state_dict())
    assert "layer4.1.bn2.weight" in keys18 and not any("conv3" in k for k in keys18)


def test_v1_5_puts_the_stride_on_the_3x3_convolution():
    with torch.device("meta"):
        block = resnet50().layer2[0]
    assert block.conv1.stride == (1, 1)
    assert block.conv2.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)


# ---------------------------------------------------------------------------
# Attention inside every block: counts.


def test_se_resnet50_count():
    added = sum(se(c) for c in R50_BLOCKS)  # 25,392 + 133,248 + 792,960 + 1,579,392
    assert added == 2_530_992
    assert R50 + added == 28_088_024
    assert count(resnet50, attn="se") == 28_088_024
    assert round(28_088_024 / 1e6, 2) == papers.figure("cbam.table4.se_resnet50_params").value


def test_cbam_resnet50_count():
    added = sum(cbam(c) for c in R50_BLOCKS)  # SE's 2,530,992 + 16 x 100
    assert added == 2_532_592
    assert count(resnet50, attn="cbam") == 28_089_624
    assert round(28_089_624 / 1e6, 2) == papers.figure("cbam.table4.cbam_resnet50_params").value


def test_eca_resnet50_counts_released_and_formula_kernel_sizes():
    released = [{"k_size": k} for k in ECA_RELEASED_KERNEL_SIZES]
    # k per block: 3 x 3 + 4 x 5 + 6 x 5 + 3 x 7 = 80 ("80 parameters", Wang et al. 2020)
    assert count(resnet50, attn="eca", stage_kwargs=released) == R50 + 80 == 25_557_112
    # Eq. 12 gives k = 5, 5, 5, 7 for 256, 512, 1024, 2048 channels: 15 + 20 + 30 + 21 = 86
    assert [attn_edu.functional.eca_kernel_size(c) for c in (256, 512, 1024, 2048)] == [5, 5, 5, 7]
    assert count(resnet50, attn="eca") == R50 + 86 == 25_557_118


def test_eca_stage_kwargs_reach_every_block_of_their_stage():
    with torch.device("meta"):
        model = resnet50(attn="eca", stage_kwargs=[{"k_size": k} for k in ECA_RELEASED_KERNEL_SIZES])
    assert [m.k_size for m in model.attention_modules()] == [3] * 3 + [5] * 4 + [5] * 6 + [7] * 3


def test_stage_kwargs_are_merged_over_attn_kwargs():
    with torch.device("meta"):
        model = resnet18(attn="se", reduction=4, stage_kwargs=[{}, {}, {}, {"reduction": 8}])
    assert [m.reduction for m in model.attention_modules()] == [4] * 6 + [8] * 2


@pytest.mark.parametrize(
    "attn, per_block",
    [
        ("cse", lambda c: se(c, 2)),  # SE with r = 2
        ("sse", lambda c: conv(c, 1, 1, bias=True)),
        ("scse", lambda c: se(c, 2) + conv(c, 1, 1, bias=True)),
        ("drsn-cw", lambda c: linear(c, c) + bn(c) + linear(c, c)),
        ("drsn-cs", lambda c: linear(c, c) + bn(c) + linear(c, 1)),
    ],
)
def test_other_in_block_counts(attn, per_block):
    assert count(resnet50, attn=attn) == R50 + sum(per_block(c) for c in R50_BLOCKS)
    assert count(resnet18, attn=attn) == 11_689_512 + sum(per_block(c) for c in R18_BLOCKS)


@pytest.mark.parametrize("attn", ["se", "cse", "sse", "scse", "cbam", "eca", "drsn-cs", "drsn-cw"])
def test_in_block_attention_sits_in_every_block_on_its_residual_channels(attn):
    with torch.device("meta"):
        model = resnet50(attn=attn)
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3, model.layer4) for b in layer]
    assert len(blocks) == 16
    assert [b.attn.channels for b in blocks] == R50_BLOCKS
    assert model.attention_modules() == [b.attn for b in blocks]
    assert model.bam1 is None and model.bam2 is None and model.bam3 is None


@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_attention_acts_on_the_residual_before_the_addition(block):
    """With an attention that zeroes its input, the block must return relu(identity)."""

    class Zero(nn.Module):
        def forward(self, x):
            return torch.zeros_like(x)

    unit = block(64 * block.expansion, 64, attn="se")
    unit.attn = Zero()
    x = torch.randn(2, 64 * block.expansion, 8, 8)
    assert torch.equal(unit(x), torch.relu(x))


# ---------------------------------------------------------------------------
# BAM: three modules between the stages.


def test_bam_resnet50_counts():
    paper = sum(bam(c) for c in (256, 512, 1024))  # 17,843 + 69,475 + 274,115
    official = sum(bam(c, branch_norm="official") for c in (256, 512, 1024))  # 3,366 fewer
    assert paper == 361_433 and official == 358_067
    assert count(resnet50, attn="bam") == R50 + paper == 25_918_465  # paper: 25.92M
    assert count(resnet50, attn="bam", branch_norm="official") == R50 + official == 25_915_099


def test_bam_sits_after_layer1_to_layer3_only():
    with torch.device("meta"):
        model = resnet50(attn="bam")
    assert [model.bam1.channels, model.bam2.channels, model.bam3.channels] == [256, 512, 1024]
    assert model.attention_modules() == [model.bam1, model.bam2, model.bam3]
    assert all(isinstance(b.attn, nn.Identity) for layer in (model.layer1, model.layer4) for b in layer)


# ---------------------------------------------------------------------------
# Non-local: whole blocks between residual blocks of layer2 (res3) and layer3 (res4).


def test_nonlocal_positions_follow_the_paper_and_the_official_rule():
    assert nonlocal_positions(6, 1) == [4]  # right before the last residual block of res4
    assert nonlocal_positions(4, 2) == [1, 3]  # every other residual block
    assert nonlocal_positions(6, 3) == [1, 3, 5]
    assert nonlocal_positions(4, 4) == [0, 1, 2, 3]  # every residual block
    assert nonlocal_positions(23, 3) == [6, 13, 20]  # ResNet-101 res4: the code's step 4 * 2 - 1 = 7
    assert nonlocal_positions(6, 0) == []


@pytest.mark.parametrize(
    "blocks, layer2, layer3, expected",
    [
        # 1 block in res4:            25,557,032 + 2,101,760
        (1, ["0", "1", "2", "3"], ["0", "1", "2", "3", "4", "nonlocal4", "5"], 27_658_792),
        # 2 in res3 + 3 in res4:      + 2 x 526,592 + 3 x 2,101,760
        (5, ["0", "1", "nonlocal1", "2", "3", "nonlocal3"],
         ["0", "1", "nonlocal1", "2", "3", "nonlocal3", "4", "5", "nonlocal5"], 32_915_496),
        # 4 in res3 + 6 in res4:      + 4 x 526,592 + 6 x 2,101,760
        (10, ["0", "nonlocal0", "1", "nonlocal1", "2", "nonlocal2", "3", "nonlocal3"],
         ["0", "nonlocal0", "1", "nonlocal1", "2", "nonlocal2", "3", "nonlocal3", "4", "nonlocal4", "5", "nonlocal5"],
         40_273_960),
    ],
)
def test_nonlocal_resnet50_placement_and_counts(blocks, layer2, layer3, expected):
    assert non_local(512) == 526_592 and non_local(1024) == 2_101_760  # 2 C^2 + 4.5 C
    in_res3, in_res4 = {1: (0, 1), 5: (2, 3), 10: (4, 6)}[blocks]
    assert R50 + in_res3 * non_local(512) + in_res4 * non_local(1024) == expected
    with torch.device("meta"):
        model = resnet50(attn="nonlocal", nonlocal_blocks=blocks)
    assert list(model.layer2._modules) == layer2
    assert list(model.layer3._modules) == layer3
    assert len(model.attention_modules()) == blocks
    assert sum(p.numel() for p in model.parameters()) == expected
    # torchvision's keys survive the insertions
    assert "layer3.5.conv1.weight" in model.state_dict()


def test_nonlocal_default_is_one_block_and_kwargs_reach_it():
    with torch.device("meta"):
        model = resnet50(attn="nonlocal", subsample=True)
    (block,) = model.attention_modules()
    assert block is model.layer3.nonlocal4 and block.subsample


def test_nonlocal_resnet101_five_blocks_match_the_official_code():
    with torch.device("meta"):
        model = resnet101(attn="nonlocal", nonlocal_blocks=5)
    assert [k for k in model.layer2._modules if k.startswith("nonlocal")] == ["nonlocal1", "nonlocal3"]
    assert [k for k in model.layer3._modules if k.startswith("nonlocal")] == ["nonlocal6", "nonlocal13", "nonlocal20"]


def test_nonlocal_errors():
    with pytest.raises(ValueError, match="layer3"):
        resnet18(attn="nonlocal", nonlocal_blocks=5)  # layer3 of ResNet-18 has 2 blocks, 3 wanted
    with pytest.raises(ValueError, match=r"\(1, 5, 10\)"):
        resnet50(attn="nonlocal", nonlocal_blocks=3)
    with pytest.raises(ValueError, match="nonlocal_blocks is for attn='nonlocal'"):
        resnet50(attn="se", nonlocal_blocks=5)


# ---------------------------------------------------------------------------
# SK: SKNet-50 from ResNeXt-50 (32x4d).


def test_sknet50_count():
    # width of the grouped 3x3 conv per block: 128 (x3), 256 (x4), 512 (x6), 1024 (x3); d = max(width/16, 32)
    # added per block = 9 w^2/32 + 2 w (a second grouped branch + BN) + 3 w d (fuse W: w d, select: 2 w d) + 2 d
    #   w = 128,  d = 32:   4,608 +   256 +  12,288 +  64 =  17,216   x 3 =    51,648
    #   w = 256,  d = 32:  18,432 +   512 +  24,576 +  64 =  43,584   x 4 =   174,336
    #   w = 512,  d = 32:  73,728 + 1,024 +  49,152 +  64 = 123,968   x 6 =   743,808
    #   w = 1024, d = 64: 294,912 + 2,048 + 196,608 + 128 = 493,696   x 3 = 1,481,088
    #                                                                      ---------
    #                                                                      2,450,880
    widths = [128] * 3 + [256] * 4 + [512] * 6 + [1024] * 3
    added = sum(sk_instead_of_grouped_conv(w) for w in widths)
    assert added == 2_450_880
    assert count(resnext50_32x4d, attn="sk") == 25_028_904 + added == 27_479_784
    assert round(27_479_784 / 1e6, 1) == papers.figure("sk.table2.sknet50_params").value  # Li et al. 2019, Table 2


def test_sknet50_replaces_conv2_with_strided_sk():
    with torch.device("meta"):
        model = resnext50_32x4d(attn="sk")
    sks = model.attention_modules()
    assert len(sks) == 16 and all(isinstance(m, modules.SelectiveKernel) for m in sks)
    first = model.layer2[0]
    assert first.conv2 is sks[3] and not hasattr(first, "bn2")
    assert first.conv2.paths[0][0].stride == (2, 2) and first.conv2.paths[0][0].groups == 32


def test_se_resnext50_count():
    assert count(resnext50_32x4d, attn="se") == 25_028_904 + 2_530_992 == 27_559_896  # SE-ResNet-50's SE blocks


def test_se_resnext50_count_agrees_with_table_4_of_the_cbam_paper():
    published = papers.figure("cbam.table4.se_resnext50_params")
    assert (published.paper, published.source, published.unit, published.digits) == ("cbam", "Table 4", "M", 2)
    assert round(count(resnext50_32x4d, attn="se") / 1e6, 2) == published.value  # 27.56M


@pytest.mark.parametrize("builder", [resnet18, resnet50, resnet101])
def test_sk_on_a_plain_resnet_points_to_resnext(builder):
    with pytest.raises(ValueError, match=r"resnext50_32x4d\(attn='sk'\)"):
        builder(attn="sk")


# ---------------------------------------------------------------------------
# Errors.


def test_unknown_attention_lists_the_supported_names():
    with pytest.raises(ValueError, match="unknown attention 'transformer'.*se.*cbam.*bam.*nonlocal.*sk"):
        resnet50(attn="transformer")


def test_names_are_normalised_like_create():
    with torch.device("meta"):
        model = resnet18(attn="DRSN_CW")
    assert isinstance(model.attention_modules()[0], modules.Shrinkage)


@pytest.mark.parametrize("stage_kwargs", [[{"k_size": 3}] * 3, [3, 5, 5, 7]])
def test_bad_stage_kwargs(stage_kwargs):
    with pytest.raises(ValueError, match="one per stage"):
        resnet50(attn="eca", stage_kwargs=stage_kwargs)


def test_wrong_input_says_what_was_expected():
    model = resnet18(num_classes=10)
    with pytest.raises(ValueError, match=r"expects input \(B, 3, H, W\); got \(2, 1, 32, 32\)"):
        model(torch.randn(2, 1, 32, 32))


# ---------------------------------------------------------------------------
# Forward passes. Batch of 2: BAM, DRSN and SK use BatchNorm on pooled
# (B, C) or (B, C, 1, 1) tensors, which needs more than one sample in training.

ALL = ["se", "cse", "sse", "scse", "cbam", "bam", "eca", "drsn-cs", "drsn-cw", "nonlocal"]


@pytest.mark.parametrize("attn", [None, *ALL])
def test_resnet18_forward(attn):
    model = resnet18(attn=attn, num_classes=10)
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 10)


@pytest.mark.parametrize("attn", [None, *ALL])
def test_resnet50_forward(attn):
    model = resnet50(attn=attn, num_classes=10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_sknet50_forward():
    model = resnext50_32x4d(attn="sk", num_classes=10)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_eval_mode_takes_a_single_image():
    model = resnet18(attn="bam", num_classes=10).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)


def test_gradients_reach_the_attention_modules():
    model = resnet18(attn="cbam", num_classes=10)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    for module in model.attention_modules():
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def test_fresh_nonlocal_blocks_start_as_the_identity():
    """Zero-initialised BN in W_z: inserting the blocks leaves the output unchanged."""
    torch.manual_seed(0)
    plain = resnet18(num_classes=10).eval()
    torch.manual_seed(1)
    with_nl = resnet18(attn="nonlocal", num_classes=10).eval()
    with_nl.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(with_nl(x), plain(x))


def test_backbone_init_spares_the_attention_modules():
    model = resnet18(attn="nonlocal", num_classes=10)
    assert torch.all(model.layer3.nonlocal0.norm.weight == 0)
    assert isinstance(model, ResNet) and attention_modules(model) == model.attention_modules()
