"""Stopping the stack's processes by pid: what a killed process left behind is stopped too."""
from __future__ import annotations

import os
import signal
import sys
import time

import psutil
import pytest

from streamlab.localstack import processes

pytestmark = pytest.mark.integration  # every test here starts processes

PARENT = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); time.sleep(600)"


def test_children_of_a_killed_process_are_stopped(tmp_path):
    record = processes.spawn("parent", [sys.executable, "-c", PARENT], None, tmp_path / "parent.log")
    deadline = time.monotonic() + 60
    while not psutil.Process(record.pid).children() and time.monotonic() < deadline:
        time.sleep(0.05)
    (child,) = psutil.Process(record.pid).children()
    os.kill(record.pid, signal.SIGKILL)  # as `kill -9` of MiniStack: its workers stay behind
    processes.wait_until_exited(record, 30)
    assert child.is_running()
    assert processes.stop(record) is False  # it was not running any more...
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE  # ...but what it left is gone


def test_a_recycled_pid_group_is_never_signalled(tmp_path):
    record = processes.spawn("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"], None, tmp_path / "s.log")
    try:
        stale = processes.ProcessRecord("sleeper", record.pid, record.create_time - 100, record.argv, record.log)
        assert processes.stop(stale) is False  # the pid names another process now: leave it and its group
        assert psutil.Process(record.pid).is_running()
    finally:
        processes.stop(record)
