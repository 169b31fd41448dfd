"""AWS/ApiGateway metrics published to the stack's CloudWatch (A8)."""
from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest

pytestmark = pytest.mark.integration


def _stat(cw, name, dims, stat="Sum"):
    now = dt.datetime.now(dt.timezone.utc)
    points = cw.get_metric_statistics(
        Namespace="AWS/ApiGateway", MetricName=name, Dimensions=dims, Statistics=[stat, "SampleCount"],
        StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=2), Period=60,
    )["Datapoints"]
    return sum(p[stat] for p in points), sum(p["SampleCount"] for p in points)


def test_a8_count_errors_and_latencies_reach_cloudwatch(target, make_api, invoke):
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    api = make_api(name=name, with_get=False)
    for _ in range(5):
        assert invoke("POST", api.url + "/requests", "{}").status == 202
    for _ in range(2):
        assert invoke("GET", api.url + "/nowhere", content_type=None).status == 403

    cw = target.client("cloudwatch")
    by_api = [{"Name": "ApiName", "Value": name}]
    deadline = time.monotonic() + 60
    while _stat(cw, "Count", by_api)[0] < 7 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _stat(cw, "Count", by_api)[0] == 7
    assert _stat(cw, "4XXError", by_api)[0] == 2
    assert _stat(cw, "5XXError", by_api)[0] == 0
    assert _stat(cw, "Latency", by_api, "Maximum")[1] == 7
    integration_max, integration_samples = _stat(cw, "IntegrationLatency", by_api, "Maximum")
    assert integration_samples == 5
    latency_max = _stat(cw, "Latency", by_api, "Maximum")[0]
    assert 0 <= integration_max <= latency_max + 1  # whole ms; the backend is part of the request
    by_stage = [{"Name": "ApiName", "Value": name}, {"Name": "Stage", "Value": api.stage}]
    assert _stat(cw, "Count", by_stage)[0] == 7
