"""docs/ci.md: its workflows are valid YAML and run commands this checkout really has."""
from __future__ import annotations

import re
import shlex

import yaml

from streamlab.cli.main import build_parser
from streamlab.paths import CHECKOUT

CI_DOC = CHECKOUT / "docs" / "ci.md"
YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.M | re.S)


def _workflows() -> list[dict]:
    return [yaml.safe_load(block) for block in YAML_BLOCK.findall(CI_DOC.read_text())]


def _suite_commands(commands: list[str]) -> list[list[str]]:
    return [shlex.split(c)[1:] for c in commands if c.startswith(".venv/bin/streamlab ")]


def test_the_github_workflow_runs_the_suite_with_junit_and_keeps_the_report():
    github = _workflows()[0]
    steps = github["jobs"]["notebooks"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert runs[0] == "scripts/bootstrap" and (CHECKOUT / "scripts" / "bootstrap").exists()
    (suite,) = _suite_commands(runs)
    args = build_parser().parse_args(suite)
    assert args.profile == "ci" and str(args.junit) == "build/junit/notebooks.xml"
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and "build/run/" in upload["with"]["path"].split()


def test_the_gitlab_job_runs_the_same_commands_and_reports_junit():
    gitlab = _workflows()[1]["notebooks"]
    (suite,) = _suite_commands(gitlab["script"])
    assert str(build_parser().parse_args(suite).junit) == gitlab["artifacts"]["reports"]["junit"]
    assert gitlab["artifacts"]["when"] == "always"
