"""BAM against Eq. 1-4 of Park et al. (2018), written out by hand."""

import pytest
import torch
import torch.nn.functional as F

from attn_edu.modules import BAM


def bn(x, norm):  # eval-mode batch norm with the module's statistics
    return F.batch_norm(x, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps)


def bam_by_hand(f, block, dilation):
    w0, w1 = block.channel_branch.mlp[0], block.channel_branch.mlp[3]
    m_c = torch.relu(f.mean(dim=(2, 3)) @ w0.weight.T + w0.bias) @ w1.weight.T + w1.bias
    m_c = bn(m_c, block.channel_branch.norm)[:, :, None, None]  # Eq. 3
    layers = list(block.spatial_branch.body)
    s = f
    for conv, norm in ((layers[0], layers[1]), (layers[3], layers[4]), (layers[6], layers[7])):
        s = torch.relu(bn(F.conv2d(s, conv.weight, conv.bias, padding=conv.padding, dilation=conv.dilation), norm))
    s = F.conv2d(s, layers[9].weight, layers[9].bias)
    m_s = bn(s, layers[10])  # Eq. 4
    assert layers[3].dilation == (dilation, dilation)
    return f + f * torch.sigmoid(m_c + m_s)  # Eq. 1-2


def perturb_statistics(block):
    with torch.no_grad():
        for m in block.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)


def test_matches_equations_in_eval_mode():
    block = BAM(32, reduction=4).double().eval()
    perturb_statistics(block)
    f = torch.randn(2, 32, 11, 10, dtype=torch.float64)
    torch.testing.assert_close(block(f), bam_by_hand(f, block, dilation=4))


def test_product_variant_is_the_official_combination():
    block = BAM(32, reduction=4, combine="product").double().eval()
    perturb_statistics(block)
    f = torch.randn(2, 32, 6, 6, dtype=torch.float64)
    m_c, m_s = block.channel_branch(f), block.spatial_branch(f)
    torch.testing.assert_close(block(f), (1 + torch.sigmoid(m_c * m_s)) * f)


def test_dilated_convolutions_keep_the_spatial_size():
    block = BAM(64, dilation=4)
    assert block.spatial_branch(torch.randn(2, 64, 5, 13)).shape == (2, 1, 5, 13)


@pytest.mark.parametrize("branch_norm, extra", [("paper", 2 * 256 + 2), ("official", 2 * 16)])
def test_parameter_count(branch_norm, extra):
    c, h = 256, 16
    common = (c * h + h) + (h * c + c)  # the two linear layers
    common += (c * h + h) + 2 * h + 2 * (9 * h * h + h + 2 * h) + (h + 1)  # spatial convs and their BNs
    block = BAM(c, branch_norm=branch_norm)
    assert sum(p.numel() for p in block.parameters()) == common + extra


def test_official_branches_end_without_batch_norm():
    block = BAM(64, branch_norm="official")
    assert isinstance(block.channel_branch.mlp[1], torch.nn.BatchNorm1d)
    assert isinstance(block.spatial_branch.body[-1], torch.nn.Conv2d)


@pytest.mark.parametrize("kwargs", [{"combine": "max"}, {"branch_norm": "timm"}])
def test_unknown_variant_is_rejected(kwargs):
    with pytest.raises(ValueError, match="must be one of"):
        BAM(32, **kwargs)


def test_negative_number_of_dilated_convolutions_is_rejected():
    with pytest.raises(ValueError, match="num_dilated must be a whole number >= 0; got -1"):
        BAM(32, num_dilated=-1)
