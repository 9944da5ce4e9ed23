"""cSE, sSE and scSE against Roy et al. (2018), written out by hand."""

import pytest
import torch

from attn_edu.modules import ChannelSE, ConcurrentSE, SpatialSE


def cse_by_hand(u, block):
    z = u.mean(dim=(2, 3))
    z_hat = torch.relu(z @ block.down.weight.T + block.down.bias) @ block.up.weight.T + block.up.bias
    return u * torch.sigmoid(z_hat)[:, :, None, None]


def sse_by_hand(u, block):
    w = block.squeeze.weight.view(-1)  # W_sq: one weight per channel
    q = torch.einsum("bchw,c->bhw", u, w) + block.squeeze.bias
    return u * torch.sigmoid(q)[:, None]


def test_cse_is_se_with_reduction_two():
    block = ChannelSE(12).double()
    assert block.down.out_features == 6
    u = torch.randn(2, 12, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(block(u), cse_by_hand(u, block))


def test_sse_is_a_one_by_one_projection_to_one_map():
    block = SpatialSE(12).double()
    u = torch.randn(2, 12, 5, 4, dtype=torch.float64)
    torch.testing.assert_close(block(u), sse_by_hand(u, block))


@pytest.mark.parametrize("aggregation", ["sum", "max"])
def test_scse_combines_both_recalibrations(aggregation):
    block = ConcurrentSE(12, aggregation=aggregation).double()
    u = torch.randn(2, 12, 5, 4, dtype=torch.float64)
    a, b = cse_by_hand(u, block.cse), sse_by_hand(u, block.sse)
    expected = a + b if aggregation == "sum" else torch.maximum(a, b)
    torch.testing.assert_close(block(u), expected)


def test_default_aggregation_is_the_papers_sum():
    assert ConcurrentSE(8).aggregation == "sum"


def test_parameter_counts():
    c = 32
    assert sum(p.numel() for p in ChannelSE(c).parameters()) == 2 * c * (c // 2) + c // 2 + c
    assert sum(p.numel() for p in SpatialSE(c).parameters()) == c + 1
    assert sum(p.numel() for p in ConcurrentSE(c).parameters()) == 2 * c * (c // 2) + c // 2 + c + c + 1


def test_unknown_aggregation_is_rejected():
    with pytest.raises(ValueError, match="aggregation must be one of 'sum', 'max'; got 'mean'"):
        ConcurrentSE(8, aggregation="mean")
