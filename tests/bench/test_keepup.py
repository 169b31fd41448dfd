"""Pass criteria of `bench pipeline`: a rate passes only when the processing side keeps up."""
from __future__ import annotations

import numpy as np
import pytest

from streamlab.bench.keepup import judge_keep_up, knee, knee_rates, lag_slope
from streamlab.errors import ConfigError


def _run(rate: float, seconds: float, lag_at):
    """Acceptance and completion times (ms) of `rate` records/s for `seconds`, lag given per time."""
    accepted = np.arange(0, seconds * 1000, 1000 / rate)
    return accepted, accepted + np.array([lag_at(t / 1000) for t in accepted])


def test_a_steady_pipeline_keeps_up():
    accepted, processed = _run(200, 60, lambda t: 150 + 50 * np.sin(t))
    verdict = judge_keep_up(accepted, processed)
    assert verdict.keeps_up and not verdict.reasons
    assert abs(verdict.lag_slope_ms_per_s) < 5
    assert verdict.drain_capacity_rps == pytest.approx(200, rel=0.02)


def test_a_growing_lag_fails_even_while_its_p99_is_under_a_second():
    # 30 ms more lag every second: at the end of 30 s still under 1 s, but falling behind.
    accepted, processed = _run(500, 30, lambda t: 50 + 30 * t)
    verdict = judge_keep_up(accepted, processed)
    assert verdict.lag_p99_ms < 1000
    assert verdict.lag_slope_ms_per_s == pytest.approx(30, rel=0.05)
    assert not verdict.keeps_up and "grows" in verdict.reasons[0]


def test_a_few_seconds_of_noise_in_a_short_run_is_not_a_trend():
    # 14 ms/s over the 3 s second half of a 6 s run adds 42 ms: noise, not a pipeline falling behind.
    accepted, processed = _run(20, 6, lambda t: 150 + 14 * t)
    verdict = judge_keep_up(accepted, processed)
    assert verdict.lag_slope_ms_per_s == pytest.approx(14, rel=0.05) and verdict.keeps_up


def test_a_backlog_reports_the_drain_capacity_and_fails():
    # 500 req/s offered, 330 records/s drained: record i completes at i / 330 s.
    accepted = np.arange(0, 60_000, 2.0)
    processed = np.maximum(accepted + 100, np.arange(len(accepted)) * 1000 / 330)
    verdict = judge_keep_up(accepted, processed)
    assert verdict.drain_capacity_rps == pytest.approx(330, rel=0.02)
    assert not verdict.keeps_up and any("p99" in r for r in verdict.reasons)


def test_unprocessed_records_fail_and_too_few_records_have_no_trend():
    accepted, processed = _run(100, 10, lambda t: 100.0)
    processed[-5:] = np.nan
    assert "5 records not processed" in judge_keep_up(accepted, processed).reasons
    assert lag_slope([1, 2, 3], [10, 20, 30]) is None


def test_knee_is_the_last_rate_before_the_first_failure():
    runs = [{"rate": 200, "passes": True}, {"rate": 300, "passes": True},
            {"rate": 400, "passes": False, "why_not": ["lag p99 3000 ms > 1000 ms"], "drain_capacity_rps": 350.0}]
    assert knee(runs) == {"highest_keeping_up": 300, "first_failing": 400, "why": ["lag p99 3000 ms > 1000 ms"],
                          "drain_capacity_rps_at_failure": 350.0}
    assert knee(runs[:2])["first_failing"] is None
    assert knee_rates(200, 100, 500) == [200, 300, 400, 500]
    with pytest.raises(ConfigError, match="--find-knee"):
        knee_rates(500, 100, 200)


def test_bench_pipeline_fails_a_rate_whose_lag_keeps_growing():
    """Zero loss and zero API errors are not enough: the issue's 500 req/s run 'passed' with 47 s of lag."""
    from types import SimpleNamespace

    import pandas as pd

    from streamlab import schema
    from streamlab.bench.pipeline import judge

    def experiment(lag_at):
        accepted, processed = _run(100, 20, lag_at)
        items = pd.DataFrame({schema.ACCEPTED_AT: accepted, schema.PROCESSED_AT: processed})
        summary = {"errors": {}, "dropped": 0, "achieved_rate": 100.0, "sent": len(items), "acknowledged": len(items),
                   "latency_ms": {"p99": 10.0}, "generator_limited": False}
        audit = SimpleNamespace(passed=True, settled=True, verdict="PASS", missing=0, pending=0)
        row = {"lag p50 ms": 1.0, "lag p99 ms": 1.0, "lag max ms": 1.0}
        return SimpleNamespace(run=SimpleNamespace(summary=summary), obs=SimpleNamespace(audit=audit, items=items),
                               row=lambda: row)

    steady, behind = judge(experiment(lambda t: 100.0), 100), judge(experiment(lambda t: 100 + 400 * t), 100)
    assert steady["passes"] and steady["keeps_up"] and steady["why_not"] == []
    assert not behind["passes"] and behind["lag_slope_ms_per_s"] == pytest.approx(400, rel=0.05)
    assert behind["why_not"] and behind["why_not"][-1].startswith("lag grows")


def test_a_failing_rate_says_every_reason_it_fails():
    """A rate that fails says why, in its own figures, also when the cause is on the API's side
    (the knee run of 2026-12-07 failed 800 req/s on 2,157 dropped sends with an empty `why_not`)."""
    from types import SimpleNamespace

    from streamlab.bench.pipeline import failures

    summary = {"errors": {}, "dropped": 0, "achieved_rate": 500.0, "max_in_flight": 256}
    settled = SimpleNamespace(passed=True, settled=True, verdict="PASS: 0 of 10 acknowledged requests lost")
    assert failures(500, summary, settled) == []
    dropped = failures(800, {**summary, "dropped": 2157, "achieved_rate": 763.78}, settled)
    assert dropped == ["2157 sends dropped at the load generator's in-flight cap (256): the API answered too "
                       "slowly for this rate", "763.78 req/s sent, under 99% of 800"]
    lost = SimpleNamespace(passed=False, settled=True, verdict="FAIL: 3 of 10 acknowledged requests lost")
    stuck = SimpleNamespace(passed=True, settled=False, verdict="NOT SETTLED: 2 of 10 still pending")
    assert failures(500, {**summary, "errors": {"5xx": 4}}, lost) == [lost.verdict, "API errors: {'5xx': 4}"]
    assert failures(500, summary, stuck) == [stuck.verdict]
