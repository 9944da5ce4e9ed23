"""The non-local block against Eq. 1, 3 and 6 of Wang et al. (2018)."""

import math

import pytest
import torch
import torch.nn.functional as F

from attn_edu.modules import NonLocalBlock


def conv1x1(x, conv):
    return torch.einsum("bchw,oc->bohw", x, conv.weight[:, :, 0, 0]) + conv.bias[None, :, None, None]


def non_local_by_hand(x, block, scale=1.0):
    b, c, h, w = x.shape
    theta = conv1x1(x, block.theta).reshape(b, -1, h * w)  # (B, C/2, N)
    phi = conv1x1(x, block.phi)
    g = conv1x1(x, block.g)
    if block.subsample:
        phi, g = F.max_pool2d(phi, 2, ceil_mode=True), F.max_pool2d(g, 2, ceil_mode=True)
    phi, g = phi.flatten(2), g.flatten(2)
    f = torch.exp(scale * theta.transpose(1, 2) @ phi)  # f(x_i, x_j), Eq. 3: (B, N, N')
    y = (f / f.sum(dim=2, keepdim=True)) @ g.transpose(1, 2)  # Eq. 1 with C(x) = sum_j f
    y = y.transpose(1, 2).reshape(b, -1, h, w)
    norm = block.norm
    wz_y = F.batch_norm(conv1x1(y, block.out), norm.running_mean, norm.running_var, norm.weight, norm.bias)
    return wz_y + x  # Eq. 6


@pytest.mark.parametrize("subsample", [False, True])
@pytest.mark.parametrize("scale", [False, True])
def test_matches_equations(subsample, scale):
    block = NonLocalBlock(8, subsample=subsample, scale=scale).double().eval()
    torch.nn.init.uniform_(block.norm.weight, 0.5, 1.5)
    x = torch.randn(2, 8, 5, 6, dtype=torch.float64) * 0.5
    factor = 1 / math.sqrt(4) if scale else 1.0
    torch.testing.assert_close(block(x), non_local_by_hand(x, block, factor))


def test_new_block_is_the_identity():
    block = NonLocalBlock(16).eval()
    x = torch.randn(2, 16, 7, 7)
    torch.testing.assert_close(block(x), x)


def test_affinities_are_a_softmax_over_all_positions():
    block = NonLocalBlock(16, subsample=True)
    _, weights = block.attention(torch.randn(2, 16, 8, 6))
    assert weights.shape == (2, 48, 12)
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 48))


def test_embedding_has_half_the_channels_and_parameters_add_up():
    c = 64
    block = NonLocalBlock(c)
    assert block.inner == 32
    assert sum(p.numel() for p in block.parameters()) == 3 * (c * 32 + 32) + (32 * c + c) + 2 * c
