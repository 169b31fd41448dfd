"""Summaries from records (pure): rates, verdicts, acknowledged ids."""
from __future__ import annotations

import numpy as np
import pytest

from streamlab.load.generator import ShareResult
from streamlab.load.results import histograms_of, records_frame, summarize


def share(n=100, rate=100.0, dispatch_delay=0.0005, error="ok", ids=True):
    intended = np.arange(n) / rate
    dispatched = intended + dispatch_delay
    return ShareResult(seq=np.arange(n), intended=intended, dispatched=dispatched, sent=dispatched + 0.0001,
                       done=dispatched + 0.002, status=np.full(n, 200, dtype=np.int32), error=[error] * n,
                       request_id=[f"i{k}" if ids else "" for k in range(n)], body=["{}"] * n)


def summary_of(s):
    df = records_frame([(0, s)])
    return summarize(df, histograms_of(df), late_ms=10.0)


def test_on_time_run_keeps_its_schedule():
    s = summary_of(share())
    assert s["intended_rate"] == 100.0 and s["achieved_rate"] >= 99.9
    assert not s["generator_limited"] and s["verdict"].startswith("on time: sends went out p99 0.6 ms")
    assert s["acknowledged"] == 100 and s["late_sends"] == 0


def test_late_dispatch_is_blamed_on_the_generator():
    sh = share()
    sh.dispatched[::5] += 0.05  # the loop was 50 ms late for every fifth request
    sh.sent = sh.dispatched + 0.0001
    s = summary_of(sh)
    assert s["generator_limited"] and s["verdict"].startswith("GENERATOR-LIMITED: sends went out late")
    assert "the event loop itself was late" in s["verdict"]
    assert s["late_sends"] == 20
    assert s["send_lateness_ms"]["max"] == pytest.approx(50.6, abs=0.01)


def test_waiting_for_a_connection_is_named_as_the_cause():
    sh = share()
    sh.sent = sh.dispatched + np.where(np.arange(100) % 2 == 0, 0.03, 0.0001)  # half waited 30 ms for a connection
    s = summary_of(sh)
    assert s["generator_limited"] and "waited for a free connection" in s["verdict"]
    assert s["send_lateness_ms"]["p50"] >= 0.6 and s["send_lateness_ms"]["p99"] == pytest.approx(30.5, abs=0.01)


def test_ok_without_id_is_not_acknowledged():
    s = summary_of(share(ids=False))
    assert s["ok"] == 100 and s["acknowledged"] == 0


def test_latency_counts_from_the_intended_time_and_service_from_the_send():
    sh = share(n=4)
    sh.sent = sh.dispatched + np.array([0.0001, 0.0001, 0.1001, 0.0001])  # request 2 waited 100 ms to go out
    sh.done = sh.sent + 0.002
    df = records_frame([(0, sh)])
    # No coordinated omission: the wait before sending counts in the latency the client saw.
    assert np.allclose(df["latency_ms"], [2.6, 2.6, 102.6, 2.6]) and np.allclose(df["service_ms"], 2.0)


def test_acknowledged_ids_are_2xx_answers_that_carried_an_id():
    from streamlab.load.results import LoadResult

    sh = share(n=3)
    sh.request_id = ["i0", "", "i2"]
    df = records_frame([(0, sh)])
    assert LoadResult(df, histograms_of(df), {}).acknowledged_ids == ["i0", "i2"]
