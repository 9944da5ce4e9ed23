"""The wheel carries the book, and `attn-edu lab` opens it from a fresh virtualenv.

A reader without the repository runs `pip install attn-edu` and then
`attn-edu lab`. These tests build the wheel from a copy of the working tree,
install it (not editable) into a new virtualenv, and run the installed
command there: it must copy the chapters and exercises, and start a
JupyterLab that serves a chapter as a notebook through jupytext.

Installing torch and JupyterLab afresh would take minutes and the network,
so the fresh virtualenv gets the wheel alone (--no-deps) and sees this
project's installed dependencies through a .pth file, as if pip had just
installed them. A true install with dependencies is a manual check (README).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from attn_edu.lab import book_files, copy_book, settings_file_for, write_lab_settings

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "book/02-squeeze-and-excitation.md"
EXERCISES = "exercises/02-squeeze-and-excitation.md"
TOKEN = "attn-edu-wheel-test"
# What a reader needs; everything else is an extra.
READER_NEEDS = {"torch", "jupyterlab", "jupytext", "ipywidgets", "matplotlib", "tqdm", "numpy"}
# Left out of the copy the wheel is built from: virtualenvs, build outputs, caches.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "_build", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
    "*.ipynb", ".ipynb_checkpoints", "bench-results", "attn-edu-book", "node_modules",
)


def run(command, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, **kwargs)
    assert result.returncode == 0, f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the working tree (so no build/ folder lands in the repository)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), str(source)])
    (built,) = (tmp / "dist").glob("attn_edu-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> Path:
    """A new virtualenv with the wheel installed, not editable; returns its bin/ folder."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    # The dependencies: this project's site-packages, behind the venv's own (a .pth
    # file appends it to sys.path), instead of a download of torch and JupyterLab.
    (purelib / "project-dependencies.pth").write_text(site.getsitepackages()[0] + "\n")
    # pip puts the dependencies' Jupyter data (JupyterLab's assets, the setting that
    # enables jupytext's server extension) under the venv's prefix; link them there.
    for folder in ("share/jupyter", "etc/jupyter"):
        (venv / folder).parent.mkdir(parents=True, exist_ok=True)
        (venv / folder).symlink_to(Path(sys.prefix) / folder)
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])
    return venv / "bin"


