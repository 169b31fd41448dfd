"""Inject faults into the local stack: freeze one of its processes (by the pid in its state file),
or throttle a share of the API's DynamoDB writes for a while (`throttle_switch`)."""
from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Iterator

from streamlab.errors import ConfigError
from streamlab.localstack import processes, stack
from streamlab.localstack.state import StackPaths, default_home
from streamlab.localstack.throttle_switch import ThrottleSetting, write_setting


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


@contextlib.contextmanager
def throttle_dynamodb(share: float, seconds: float = 60.0, home: Path | None = None) -> Iterator[ThrottleSetting]:
    """Throttle `share` (0..1) of the API's DynamoDB writes for `seconds`, or until the block ends.

    The client then sees what the API's integration responses make of DynamoDB's
    ProvisionedThroughputExceededException: 429 with Retry-After. Nothing is written for a
    throttled request. Same switch: `streamlab fault throttle --share S --seconds N`.
    """
    stack.running_state(home)  # StackNotRunningError with what to do, before any file is written
    paths = StackPaths(home or default_home())
    setting = write_setting(paths, share, seconds)
    try:
        yield setting
    finally:
        write_setting(paths, 0.0, 0.0)
