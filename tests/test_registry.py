"""attn_edu.create and attn_edu.available."""

import pytest
import torch

import attn_edu
from attn_edu import modules

REQUIRED = {"se", "cse", "sse", "scse", "cbam", "bam", "eca", "sk", "drsn-cs", "drsn-cw", "nonlocal"}


def test_available_lists_every_required_mechanism():
    assert REQUIRED <= set(attn_edu.available())
    assert attn_edu.available() == sorted(attn_edu.available())


@pytest.mark.parametrize(
    "name, cls",
    [("se", modules.SqueezeExcitation), ("scse", modules.ConcurrentSE), ("eca", modules.EfficientChannelAttention),
     ("nonlocal", modules.NonLocalBlock), ("sk", modules.SelectiveKernel)],
)
def test_create_builds_the_reference_class(name, cls):
    assert type(attn_edu.create(name, 64)) is cls


@pytest.mark.parametrize("name, channel_wise", [("drsn-cs", False), ("drsn-cw", True), ("DRSN_CW", True)])
def test_shrinkage_names_choose_the_threshold_kind(name, channel_wise):
    assert attn_edu.create(name, 32).channel_wise is channel_wise


def test_keyword_arguments_reach_the_module():
    assert attn_edu.create("se", 64, reduction=4).down.out_features == 16
    assert attn_edu.create("eca", 64, k_size=7).k_size == 7


def test_unknown_name_lists_the_available_ones():
    with pytest.raises(ValueError) as info:
        attn_edu.create("senet", 64)
    for name in REQUIRED:
        assert name in str(info.value)


def test_created_module_runs():
    block = attn_edu.create("cbam", 32)
    assert block(torch.randn(2, 32, 4, 4)).shape == (2, 32, 4, 4)


def test_shrinkage_name_cannot_be_contradicted():
    with pytest.raises(ValueError, match="do not pass channel_wise"):
        attn_edu.create("drsn-cs", 16, channel_wise=True)
