"""A real headless browser for tests: Debian's Chromium driven by Playwright (no browser download).

`scripts/install-browser` installs Chromium where it is missing and we are root (as in CI); a test
skips only when the browser truly cannot be installed here, and says how to get it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "test-artifacts"
NAMES = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT = {"width": 1280, "height": 800}


def _find() -> str | None:
    return next((path for path in map(shutil.which, NAMES) if path), None)


def chromium_executable() -> str:
    path = _find()
    if path is None:
        subprocess.run([str(REPO / "scripts" / "install-browser")], check=False, timeout=900)
        path = _find()
    if path is None:
        can_install = os.geteuid() == 0 and shutil.which("apt-get")
        if can_install:
            pytest.fail("no Chromium on PATH although we are root with apt-get: scripts/install-browser could not "
                        "install it (its message says why); the browser tests must run here")
        pytest.skip("no Chromium here and no root to install it: run `sudo apt-get install -y chromium`")
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=executable)
        try:
            yield chromium
        finally:
            chromium.close()


def local_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


def assert_offline_page(page, url: str) -> list[str]:
    """Open `url` (a file), check it asked for nothing off the disk and every image drew; return its links."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url, wait_until="load")
    remote = [u for u in requested if not u.startswith(("file:", "data:"))]
    assert not remote, f"{url} loads from the network: {remote}"
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120))")
    assert not broken, f"{url}: images that did not load: {broken}"
    return page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")


def assert_links_resolve(links: list[str]) -> None:
    """Every file link points at an existing file, and every #fragment at an element in it."""
    for link in links:
        if not link.startswith("file:"):
            continue
        target = local_path(link)
        assert target.exists(), f"broken link: {link}"
        fragment = urlparse(link).fragment
        if fragment:
            assert f'id="{fragment}"' in target.read_text(encoding="utf-8"), f"no #{fragment} in {target}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path
