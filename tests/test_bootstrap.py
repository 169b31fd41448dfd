"""The Python scripts/bootstrap makes .venv with: a CPython 3.11 that can make a venv, the
system's own first (built with profile-guided optimisation: README, "Benchmarks")."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3.11")
CAN_MAKE_A_VENV = "import ensurepip, sys, venv; print(sys.version_info[:2] == (3, 11))"


def _run(*command: str | Path) -> str:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=60,
                          check=True).stdout.strip()


@pytest.mark.integration  # runs Python interpreters
def test_bootstrap_picks_a_python_311_that_can_make_a_venv_the_systems_own_first():
    chosen = _run(ROOT / "scripts" / "python")
    system_qualifies = SYSTEM_PYTHON.exists() and _run(SYSTEM_PYTHON, "-c", CAN_MAKE_A_VENV) == "True"
    if system_qualifies:
        assert chosen == str(SYSTEM_PYTHON)
    else:
        assert chosen == "python3"  # the only other candidate, and the fallback
    if chosen != "python3":
        assert _run(chosen, "-c", CAN_MAKE_A_VENV) == "True"
