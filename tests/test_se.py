"""SqueezeExcitation against Eq. 2-4 of Hu et al. (2018), written out by hand."""

import pytest
import torch

from attn_edu.modules import SqueezeExcitation


def se_by_hand(u, w1, b1, w2, b2):
    z = u.sum(dim=(2, 3)) / (u.shape[2] * u.shape[3])  # Eq. 2
    s = torch.sigmoid(torch.relu(z @ w1.T + b1) @ w2.T + b2)  # Eq. 3
    return u * s.view(*s.shape, 1, 1)  # Eq. 4


def test_matches_equations_2_to_4():
    se = SqueezeExcitation(32, reduction=8).double()
    u = torch.randn(3, 32, 6, 5, dtype=torch.float64)
    expected = se_by_hand(u, se.down.weight, se.down.bias, se.up.weight, se.up.bias)
    torch.testing.assert_close(se(u), expected)


def test_without_bias_is_the_equation_as_written():
    se = SqueezeExcitation(32, reduction=8, bias=False).double()
    u = torch.randn(2, 32, 4, 4, dtype=torch.float64)
    zeros = torch.zeros(1, dtype=torch.float64)
    torch.testing.assert_close(se(u), se_by_hand(u, se.down.weight, zeros, se.up.weight, zeros))


@pytest.mark.parametrize("channels, reduction", [(64, 16), (256, 16), (48, 4), (3, 1)])
def test_parameter_count_is_2_C_C_over_r_plus_biases(channels, reduction):
    hidden = channels // reduction
    expected = 2 * channels * hidden + hidden + channels
    assert sum(p.numel() for p in SqueezeExcitation(channels, reduction).parameters()) == expected


def test_gate_lies_in_zero_one_and_has_one_value_per_channel():
    se = SqueezeExcitation(16, reduction=4)
    gate = se.gate(torch.randn(2, 16, 7, 7))
    assert gate.shape == (2, 16, 1, 1)
    assert ((gate > 0) & (gate < 1)).all()


def test_error_names_expected_and_received_shape():
    with pytest.raises(ValueError, match=r"SqueezeExcitation\(channels=64\) expects input \(B, 64, H, W\); got \(2, 32, 8, 8\)"):
        SqueezeExcitation(64)(torch.randn(2, 32, 8, 8))
