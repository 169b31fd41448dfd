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


def test_a_missed_throughput_target_says_where_the_cost_is():
    results = {"api_post": {"limited_by": "machine", "cores_busy_total": 1.85}}
    overhead = {"throughput": 0.34, "api_write_vs_raw_putitem": {"throughput": 0.31},
                "front_door_vs_raw_api_write": {"throughput": 0.02}}
    assert bench_api.why_not(results, overhead) == [
        "the API's write sent straight to MiniStack costs +31% against a PutItem (more than the target on its own)",
        "the front door adds +2% against that write",
        "the API path was limited by the whole machine (1.85 cores busy, the load generator's included)",
    ]
    assert bench_api.why_not(results, {**overhead, "throughput": 0.12}) == []


@pytest.mark.parametrize("cpu_s, limited_by", [
    ({"ministack": 9.5, "frontdoor": 4.0, "client": 2.0}, "ministack"),  # one event loop near a core
    ({"ministack": 8.6, "frontdoor": 6.7, "client": 3.0}, "machine"),    # no loop full, both cores are
    ({"ministack": 5.0, "frontdoor": 3.0, "client": 1.0}, None),         # waiting, not working
])
def test_what_limited_a_path_is_the_process_or_the_machine_that_was_busy(cpu_s, limited_by):
    busy = bench_api.busy_cores(cpu_s, seconds=10.0, cores=2)
    assert busy["cores_busy"] == {name: round(sec / 10, 2) for name, sec in cpu_s.items()}
    assert busy["cores_busy_total"] == round(sum(cpu_s.values()) / 10, 2)
    assert busy["limited_by"] == limited_by


def test_the_template_figures_time_the_deployed_templates_compiled_and_interpreted():
    figures = bench_api.time_templates(json.dumps({"data": "x" * 244}), renders=20)
    assert set(figures) == {"request", "response"}
    for name, times in figures.items():
        assert times["compiled_us"] > 0 and times["airspeed_us"] > 0, name


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
    assert set(report["frontdoor_cpu"]["templates_us"]) == {"request", "response"}
    assert isinstance(report["overhead"]["why_not"], list)
    assert set(report["api_post"]["cores_busy"]) >= {"ministack", "frontdoor", "client"}
