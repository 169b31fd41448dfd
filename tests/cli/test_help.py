"""Every `streamlab` subcommand answers `--help` with its usage, and writes nothing anywhere."""
from __future__ import annotations

import argparse
import os

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


SKIPPED = {".git", ".venv", "__pycache__", ".pytest_cache", "build"}


def _checkout() -> dict[str, int]:
    """Every path of the checkout with its mtime, outside the folders a run may write to anyway."""
    found = {}
    for folder, dirs, files in os.walk(paths.CHECKOUT):
        dirs[:] = [d for d in dirs if d not in SKIPPED]
        for name in dirs + files:
            path = os.path.join(folder, name)
            found[path] = os.stat(path).st_mtime_ns
    return found


def test_every_group_and_command_is_reachable():
    assert {("up",), ("down",), ("status",), ("deploy",), ("teardown",), ("suite",), ("lab",), ("burst",),
            ("report",), ("bench", "api"), ("bench", "pipeline"), ("aws", "template"), ("aws", "package"),
            ("aws", "policy"), ("aws", "inventory"), ("aws", "teardown")} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_prints_usage_and_writes_nothing(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    # Taken around the call only: a log written into the checkout between tests (a CI runner's) is not ours.
    before = _checkout()
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    after = _checkout()
    assert exit_info.value.code == 0
    assert f"usage: streamlab {' '.join(command)}" in capsys.readouterr().out
    assert os.listdir(tmp_path) == []
    assert after == before
