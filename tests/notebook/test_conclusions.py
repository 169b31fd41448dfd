"""The "What we saw" sentences follow the numbers: contrasting results give contrasting words."""
from __future__ import annotations

import pandas as pd

from streamlab.notebook import conclusions as c
from streamlab.observe.audit import AuditResult


def row(name, **values):
    base = {"experiment": name, "sent": 250, "acknowledged": 250, "lost": 0, "pending": 0, "processed": 250,
            "on-failure": 0, "latency p50 ms": 4.0, "latency p99 ms": 10.0, "service p50 ms": 3.5,
            "service p99 ms": 9.0, "send lateness p99 ms": 1.0, "send lateness max ms": 2.0,
            "generator-limited": False, "lag p50 ms": 150.0, "lag p99 ms": 300.0, "lag max ms": 400.0}
    return {**base, **values}


def audit(**values):
    base = dict(acknowledged=800, processed=796, on_failure=4, pending=0, missing_ids=[])
    return AuditResult(**{**base, **values})


def metrics(totals=None):
    """A metrics frame with one point per (metric, stat): {(name, stat): value}."""
    rows = [{"metric": name, "stat": stat, "value": value}
            for (name, stat), value in {("Count", "Sum"): 800, **(totals or {})}.items()]
    return pd.DataFrame(rows)


def test_latency_is_flat_only_when_it_is():
    flat = c.latency_across_rates([row("rate-50", **{"rate req/s": 50, "latency p99 ms": 9.0}),
                                   row("rate-200", **{"rate req/s": 200, "latency p99 ms": 11.0})])
    tripled = c.latency_across_rates([row("rate-50", **{"rate req/s": 50, "latency p99 ms": 9.0}),
                                      row("rate-200", **{"rate req/s": 200, "latency p99 ms": 30.0})])
    assert "stayed flat" in flat and "9.0-11 ms" in flat
    assert "did not stay flat" in tripled and "rose from 9.0 ms (rate-50) to 30 ms (rate-200)" in tripled
    assert "stayed flat" not in tripled


def test_the_burst_says_when_it_did_not_go_out_on_time():
    on_time = c.burst_sentence(row("burst", sent=300))
    late = c.burst_sentence(row("burst", sent=300, **{"generator-limited": True, "send lateness p99 ms": 290.0,
                                                      "send lateness max ms": 310.0, "latency p50 ms": 450.0}))
    assert on_time.startswith("The burst of 300 went out on time (sends at most 2.0 ms late)")
    assert late.startswith("The burst of 300 did NOT go out on time") and "p99 290 ms and at most 310 ms" in late
    assert "response time p50 450 ms" in late and "service time (sent -> answer) p50 3.5 ms" in late


def test_the_burst_tail_is_compared_with_the_steady_runs():
    steady = [row("rate-50", **{"latency p99 ms": 10.0})]
    assert "the back of the line waited" in c.burst_sentence(row("burst", **{"latency p99 ms": 80.0}), steady)
    assert "the API absorbed it" in c.burst_sentence(row("burst", **{"latency p99 ms": 12.0}), steady)


def test_knob_wording_follows_the_lag():
    knobs = [row("defaults (batch 100)", **{"lag p99 ms": 900.0}), row("parallelization 4", **{"lag p99 ms": 300.0}),
             row("batching window 1 s", **{"lag p99 ms": 1900.0}), row("batch size 10", **{"lag p99 ms": 950.0})]
    lines = c.knob_sentences(knobs, work_ms=10, rate=100)
    assert lines[0].startswith("With 10 ms of work per record at 100 requests/s, the lag p99 was 900 ms")
    assert "parallelization 4 cut it: lag p99 300 ms" in lines[1]
    assert "batching window 1 s raised it: lag p99 1,900 ms" in lines[2]
    assert "batch size 10 left it about the same" in lines[3]


def test_loss_and_unsettled_runs_are_named():
    clean = c.loss_sentence([row("a"), row("b")])
    assert clean == "The audit found none of the 500 acknowledged requests lost, in all 2 runs."
    bad = c.loss_sentence([row("a", lost=3), row("b", pending=151)])
    assert "3 of 500 acknowledged requests LOST, in a (3)" in bad and "b (151 still pending)" in bad


def test_poison_wording_separates_neighbours_from_poison():
    lines = c.poison_sentences({"retry limit only": row("r", **{"on-failure": 40}),
                                "bisect": row("b", **{"on-failure": 4})}, poison=4)
    assert "36 innocent neighbours" in lines[0]
    assert "gave up exactly the 4 poison records" in lines[1]


