"""The mutation list and its tool: mutants name existing modules, lines are found unambiguously."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import os
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
    """A moved module shows here, not as a mutant that silently tests nothing."""
    assert (ROOT / mutant.file).is_file(), f"{mutant.id}: {mutant.file} is gone; update tests/mutants.toml"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_each_mutant_line_is_still_in_its_module(mutant):
    """A rewritten or moved line shows here, in every test run, not at the next `scripts/mutate`.
    In the copy `scripts/mutate` runs the tier in, the mutant being tried has its mutated line in
    place of the original (it names itself in MUTANT_ENV), so that one is checked the other way
    round and a mutated copy still fails only on tests of behaviour."""
    text = (ROOT / mutant.file).read_text()
    if os.environ.get(mutate.MUTANT_ENV) == mutant.id:
        assert mutant.mutated.strip() in {line.strip() for line in text.splitlines()}
        return
    try:
        mutated = mutant.apply(text)
    except SystemExit as exc:
        pytest.fail(f"{exc}; update tests/mutants.toml")
    assert mutated != text, f"{mutant.id}: the mutated line is the original"


def test_ids_are_unique_and_every_mutant_says_why():
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert all(m.why.strip() for m in MUTANTS)


def test_a_line_that_is_not_unique_needs_an_anchor():
    twice = mutate.Mutant(id="x", file="f.py", original="pass", mutated="return", why="w")
    with pytest.raises(SystemExit, match="on 2 lines"):
        twice.apply("def a():\n    pass\ndef b():\n    pass")
    anchored = mutate.Mutant(id="x", file="f.py", original="pass", mutated="return", why="w", after="def b")
    assert anchored.apply("def a():\n    pass\ndef b():\n    pass") == "def a():\n    pass\ndef b():\n    return"
