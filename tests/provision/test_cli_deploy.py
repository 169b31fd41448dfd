"""`streamlab deploy` / `streamlab teardown` against the session's local stack."""
from __future__ import annotations

import json

import pytest

from streamlab import cli
from streamlab.provision import PipelineConfig, find_remaining


def test_deploy_prints_the_pipeline_and_teardown_removes_it(target, stack_home, monkeypatch, capsys, new_stack_name):
    monkeypatch.setenv("STREAMLAB_HOME", str(stack_home))
    monkeypatch.delenv("STREAMLAB_TARGET", raising=False)
    stack = new_stack_name()
    try:
        assert cli.main(["deploy", "--stack", stack]) == 0
        out, err = capsys.readouterr()
        pipeline = json.loads(out)
        assert pipeline["stack"] == stack and pipeline["invoke_url"].startswith(target.endpoint_url)
        assert "[6/8] REST API" in err and "[7/8] guard rails: created (API key" in err
        assert "[8/8] failure handler" in err and pipeline["api_key"]
    finally:
        assert cli.main(["teardown", "--stack", stack]) == 0
    assert "nothing left" in capsys.readouterr().err
    assert not any(find_remaining(PipelineConfig(stack=stack), target=target).values())


def test_bad_stack_name_is_a_clear_error_and_creates_nothing(tmp_path, monkeypatch, capsys):
    """Refused before any target is reached: no stack started, no AWS call, so nothing created."""
    import importlib

    reached = []
    monkeypatch.setattr(importlib.import_module("streamlab.connect"), "connect", lambda *a, **k: reached.append(a) or pytest.fail("connected"))
    monkeypatch.setenv("STREAMLAB_HOME", str(tmp_path))
    assert cli.main(["deploy", "--stack", "9lives"]) == 2
    assert "starting with a letter" in capsys.readouterr().err
    assert reached == [] and list(tmp_path.iterdir()) == []
