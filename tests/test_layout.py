"""The tree tells the architecture: who may import whom, no cycles, a docstring on every module.

Read from the source with `ast` (nothing is imported), so a new import that breaks a layer fails
here with the file and line to look at.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import streamlab

LIB = Path(streamlab.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(LIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(LIB.rglob("*.py"))}


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported streamlab module, line) for every import in the file, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "streamlab":
            names = [f"{node.module}.{a.name}" for a in node.names]
            resolved = [n for n in names if n in MODULES]
            found += [(n, node.lineno) for n in resolved]
            if len(resolved) < len(names):
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "streamlab"]
    return found


IMPORTS = {name: _imports(path) for name, path in MODULES.items()}


def _area(module: str) -> str:
    """The concern a module belongs to: its sub-package, or the top-level module itself."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def _offending(importer_prefix: str, imported_prefixes: tuple[str, ...]) -> list[str]:
    return [f"{MODULES[m]}:{line} imports {target}"
            for m, targets in IMPORTS.items() if m == importer_prefix or m.startswith(importer_prefix + ".")
            for target, line in targets if target.startswith(imported_prefixes)]


def test_no_cycles_between_areas():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in IMPORTS.items():
        for target, _ in targets:
            if _area(module) != _area(target) and target != "streamlab":
                graph[_area(module)].add(_area(target))

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            for nxt in graph.get(stack.pop(), ()):
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    cycles = sorted((a, b) for a in graph for b in graph[a] if reaches(b, a))
    assert cycles == [], f"areas that import each other: {cycles}"


@pytest.mark.parametrize("importer,forbidden,why", [
    ("streamlab.provision", ("streamlab.localstack", "streamlab.connect"),
     "provisioning never starts the local stack: the caller passes a target"),
    ("streamlab.experiment", ("streamlab.aws",), "the experiment runner receives the cost guard"),
    ("streamlab.localstack.apiexec", ("streamlab.localstack.frontdoor",), "the front door imports its services"),
    ("streamlab.localstack.esm", ("streamlab.localstack.frontdoor",), "the front door imports its services"),
    ("streamlab.localstack.esm.control", ("streamlab.localstack.esm.service",),
     "the ESM service builds its control plane, not the reverse"),
    ("streamlab.localstack", ("streamlab.provision", "streamlab.experiment", "streamlab.notebook", "streamlab.cli",
                              "streamlab.bench", "streamlab.observe", "streamlab.load", "streamlab.connect"),
     "the emulated services stand alone: they serve any AWS client"),
    ("streamlab.load", ("streamlab.localstack", "streamlab.provision", "streamlab.observe", "streamlab.experiment"),
     "the load generator knows only URLs"),
    ("streamlab.observe", ("streamlab.localstack", "streamlab.provision", "streamlab.experiment", "streamlab.cli"),
     "observing reads results through a target, whatever runs it"),
])
def test_layers(importer, forbidden, why):
    assert _offending(importer, forbidden) == [], why


def test_only_the_cli_package_reads_the_command_line():
    readers = [str(path) for name, path in MODULES.items()
               if "sys.argv" in path.read_text(encoding="utf-8") and not name.startswith("streamlab.cli")
               and not name.endswith(".service") and name != "streamlab.localstack.frontdoor"
               and name != "streamlab.bench.load"]
    assert readers == [], "command lines belong in streamlab.cli (services parse their own process arguments)"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_has_a_docstring(name):
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{MODULES[name]} needs a module docstring saying what it is for"


@pytest.mark.parametrize("name", sorted(n for n, p in MODULES.items() if p.name == "__init__.py"))
def test_every_package_maps_its_modules(name):
    path = MODULES[name]
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    children = sorted(p.stem if p.suffix else p.name for p in path.parent.iterdir()
                      if (p.suffix == ".py" and p.stem != "__init__" and not p.stem.startswith("_"))
                      or (p.is_dir() and (p / "__init__.py").exists()))
    missing = [c for c in children if c not in doc]
    assert missing == [], f"{path}: the package docstring's map does not mention {missing}"
