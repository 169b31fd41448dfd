"""`streamlab lab` from a terminal: one "open this URL" line with a working token, and stopping it
(Ctrl-C, or a SIGTERM from whatever started it) stops the server too, leaving nothing behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request

import psutil
import pytest

from streamlab.localstack import stack

URL_LINE = re.compile(r"^JupyterLab is ready\. Open this URL: (http://127\.0\.0\.1:(\d+)/lab/tree/notebooks/"
                      r"00_start_here\.ipynb\?token=([\w-]{20,}))$")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.integration  # starts JupyterLab
def test_lab_prints_one_url_line_and_stops_its_server_when_stopped(tmp_path, stop_signal):
    port = stack.pick_free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout a plain pipe, as under make
    env["HOME"] = str(tmp_path)
    lab = subprocess.Popen([sys.executable, "-m", "streamlab.cli.main", "lab", "--port", str(port)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = lab.stdout.readline().rstrip("\n")
        match = URL_LINE.match(first)
        assert match, f"not the one URL line: {first!r}"
        url, shown_port, token = match.groups()
        assert int(shown_port) == port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=10) as resp:
            assert resp.status == 200
        (server,) = psutil.Process(lab.pid).children()
        lab.send_signal(stop_signal)
        assert lab.wait(timeout=60) == 0
        psutil.wait_procs([server], timeout=30)
        assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE, "JupyterLab outlived streamlab lab"
    finally:
        if lab.poll() is None:
            lab.terminate()  # it stops its server on SIGTERM; SIGKILL would leave the server behind
            try:
                lab.wait(timeout=60)
            except subprocess.TimeoutExpired:
                lab.kill()
