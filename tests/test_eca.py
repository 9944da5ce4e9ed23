"""ECA against Wang et al. (2020), written out by hand."""

import math

import pytest
import torch

from attn_edu.functional import eca_kernel_size
from attn_edu.modules import EfficientChannelAttention


def eca_by_hand(x, weights):
    k = weights.numel()
    y = x.mean(dim=(2, 3))  # (B, C)
    padded = torch.nn.functional.pad(y, ((k - 1) // 2, (k - 1) // 2))
    # channel c sees channels c - (k-1)/2 ... c + (k-1)/2, all with the same k weights
    mixed = torch.stack([padded[:, c : c + k] @ weights for c in range(y.shape[1])], dim=1)
    return x * torch.sigmoid(mixed)[:, :, None, None]


@pytest.mark.parametrize("k_size", [1, 3, 5, 7])
def test_matches_a_shared_k_tap_filter_across_channels(k_size):
    block = EfficientChannelAttention(24, k_size=k_size).double()
    x = torch.randn(2, 24, 5, 3, dtype=torch.float64)
    torch.testing.assert_close(block(x), eca_by_hand(x, block.conv.weight.view(-1)))


def test_has_exactly_k_parameters_and_no_bias():
    block = EfficientChannelAttention(512)
    assert block.k_size == 5
    assert [p.numel() for p in block.parameters()] == [5]


@pytest.mark.parametrize("channels, k", [(64, 3), (128, 5), (256, 5), (512, 5), (1024, 5), (2048, 7), (1, 1), (16, 3)])
def test_kernel_size_formula(channels, k):
    assert eca_kernel_size(channels) == k
    assert EfficientChannelAttention(channels).k_size == k


@pytest.mark.parametrize("channels", range(1, 5000, 7))
@pytest.mark.parametrize("gamma, b", [(2, 1), (1, 0), (3, 2)])
def test_kernel_size_is_the_nearest_odd_number_rounding_ties_up(channels, gamma, b):
    t = abs(math.log2(channels) / gamma + b / gamma)
    k = eca_kernel_size(channels, gamma, b)
    assert k % 2 == 1
    assert abs(k - t) <= 1
    if abs(k - t) == 1:  # a tie: t is even; the official code rounds up
        assert k == t + 1


def test_official_formula_agrees():
    for channels in range(1, 4097):
        t = int(abs((math.log(channels, 2) + 1) / 2))
        assert eca_kernel_size(channels) == (t if t % 2 else t + 1)


def test_even_kernel_is_rejected_with_explanation():
    with pytest.raises(ValueError, match="k_size must be odd"):
        EfficientChannelAttention(64, k_size=4)
