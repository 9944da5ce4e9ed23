"""attn_edu.functional against independent computations."""

import math

import pytest
import torch
import torch.nn.functional as F

from attn_edu.functional import channel_pool, global_avg_pool, scaled_dot_product_attention


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
