"""`streamlab aws ...`: refuses AWS without opt-in; redacts notebooks offline."""
from __future__ import annotations

import json

from streamlab.cli import main as cli_main


def main(argv: list[str]) -> int:
    return cli_main(["aws", *argv])


def test_inventory_and_teardown_refuse_without_opt_in(monkeypatch, capsys):
    monkeypatch.delenv("STREAMLAB_AWS_OPT_IN", raising=False)
    for command in ("inventory", "teardown"):
        assert main([command, "--stack", "lab"]) == 2
        assert "STREAMLAB_AWS_OPT_IN=yes" in capsys.readouterr().err


def test_bad_stack_name_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("STREAMLAB_AWS_OPT_IN", "yes")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    assert main(["inventory", "--stack", "no spaces"]) == 2
    assert "stack name" in capsys.readouterr().err


def test_redact_command(tmp_path, capsys):
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "",
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "arn:aws:iam::123456789012:role/x"}]}]}))
    assert main(["redact", str(nb)]) == 0
    assert "1 output(s) redacted" in capsys.readouterr().err
    assert "123456789012" not in nb.read_text()
