"""Inject faults into the local stack's own processes, by the pids in its state file."""
from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Iterator

from streamlab.errors import ConfigError
from streamlab.localstack import processes, stack


@contextlib.contextmanager
def paused(service: str = "ministack", home: Path | None = None) -> Iterator[None]:
    """Freeze one of the stack's processes (SIGSTOP) for the duration of the block.

    A frozen MiniStack accepts connections but never answers: to its clients it looks like a
    DynamoDB that hangs, which is what an integration timeout is for.
    """
    state = stack.running_state(home)
    if service not in state.processes:
        raise ConfigError(f"no process {service!r} in the local stack; choose one of {', '.join(state.processes)}.")
    record = state.processes[service]
    if not processes.is_alive(record):
        raise ConfigError(f"{service} is not running; restart the stack with `streamlab down` and `streamlab up`.")
    os.kill(record.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(record.pid, signal.SIGCONT)
