"""The settings and versions a suite run was made with, so its numbers can be read in context:
profile and parameters, target, the code's commit, package versions, and how busy the machine was."""
from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("streamlab", "ministack", "boto3", "papermill", "nbconvert", "ipykernel", "pandas", "matplotlib")
SETTINGS_ENV = ("STREAMLAB_TARGET", "STREAMLAB_PORT", "STREAMLAB_HOME")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_revision(repo: Path) -> str:
    """The commit checked out in `repo`, marked "+ changes" when the work tree differs from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"{commit} + changes" if dirty else commit


def machine() -> dict[str, Any]:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"platform": platform.platform(), "cpus": os.cpu_count(), "load average (1 min) at start": load}


def run_settings(profile: str, target: str, parameters: dict[str, dict], repo: Path) -> dict[str, Any]:
    """Everything a reader needs to know about how a run was made (no credentials: none are read)."""
    return {
        "profile": profile,
        "target": target,
        "parameters": parameters,
        "environment": {k: os.environ[k] for k in SETTINGS_ENV if k in os.environ},
        "commit": git_revision(repo),
        "versions": package_versions(),
        "machine": machine(),
    }
