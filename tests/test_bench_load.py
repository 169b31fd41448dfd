"""The load benchmark's pieces: wrk optional; the pipeline bench fails a rate that loses requests."""
from __future__ import annotations

import uuid

import pytest

from streamlab import schema
from streamlab.bench import load as bench_load
from streamlab.bench import pipeline as bench_pipeline
from streamlab.experiment import PipelineNames
from streamlab.localstack import stack


def test_without_wrk_the_bench_says_so_and_carries_on(monkeypatch):
    monkeypatch.setattr(bench_load.shutil, "which", lambda name: None)
    missing = bench_load.run_wrk("http://127.0.0.1:9/")
    assert missing["available"] is False
    # it says what is missing, how to get it, and that the README's figure came from elsewhere
    assert missing["note"].startswith("wrk not installed") and "apt-get install wrk" in missing["note"]
    assert "README's wrk figure was measured on a machine that had it" in missing["note"]


@pytest.mark.integration  # starts the trivial server
def test_short_bench_reports_rates_and_lag(monkeypatch):
    monkeypatch.setattr(bench_load, "run_wrk", lambda url: {"available": False, "note": "wrk not installed"})
    report = bench_load.bench_load(rates=(100,), seconds=1.0, log=lambda m: None)
    (row,) = report["rates"]
    assert row["sent"] == 100 and row["dropped"] == 0 and row["errors"] == {}
    assert 0.9 < row["ratio"] <= 1.01 and row["lag_p99_ms"] is not None
    assert report["wrk"]["note"] == "wrk not installed"


@pytest.mark.integration
def test_pipeline_bench_fails_when_acknowledged_requests_are_not_in_the_table(target, stack_home, tmp_path):
    """The trivial server acknowledges but writes nothing: every id is lost, the bench fails."""
    ddb = target.client("dynamodb")
    table = f"bench-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": schema.ID, "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": schema.ID, "KeyType": "HASH"}])
    try:
        with bench_load.trivial_server(log_dir=tmp_path) as url:
            out = bench_pipeline.measure_rate(target, url, PipelineNames(table=table), 20, 1, tmp_path / "run",
                                              settle_s=0.5, stack_state=stack.running_state(stack_home))
        assert out["passes"] is False
        assert out["lost"] == 20 and out["acknowledged"] == 20 and out["api_errors"] == {}
        # Split by the stack's snapshots (read from its log): each answered request counted once.
        snapshots = out["snapshots"]
        assert snapshots["requests_during"] + snapshots["requests_otherwise"] == 20
        assert (snapshots["service_p99_ms_during"] is None) == (snapshots["requests_during"] == 0)
    finally:
        ddb.delete_table(TableName=table)
