"""Each notebook is paired with a percent-format script (jupytext) so a change reads as a diff.

The pair must agree, and the committed notebooks carry no outputs. After editing either side,
`make notebooks-sync` (jupytext --sync) brings the other one up to date.
"""
from __future__ import annotations

import jupytext
import nbformat
import pytest

from streamlab.notebook.suite import list_notebooks
from streamlab.paths import NOTEBOOKS

NOTEBOOK_FILES = list_notebooks()


def test_every_script_has_its_notebook_and_back():
    scripts = {p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py")}
    assert scripts == {p.stem for p in NOTEBOOK_FILES}, "run `make notebooks-sync` to pair them"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_script_and_notebook_agree(path):
    notebook = nbformat.read(path, as_version=4)
    script = path.with_suffix(".py")
    expected = jupytext.writes(notebook, fmt="py:percent")
    assert script.read_text() == expected, f"{script.name} and {path.name} differ: run `make notebooks-sync`"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_committed_notebook_has_no_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.mark.parametrize("path", NOTEBOOK_FILES, ids=lambda p: p.stem)
def test_parameters_cell_is_plain_literals(path):
    import ast

    notebook = nbformat.read(path, as_version=4)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), f"{path.name}: the parameters cell holds assignments only"
        ast.literal_eval(node.value)
