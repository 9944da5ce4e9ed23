"""The book's files follow the format: Jupytext MyST notebooks, no outputs,
no .ipynb in the repository, every mechanism chapter checked against attn_edu."""

import re
import subprocess
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]-*.md"))
MECHANISM_CHAPTERS = [p for p in CHAPTERS if 2 <= int(p.name[:2]) <= 11]


def test_there_are_chapters():
    assert [p.name[:2] for p in CHAPTERS][:2] == ["00", "01"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_a_myst_notebook_with_a_python_kernel(path):
    notebook = jupytext.read(path)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert any(cell.cell_type == "code" for cell in notebook.cells)
    assert re.match(r"^\d\d-[a-z0-9-]+\.md$", path.name)


@pytest.mark.parametrize("path", MECHANISM_CHAPTERS, ids=lambda p: p.name)
def test_mechanism_chapter_checks_its_derivation_and_links_its_exercises(path):
    text = path.read_text()
    assert "torch.testing.assert_close" in text
    assert f"../exercises/{path.name}" in text
    # Chapters 02-10 train a model with and without their mechanism; chapter 11 times
    # modules instead, with a progress bar of its own.
    experiment = "fit(" if int(path.name[:2]) <= 10 else "tqdm("
    assert experiment in text, "every mechanism chapter has an experiment"
    assert "plt.show()" in text or "plot_learning_curves(" in text, "every experiment has a plot"


def test_chapter_links_point_to_existing_exercises():
    for path in MECHANISM_CHAPTERS:
        assert (ROOT / "exercises" / path.name).exists(), f"{path.name} links to missing exercises"


def test_no_notebook_files_are_tracked():
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert tracked.stdout.strip() == ""


def test_jupyterlab_opens_markdown_as_notebooks():
    settings = (ROOT / "jupyter" / "overrides.json").read_text()
    assert '"markdown": "Jupytext Notebook"' in settings
    assert "overrides.json" in (ROOT / "Makefile").read_text()
