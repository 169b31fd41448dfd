"""JupyterLab on the notebooks, bound to 127.0.0.1, with the `streamlab` kernel."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from streamlab.notebook.suite import KERNEL
from streamlab.paths import NOTEBOOKS


def lab_argv(port: int = 8888, token: str | None = None, root: Path = NOTEBOOKS) -> list[str]:
    argv = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--MappingKernelManager.default_kernel_name={KERNEL}",
        # No extension catalogue look-ups from the offline lab.
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    return argv


def run_lab(port: int = 8888) -> None:
    """Replace this process with JupyterLab (Ctrl-C stops it)."""
    argv = lab_argv(port)
    os.execv(argv[0], argv)
