"""The DynamoDB throttling switch: the API executor answers a chosen share of the API's writes
as DynamoDB would when throttled, for a chosen period.

The switch is a small JSON file in the stack's data folder (`data/faults/dynamodb-throttle.json`:
share, end time, epoch seconds), written by `streamlab.localstack.faults.throttle_dynamodb` or
`streamlab fault throttle`; the executor re-reads it whenever it changes. A throttled write never
reaches MiniStack: the executor hands the integration DynamoDB's own error
(HTTP 400, `ProvisionedThroughputExceededException`, A7), so the API's integration responses
decide what the client sees, exactly as on AWS.

Which writes: an exact share, spread evenly (write n is throttled when floor(n*share) steps up),
so a test or a notebook knows how many to expect.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from streamlab.errors import ConfigError
from streamlab.localstack.state import StackPaths, write_atomically

WRITE_ACTIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
THROTTLED_TYPE = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
THROTTLED_MESSAGE = ("The level of configured provisioned throughput for the table was exceeded. "
                     "Consider increasing your provisioning level with the UpdateTable API.")


def switch_file(paths: StackPaths) -> Path:
    return paths.data / "faults" / "dynamodb-throttle.json"


@dataclass(frozen=True)
class ThrottleSetting:
    share: float       # 0..1 of the API's DynamoDB writes
    until: float       # epoch seconds; the switch is off after this

    def active(self, now: float) -> bool:
        return self.share > 0 and now < self.until


def write_setting(paths: StackPaths, share: float, seconds: float) -> ThrottleSetting:
    """Turn the switch on (share > 0) or off (share 0) for `seconds` from now."""
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"share={share} must be between 0 and 1 (the part of the API's writes to throttle).")
    if seconds <= 0 and share > 0:
        raise ConfigError(f"seconds={seconds} must be positive: how long the throttling lasts.")
    setting = ThrottleSetting(share=share, until=time.time() + max(seconds, 0))
    switch_file(paths).parent.mkdir(parents=True, exist_ok=True)
    write_atomically(switch_file(paths), json.dumps({"share": setting.share, "until": setting.until}))
    return setting


class ThrottleSwitch:
    """The executor's side: `throttles(action)` says whether this write is to be throttled."""

    def __init__(self, paths: StackPaths, clock=time.time):
        self._file = switch_file(paths)
        self._clock = clock
        self._stamp: tuple[int, int] | None = None
        self._setting: ThrottleSetting | None = None
        self._writes = 0

    def _current(self) -> ThrottleSetting | None:
        try:
            # Asked for every write the API makes, and the file is mostly absent: os.access says so
            # without the cost of raising FileNotFoundError.
            stat = os.stat(self._file) if os.access(self._file, os.F_OK) else None
        except FileNotFoundError:
            stat = None
        if stat is None:
            self._stamp = self._setting = None
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._stamp, self._writes = stamp, 0
            try:
                raw = json.loads(self._file.read_text())
                self._setting = ThrottleSetting(float(raw["share"]), float(raw["until"]))
            except (OSError, ValueError, KeyError, TypeError):
                self._setting = None  # a half-written or hand-broken file means "off"
        return self._setting

    def throttles(self, action: str) -> bool:
        if action not in WRITE_ACTIONS:
            return False
        setting = self._current()
        if setting is None or not setting.active(self._clock()):
            return False
        before = self._writes
        self._writes += 1
        return math.floor(self._writes * setting.share) > math.floor(before * setting.share)
