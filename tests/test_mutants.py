"""The mutation list stays true to the library: every mutant in tests/mutants.toml still applies."""
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
def test_each_mutant_still_finds_its_line(mutant):
    """A moved module or a rewritten line shows here, not as a mutant that silently tests nothing."""
    text = (ROOT / mutant.file).read_text()
    lines = [line.strip() for line in text.split("\n")]
    if mutant.original.strip() not in lines and mutant.mutated.strip() in lines:
        return  # this checkout is a mutated copy (scripts/mutate): a test of behaviour must fail, not this one
    changed = mutant.apply(text)
    differing = [(a, b) for a, b in zip(text.split("\n"), changed.split("\n")) if a != b]
    assert len(differing) == 1 and differing[0][1].strip() == mutant.mutated.strip()


def test_ids_are_unique_and_every_mutant_says_why():
    assert len({m.id for m in MUTANTS}) == len(MUTANTS)
    assert all(m.why.strip() for m in MUTANTS)


def test_a_line_that_is_not_unique_needs_an_anchor():
    twice = mutate.Mutant(id="x", file="f.py", original="pass", mutated="return", why="w")
    with pytest.raises(SystemExit, match="on 2 lines"):
        twice.apply("def a():\n    pass\ndef b():\n    pass")
    anchored = mutate.Mutant(id="x", file="f.py", original="pass", mutated="return", why="w", after="def b")
    assert anchored.apply("def a():\n    pass\ndef b():\n    pass") == "def a():\n    pass\ndef b():\n    return"