def isolated_env(tmp: Path) -> dict[str, str]:
    """The environment for the fresh venv's commands: no repository on the path, no user Jupyter config."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR"):
        env[name] = str(tmp / name.lower())
    env["JUPYTER_TOKEN"] = TOKEN
    return env


def test_wheel_carries_the_chapters_and_exercises_but_no_solutions_or_tests(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    book = "attn_edu/_book/"
    for path in sorted((ROOT / "book").glob("*.md")) + sorted((ROOT / "exercises").glob("*.md")):
        assert book + path.relative_to(ROOT).as_posix() in names, f"{path.name} is missing from the wheel"
    assert {book + "jupytext.toml", book + "jupyter/overrides.json", "attn_edu/lab.py", "attn_edu/cli.py"} <= names
    assert not [n for n in names if n.startswith(("tests/", "solutions/", "book/", "exercises/", book + "solutions/"))]
    with zipfile.ZipFile(wheel) as archive:
        texts = {n: archive.read(n).decode() for n in names if n.startswith(book) and n.endswith(".md")}
    leaked = [n for n, text in texts.items() if "### BEGIN SOLUTION" in text or "### BEGIN HIDDEN TESTS" in text]
    assert not leaked, f"solutions or hidden tests must never ship to students: {leaked}"
    assert texts[book + CHAPTER] == (ROOT / CHAPTER).read_text(), "the wheel's chapter differs from the repository's"


def test_wheel_declares_what_a_reader_needs_and_keeps_test_and_gpu_packages_as_extras(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (metadata_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    required, extras = set(), {}
    for requirement in metadata.get_all("Requires-Dist"):
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower()
        extra = re.search(r'extra == "([^"]+)"', requirement)
        if extra:
            extras.setdefault(extra.group(1), set()).add(name)
        else:
            required.add(name)
    assert READER_NEEDS <= required
    assert not required & {"pytest", "hypothesis", "pyyaml", "nbval", "triton", "nbgrader"}
    assert {"pytest", "nbval", "triton"} <= extras["test"]
    assert extras["gpu"] == {"triton"}


def test_fresh_venv_imports_the_installed_wheel_not_the_repository(fresh_venv, tmp_path):
    where = run(
        [str(fresh_venv / "python"), "-c", "import attn_edu, attn_edu.lab as lab; print(attn_edu.__file__); print(lab.book_source())"],
        cwd=tmp_path, env=isolated_env(tmp_path),
    ).stdout.split()
    site_packages = fresh_venv.parent / "lib"
    assert Path(where[0]).is_relative_to(site_packages), f"attn_edu came from {where[0]}, not the fresh venv"
    assert Path(where[1]) == Path(where[0]).parent / "_book"


def test_fresh_venv_has_every_requirement_of_the_wheel(fresh_venv, tmp_path):
    check = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(fresh_venv / "python"), "check"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    # Only attn-edu's own requirements are this test's business; report the rest.
    about_us = [line for line in check.stdout.splitlines() if line.lower().startswith(("attn-edu", "attn_edu"))]
    assert not about_us, "\n".join(about_us)


def test_installed_lab_copy_only_copies_the_book_and_keeps_a_readers_file(fresh_venv, tmp_path):
    folder = tmp_path / "my book"
    env = isolated_env(tmp_path)
    first = run([str(fresh_venv / "attn-edu"), "lab", str(folder), "--copy-only"], cwd=tmp_path, env=env)
    assert (folder / CHAPTER).read_text() == (ROOT / CHAPTER).read_text()
    assert (folder / EXERCISES).read_text() == (ROOT / EXERCISES).read_text()
    assert (folder / "jupytext.toml").read_text() == (ROOT / "jupytext.toml").read_text()
    assert not (folder / "solutions").exists()
    assert "Kept" not in first.stdout

    (folder / EXERCISES).write_text("my answers")
    second = run([str(fresh_venv / "attn-edu"), "lab", str(folder), "--copy-only"], cwd=tmp_path, env=env)
    assert (folder / EXERCISES).read_text() == "my answers"
    assert EXERCISES in second.stdout and "Kept" in second.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_installed_lab_starts_jupyterlab_that_opens_a_chapter_as_a_notebook(fresh_venv, tmp_path):
    folder, port = tmp_path / "book", free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(fresh_venv / "attn-edu"), "lab", str(folder), "--no-browser", "--port", str(port)],
        cwd=tmp_path, env=isolated_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"attn-edu lab exited {server.returncode}:\n{server.stdout.read()}"
            try:
                get_json(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "JupyterLab did not answer within 60 s"
                time.sleep(0.5)

        docmanager = get_json(f"{base}/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        assert docmanager["settings"]["defaultViewers"] == {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
        notification = get_json(f"{base}/lab/api/settings/@jupyterlab/apputils-extension:notification")
        assert notification["settings"]["fetchNews"] == "false"

        chapter = get_json(f"{base}/api/contents/{CHAPTER}?type=notebook")
        assert chapter["type"] == "notebook" and chapter["format"] == "json"
        assert any("Squeeze" in "".join(cell["source"]) for cell in chapter["content"]["cells"])
        assert get_json(f"{base}/api/contents/{EXERCISES}?type=notebook")["type"] == "notebook"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            output, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
            pytest.fail(f"JupyterLab did not stop within 30 s of SIGTERM:\n{output}")
    assert f"Serving notebooks from local directory: {folder}" in output
    assert server.returncode == 0, output


# What attn-edu lab does, checked in this process against the repository's book.


def test_book_files_are_the_chapters_exercises_and_jupytext_toml():
    files = {path.as_posix() for path in book_files(ROOT)}
    assert {CHAPTER, EXERCISES, "jupytext.toml", "book/README.md", "exercises/README.md"} <= files
    assert not [f for f in files if f.startswith("solutions")]


def test_copy_book_keeps_files_that_exist(tmp_path):
    (tmp_path / "exercises").mkdir()
    (tmp_path / EXERCISES).write_text("my answers")
    copied, kept = copy_book(ROOT, tmp_path)
    assert kept == [Path(EXERCISES)]
    assert Path(CHAPTER) in copied and Path(EXERCISES) not in copied
    assert (tmp_path / EXERCISES).read_text() == "my answers"
    assert copy_book(ROOT, tmp_path)[0] == []


def test_lab_settings_become_user_settings_files_and_a_changed_one_is_kept(tmp_path):
    written = write_lab_settings(ROOT / "jupyter" / "overrides.json", tmp_path)
    news = tmp_path / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    assert news in written and json.loads(news.read_text())["fetchNews"] == "false"
    news.write_text('{"fetchNews": "true"}')
    assert news not in write_lab_settings(ROOT / "jupyter" / "overrides.json", tmp_path)
    assert json.loads(news.read_text()) == {"fetchNews": "true"}


def test_settings_file_for_a_plugin_id():
    assert settings_file_for("@jupyterlab/docmanager-extension:plugin") == Path(
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings"
    )
    with pytest.raises(ValueError, match="got 'docmanager'"):
        settings_file_for("docmanager")


def test_news_setting_matches_jupyterlabs_schema():
    """overrides.json must use the values JupyterLab's own schema allows, or JupyterLab ignores it."""
    schema_file = Path(sys.prefix) / "share/jupyter/lab/schemas/@jupyterlab/apputils-extension/notification.json"
    if not schema_file.exists():
        pytest.skip(f"JupyterLab's schemas are not installed at {schema_file}")
    schema = json.loads(schema_file.read_text())["properties"]["fetchNews"]
    overrides = json.loads((ROOT / "jupyter" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] in [c["const"] for c in schema["oneOf"]]
