"""A JupyterLab save hook that keeps notebooks free of run state: outputs, execution counts, timing
metadata and the kernel's detailed language_info are dropped before a notebook reaches the disk,
so running the tracked notebooks in `streamlab lab` leaves `git status` clean. Executed copies with
their outputs come from `streamlab suite` (build/run/), never from here."""
from __future__ import annotations

from typing import Any

# Cell metadata JupyterLab writes while running or viewing a cell, not chosen by the author.
RUN_STATE_CELL_METADATA = ("execution", "collapsed", "scrolled")


def strip_run_state(notebook: dict[str, Any]) -> dict[str, Any]:
    """`notebook` (an nbformat 4 dict, changed in place) with what a run added taken out."""
    for cell in notebook.get("cells", []):
        for key in RUN_STATE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    metadata = notebook.setdefault("metadata", {})
    metadata.pop("widgets", None)
    language = metadata.get("language_info")
    if isinstance(language, dict) and "name" in language:
        metadata["language_info"] = {"name": language["name"]}
    return notebook


def strip_outputs_before_save(model: dict[str, Any], **_: Any) -> None:
    """jupyter_server's `FileContentsManager.pre_save_hook`: called with the model about to be saved."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        strip_run_state(model["content"])
