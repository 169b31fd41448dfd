"""`streamlab bench api`: the three paths it compares, and a tiny run over the wire."""
from __future__ import annotations

import json

import pytest

from streamlab.bench import api as bench_api


def test_the_api_write_is_the_deployed_template_rendered_with_a_new_id_and_time_each_call():
    action, body = bench_api.the_api_write("t1", json.dumps({"data": "it's"}))
    first, second = json.loads(body()), json.loads(body())
    assert action == "UpdateItem" and first["TableName"] == "t1"
    assert first["Key"]["id"]["S"] != second["Key"]["id"]["S"]
    assert int(first["ExpressionAttributeValues"][":a"]["N"]) > 1_700_000_000_000
    assert json.loads(first["ExpressionAttributeValues"][":b"]["S"]) == {"data": "it's"}
    assert "ConditionExpression" in first  # the idempotent write, not a plain put


def test_overhead_is_throughput_lost_and_latency_added():
    base = {"throughput_rps": 1000.0, "p50_ms": 4.0, "p99_ms": 10.0}
    slower = {"throughput_rps": 800.0, "p50_ms": 5.0, "p99_ms": 10.0}
    assert bench_api._overhead(base, slower) == {"throughput": 0.25, "p50_latency": 0.25, "p99_latency": 0.0}


def test_too_few_requests_are_refused_before_any_stack_starts():
    with pytest.raises(bench_api.ConfigError, match="--requests"):
        bench_api.run(requests=1)


def test_a_tiny_run_measures_all_three_paths_without_errors(local_stack, stack_home):
    report = bench_api.run(requests=40, concurrency=2, home=stack_home, log=lambda _: None)
    for path in ("raw_putitem", "raw_api_write", "api_post"):
        assert report[path]["requests"] == 40 and report[path]["errors"] == 0, report[path]
    assert report["api_write_action"] == "UpdateItem"
    assert report["overhead"]["target"] == 0.15
    assert set(report["overhead"]["front_door_vs_raw_api_write"]) == {"throughput", "p50_latency", "p99_latency"}
    assert report["frontdoor_cpu"]["ms_per_request"] > 0
