"""Progress bars: a widget in JupyterLab, text in a terminal, one final line in an executed copy."""
from __future__ import annotations

import nbformat
import pytest

from streamlab.errors import ConfigError
from streamlab.load.progress import FinalLine, progress_bar
from streamlab.notebook.suite import execute_notebook


def test_final_mode_prints_one_line_when_closed(monkeypatch, capsys):
    monkeypatch.setenv("STREAMLAB_PROGRESS", "final")
    bar = progress_bar(300)
    assert isinstance(bar, FinalLine)
    for _ in range(30):
        bar.update(10)
    assert capsys.readouterr().out == ""  # nothing while it runs
    bar.close()
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("requests: 300 of 300 requests done in ")


def test_off_or_disabled_gives_no_bar(monkeypatch):
    monkeypatch.setenv("STREAMLAB_PROGRESS", "off")
    assert progress_bar(10) is None
    monkeypatch.setenv("STREAMLAB_PROGRESS", "auto")
    assert progress_bar(10, enabled=False) is None


def test_outside_a_kernel_auto_is_the_text_bar(monkeypatch):
    monkeypatch.delenv("STREAMLAB_PROGRESS", raising=False)
    bar = progress_bar(10)
    try:
        assert type(bar).__module__ == "tqdm.std"
    finally:
        bar.close()


def test_a_wrong_mode_is_refused_with_the_choices(monkeypatch):
    monkeypatch.setenv("STREAMLAB_PROGRESS", "fancy")
    with pytest.raises(ConfigError, match="auto, widget, text, final, off"):
        progress_bar(10)


@pytest.mark.notebooks
def test_an_executed_copy_has_one_progress_line_and_no_kernel_warning(tmp_path, monkeypatch, capfd):
    monkeypatch.delenv("STREAMLAB_PROGRESS", raising=False)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "streamlab", "display_name": "streamlab", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "from streamlab.load.progress import progress_bar\n"
        "bar = progress_bar(50)\n"
        "for _ in range(50):\n    bar.update(1)\n"
        "bar.close()")]
    nbformat.write(nb, tmp_path / "in.ipynb")
    execute_notebook(tmp_path / "in.ipynb", tmp_path / "out.ipynb", {}, cwd=tmp_path)
    outputs = nbformat.read(tmp_path / "out.ipynb", as_version=4).cells[0].outputs
    texts = [o.get("text", "") for o in outputs]
    assert len(outputs) == 1 and texts[0].startswith("requests: 50 of 50 requests done in "), outputs
    assert "without encryption" not in capfd.readouterr().err
