"""Summaries from records (pure): rates, verdicts, acknowledged ids."""
from __future__ import annotations

import numpy as np

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
    assert not s["generator_limited"] and s["verdict"] == "the generator kept its schedule"
    assert s["acknowledged"] == 100 and s["late_sends"] == 0


def test_late_dispatch_is_blamed_on_the_generator():
    sh = share()
    sh.dispatched[::5] += 0.05  # the loop was 50 ms late for every fifth request
    sh.sent = sh.dispatched + 0.0001
    s = summary_of(sh)
    assert s["generator_limited"] and "the generator, not the target" in s["verdict"]
    assert s["late_sends"] == 20


def test_ok_without_id_is_not_acknowledged():
    s = summary_of(share(ids=False))
    assert s["ok"] == 100 and s["acknowledged"] == 0
