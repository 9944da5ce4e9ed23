"""attn_edu.images: the photograph and the feature maps the derivations use."""

import pytest
import torch

from attn_edu.images import feature_map, grace_hopper


def test_photograph_is_a_square_rgb_tensor_in_unit_range():
    image = grace_hopper(48)
    assert image.shape == (1, 3, 48, 48) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1
    assert image.std() > 0.1  # a real photograph, not a constant


def test_feature_map_is_deterministic_and_seed_dependent():
    a, b = feature_map(8, 32, seed=1), feature_map(8, 32, seed=1)
    assert torch.equal(a, b)
    assert not torch.equal(a, feature_map(8, 32, seed=2))


def test_feature_map_channels_have_different_statistics():
    fmap = feature_map(16, 64)
    assert fmap.shape == (1, 16, 64, 64)
    assert (fmap >= 0).all()  # after a ReLU
    means = fmap.mean(dim=(0, 2, 3))
    assert means.max() > 3 * means.min()


@pytest.mark.parametrize("call", [lambda: grace_hopper(4), lambda: feature_map(0)])
def test_bad_sizes_are_explained(call):
    with pytest.raises(ValueError, match="must be at least"):
        call()
