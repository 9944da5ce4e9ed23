"""attn_edu.papers is the one table of citations and published figures.

These tests keep the rest of the project in step with it: the module
docstrings cite their papers exactly as the table does, the README's table is
the table's own, every "X et al. YEAR" and arXiv id in the book, the exercises
and the package names a paper in the table, and no notebook types a published
figure that it should take from the table.
"""

import importlib
import re
from pathlib import Path

import jupytext
import pytest

from attn_edu import papers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for folder in ("book", "solutions", "exercises") for p in (ROOT / folder).glob("[0-9][0-9]-*.md")
)
PACKAGE_FILES = sorted((ROOT / "attn_edu").rglob("*.py"))


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _cells(path: Path) -> tuple[str, str]:
    """(prose, code) of a Jupytext notebook."""
    notebook = jupytext.read(path)
    prose = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    return prose, code


# ----------------------------------------------------------------- the table itself


def test_every_figure_names_a_paper_and_a_place_in_it():
    for key, figure in papers.FIGURES.items():
        assert key == figure.key
        assert figure.paper in papers.PAPERS, key
        assert key.split(".")[0] == figure.paper, f"{key}: a figure's key starts with its paper's key"
        assert figure.source and figure.what, key


def test_every_paper_is_identified_and_its_code_is_a_repository():
    for key, paper in papers.PAPERS.items():
        assert key == paper.key
        assert paper.authors and paper.title and paper.venue and 1900 < paper.year < 2100
        if paper.venue != "NVIDIA":  # vendors' data sheets have no arXiv id or DOI
            assert paper.arxiv or paper.doi, key
        if paper.arxiv:
            assert re.fullmatch(r"\d{4}\.\d{4,5}", paper.arxiv), key
        if paper.code:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", paper.code), key


def test_lookups_say_which_keys_exist():
    with pytest.raises(KeyError, match="there are"):
        papers.paper("squeeze")
    with pytest.raises(KeyError, match="cbam.table4.se_resnet50_params"):
        papers.figure("cbam.table4.se_resnet_50")


def test_compare_prints_ours_beside_the_published_figure_and_its_source():
    line = papers.compare("cbam.table4.se_resnet50_params", 28.088024)
    assert line == "SE-ResNet-50, parameters (millions): ours 28.09M, published 28.09M (Table 4 of Woo et al. 2018)"


def test_short_names_follow_the_author_count():
    assert papers.paper("se").short == "Hu et al. 2018"
    assert papers.paper("roofline").short == "Williams et al. 2009"


# ----------------------------------------------------------------- citations elsewhere


@pytest.mark.parametrize("names, classes, key", papers.README_MODULES, ids=lambda v: str(v))
def test_module_docstring_cites_its_paper_as_the_table_does(names, classes, key):
    citation = _normalise(papers.paper(key).citation())
    for class_name in re.findall(r"`(\w+)`", classes):
        cls = getattr(importlib.import_module("attn_edu.modules"), class_name)
        docstring = _normalise(importlib.import_module(cls.__module__).__doc__)
        assert citation in docstring, f"{cls.__module__} should cite: {citation}"


def test_readme_table_is_written_from_the_papers_table():
    assert papers.readme_table() in (ROOT / "README.md").read_text()


def _et_al_mentions(text: str):
    """'Hu et al. 2018', 'Hu et al. (2018)' and 'Hu et al., 2018', but not a quoted wrong one ("Lu et al.")."""
    for match in re.finditer(r"(?<![\"'“‘])\b([A-Z][a-zé]+) et al\.,? \(?(\d{4})", text):
        yield f"{match.group(1)} et al. {match.group(2)}"


KNOWN_SHORT = {p.short for p in papers.PAPERS.values()}


@pytest.mark.parametrize("path", NOTEBOOKS + PACKAGE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_et_al_citation_names_a_paper_in_the_table(path):
    wrong = sorted(set(_et_al_mentions(path.read_text())) - KNOWN_SHORT)
    assert not wrong, f"{path.name} cites {wrong}; the table knows {sorted(KNOWN_SHORT)}"


KNOWN_ARXIV = {p.arxiv for p in papers.PAPERS.values() if p.arxiv}


@pytest.mark.parametrize("path", NOTEBOOKS + PACKAGE_FILES + [ROOT / "README.md"], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_arxiv_id_belongs_to_a_paper_in_the_table(path):
    unknown = sorted(set(re.findall(r"arXiv:? ?(\d{4}\.\d{4,5})", path.read_text())) - KNOWN_ARXIV)
    assert not unknown, f"{path.name} cites arXiv {unknown}, which attn_edu.papers does not list"


# ----------------------------------------------------------------- published figures in the notebooks


def _distinctive(figure: papers.Figure) -> bool:
    """Figures whose digits are unlikely to appear in code for any other reason (28.09, 1855, 3.35)."""
    digits = figure.text().rstrip(figure.unit).replace(",", "").replace(".", "").lstrip("0")
    whole = float(figure.value).is_integer()
    power_of_two = whole and int(figure.value) & (int(figure.value) - 1) == 0
    return len(digits) >= 3 and not power_of_two


DISTINCTIVE = [f for f in papers.FIGURES.values() if _distinctive(f)]


def test_most_figures_are_distinctive_enough_to_check():
    assert len(DISTINCTIVE) >= len(papers.FIGURES) * 2 // 3


def _number_pattern(figure: papers.Figure) -> re.Pattern:
    """The figure's number as the paper prints it ('1,855') or as code would type it ('1855')."""
    printed = figure.text().rstrip(figure.unit)
    forms = "|".join(re.escape(form) for form in {printed, printed.replace(",", "")})
    return re.compile(rf"(?<![\d.,])(?:{forms})(?![\d])")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_notebooks_take_published_figures_from_the_table(path):
    prose, code = _cells(path)
    for figure in DISTINCTIVE:
        pattern = _number_pattern(figure)
        assert not pattern.search(code), (
            f"{path.name} types the published {figure.text()} ({figure.where}) in a code cell; "
            f'use papers.figure("{figure.key}")'
        )
        if pattern.search(prose):
            assert f'"{figure.key}"' in code or f"'{figure.key}'" in code, (
                f"{path.name} quotes {figure.text()} ({figure.where}) in its text but no cell prints it "
                f'from papers.figure("{figure.key}")'
            )


@pytest.mark.parametrize("path", NOTEBOOKS + PACKAGE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_figure_keys_used_exist(path):
    text = path.read_text()
    used = set(re.findall(r"""(?:figure|compare)\(\s*["']([a-z0-9-]+\.[\w.]+)["']""", text))
    assert not used - set(papers.FIGURES), f"{path.name} asks for figures the table does not have"


BOOK_CHAPTERS = sorted(p for p in (ROOT / "book").glob("[0-9][0-9]-*.md") if 2 <= int(p.name[:2]) <= 11)


@pytest.mark.parametrize("path", BOOK_CHAPTERS, ids=lambda p: p.name)
def test_chapter_opens_with_its_papers_cited_as_the_table_does(path):
    opening = _normalise(path.read_text().split("```{code-cell}", 1)[0].replace("*", ""))
    cited = [p.key for p in papers.PAPERS.values() if _normalise(p.citation()) in opening]
    assert cited, f"{path.name} should open with a citation written as attn_edu.papers.paper(key).citation()"
