"""The lab's save hook: what a run adds to a notebook is dropped; what the author wrote is kept."""
from __future__ import annotations

from streamlab.notebook.clean_save import strip_outputs_before_save


def _model(notebook: dict, kind: str = "notebook") -> dict:
    return {"type": kind, "format": "json", "content": notebook}


def test_outputs_counts_and_run_metadata_are_dropped_tags_and_sources_kept():
    notebook = {
        "cells": [
            {"cell_type": "code", "source": "x = 1", "execution_count": 7,
             "outputs": [{"output_type": "stream", "name": "stdout", "text": "hi"}],
             "metadata": {"tags": ["parameters"], "execution": {"iopub.status.busy": "t"}, "scrolled": True}},
            {"cell_type": "markdown", "source": "# title", "metadata": {"jupyter": {"source_hidden": True}}},
        ],
        "metadata": {"kernelspec": {"name": "streamlab"}, "widgets": {"state": {}},
                     "language_info": {"name": "python", "version": "3.11.7", "mimetype": "text/x-python"}},
    }
    model = _model(notebook)
    strip_outputs_before_save(model=model, path="notebooks/x.ipynb", contents_manager=None)
    code, markdown = model["content"]["cells"]
    assert code["outputs"] == [] and code["execution_count"] is None and code["source"] == "x = 1"
    assert code["metadata"] == {"tags": ["parameters"]}
    assert markdown["metadata"] == {"jupyter": {"source_hidden": True}}
    assert model["content"]["metadata"] == {"kernelspec": {"name": "streamlab"}, "language_info": {"name": "python"}}


def test_other_files_are_left_alone():
    model = {"type": "file", "format": "text", "content": "outputs: keep me"}
    strip_outputs_before_save(model=model, path="README.md", contents_manager=None)
    assert model["content"] == "outputs: keep me"
