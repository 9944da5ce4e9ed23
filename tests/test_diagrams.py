"""attn_edu.diagrams: the block diagrams of the chapters."""

import matplotlib

matplotlib.use("Agg")

import pytest

from attn_edu.diagrams import block_diagram


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_every_box_label_and_note_is_drawn():
    fig = block_diagram(["conv", "BN", "SE"], highlight=("SE",), notes={"SE": "(B, C, H, W)"}, title="where SE sits")
    assert {"conv", "BN", "SE", "(B, C, H, W)"} <= set(texts(fig))
    assert fig.axes[0].get_title() == "where SE sits"


def test_residual_block_draws_the_identity_path_and_the_sum():
    assert {"identity", "+"} <= set(texts(block_diagram(["a", "b"], residual=True)))
    assert "identity" not in texts(block_diagram(["a", "b"]))


def test_highlighted_box_has_its_own_colour():
    fig = block_diagram(["a", "SE"], highlight=("SE",))
    colours = {tuple(p.get_facecolor()) for p in fig.axes[0].patches if hasattr(p, "get_boxstyle")}
    assert len(colours) == 2


def test_empty_diagram_is_rejected():
    with pytest.raises(ValueError, match="at least one box"):
        block_diagram([])