def test_blocked_shard_wording_follows_pending():
    after = audit(processed=246, on_failure=4, pending=0, acknowledged=250)
    blocked = c.blocked_sentence(row("defaults: blocked", pending=151, **{"audit waited s": 5.4}), after, 5)
    free = c.blocked_sentence(row("defaults: blocked", pending=0), after, 5)
    assert "151 of 250 records were still pending after 5 s: the poison blocked its shard" in blocked
    assert "nothing was pending" in free
    assert "246 processed, 4 in the on-failure queue, 0 pending, 0 lost" in blocked


def test_outage_wording_says_whether_everything_was_processed():
    assert "every acknowledged request was processed afterwards" in c.outage_sentence(row("outage"), 3)
    assert "200 of 250 were processed, 50 still pending" in c.outage_sentence(row("outage", processed=200, pending=50), 3)


def test_counts_agree_only_when_they_do():
    s = {"sent": 800, "errors": {}}
    agree = c.count_checks(s, audit(), metrics({("InvokedEventCount", "Sum"): 830,
                                                  ("OnFailureDestinationDeliveredEventCount", "Sum"): 4,
                                                  ("4XXError", "Sum"): 0, ("5XXError", "Sum"): 0}))
    assert c.counts_heading(agree).startswith("The counts agree")
    short = c.count_checks({"sent": 1001, "errors": {}}, audit(), metrics({("InvokedEventCount", "Sum"): 830}))
    heading = c.counts_heading(short)
    assert heading.startswith("The counts do not all agree") and "CloudWatch is missing 201" in heading


def test_errors_alarm_misses_partial_batch_failures_and_the_lesson_says_so():
    partial = c.alarm_lessons(metrics({("Errors", "Sum"): 0, ("FailedInvokeEventCount", "Sum"): 4,
                                         ("IteratorAge", "Maximum"): 300}), audit())
    raising = c.alarm_lessons(metrics({("Errors", "Sum"): 12, ("IteratorAge", "Maximum"): 90_000}), audit())
    assert "would have stayed silent: Errors summed to 0 while 4 records were given up" in partial[0]
    assert "FailedInvokeEventCount` counted 4" in partial[1]
    assert "would not have fired" in partial[-1]
    assert "would have fired (12 errors)" in raising[0] and "would have fired" in raising[-1]


def test_gateway_overhead_is_flagged_when_the_emulator_cannot_show_it():
    same = c.gateway_overhead_sentence(metrics({("Latency", "p50"): 5.0, ("IntegrationLatency", "p50"): 5.0}))
    apart = c.gateway_overhead_sentence(metrics({("Latency", "p50"): 9.0, ("IntegrationLatency", "p50"): 5.0}))
    assert "emulator artifact" in same
    assert apart.startswith("The gateway added 4.0 ms at p50")


def test_metric_period_is_explained_for_either_target():
    assert "1-s period (the local stack publishes a point every second)" in c.period_sentence(1, True)
    assert "60-s period (that is CloudWatch's standard resolution)" in c.period_sentence(60, False)


def test_mapping_settings_are_compared_with_aws_defaults_not_called_them():
    table = c.mapping_vs_aws_defaults({
        "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
        "MaximumRetryAttempts": 2, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}})
    assert table.loc["BatchSize", "is AWS's default"] == "yes"
    assert table.loc["MaximumRetryAttempts", "is AWS's default"] == "no"
    assert table.loc["MaximumRetryAttempts", "AWS default"] == "-1"
    assert table.loc["DestinationConfig", "this mapping"].endswith(":q")
    assert table.loc["FilterCriteria", "is AWS's default"] == "yes"


def test_status_wording_matches_what_happened():
    assert "went from `ACCEPTED` to `PROCESSED`" in c.status_change_sentence("ACCEPTED", "PROCESSED")
    assert c.status_change_sentence("ACCEPTED", "ACCEPTED") == "The status stayed `ACCEPTED` while we waited."


def test_status_already_processed_is_not_called_a_change():
    assert c.status_change_sentence("PROCESSED", "PROCESSED").startswith("The status was already `PROCESSED`")


def test_stored_body_wording_follows_the_bytes():
    assert c.stored_body_sentence('{"a": "it\'s"}', '{"a": "it\'s"}').startswith("The body is stored exactly as sent")
    assert c.stored_body_sentence('{"a": 1}', '{"a":1}').startswith("The body was NOT stored as sent")
