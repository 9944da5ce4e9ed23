"""Real-browser tests: headless Chromium, driven by Playwright.

The browser is Debian's ``chromium`` package (``.ci/run`` installs it);
Playwright's own browser download does not work offline. Without Playwright
or Chromium these tests are skipped, and the reason says which is missing.
`make test` runs them after it has built the HTML book.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (on Debian: apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    why = _why_no_browser()
    if why:
        pytest.skip(f"no browser for the browser tests: {why}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()
