"""Schedules are pure: intended send times from profile parameters."""
from __future__ import annotations

import numpy as np
import pytest

from streamlab.errors import ConfigError
from streamlab.load import schedule as sch


def test_constant_spaces_sends_evenly():
    s = sch.constant(rate=100, duration=2)
    assert len(s) == 200
    assert np.allclose(np.diff(s.times), 0.01)
    assert s.times[0] == 0.0 and s.duration == 2.0
    assert s.peak_rate == 100


def test_constant_with_fractional_product_rounds_down():
    assert len(sch.constant(rate=3, duration=1.5)) == 4


def test_batches_send_each_burst_at_one_instant():
    s = sch.batches(size=50, count=3, gap=2.0)
    assert len(s) == 150
    values, counts = np.unique(s.times, return_counts=True)
    assert values.tolist() == [0.0, 2.0, 4.0] and counts.tolist() == [50, 50, 50]
    assert [w[0] for w in s.windows] == [0.0, 2.0, 4.0]
    assert s.peak_rate == 50


def test_windows_alternate_rate_and_silence():
    s = sch.windows(rate=10, on=1.0, off=2.0, count=2)
    assert len(s) == 20
    assert s.windows == ((0.0, 1.0), (3.0, 4.0))
    assert not ((s.times >= 1.0) & (s.times < 3.0)).any()
    assert ((s.times >= 3.0) & (s.times < 4.0)).sum() == 10


def test_steps_climb_a_staircase():
    s = sch.steps([10, 20, 40], step=1.0)
    per_second = np.bincount(np.floor(s.times).astype(int))
    assert per_second.tolist() == [10, 20, 40]
    assert s.peak_rate == 40


def test_steps_longer_than_a_second_follow_each_other():
    s = sch.steps([10, 20], step=2.0)
    assert len(s) == 60 and s.windows == ((0.0, 2.0), (2.0, 4.0))
    assert np.bincount(np.floor(s.times / 2).astype(int)).tolist() == [20, 40]
    assert np.all(np.diff(s.times) > 0)


def test_parse_batches_count_fills_the_duration_at_the_gap():
    b = sch.parse_profile("batches:size=5,gap=2", 0, 6)
    assert (b.params["count"], len(b)) == (3, 15)


def test_ramp_times_start_at_zero_and_stay_inside_the_ramp():
    s = sch.ramp(10, 30, duration=2)
    assert s.times[0] == 0.0 and np.all(s.times >= 0) and np.all(s.times < 2)
    assert np.allclose(s.times[:2], [0.0, 0.1], atol=0.01)  # 10 req/s at the start
    down = sch.ramp(30, 10, duration=2)
    assert np.all(np.diff(down.times) > 0) and down.times[-1] < 2


def test_ramp_rate_grows_linearly():
    s = sch.ramp(0, 100, duration=10)
    assert len(s) == 500  # area under the ramp: (0 + 100) / 2 * 10
    per_second = np.bincount(np.floor(s.times).astype(int), minlength=10)
    assert per_second[0] < per_second[4] < per_second[9]
    # the rate in second k is about 10k + 5
    assert np.allclose(per_second, np.arange(10) * 10 + 5, atol=1.5)
    assert np.all(np.diff(s.times) >= 0) and s.times[-1] < 10


def test_flat_ramp_is_constant():
    assert np.allclose(sch.ramp(20, 20, 2).times, sch.constant(20, 2).times)


def test_split_keeps_every_request_once_and_the_shape():
    s = sch.constant(10, 3)
    parts = s.split(3)
    assert sorted(np.concatenate(parts).tolist()) == list(range(30))
    assert all(len(p) == 10 for p in parts)


def test_split_deals_requests_round_robin():
    # Each worker gets every n-th request, so each one spans the whole profile (not one slice of it).
    assert [p.tolist() for p in sch.constant(7, 1).split(3)] == [[0, 3, 6], [1, 4], [2, 5]]
    assert [p.tolist() for p in sch.constant(2, 1).split(3)] == [[0], [1], []]


def test_duration_is_the_end_of_the_last_window_or_send():
    assert sch.windows(rate=10, on=1.0, off=2.0, count=2).duration == 4.0
    assert sch.batches(size=5, count=3, gap=2.0).duration == 4.1  # the last burst's 100 ms shading


def test_batches_shade_a_short_window_even_with_long_gaps():
    assert sch.batches(size=2, count=2, gap=5.0).windows == ((0.0, 0.1), (5.0, 5.1))
    assert sch.batches(size=2, count=2, gap=0.05).windows == ((0.0, 0.05), (0.05, 0.1))


def test_peak_rate_counts_sends_within_one_second():
    assert sch.constant(rate=10, duration=3).peak_rate == 10
    assert sch.batches(size=5, count=3, gap=1.0).peak_rate == 5  # the next burst is 1 s later: not counted


@pytest.mark.parametrize("call", [
    lambda: sch.constant(0, 1), lambda: sch.constant(10, -1), lambda: sch.constant(float("nan"), 1),
    lambda: sch.batches(0, 1, 1), lambda: sch.batches(10, 1, 0), lambda: sch.windows(1, 1, -1, 1),
    lambda: sch.steps([], 1), lambda: sch.ramp(0, 0, 1), lambda: sch.batches(1.5, 1, 1),
])
def test_bad_parameters_raise_config_error(call):
    with pytest.raises(ConfigError):
        call()


def test_parse_profile_fills_rate_and_duration():
    assert len(sch.parse_profile("constant", 50, 2)) == 100
    b = sch.parse_profile("batches:size=20,gap=1", 0.5, 3)
    assert len(b) == 60 and b.params["count"] == 3
    w = sch.parse_profile("windows:on=1,off=1", 10, 4)
    assert len(w) == 20
    st = sch.parse_profile("steps:rates=10/30", 0, 2)
    assert np.bincount(np.floor(st.times).astype(int)).tolist() == [10, 30]
    r = sch.parse_profile("ramp:from=10,to=30", 999, 2)
    assert len(r) == 40


@pytest.mark.parametrize("spec, words", [
    ("zigzag", "unknown profile"), ("batches:size=10", "gap"), ("batches:gap=x", "not a number"),
    ("constant:speed=3", "does not take"), ("windows:on", "key=value"), ("steps:rates=a/b", "numbers"),
])
def test_parse_profile_says_what_is_wrong(spec, words):
    with pytest.raises(ConfigError, match=words):
        sch.parse_profile(spec, 10, 1)
