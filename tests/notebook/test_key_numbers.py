"""The report's summary of each notebook follows what the results say, and survives missing ones."""
from __future__ import annotations

from streamlab.notebook.key_numbers import FAILED, NO_VERDICT, PASSED, summarize

ROWS = [{"experiment": "a", "acknowledged": 100, "latency p99 ms": 12.0, "lag p99 ms": 300.0},
        {"experiment": "b", "acknowledged": 50, "latency p99 ms": 40.7, "lag p99 ms": 90.0}]


def test_experiments_pass_only_with_all_passed_and_nothing_lost():
    ok = summarize("04_bursts", {"rows": ROWS, "all_passed": True, "lost": 0})
    assert ok.verdict == PASSED and ok.detail == "lost 0"
    assert ok.facts == ["2 experiments", "acknowledged 150", "API p99 up to 41 ms", "lag p99 up to 300 ms"]
    assert summarize("04_bursts", {"rows": ROWS, "all_passed": True, "lost": 3}).verdict == FAILED
    assert summarize("05_resilience", {"rows": ROWS, "all_passed": False, "lost": 0}).verdict == FAILED


def test_teardown_names_what_is_left():
    clean = summarize("99_teardown", {"clean": True, "deleted": {"table": ["t"], "api": ["a"]}, "remaining": {}})
    assert clean.verdict == PASSED and clean.facts == ["deleted 2 resources"] and clean.detail == "nothing left"
    left = summarize("99_teardown", {"clean": False, "deleted": {}, "remaining": {"queue": ["q"], "table": []}})
    assert left.verdict == FAILED and left.detail == "left: queue"


def test_health_and_sync_vs_async():
    assert summarize("00_start_here", {"target": "local", "health": {"sqs": "ok", "iam": "down"}}).verdict == FAILED
    res = {"p99_ms": {"sync": 900.0, "async": 20.0}, "errors": {"sync": 12, "async": 0},
           "lost": {"sync": 0, "async": 0}, "async_audit_passed": True}
    summary = summarize("07_sync_vs_async", res)
    assert summary.verdict == PASSED and "p99: async 20 ms, sync 900 ms" in summary.facts
    assert summarize("07_sync_vs_async", {**res, "lost": {"sync": 0, "async": 1}}).verdict == FAILED


def test_missing_or_odd_results_give_no_verdict_rather_than_an_error():
    assert summarize("04_bursts", None).verdict == NO_VERDICT
    assert summarize("06_observability", {"sent": 5}).verdict == NO_VERDICT
    odd = summarize("03_api_direct_integration", {"refused": ["not", "a", "dict"]})
    assert odd.verdict == NO_VERDICT and odd.facts[0].startswith("results not summarised")
    assert summarize("42_new", {"rate": 50, "nested": {"x": 1}}).facts == ["rate 50"]
