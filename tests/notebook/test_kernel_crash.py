"""A notebook kernel that dies of a native crash says where it was, in the suite's log."""
from __future__ import annotations

import pytest

from streamlab.notebook.suite import execute_notebook
from tests.notebook.conftest import write_notebook


@pytest.mark.notebooks
def test_a_kernel_that_crashes_leaves_every_threads_python_stack_in_the_log(tmp_path, monkeypatch, capfd):
    # CI once lost a 04_bursts kernel to a segfault inside libpython, and nothing said where.
    monkeypatch.delenv("PYTHONFAULTHANDLER", raising=False)
    nb = write_notebook(tmp_path / "in.ipynb", "import ctypes\ndef crash_here():\n    ctypes.string_at(0)\ncrash_here()")
    with pytest.raises(Exception, match="(?i)dead|died"):
        execute_notebook(nb, tmp_path / "out.ipynb", {}, cwd=tmp_path)
    err = capfd.readouterr().err
    assert "Fatal Python error: Segmentation fault" in err and "crash_here" in err, err[-2000:]
