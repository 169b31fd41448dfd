"""CloudWatch queries for the pipeline: building them (pure) and polling the local stack."""
from __future__ import annotations

import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from streamlab.errors import ConfigError
from streamlab.observe.metrics import get_metrics, pipeline_metrics, pipeline_queries


def test_queries_cover_the_named_parts_only():
    q = pipeline_queries(function_name="proc", period=60)
    names = {(x["MetricStat"]["Metric"]["MetricName"], x["MetricStat"]["Stat"]) for x in q}
    assert ("Invocations", "Sum") in names and ("IteratorAge", "Maximum") in names
    assert not any(x["MetricStat"]["Metric"]["Namespace"] == "AWS/ApiGateway" for x in q)
    assert all(x["MetricStat"]["Metric"]["Dimensions"] == [{"Name": "FunctionName", "Value": "proc"}] for x in q)
    full = pipeline_queries(api_name="api", function_name="proc", esm_uuid="u-1")
    ids = [x["Id"] for x in full]
    assert len(ids) == len(set(ids)) and all(i[0].islower() and i.replace("_", "").isalnum() for i in ids)
    metrics = {x["MetricStat"]["Metric"]["MetricName"] for x in full}
    assert {"Count", "4XXError", "5XXError", "Latency", "IntegrationLatency", "Errors", "Throttles", "Duration",
            "OnFailureDestinationDeliveredEventCount"} <= metrics


def test_queries_need_a_name_and_a_sane_period():
    with pytest.raises(ConfigError, match="at least one"):
        pipeline_queries()
    with pytest.raises(ConfigError, match="period"):
        pipeline_queries(function_name="f", period=0)


@pytest.mark.integration
def test_polls_until_late_data_arrives(target):
    """Data published after the first query is picked up by polling before the deadline."""
    cw = target.client("cloudwatch")
    fn = f"proc-{uuid.uuid4().hex[:6]}"
    start = datetime.now(timezone.utc) - timedelta(minutes=5)

    def publish_late():
        time.sleep(1.5)
        now = datetime.now(timezone.utc)
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[
            {"MetricName": name, "Dimensions": [{"Name": "FunctionName", "Value": fn}], "Timestamp": now,
             "Value": value, "Unit": "Count"}
            for name, value in (("Invocations", 7), ("Errors", 2), ("Throttles", 0), ("Duration", 120),
                                ("IteratorAge", 900))])

    quick = pipeline_metrics(target, start, api_name=None, function_name=fn, deadline_s=0)
    assert quick.empty and quick.attrs["complete"] is False
    thread = threading.Thread(target=publish_late)
    thread.start()
    try:
        df = pipeline_metrics(target, start, function_name=fn, deadline_s=30, poll_s=0.5)
    finally:
        thread.join()
    assert df.attrs["complete"] is True
    value = lambda m, s: df[(df.metric == m) & (df.stat == s)]["value"].sum()
    assert value("Invocations", "Sum") == 7 and value("Errors", "Sum") == 2
    assert value("IteratorAge", "Maximum") == 900


@pytest.mark.integration
def test_custom_condition_and_deadline(target):
    start = datetime.now(timezone.utc) - timedelta(minutes=1)
    q = pipeline_queries(function_name=f"nothing-{uuid.uuid4().hex[:6]}")
    t0 = time.monotonic()
    df = get_metrics(target, q, start, until=lambda d: len(d) > 0, deadline_s=1.0, poll_s=0.3)
    assert df.attrs["complete"] is False and time.monotonic() - t0 >= 1.0
