"""Puts the book into the wheel.

pyproject.toml holds all of the package's metadata; this file adds one step to
setuptools' ``build_py``. The chapters (book/), the student exercises
(exercises/), jupytext.toml and the JupyterLab settings (jupyter/overrides.json)
live beside the package in the repository, not inside it, so they are copied
into ``attn_edu/_book/`` in the build folder, keeping their paths: the wheel's
``_book/`` looks like the repository's root, and ``attn-edu lab`` reads either
one the same way. The solutions (solutions/) are never copied.

An editable install (``pip install -e .``, as ``make venv`` does) copies
nothing: ``attn-edu lab`` then finds the book in the repository itself.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

REPOSITORY = Path(__file__).resolve().parent

# What a reader gets, as glob patterns relative to the repository's root.
# book/benchmarks/ holds a README and the small text files of recorded GPU
# runs that chapter 11 shows.
BOOK_FILES = (
    "book/*.md",
    "book/benchmarks/*.md",
    "book/benchmarks/*.csv",
    "exercises/*.md",
    "jupytext.toml",
    "jupyter/overrides.json",
)


def book_files() -> list[Path]:
    """The files listed by BOOK_FILES, relative to the repository; fails if the chapters are missing."""
    found = sorted({path.relative_to(REPOSITORY) for pattern in BOOK_FILES for path in REPOSITORY.glob(pattern)})
    for required in ("book/02-squeeze-and-excitation.md", "exercises/02-squeeze-and-excitation.md", "jupytext.toml"):
        if Path(required) not in found:
            raise SystemExit(
                f"setup.py: expected {required} under {REPOSITORY} to put the book into the wheel, "
                "but it is not there. Build the wheel from a clone of the repository "
                "(python -m pip wheel --no-deps -w dist .)."
            )
    return found


class build_py_with_book(build_py):
    """setuptools' build_py, plus a copy of the book into attn_edu/_book/."""

    def run(self):
        super().run()
        if self.editable_mode:
            return
        for relative in book_files():
            target = Path(self.build_lib) / "attn_edu" / "_book" / relative
            self.mkpath(str(target.parent))
            self.copy_file(str(REPOSITORY / relative), str(target))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        book = Path(self.build_lib) / "attn_edu" / "_book"
        return outputs + [str(book / relative) for relative in book_files()]


setup(cmdclass={"build_py": build_py_with_book})
