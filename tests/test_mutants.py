"""The mutation list and its tool: mutants name existing modules, lines are found unambiguously."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _mutate_module():
    loader = importlib.machinery.SourceFileLoader("streamlab_mutate", str(ROOT / "scripts" / "mutate"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up
    loader.exec_module(module)
    return module


mutate = _mutate_module()
MUTANTS = mutate.load(ROOT / "tests" / "mutants.toml")


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_each_mutant_names_a_module_that_exists(mutant):
    """A moved module shows here, not as a mutant that silently tests nothing. (A rewritten line is
    caught by `scripts/mutate` itself, which refuses a stale list before running anything; this
    test does not read the lines, so a mutated copy fails only on tests of behaviour.)"""
    assert (ROOT / mutant.file).is_file(), f"{mutant.id}: {mutant.file} is gone; update tests/mutants.toml"


def test_ids_are_unique_and_every_mutant_says_why():
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert all(m.why.strip() for m in MUTANTS)


def test_a_line_that_is_not_unique_needs_an_anchor():
    twice = mutate.Mutant(id="x", file="f.py", original="pass", mutated="return", why="w")
    with pytest.raises(SystemExit, match="on 2 lines"):
        twice.apply("def a():\n    pass\ndef b():\n    pass")
    anchored = mutate.Mutant(id="x", file="f.py", original="pass", mutated="return", why="w", after="def b")
    assert anchored.apply("def a():\n    pass\ndef b():\n    pass") == "def a():\n    pass\ndef b():\n    return"
