"""Convert the Markdown notebooks into .ipynb files under _build/ for nbval.

Chapters, exercises and solutions are committed as Jupytext MyST Markdown
with no outputs. ``make test`` runs this script, then pytest executes every
generated notebook with nbval. Usage::

    python tools/build_notebooks.py [FOLDER ...]     (default: book solutions)
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build" / "notebooks"


def notebook_sources(folder: Path) -> list[Path]:
    """The .md files of a folder that are notebooks (they carry a jupytext header)."""
    return sorted(p for p in folder.glob("[0-9][0-9]-*.md") if "jupytext:" in p.read_text()[:500])


def build(folders: list[str]) -> list[Path]:
    written = []
    for name in folders:
        out_dir = BUILD / name
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob("*.ipynb"):
            stale.unlink()
        for source in notebook_sources(ROOT / name):
            notebook = jupytext.read(source)
            target = out_dir / (source.stem + ".ipynb")
            jupytext.write(notebook, target)
            written.append(target)
    return written


if __name__ == "__main__":
    paths = build(sys.argv[1:] or ["book", "solutions"])
    print(f"built {len(paths)} notebooks under {BUILD.relative_to(ROOT)}")
