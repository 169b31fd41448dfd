"""A middle notebook opened on its own, on a fresh stack: it stops at once and names what to run."""
from __future__ import annotations

import nbformat
import pytest
from papermill import PapermillExecutionError

import streamlab
from streamlab.localstack import stack
from streamlab.notebook.suite import execute_notebook
from streamlab.paths import NOTEBOOKS

pytestmark = pytest.mark.notebooks


def test_api_notebook_alone_stops_at_once_naming_the_notebook_to_run_first(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("STREAMLAB_HOME", str(home))  # the kernel inherits it: a stack of its own
    monkeypatch.setenv("STREAMLAB_PORT", str(stack.pick_free_port()))
    monkeypatch.setenv("STREAMLAB_TARGET", "local")
    out = tmp_path / "03.ipynb"
    try:
        with pytest.raises(PapermillExecutionError) as caught:
            execute_notebook(NOTEBOOKS / "03_api_direct_integration.ipynb", out,
                             {"target": "local", "run_dir": str(tmp_path / "run")})
        assert caught.value.ename == "MissingPrerequisite"
        assert "Run 02_stream_processor first" in caught.value.evalue
        assert "missing table, StreamProcessor function, event source mapping" in caught.value.evalue
        # at once: the setup cell stopped it, before any of 03's own resources were made
        executed = nbformat.read(out, as_version=4)
        ran = [c for c in executed.cells if c.cell_type == "code" and c.execution_count]
        assert "require_stream_processing(tgt, config)" in ran[-1].source
        target = streamlab.connect("local")
        assert target.client("apigateway").get_rest_apis()["items"] == []
        assert target.client("dynamodb").list_tables()["TableNames"] == []
        assert not (tmp_path / "run" / "results" / "03_api_direct_integration.json").exists()
    finally:
        stack.down(home=home)
