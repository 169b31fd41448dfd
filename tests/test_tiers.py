"""The unit tier's guard: a unit test may run a short tool, never start a Python process."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.tiers import starts_python


@pytest.mark.parametrize("args, python", [
    ([sys.executable, "-m", "ministack"], True), (["python3", "-c", "pass"], True), ("python -V", True),
    (["/opt/venv/bin/jupyter", "lab"], True), (["ministack"], True), (["git", "ls-files"], False), ("wrk -t1", False),
])
def test_what_counts_as_starting_a_python_process(args, python):
    assert starts_python(args) is python


def test_a_unit_test_that_starts_python_fails_at_once():
    with pytest.raises(pytest.fail.Exception, match="unit test but started a Python process"):
        subprocess.run([sys.executable, "-c", "pass"], check=False)


def test_a_unit_test_may_run_a_short_tool():
    assert subprocess.run(["true"], check=False).returncode == 0
