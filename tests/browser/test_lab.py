"""JupyterLab as a student uses it, in a real browser.

The server starts as `make lab` starts it (the project's virtualenv, the
JupyterLab settings `make venv` installs, the repository's jupytext.toml),
on a copy of book/ and exercises/, so that nothing the test runs or saves
touches the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, browser):
    folder = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "book", folder / "book", ignore=shutil.ignore_patterns("benchmarks"))
    shutil.copytree(ROOT / "exercises", folder / "exercises")
    shutil.copyfile(ROOT / "jupytext.toml", folder / "jupytext.toml")
    port = _free_port()
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", f"--notebook-dir={folder}", "--no-browser",
               f"--port={port}", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password="]
    if os.geteuid() == 0:
        command.append("--allow-root")  # as `make lab` does for root
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(folder / ".runtime"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "api/status", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + (folder / "server.log").read_text()[-2000:])
    yield url, folder
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


def _open_from_file_browser(page, url: str, folder: str, name: str) -> None:
    page.goto(f"{url}lab/tree/{folder}")
    item = page.locator(".jp-DirListing-item", has_text=name)
    item.wait_for(timeout=60_000)
    item.dblclick()
    page.locator(".jp-NotebookPanel:visible .jp-Notebook").wait_for(timeout=60_000)
    page.locator(".jp-NotebookPanel:visible .jp-Cell").first.wait_for(timeout=60_000)


def _run_all(page, timeout_s: float = 600) -> None:
    """Once the kernel is idle: Run > Run All Cells, then wait until every code cell has run."""
    page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.wait_for(timeout=120_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        prompts = page.eval_on_selector_all(
            ".jp-NotebookPanel:visible .jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())"
        )
        if prompts and all(p.startswith("[") and p[1:-2].strip().isdigit() for p in prompts):
            return
        time.sleep(1)
    pytest.fail(f"the notebook did not finish running in {timeout_s:g} s: prompts {prompts}")


def _errors(page) -> list[str]:
    """Tracebacks in any cell's output (textContent: cells outside the view are not drawn)."""
    texts = page.eval_on_selector_all(
        ".jp-NotebookPanel:visible .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        "els => els.map(e => e.textContent)",
    )
    return [t[:500] for t in texts if "Traceback" in t or "Error" in t.split("\n")[0]]


def test_the_news_pop_up_is_off_and_markdown_opens_as_a_notebook():
    settings = json.loads(SETTINGS.read_text())
    assert settings["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert settings["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["markdown"] == "Jupytext Notebook"


def test_a_student_runs_chapter_02_and_moves_the_explorers_slider(browser, lab):
    url, _ = lab
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    _open_from_file_browser(page, url, "book", "02-squeeze-and-excitation.md")
    _run_all(page)
    assert not _errors(page)
    assert "Would you like to get notified" not in page.inner_text("body")
    explorer = page.locator(".jp-NotebookPanel:visible .widget-vbox").filter(
        has=page.locator(".widget-slider", has_text="C (channels)")).first
    explorer.scroll_into_view_if_needed()
    slider = explorer.locator(".widget-slider", has_text="C (channels)").first
    slider.scroll_into_view_if_needed()
    table = explorer.locator("table", has_text="(2, ").first
    before = table.text_content()  # textContent: JupyterLab may skip drawing what is out of view
    readout = slider.locator(".widget-readout")
    value = int(readout.text_content().strip())
    new = value - 1 if value > 8 else value + 1
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(str(new))
    readout.press("Enter")  # the readout commits on Enter or when it loses focus
    readout.evaluate("element => element.blur()")
    page.wait_for_function(
        "([el, before]) => el.textContent !== before", arg=[table.element_handle(), before], timeout=60_000
    )
    assert f", {new}, " in table.text_content() and before != table.text_content()
    page.close()


def test_a_student_answers_an_exercise_and_its_check_passes(browser, lab):
    url, _ = lab
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    _open_from_file_browser(page, url, "exercises", "02-squeeze-and-excitation.md")
    answer = page.locator(".jp-NotebookPanel:visible .jp-CodeCell", has_text="def squeeze(x):").first
    answer.scroll_into_view_if_needed()
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(
        "def squeeze(x):\n    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)\n"
    )
    page.keyboard.press("Escape")
    _run_all(page)
    assert not _errors(page)
    check = page.locator(".jp-NotebookPanel:visible .jp-CodeCell", has_text='"se-squeeze", squeeze)').first
    check.scroll_into_view_if_needed()  # JupyterLab skips drawing cells outside the view
    output = check.locator(".jp-OutputArea").text_content()
    assert "All visible checks passed." in output and "1 / 1 points" in output, output
    page.close()
