"""Start and stop the stack's child processes by pid, never by name."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from streamlab.localstack import private
from streamlab.localstack.state import ProcessRecord


def spawn(name: str, argv: list[str], env: dict[str, str] | None, log: Path) -> ProcessRecord:
    """Start `argv` in its own session (so its own children can be stopped with it), with umask 077
    so that everything it creates is private to the user."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with private.open_private(log, "ab") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            umask=private.UMASK,
        )
    return ProcessRecord(
        name=name, pid=proc.pid, create_time=psutil.Process(proc.pid).create_time(), argv=argv, log=str(log)
    )


def is_alive(record: ProcessRecord) -> bool:
    """True if the pid still names the process we started (not a recycled pid, not a zombie)."""
    try:
        proc = psutil.Process(record.pid)
        return abs(proc.create_time() - record.create_time) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _group_members(record: ProcessRecord) -> list[psutil.Process]:
    """The process and every descendant (MiniStack's Lambda workers, for example)."""
    try:
        root = psutil.Process(record.pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop(record: ProcessRecord, timeout: float = 10.0) -> bool:
    """Stop the process and its descendants: SIGTERM, then SIGKILL after `timeout`. True if it was running.

    A process that died on its own (kill -9) may have left children (MiniStack's Lambda workers):
    those are stopped too, found by the process group it led."""
    if not is_alive(record):
        _reap(record.pid)
        _terminate(_orphans(record), timeout)
        return False
    members = _group_members(record)
    try:
        os.killpg(record.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    _terminate(members, timeout)
    _reap(record.pid)
    return True


def _terminate(members: list[psutil.Process], timeout: float) -> None:
    for proc in members:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(members, timeout=timeout)
    for proc in alive:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=timeout)


def _orphans(record: ProcessRecord) -> list[psutil.Process]:
    """What is left of the process group of a dead `record` (spawned with its own session, so the
    group id is its pid), unless that pid now names another process (then its group is not ours)."""
    try:
        if abs(psutil.Process(record.pid).create_time() - record.create_time) >= 0.01:
            return []
    except psutil.NoSuchProcess:
        pass
    left = []
    for proc in psutil.process_iter():
        try:
            if proc.pid != record.pid and os.getpgid(proc.pid) == record.pid and proc.create_time() >= record.create_time:
                left.append(proc)
        except (ProcessLookupError, psutil.Error):
            continue
    return left


def _reap(pid: int) -> None:
    # When the stack was started by this very process the child must be waited for,
    # or it lingers as a zombie.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_until_exited(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(record):
            return True
        time.sleep(0.05)
    return False
