"""`streamlab lab` as a person uses it, in a real headless browser: open a notebook from the
repository, run it, save, and the file on disk is exactly as before (outputs never saved); only the
project's kernel; no pop-up; README.md one click away and rendered."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from streamlab.notebook.lab import lab_argv, lab_url, wait_until_ready
from streamlab.localstack import processes, stack
from streamlab.notebook.suite import KERNEL
from streamlab.paths import CHECKOUT as REPO, NOTEBOOKS
from tests.browser import VIEWPORT, browser, screenshot  # noqa: F401  (fixture)
from tests.tiers import process_fixture

PROBE = "probe.ipynb"
GREETING = "hello from the probe"


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout


def _repository(root: Path) -> Path:
    """A small git repository laid out like ours: README.md, .gitignore, notebooks/00_start_here.ipynb and .py
    (byte copies of the real pair) and a probe notebook whose cells print, return a value and draw."""
    (root / "notebooks").mkdir(parents=True)
    for name in ("README.md", ".gitignore"):
        shutil.copy(REPO / name, root / name)
    for pair in NOTEBOOKS.glob("00_start_here.*"):  # the notebook and its paired script, as committed
        shutil.copy(pair, root / "notebooks" / pair.name)
    probe = new_notebook(
        cells=[new_markdown_cell("# probe"), new_code_cell(f"print({GREETING!r})"), new_code_cell("6 * 7"),
               new_code_cell("from IPython.display import HTML\nHTML('<b id=\"probe-html\">drawn</b>')")],
        metadata={"kernelspec": {"name": KERNEL, "display_name": "streamlab (.venv)", "language": "python"},
                  "language_info": {"name": "python"}},
    )
    nbformat.write(probe, root / "notebooks" / PROBE)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "notebooks")
    return root


@process_fixture()  # JupyterLab
def lab(tmp_path):
    root = _repository(tmp_path / "repo")
    home = tmp_path / "home"  # no personal Jupyter settings or kernels of whoever runs the tests
    home.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("JUPYTER")}
    env.update(HOME=str(home))
    port, token = stack.pick_free_port(), "probe-token"
    record = processes.spawn("lab", lab_argv(port, token, root=root), env=env, log=tmp_path / "lab.log")
    try:
        wait_until_ready(port, token, alive=lambda: processes.is_alive(record))
        yield root, port, token
    finally:
        processes.stop(record)


def _first_code_cell(path: Path) -> int:
    cells = nbformat.read(path, as_version=4).cells
    return next(i for i, cell in enumerate(cells) if cell.cell_type == "code")


def _open(page, url: str) -> None:
    page.goto(url)
    page.locator(".jp-Notebook, .jp-RenderedMarkdown").first.wait_for(timeout=90_000)
    # The kernel is up once the status bar says so; only then do cells run.
    page.get_by_text("streamlab (.venv) | Idle").wait_for(timeout=90_000)


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).click()
    page.locator(".lm-Menu-itemLabel", has_text=item).first.click()


def _folder_stats(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir() if p.is_file()}


def _save_and_wait(page, path: Path) -> None:
    """Save through the File menu, as a person would, and wait until the save is over: the file
    was written, it is a whole notebook, and nothing in its folder (the paired script too) changed
    for half a second. Reading it mid-write would see a truncated file on a busy machine."""
    before = path.stat().st_mtime_ns
    _menu(page, "File", "Save Notebook")
    written, last, quiet = False, None, 0
    for _ in range(600):
        written = written or path.stat().st_mtime_ns != before
        stats = _folder_stats(path.parent)
        quiet = quiet + 1 if stats == last else 0
        last = stats
        if written and quiet >= 5 and _is_whole_notebook(path):
            return
        page.wait_for_timeout(100)
    pytest.fail(f"JupyterLab did not finish saving {path.name}")


def _is_whole_notebook(path: Path) -> bool:
    try:
        nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        return True
    except Exception:  # noqa: BLE001 - mid-write: not JSON yet
        return False


def test_running_and_saving_notebooks_in_the_lab_leaves_the_sources_unchanged(lab, browser):  # noqa: F811
    root, port, token = lab
    originals = {p.name: p.read_bytes() for p in (root / "notebooks").iterdir()}
    page = browser.new_page(viewport=VIEWPORT)

    _open(page, lab_url(port, token, f"notebooks/{PROBE}"))
    _menu(page, "Run", "Run All Cells")
    page.locator(".jp-OutputArea-output", has_text=GREETING).wait_for(timeout=60_000)
    page.locator("#probe-html").wait_for(timeout=60_000)
    assert page.locator(".jp-OutputArea-output", has_text="42").count() >= 1
    screenshot(page, "lab-probe-ran.png")
    _save_and_wait(page, root / "notebooks" / PROBE)

    page = browser.new_page(viewport=VIEWPORT)
    _open(page, lab_url(port, token, "notebooks/00_start_here.ipynb") + "&reset")  # only this notebook open
    # Select the parameters cell (plain assignments, no stack needed) with the keyboard and run it.
    page.locator(".jp-Notebook .jp-Cell:visible").first.click(position={"x": 200, "y": 20})
    for _ in range(_first_code_cell(root / "notebooks" / "00_start_here.ipynb")):
        page.keyboard.press("j")
    page.keyboard.press("Shift+Enter")
    page.locator(".jp-CodeCell:visible .jp-InputPrompt", has_text="[1]").first.wait_for(timeout=60_000)
    _save_and_wait(page, root / "notebooks" / "00_start_here.ipynb")

    for name, before in originals.items():
        assert (root / "notebooks" / name).read_bytes() == before, f"saving changed {name}"
    assert _git(root, "status", "--porcelain") == ""
    # Nothing asked the user anything on the way: no dialog, no news question.
    assert page.locator(".jp-Dialog").count() == 0
    assert page.get_by_text("Jupyter news").count() == 0


def test_the_lab_offers_only_the_project_kernel_and_shows_the_readme(lab, browser):  # noqa: F811
    root, port, token = lab
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(lab_url(port, token, "README.md"))
    heading = page.locator(".jp-RenderedMarkdown h1").first
    heading.wait_for(timeout=90_000)
    assert heading.inner_text().strip().startswith("streamlab")
    screenshot(page, "lab-readme.png")
    specs = page.evaluate("""async () => (await (await fetch('/api/kernelspecs')).json())""")
    assert specs["default"] == KERNEL and list(specs["kernelspecs"]) == [KERNEL]
