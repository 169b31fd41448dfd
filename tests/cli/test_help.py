"""Every `streamlab` subcommand answers `--help` with its usage, and writes nothing anywhere."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from streamlab import paths
from streamlab.cli import build_parser, main


def _subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((*prefix, name))
                found += _subcommands(sub, (*prefix, name))
    return found


COMMANDS = _subcommands(build_parser())


def _snapshot(folder: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if ".git" not in p.parts and ".venv" not in p.parts
            and "__pycache__" not in p.parts and ".pytest_cache" not in p.parts}


def test_every_group_and_command_is_reachable():
    assert {("up",), ("down",), ("status",), ("deploy",), ("teardown",), ("suite",), ("lab",), ("burst",),
            ("report",), ("bench", "api"), ("bench", "pipeline"), ("aws", "template"), ("aws", "package"),
            ("aws", "policy"), ("aws", "inventory"), ("aws", "teardown")} <= set(COMMANDS)


@pytest.fixture(scope="module")
def checkout_before() -> dict[str, float]:
    return {k: v for k, v in _snapshot(paths.CHECKOUT).items() if "/build/" not in k}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_prints_usage_and_writes_nothing(command, tmp_path, monkeypatch, capsys, checkout_before):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert f"usage: streamlab {' '.join(command)}" in capsys.readouterr().out
    assert os.listdir(tmp_path) == []
    after = {k: v for k, v in _snapshot(paths.CHECKOUT).items() if "/build/" not in k}
    assert after == checkout_before
