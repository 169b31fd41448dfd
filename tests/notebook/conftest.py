"""Tiny notebooks run through the real suite runner (papermill, the streamlab kernel), no stack."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "streamlab", "display_name": "streamlab (.venv)", "language": "python"}


def write_notebook(path: Path, *sources: str) -> Path:
    cells = [new_markdown_cell(f"# {path.stem}")]
    cells.append(new_code_cell('target = "local"\nrun_dir = "../build/run/manual"\nrepeats = 1', metadata={"tags": ["parameters"]}))
    cells += [new_code_cell(src) for src in sources]
    nb = new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    nbformat.write(nb, path)
    return path


PLOT = """
from pathlib import Path
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.display import Image, display
from streamlab.notebook import record_results
out = Path(run_dir) / "00_plot"
out.mkdir(parents=True, exist_ok=True)
fig, ax = plt.subplots(figsize=(4, 3))
ax.plot(range(10), [x * x for x in range(10)])
ax.set_title("squares")
fig.savefig(out / "squares.png")
display(Image(out / "squares.png"))
rows = [{"experiment": f"run {i}", "acknowledged": 100, "lost": 0, "latency p99 ms": 12.5 * i,
         "audit": "PASS"} for i in range(repeats)]
record_results(run_dir, "00_plot", rows=rows, all_passed=True, lost=0)
print("plotted")
"""

FAIL = """
def check(x):
    raise ValueError(f"bad value <{x}> & \\x1b[31mred\\x1b[0m")
check(42)
"""


@pytest.fixture
def tiny_suite(tmp_path, monkeypatch) -> Path:
    """A notebook folder: 00 draws and records, 01 fails in its second cell, 02 would run after."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "00_plot.ipynb", PLOT)
    write_notebook(folder / "01_fails.ipynb", "print('before the failure')", FAIL)
    write_notebook(folder / "02_after.ipynb", "print('after')")
    (folder / "profiles.json").write_text('{"ci": {}, "lab": {"00_plot": {"repeats": 3}}}')
    # The runner asks whether a stack runs (to stop only what it started): make that an empty home.
    monkeypatch.setenv("STREAMLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STREAMLAB_TARGET", "local")
    return folder
