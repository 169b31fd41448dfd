"""What a person checks in a run report, done in a real browser: shared by the tiny-suite test and
the real suite's test."""
from __future__ import annotations

from pathlib import Path

from tests.browser import VIEWPORT, assert_links_resolve, assert_offline_page, screenshot


def check_run_report(browser, run_dir: Path, screenshot_name: str) -> dict[str, dict[str, str]]:
    """Open index.html from disk: images load, links resolve, nothing from the network, the summary
    table fits the first screen; then every notebook page it links. Returns the table by notebook."""
    page = browser.new_page(viewport=VIEWPORT)
    links = assert_offline_page(page, (run_dir / "index.html").resolve().as_uri())
    assert_links_resolve(links)
    table = page.locator("#summary")
    box = table.bounding_box()
    assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], \
        f"the summary table does not fit the first screen: {box}"
    rows = {}
    for tr in page.locator("#summary tbody tr").all():
        cells = [c.inner_text().strip() for c in tr.locator("td").all()]
        rows[cells[0]] = dict(zip(("notebook", "ran", "time", "key numbers", "verdict"), cells))
    screenshot(page, screenshot_name)
    pages = sorted({link for link in links if link.endswith(".html") or ".html#" in link})
    for link in pages:
        notebook_page = browser.new_page(viewport=VIEWPORT)
        assert_links_resolve(assert_offline_page(notebook_page, link.split("#")[0]))
        notebook_page.close()
    page.close()
    return rows
