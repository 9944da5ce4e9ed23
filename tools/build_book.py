"""Build the HTML book into _build/html/ from the chapters that `make test` executed.

    python tools/build_book.py [--execute-missing]

`make test` runs every chapter once, with nbval; the root conftest.py keeps
what each cell printed and displayed in _build/executed/book/. This script
builds the site from those executed chapters, so the book is not run twice:

1. _build/site/ gets the site's sources: every chapter as executed, with a
   first cell that links its notebook (an .ipynb to download) and its
   exercises; the exercise notebooks (not executed); the docs the chapters
   link to; and index.md, the table of contents in chapter order.
2. Sphinx with MyST-NB and the book theme (tools/sphinx/conf.py) writes
   _build/html/: open _build/html/index.html from disk or any web server.

A chapter that has not been executed stops the build and says what to run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
EXECUTED = BUILD / "executed" / "book"
SOURCES = BUILD / "notebooks" / "book"
SITE = BUILD / "site"
HTML = BUILD / "html"
CONF = ROOT / "tools" / "sphinx"
CHAPTER = re.compile(r"^\d\d-[a-z0-9-]+$")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

INDEX = """# attn-edu: attention in convolutional networks

An open textbook on the attention mechanisms of convolutional networks:
each chapter derives one mechanism from its paper's equations to working
PyTorch code, checks the derivation against the `attn_edu` library, and
reproduces the paper's claim with a small experiment on a laptop CPU.

This is the book as executed by its test suite: every output, table and
plot below was produced by running the chapter. The interactive widgets
show the state they first appeared in; to move their controls, open the
chapter as a notebook (a download link is at the top of each chapter) in
JupyterLab, or install the package and run `attn-edu lab`.

```{{toctree}}
:caption: Chapters
:maxdepth: 1

{chapters}
```

```{{toctree}}
:caption: Appendix
:maxdepth: 1

{appendix}
```

```{{toctree}}
:caption: Exercises
:maxdepth: 1

exercises/index
```
"""

EXERCISES_INDEX = """# Exercises

Each chapter from 02 on has exercises with immediate feedback: download a
notebook, open it in JupyterLab with `attn_edu` installed, and run its check
cells. These pages show the exercises as a student gets them.

```{{toctree}}
:maxdepth: 1

{pages}
```
"""


def _links_cell(name: str, has_exercises: bool) -> nbformat.NotebookNode:
    parts = [f"{{download}}`This chapter as a notebook (.ipynb) <_notebooks/{name}.ipynb>`"]
    if has_exercises:
        parts.append(f"[Its exercises](exercises/{name}.ipynb)")
    return nbformat.v4.new_markdown_cell(" · ".join(parts))


def _live_only(output) -> bool:
    """A widget with no static view: the training progress bars, which JupyterLab removes when
    training ends (``leave=False``); a page would show them frozen at 0%."""
    data = output.get("data", {})
    return WIDGET_VIEW in data and "text/html" not in data


def _relink(source: str) -> str:
    """Links between Markdown files of the repository, as links between pages of the site."""
    source = re.sub(r"\]\(\.\./exercises/(\d\d-[a-z0-9-]+)\.md\)", r"](exercises/\1.ipynb)", source)
    source = re.sub(r"\]\(\.\./docs/([A-Za-z0-9_-]+)\.md\)", r"](docs/\1.md)", source)
    return re.sub(r"\]\((\d\d-[a-z0-9-]+)\.md\)", r"](\1.ipynb)", source)


def assemble() -> list[str]:
    """Write the site's sources into _build/site/; return the chapter names."""
    chapters = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]-*.md") if CHAPTER.match(p.stem))
    missing = [c for c in chapters if not (EXECUTED / f"{c}.ipynb").exists()]
    if missing:
        raise SystemExit(
            f"build_book: not executed yet: {', '.join(missing)}. Run `make test` (or "
            "`python tools/build_notebooks.py && python -m pytest _build/notebooks/book`) first."
        )
    if SITE.exists():
        shutil.rmtree(SITE)
    (SITE / "_notebooks").mkdir(parents=True)
    (SITE / "exercises").mkdir()
    (SITE / "docs").mkdir()
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("[0-9][0-9]-*.md"))
    for name in exercises:
        notebook = jupytext.read(ROOT / "exercises" / f"{name}.md")
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = _relink(cell.source).replace("](exercises/", "](")
        nbformat.write(notebook, SITE / "exercises" / f"{name}.ipynb")
    for name in chapters:
        notebook = nbformat.read(EXECUTED / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                cell.source = _relink(cell.source)
            elif cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if not _live_only(o)]
        first_heading = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "markdown" and c.source.lstrip().startswith("# "))
        notebook.cells.insert(first_heading + 1, _links_cell(name, name in exercises))
        nbformat.write(notebook, SITE / f"{name}.ipynb")
        shutil.copyfile(SOURCES / f"{name}.ipynb", SITE / "_notebooks" / f"{name}.ipynb")
    for doc in (ROOT / "docs").glob("*.md"):
        shutil.copyfile(doc, SITE / "docs" / doc.name)
    main = [c for c in chapters if int(c[:2]) < 90]
    appendix = [c for c in chapters if int(c[:2]) >= 90] + [f"docs/{d.stem}" for d in sorted((ROOT / "docs").glob("*.md"))]
    (SITE / "index.md").write_text(INDEX.format(chapters="\n".join(main), appendix="\n".join(appendix)))
    (SITE / "exercises" / "index.md").write_text(EXERCISES_INDEX.format(pages="\n".join(exercises)))
    return chapters


def copy_mathjax() -> None:
    """MathJax 3 (TeX in, SVG out, every extension) from sphinx-mathjax-offline, where conf.py points."""
    from importlib.metadata import distribution

    script = distribution("sphinx-mathjax-offline").locate_file("sphinx-mathjax-offline/static/mathjax/tex-svg-full.js")
    (HTML / "_static" / "mathjax").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(script, HTML / "_static" / "mathjax" / "tex-svg-full.js")


def execute_missing() -> int:
    """Run nbval on the chapters not executed since their Markdown last changed (`make book`)."""
    stale = [
        SOURCES / f"{md.stem}.ipynb"
        for md in sorted((ROOT / "book").glob("[0-9][0-9]-*.md"))
        if CHAPTER.match(md.stem)
        and (not (EXECUTED / f"{md.stem}.ipynb").exists()
             or (EXECUTED / f"{md.stem}.ipynb").stat().st_mtime < md.stat().st_mtime)
    ]
    if not stale:
        return 0
    print(f"build_book: executing {len(stale)} chapter(s) with nbval: {', '.join(p.stem for p in stale)}")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", *map(str, stale)], cwd=ROOT).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--execute-missing", action="store_true",
                        help="first execute (with nbval) the chapters that are not executed or changed since")
    args = parser.parse_args()
    if args.execute_missing and execute_missing() != 0:
        return 1
    chapters = assemble()
    if HTML.exists():
        shutil.rmtree(HTML)
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-c", str(CONF), "-j", "2", str(SITE), str(HTML)]
    if args.quiet:
        command.append("-q")
    done = subprocess.run(command, cwd=ROOT)
    if done.returncode != 0:
        return done.returncode
    copy_mathjax()
    print(f"build_book: {len(chapters)} chapters -> {HTML / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
