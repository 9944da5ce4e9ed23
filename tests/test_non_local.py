"""The non-local block against Eq. 1, 3 and 6 of Wang et al. (2018), and its
two subsampling orders: the paper's (Sec. 3.3: pool after phi and g) and the
official code's (video-nonlocal-net: pool x, then phi and g)."""

import math

import pytest
import torch
import torch.nn.functional as F

from attn_edu.modules import NonLocalBlock
from attn_edu.modules.non_local import key_grid


def conv1x1(x, conv):
    return torch.einsum("bchw,oc->bohw", x, conv.weight[:, :, 0, 0]) + conv.bias[None, :, None, None]


def max_pool_2x2(x, round_up):
    """2x2 windows, stride 2, by slicing: an odd last row (column) is its own window
    when rounding up, and is dropped when rounding down."""
    h, w = x.shape[-2:]
    if round_up:  # pad with -inf, which never wins a max
        x = F.pad(x, (0, w % 2, 0, h % 2), value=-math.inf)
    else:
        x = x[..., : h - h % 2, : w - w % 2]
    return torch.maximum(
        torch.maximum(x[..., 0::2, 0::2], x[..., 0::2, 1::2]), torch.maximum(x[..., 1::2, 0::2], x[..., 1::2, 1::2])
    )


def non_local_by_hand(x, block, scale=1.0, order=False):
    b, c, h, w = x.shape
    theta = conv1x1(x, block.theta).reshape(b, -1, h * w)  # (B, C/2, N)
    if order == "code":  # x^ = maxpool(x), then phi(x^), g(x^)
        pooled = max_pool_2x2(x, round_up=False)
        phi, g = conv1x1(pooled, block.phi), conv1x1(pooled, block.g)
    else:
        phi, g = conv1x1(x, block.phi), conv1x1(x, block.g)
        if order == "paper":  # maxpool(phi(x)), maxpool(g(x))
            phi, g = max_pool_2x2(phi, round_up=True), max_pool_2x2(g, round_up=True)
    phi, g = phi.flatten(2), g.flatten(2)
    f = torch.exp(scale * theta.transpose(1, 2) @ phi)  # f(x_i, x_j), Eq. 3: (B, N, N')
    y = (f / f.sum(dim=2, keepdim=True)) @ g.transpose(1, 2)  # Eq. 1 with C(x) = sum_j f
    y = y.transpose(1, 2).reshape(b, -1, h, w)
    norm = block.norm
    wz_y = F.batch_norm(conv1x1(y, block.out), norm.running_mean, norm.running_var, norm.weight, norm.bias)
    return wz_y + x  # Eq. 6


def fresh_block(subsample=False, scale=False, channels=8):
    block = NonLocalBlock(channels, subsample=subsample, scale=scale).double().eval()
    torch.nn.init.uniform_(block.norm.weight, 0.5, 1.5)  # not the identity, so y shows in the output
    return block


@pytest.mark.parametrize("subsample, order", [(False, False), (True, "paper"), ("paper", "paper"), ("code", "code")])
@pytest.mark.parametrize("scale", [False, True])
@pytest.mark.parametrize("size", [(6, 8), (7, 9), (5, 6)])
def test_matches_equations_in_each_pooling_order(subsample, order, scale, size):
    block = fresh_block(subsample, scale)
    x = torch.randn(2, 8, *size, dtype=torch.float64) * 0.5
    factor = 1 / math.sqrt(4) if scale else 1.0
    torch.testing.assert_close(block(x), non_local_by_hand(x, block, factor, order))


def test_true_means_the_papers_order():
    assert NonLocalBlock(8, subsample=True).subsample == "paper"
    assert NonLocalBlock(8).subsample is False


@pytest.mark.parametrize(
    "subsample, keys", [(False, 7 * 9), ("paper", 4 * 5), ("code", 3 * 4)]  # none; ceil(7/2) ceil(9/2); 7 // 2 * 9 // 2
)
def test_number_of_keys_on_an_odd_map(subsample, keys):
    block = NonLocalBlock(8, subsample=subsample)
    _, weights = block.attention(torch.randn(2, 8, 7, 9))
    assert weights.shape == (2, 63, keys)
    assert math.prod(key_grid(7, 9, subsample)) == keys
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 63))


def test_the_two_orders_differ_even_on_an_even_map():
    paper, code = fresh_block("paper"), fresh_block("code")
    code.load_state_dict(paper.state_dict())  # the same weights: only the order differs
    x = torch.randn(2, 8, 6, 6, dtype=torch.float64)
    assert paper.attention(x)[1].shape == code.attention(x)[1].shape == (2, 36, 9)
    assert not torch.allclose(paper(x), code(x))


def test_code_order_pools_x_before_phi_and_g():
    block = fresh_block("code")
    x = torch.randn(2, 8, 7, 9, dtype=torch.float64)
    keys, values = block.keys_and_values(x)
    pooled = max_pool_2x2(x, round_up=False)  # (2, 8, 3, 4): the last row and column are dropped
    torch.testing.assert_close(keys, conv1x1(pooled, block.phi))
    torch.testing.assert_close(values, conv1x1(pooled, block.g))


def test_code_order_ignores_the_last_row_and_column_of_an_odd_map():
    block = fresh_block("code")
    x = torch.randn(1, 8, 5, 5, dtype=torch.float64)
    changed = x.clone()
    changed[..., 4, :] += 10.0  # the last row and column are no key, but still queries
    changed[..., :, 4] += 10.0
    torch.testing.assert_close(block.keys_and_values(x), block.keys_and_values(changed))
    paper = fresh_block("paper")
    assert not torch.allclose(paper.keys_and_values(x)[0], paper.keys_and_values(changed)[0])


def test_code_order_needs_two_rows_and_columns_and_says_why():
    with pytest.raises(ValueError, match=r"subsample='code'\) max-pools x .* needs H >= 2 and W >= 2; got \(2, 8, 1, 5\)"):
        NonLocalBlock(8, subsample="code")(torch.randn(2, 8, 1, 5))
    assert NonLocalBlock(8, subsample="paper")(torch.randn(2, 8, 1, 5)).shape == (2, 8, 1, 5)


@pytest.mark.parametrize("bad", ["yes", "Paper", 1, None, 2])
def test_unknown_subsample_lists_the_accepted_values(bad):
    with pytest.raises(ValueError, match=r"subsample must be False .*True or 'paper' .*or 'code' .*got"):
        NonLocalBlock(8, subsample=bad)


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
