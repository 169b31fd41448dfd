"""`streamlab lab`: JupyterLab on 127.0.0.1 over the repository, set up so using it is safe.

- Saving never writes outputs into the notebooks (streamlab.notebook.clean_save), so the tracked
  notebooks stay clean; executed copies with outputs come from `streamlab suite`.
- Only the project's `streamlab` kernel is offered; no news or update pop-up (lab_settings/).
- The root is the repository, so README.md is in the file browser (opened as rendered Markdown).
- One line says which URL to open; the token in it is made fresh for each start.
"""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from streamlab.errors import ConfigError
from streamlab.notebook.suite import KERNEL
from streamlab.paths import CHECKOUT, NOTEBOOKS

LAB_SETTINGS = Path(__file__).parent / "lab_settings"
FIRST_NOTEBOOK = (NOTEBOOKS / "00_start_here.ipynb").relative_to(CHECKOUT).as_posix()
READY_TIMEOUT = 120.0


def lab_argv(port: int = 8888, token: str | None = None, root: Path = CHECKOUT) -> list[str]:
    """The JupyterLab command line: loopback only, our kernel only, the save hook, our lab settings."""
    argv = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        # Our own "open this URL" line replaces the server's start-up banner.
        "--ServerApp.log_level=WARN",
        "--LabApp.log_level=WARN",
        f"--MappingKernelManager.default_kernel_name={KERNEL}",
        f"--KernelSpecManager.allowed_kernelspecs={KERNEL}",
        "--FileContentsManager.pre_save_hook=streamlab.notebook.clean_save.strip_outputs_before_save",
        f"--LabApp.app_settings_dir={LAB_SETTINGS}",
        # No extension catalogue look-ups from the offline lab.
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        argv.append("--allow-root")
    if token is not None:
        argv.append(f"--IdentityProvider.token={token}")
    return argv


def lab_url(port: int, token: str, path: str = FIRST_NOTEBOOK) -> str:
    """The URL that opens `path` (relative to the root) and logs the browser in (the token becomes a cookie)."""
    return f"http://127.0.0.1:{port}/lab/tree/{path}?token={token}"


def wait_until_ready(port: int, token: str, alive: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
    """Return once the server answers its API; raise if it exits (`alive()` false) or stays silent."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise ConfigError(f"JupyterLab stopped before it was ready; see its message above. "
                              f"If port {port} is taken, choose another with --port.")
        try:
            with urllib.request.urlopen(request, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise ConfigError(f"JupyterLab did not answer on port {port} within {timeout:.0f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _say_now(message: str) -> None:
    # Flushed at once: a piped stdout (make, tee, CI logs) would otherwise hold the URL back.
    print(message, flush=True)


def run_lab(port: int = 8888, say: Callable[[str], None] = _say_now) -> int:
    """Start JupyterLab, print the one URL to open, and run until Ctrl-C (then stop it cleanly)."""
    token = secrets.token_urlsafe(24)
    # Its own session: Ctrl-C reaches us only, and we stop the server without its y/n prompt.
    # Being terminated or hung up stops it too, so no server is left behind.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    process = subprocess.Popen(lab_argv(port, token), start_new_session=True)
    try:
        wait_until_ready(port, token, alive=lambda: process.poll() is None)
        say(f"JupyterLab is ready. Open this URL: {lab_url(port, token)}")
        say("(Ctrl-C stops it. Outputs are not saved into the notebooks; `make run` keeps executed copies.)")
        return process.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
