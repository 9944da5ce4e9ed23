"""attn_edu.functional against independent computations."""

import math

import pytest
import torch
import torch.nn.functional as F

from attn_edu.functional import channel_pool, eca_kernel_size, global_avg_pool, scaled_dot_product_attention


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 5, 4)])
def test_global_avg_pool_keeps_trailing_axes_for_broadcasting(shape):
    x = torch.randn(*shape)
    pooled = global_avg_pool(x)
    assert pooled.shape == (*shape[:2], *([1] * (len(shape) - 2)))
    torch.testing.assert_close(pooled.flatten(1), x.flatten(2).mean(2))


def test_channel_pool_stacks_mean_then_max_over_channels():
    x = torch.randn(2, 5, 3, 4)
    pooled = channel_pool(x)
    assert pooled.shape == (2, 2, 3, 4)
    torch.testing.assert_close(pooled[:, 0], x.mean(1))
    torch.testing.assert_close(pooled[:, 1], x.max(1).values)


def test_channel_pool_rejects_signals():
    with pytest.raises(ValueError, match=r"expects \(B, C, H, W\); got \(2, 5, 3\)"):
        channel_pool(torch.randn(2, 5, 3))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_attention_matches_pytorch(dtype):
    q, k, v = torch.randn(2, 3, 7, 16, dtype=dtype), torch.randn(2, 3, 9, 16, dtype=dtype), torch.randn(2, 3, 9, 5, dtype=dtype)
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, v))


def test_attention_with_boolean_mask_matches_pytorch():
    q, k, v = torch.randn(2, 6, 8), torch.randn(2, 6, 8), torch.randn(2, 6, 8)
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    torch.testing.assert_close(
        scaled_dot_product_attention(q, k, v, mask=causal), F.scaled_dot_product_attention(q, k, v, attn_mask=causal)
    )


def test_attention_with_additive_mask_matches_pytorch():
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 3)
    bias = torch.randn(4, 5)
    torch.testing.assert_close(
        scaled_dot_product_attention(q, k, v, mask=bias), F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    )


def test_masked_keys_get_zero_weight_and_rows_sum_to_one():
    q, k, v = torch.randn(1, 3, 4), torch.randn(1, 5, 4), torch.randn(1, 5, 2)
    mask = torch.tensor([True, False, True, False, True])
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    assert (weights[..., ~mask] == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 3))


def masks_with_a_query_that_sees_no_key():
    """Query 1 of every batch may attend to no key; the others to some."""
    boolean = torch.tensor([[True, False, True, False, True]] * 4)
    boolean[1] = False
    additive = torch.zeros(4, 5).masked_fill(~boolean, -math.inf)
    return {"boolean": boolean, "float -inf": additive}


@pytest.mark.parametrize("kind", ["boolean", "float -inf"])
def test_a_query_with_every_key_masked_outputs_zero_like_pytorch(kind):
    mask = masks_with_a_query_that_sees_no_key()[kind]
    q, k, v = torch.randn(2, 4, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 3)
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask, return_weights=True)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.equal(expected[:, 1], torch.zeros(2, 3))  # what the pinned PyTorch does (since 2.5)
    torch.testing.assert_close(out, expected)
    assert torch.equal(weights[:, 1], torch.zeros(2, 5))  # its weights are all 0: the row sums to 0
    torch.testing.assert_close(weights.sum(-1)[:, [0, 2, 3]], torch.ones(2, 3))


@pytest.mark.parametrize("kind", ["boolean", "float -inf"])
def test_a_query_with_every_key_masked_has_finite_gradients_like_pytorch(kind):
    mask = masks_with_a_query_that_sees_no_key()[kind]
    mask = mask if kind == "boolean" else mask.double()  # a float mask in the inputs' dtype
    inputs = [torch.randn(2, n, d, dtype=torch.float64) for n, d in ((4, 8), (5, 8), (5, 3))]
    grads = []
    for attend in (scaled_dot_product_attention, lambda q, k, v, mask: F.scaled_dot_product_attention(q, k, v, mask)):
        leaves = [t.clone().requires_grad_() for t in inputs]
        attend(*leaves, mask=mask).square().sum().backward()
        grads.append([t.grad for t in leaves])
    for ours, theirs in zip(*grads):
        assert torch.isfinite(ours).all()
        torch.testing.assert_close(ours, theirs)
    assert torch.equal(grads[0][0][:, 1], torch.zeros(2, 8))  # the query that sees nothing gets no gradient
    q, k, v = (t.clone().requires_grad_() for t in inputs)
    assert torch.autograd.gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, mask=mask), (q, k, v))


def test_default_scale_is_one_over_sqrt_dk_as_a_python_float():
    q, k, v = torch.randn(1, 2, 9), torch.randn(1, 3, 9), torch.randn(1, 3, 1)
    expected = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(9), dim=-1) @ v
    torch.testing.assert_close(scaled_dot_product_attention(q, k, v), expected)


def test_attention_gradcheck():
    q, k, v = (torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(scaled_dot_product_attention, (q, k, v))


def test_attention_rejects_mismatched_key_size():
    with pytest.raises(ValueError, match="same last dimension d_k"):
        scaled_dot_product_attention(torch.randn(2, 3, 4), torch.randn(2, 3, 5), torch.randn(2, 3, 5))


def test_eca_kernel_size_follows_the_papers_listing():
    # t = int(abs((log2(C) + b) / gamma)); k = t if t % 2 else t + 1   (the PyTorch listing, Fig. 3)
    for channels in (1, 2, 3, 8, 64, 100, 256, 512, 1024, 2048, 4096):
        for gamma, b in ((2, 1), (1, 2), (3, 0)):
            t = int(abs((math.log2(channels) + b) / gamma))
            assert eca_kernel_size(channels, gamma, b) == (t if t % 2 else t + 1)
    assert [eca_kernel_size(c) for c in (256, 512, 1024, 2048)] == [5, 5, 5, 7]  # the release used 3, 5, 5, 7
