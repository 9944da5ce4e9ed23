"""Selective Kernel against Eq. 1-6 of Li et al. (2019), written out by hand."""

import pytest
import torch
import torch.nn.functional as F

from attn_edu.modules import SelectiveKernel


def bn(x, norm):
    return F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps)


def sk_by_hand(x, block, groups):
    u_tilde, u_hat = [
        torch.relu(bn(F.conv2d(x, p[0].weight, padding=d, dilation=d, groups=groups), p[1]))
        for p, d in zip(block.paths, (1, 2))
    ]
    u = u_tilde + u_hat  # Eq. 1
    s = u.mean(dim=(2, 3))  # Eq. 2, (B, C)
    w, norm = block.fuse[0].weight[:, :, 0, 0], block.fuse[1]
    z = torch.relu(bn(s @ w.T, norm))  # Eq. 3, (B, d)
    c = x.shape[1]
    select = block.select.weight[:, :, 0, 0]  # (2C, d): rows of A, then rows of B
    a_logits, b_logits = z @ select[:c].T, z @ select[c:].T
    a = torch.exp(a_logits) / (torch.exp(a_logits) + torch.exp(b_logits))  # Eq. 5
    b = 1 - a
    return a[:, :, None, None] * u_tilde + b[:, :, None, None] * u_hat  # Eq. 6


def test_matches_equations_in_eval_mode():
    block = SelectiveKernel(16, groups=4, reduction=4, min_dim=4).double().eval()
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 16, 8, 7, dtype=torch.float64)
    torch.testing.assert_close(block(x), sk_by_hand(x, block, groups=4))


def test_branch_weights_sum_to_one_over_branches_for_every_channel():
    block = SelectiveKernel(64, branches=3)
    _, weights = block.branch_weights(torch.randn(2, 64, 6, 6))
    assert weights.shape == (2, 3, 64, 1, 1)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2, 64, 1, 1))


def test_second_branch_is_a_dilated_3x3_standing_for_5x5():
    block = SelectiveKernel(64)
    second = block.paths[1][0]
    assert second.kernel_size == (3, 3) and second.dilation == (2, 2) and second.padding == (2, 2)
    assert isinstance(block.paths[1][1], torch.nn.BatchNorm2d)  # the fuse sees normalised maps


@pytest.mark.parametrize("channels, reduction, min_dim, d", [(64, 16, 32, 32), (1024, 16, 32, 64), (128, 16, 32, 32)])
def test_fuse_width_is_max_of_c_over_r_and_l(channels, reduction, min_dim, d):
    assert SelectiveKernel(channels, reduction=reduction, min_dim=min_dim).hidden == d


def test_parameter_count():
    c, g, d, m = 128, 32, 32, 2
    branch = c * (c // g) * 9 + 2 * c  # grouped 3x3 conv + BN
    expected = m * branch + c * d + 2 * d + d * m * c
    assert sum(p.numel() for p in SelectiveKernel(c).parameters()) == expected


def test_stride_two_halves_the_map():
    assert SelectiveKernel(64, stride=2)(torch.randn(2, 64, 9, 8)).shape == (2, 64, 5, 4)


def test_groups_that_do_not_divide_channels_are_rejected_with_a_suggestion():
    with pytest.raises(ValueError, match=r"groups=32 must divide channels=48; try one of \[1, 2, 4, 8, 16\]"):
        SelectiveKernel(48)
