"""``attn-edu lab``: the book in JupyterLab, for a reader who installed the wheel.

    attn-edu lab [FOLDER] [--no-browser] [--port N] [--copy-only]

copies the chapters (book/) and the student exercises (exercises/) into FOLDER
(default ./attn-edu-book), with the jupytext.toml that saves notebooks back as
Markdown, and starts JupyterLab with FOLDER as its root. A file that is already
in FOLDER is kept as it is, so running the command again never overwrites a
reader's answers.

JupyterLab gets the book's settings (jupyter/overrides.json: double-click a
chapter and it opens as a notebook through jupytext; no pop-up asking about
Jupyter news) as user settings kept inside FOLDER/.jupyterlab/, so the reader's
own settings for other JupyterLab sessions stay untouched.

The book comes from the package data that the wheel carries (attn_edu/_book/,
copied in by setup.py), or, in an editable install, from the repository the
package sits in. Both have the same layout: book/, exercises/, jupytext.toml
and jupyter/overrides.json.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

DEFAULT_FOLDER = "attn-edu-book"
BOOK_FOLDERS = ("book", "exercises")
# Chapters and exercises are Markdown notebooks; book/benchmarks/ also has CSV files.
BOOK_SUFFIXES = (".md", ".csv")
SETTINGS_FILE = Path("jupyter") / "overrides.json"
# Where `attn-edu lab` keeps JupyterLab's user settings and workspaces, inside FOLDER.
LAB_STATE = ".jupyterlab"

EXIT_OK, EXIT_USAGE, EXIT_FAILED = 0, 2, 3


class BookNotFound(RuntimeError):
    """Neither the package data nor a repository around the package holds the book."""


def book_source() -> Path:
    """The folder that holds book/, exercises/, jupytext.toml and jupyter/overrides.json.

    attn_edu/_book/ in an installed wheel; the repository's root when attn_edu
    is imported from a clone (an editable install, or the working tree).
    """
    package = Path(__file__).resolve().parent
    candidates = (package / "_book", package.parent)
    needed = (*BOOK_FOLDERS, "jupytext.toml", str(SETTINGS_FILE))
    for candidate in candidates:
        if all((candidate / name).exists() for name in needed):
            return candidate
    raise BookNotFound(
        f"expected the chapters in {candidates[0]} (a wheel's package data) or in the repository "
        f"around the package ({candidates[1]}), each with {', '.join(needed)}; found neither. "
        "Reinstall attn-edu from its wheel, or run from a clone of the repository."
    )


def book_files(source: Path) -> list[Path]:
    """Every chapter and exercise file under source, relative to it, plus jupytext.toml."""
    files = [Path("jupytext.toml")]
    for folder in BOOK_FOLDERS:
        for path in sorted((source / folder).rglob("*")):
            relative = path.relative_to(source)
            hidden = any(part.startswith(".") for part in relative.parts)
            if path.is_file() and path.suffix in BOOK_SUFFIXES and not hidden:
                files.append(relative)
    return files


def copy_book(source: Path, folder: Path) -> tuple[list[Path], list[Path]]:
    """Copy the book from source into folder; return (copied, kept), both relative to folder.

    A file that already exists in folder is kept, never overwritten: it may
    hold a reader's answers or notes.
    """
    copied, kept = [], []
    for relative in book_files(source):
        target = folder / relative
        if target.exists():
            kept.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target)
        copied.append(relative)
    return copied, kept


def settings_file_for(plugin_id: str) -> Path:
    """Where JupyterLab keeps a plugin's user settings, relative to its settings folder.

    "@jupyterlab/docmanager-extension:plugin" is kept in
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings".
    """
    package, _, plugin = plugin_id.partition(":")
    if not package or not plugin:
        raise ValueError(f"expected a JupyterLab plugin id such as '@jupyterlab/docmanager-extension:plugin', got {plugin_id!r}")
    return Path(package) / f"{plugin}.jupyterlab-settings"


def write_lab_settings(overrides: Path, settings_dir: Path) -> list[Path]:
    """Write each plugin's settings from overrides (jupyter/overrides.json) as a user-settings file.

    Returns the files written. A settings file that already exists is kept:
    the reader may have changed a setting in JupyterLab since.
    """
    written = []
    for plugin_id, values in json.loads(overrides.read_text()).items():
        target = settings_dir / settings_file_for(plugin_id)
        if target.exists():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values, indent=2) + "\n")
        written.append(target)
    return written


def lab_arguments(folder: Path, port: int | None, open_browser: bool) -> list[str]:
    """The command-line options for JupyterLab: FOLDER as root, its settings and workspaces inside FOLDER."""
    state = folder / LAB_STATE
    arguments = [
        f"--ServerApp.root_dir={folder}",
        f"--LabApp.user_settings_dir={state / 'user-settings'}",
        f"--LabApp.workspaces_dir={state / 'workspaces'}",
    ]
    if port is not None:
        arguments.append(f"--ServerApp.port={port}")
    if not open_browser:
        arguments.append("--no-browser")
    # Jupyter refuses to run as root unless told; containers often run as root.
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        arguments.append("--allow-root")
    return arguments


def _describe(files: list[Path], limit: int = 30) -> str:
    names = [f"  {path.as_posix()}" for path in files[:limit]]
    if len(files) > limit:
        names.append(f"  ... and {len(files) - limit} more")
    return "\n".join(names)


def run(args) -> int:
    folder = Path(args.folder).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        print(f"attn-edu lab: expected a folder to put the book in, but {folder} is a file", file=sys.stderr)
        return EXIT_USAGE
    try:
        source = book_source()
    except BookNotFound as exc:
        print(f"attn-edu lab: {exc}", file=sys.stderr)
        return EXIT_FAILED

    copied, kept = copy_book(source, folder)
    write_lab_settings(source / SETTINGS_FILE, folder / LAB_STATE / "user-settings")
    print(f"The book is in {folder}: chapters in book/, exercises in exercises/.")
    if copied:
        print(f"Copied {len(copied)} files.")
    if kept:
        print(f"Kept {len(kept)} files that were already there (never overwritten):\n{_describe(kept)}")
    if args.copy_only:
        print(f"Open it in JupyterLab with: attn-edu lab {folder}")
        return EXIT_OK

    from jupyterlab.labapp import LabApp

    print("Starting JupyterLab; double-click a chapter in book/ to open it as a notebook. Ctrl-C stops it.")
    sys.stdout.flush()
    LabApp.launch_instance(argv=lab_arguments(folder, args.port, open_browser=not args.no_browser))
    return EXIT_OK


def add_arguments(parser) -> None:
    """The options of `attn-edu lab`, for the parser that cli.py builds."""
    parser.add_argument(
        "folder", nargs="?", default=DEFAULT_FOLDER,
        help=f"where to put the chapters and exercises, and JupyterLab's root (default: ./{DEFAULT_FOLDER})",
    )
    parser.add_argument("--no-browser", action="store_true", help="start JupyterLab without opening a browser")
    parser.add_argument("--port", type=int, default=None, help="the port JupyterLab listens on (default: 8888 or the next free one)")
    parser.add_argument("--copy-only", action="store_true", help="copy the book into FOLDER and stop; do not start JupyterLab")
    parser.set_defaults(func=run)
