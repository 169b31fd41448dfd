"""notebooks/profiles.json: `ci` keeps the suite short, `lab` runs longer with repeats; every
parameter a profile sets is one its notebook declares (a typo would be ignored with a warning)."""
from __future__ import annotations

import ast

import nbformat
import pytest

from streamlab.errors import ConfigError
from streamlab.notebook.suite import list_notebooks, load_profile

NOTEBOOKS = {p.stem: p for p in list_notebooks()}


def declared_parameters(stem: str) -> dict[str, object]:
    notebook = nbformat.read(NOTEBOOKS[stem], as_version=4)
    (cell,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    return {node.targets[0].id: ast.literal_eval(node.value)
            for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)}


@pytest.mark.parametrize("profile", ["ci", "lab"])
def test_every_profile_parameter_is_declared_by_its_notebook_with_the_same_type(profile):
    for stem, params in load_profile(profile).items():
        assert stem in NOTEBOOKS, f"profile {profile} names {stem}, which is not a notebook"
        declared = declared_parameters(stem)
        for name, value in params.items():
            assert name in declared, f"{stem} has no parameter {name!r}"
            assert type(value) is type(declared[name]), f"{stem}.{name}: {value!r} vs default {declared[name]!r}"


def test_lab_runs_longer_than_the_defaults_and_repeats_rates():
    lab = load_profile("lab")
    for stem, params in lab.items():
        declared = declared_parameters(stem)
        for name in ("duration_s", "duration"):
            if name in params:
                assert params[name] > declared[name], f"{stem}.{name} is not longer in the lab profile"
    assert lab["04_bursts"]["repeats"] > 1


def test_an_unknown_profile_names_the_ones_there_are():
    with pytest.raises(ConfigError, match="choose one of: full, ci, lab"):
        load_profile("fast")
