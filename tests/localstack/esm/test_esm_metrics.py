"""AWS/Lambda metrics of the ESM's invocations in the stack's CloudWatch (M1-M3)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from .esm_helpers import make_queue, receive_all, wait_for


def _stat(target, name, dim, value, stat="Sum"):
    now = datetime.now(timezone.utc)
    points = target.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName=name, Dimensions=[{"Name": dim, "Value": value}],
        StartTime=now - timedelta(minutes=10), EndTime=now + timedelta(minutes=1), Period=60,
        Statistics=["Sum", "SampleCount", "Maximum", "Minimum"])["Datapoints"]
    if not points:
        return None
    if stat == "Sum":
        return sum(p["Sum"] for p in points)
    if stat == "SampleCount":
        return sum(p["SampleCount"] for p in points)
    if stat == "Maximum":
        return max(p["Maximum"] for p in points)
    return min(p["Minimum"] for p in points)


def test_M1_M2_M3_counts_match_what_was_delivered(pipeline_factory, target):
    pipe = pipeline_factory()
    made = pipe.mapping(MetricsConfig={"Metrics": ["EventCount"]}, BatchSize=2, FilterCriteria={"Filters": [
        {"Pattern": '{"dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}}'}]})
    first_put = time.time()
    for i, kind in enumerate(["keep", "drop", "keep", "keep", "drop"]):
        pipe.put(f"r{i}", kind=kind)
    wait_for(lambda: len(pipe.delivered_ids()) >= 3, what="3 matching records")
    # No record can be older, when sent, than the time since the first put (plus the up-to-1 s
    # rounding of ApproximateCreationDateTime when the sequence number gives no milliseconds).
    age_bound_ms = (max(inv["t0"] for inv in pipe.invocations()) - first_put + 1) * 1000
    invocations = len(pipe.invocations())
    fn, esm = ("FunctionName", pipe.function), ("EventSourceMappingUUID", made["UUID"])
    # M1: each invocation counted once (MiniStack records Invocations for the Invoke call; we add none).
    wait_for(lambda: _stat(target, "Invocations", *fn) == invocations, what="Invocations")
    assert _stat(target, "Errors", *fn) == 0
    # M2: one IteratorAge sample per invocation, in ms, no older than the records can be.
    wait_for(lambda: _stat(target, "IteratorAge", *fn, "SampleCount") == invocations, what="IteratorAge samples")
    assert 0 <= _stat(target, "IteratorAge", *fn, "Maximum") <= age_bound_ms
    assert _stat(target, "ConcurrentExecutions", *fn, "Maximum") == 1
    # M3: opt-in event counts by mapping UUID.
    wait_for(lambda: _stat(target, "PolledEventCount", *esm) == 5, what="PolledEventCount")
    assert _stat(target, "FilteredOutEventCount", *esm) == 2
    assert _stat(target, "InvokedEventCount", *esm) == 3
    assert _stat(target, "FailedInvokeEventCount", *esm) is None


def test_M3_failed_dropped_and_destination_counts(pipeline_factory, target):
    pipe = pipeline_factory("raise ValueError('boom')")
    pipe.put("a")
    pipe.put("b")  # both written first: one batch of 2, whatever the machine's load
    dropped = pipe.mapping(MetricsConfig={"Metrics": ["EventCount"]}, MaximumRetryAttempts=1)
    wait_for(lambda: len(pipe.invocations()) >= 2, what="2 failed attempts")
    esm = ("EventSourceMappingUUID", dropped["UUID"])
    wait_for(lambda: _stat(target, "FailedInvokeEventCount", *esm) == 4, what="FailedInvokeEventCount")
    wait_for(lambda: _stat(target, "DroppedEventCount", *esm) == 2, what="DroppedEventCount")
    wait_for(lambda: _stat(target, "Errors", "FunctionName", pipe.function) == 2, what="Errors")

    other = pipeline_factory("raise ValueError('boom')")
    url, arn = make_queue(target, f"{other.name}-dlq")
    sent = other.mapping(MetricsConfig={"Metrics": ["EventCount"]}, MaximumRetryAttempts=0,
                         DestinationConfig={"OnFailure": {"Destination": arn}})
    other.put("x")
    receive_all(target, url, 1)
    esm = ("EventSourceMappingUUID", sent["UUID"])
    wait_for(lambda: _stat(target, "OnFailureDestinationDeliveredEventCount", *esm) == 1, what="delivered count")
    assert _stat(target, "DroppedEventCount", *esm) is None
