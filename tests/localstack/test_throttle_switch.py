"""The DynamoDB throttling switch (A7): an exact share of the API's writes, for a period, off by default."""
from __future__ import annotations

import pytest

from streamlab.errors import ConfigError
from streamlab.localstack.state import StackPaths
from streamlab.localstack.throttle_switch import ThrottleSwitch, switch_file, write_setting


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_off_without_a_file_and_reads_only_write_actions(tmp_path):
    paths = StackPaths(tmp_path)
    switch = ThrottleSwitch(paths)
    assert not switch.throttles("UpdateItem")
    write_setting(paths, 1.0, 60)
    assert switch.throttles("UpdateItem") and switch.throttles("PutItem")
    assert not switch.throttles("GetItem")


def test_an_exact_share_spread_evenly_until_the_period_ends(tmp_path):
    paths = StackPaths(tmp_path)
    setting = write_setting(paths, 0.25, 10)
    clock = Clock(setting.until - 5)
    switch = ThrottleSwitch(paths, clock=clock)
    decisions = [switch.throttles("UpdateItem") for _ in range(8)]
    assert decisions == [False, False, False, True] * 2
    clock.now = setting.until + 0.001
    assert not any(switch.throttles("UpdateItem") for _ in range(8))


def test_turning_it_off_and_a_broken_file_mean_off(tmp_path):
    paths = StackPaths(tmp_path)
    switch = ThrottleSwitch(paths)
    write_setting(paths, 1.0, 60)
    assert switch.throttles("UpdateItem")
    write_setting(paths, 0.0, 0.0)
    assert not switch.throttles("UpdateItem")
    switch_file(paths).write_text("{not json")
    assert not switch.throttles("UpdateItem")


@pytest.mark.parametrize("share, seconds", [(-0.1, 10), (1.5, 10), (0.5, 0)])
def test_bad_settings_are_refused_with_what_to_do(tmp_path, share, seconds):
    with pytest.raises(ConfigError, match="share|seconds"):
        write_setting(StackPaths(tmp_path), share, seconds)
    assert not switch_file(StackPaths(tmp_path)).exists()
