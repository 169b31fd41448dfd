"""`streamlab burst`, `streamlab report`, `streamlab bench load` argument handling, end to end."""
from __future__ import annotations

import json
import uuid

import pytest

from streamlab import schema
from streamlab.bench.load import trivial_server
from streamlab.cli import main
from tests.tiers import process_fixture


@process_fixture()
def url(tmp_path):
    with trivial_server(log_dir=tmp_path) as u:  # a fresh server: ids r1, r2, ... in order
        yield u


def test_burst_saves_data_and_figures_and_report_recomputes_them(url, tmp_path, capsys):
    run = tmp_path / "run"
    rc = main(["burst", "--url", url, "--rate", "100", "--duration", "1", "--profile", "batches:size=25,gap=0.5",
               "--out", str(run), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "scheduled 50, sent 50, dropped 0, ok 50, acknowledged 50" in out
    for name in ("requests.csv", "histograms.json", "run.json", "dashboard.png", "latency_spectrum.png"):
        assert (run / name).stat().st_size > 0
    for png in run.glob("*.png"):
        png.unlink()
    assert main(["report", str(run)]) == 0
    again = capsys.readouterr().out
    assert "scheduled 50, sent 50" in again and (run / "dashboard.png").exists()
    assert json.loads((run / "summary.json").read_text())["acknowledged"] == 50


def test_burst_refuses_bad_input_before_sending(url, tmp_path, capsys):
    assert main(["burst", "--url", url, "--rate", "10", "--duration", "1", "--profile", "zigzag",
                 "--out", str(tmp_path / "x")]) == 2
    assert "unknown profile 'zigzag'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["burst", "--url", "https://abc.execute-api.us-east-1.amazonaws.com/prod/", "--rate", "10",
                 "--duration", "1", "--out", str(tmp_path / "y")]) == 2
    err = capsys.readouterr().err
    assert "--accept-cost" in err and "$" in err and not (tmp_path / "y").exists()
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no requests.csv" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["burst", "--url", url, "--rate", "10", "--duration", "1", "--workers", "many"])


def test_bench_load_rejects_bad_rates(tmp_path, capsys):
    assert main(["bench", "load", "--rates", "fast", "--out", str(tmp_path / "b.json")]) == 2
    assert "--rates" in capsys.readouterr().err


@pytest.mark.integration
def test_burst_with_table_audits_and_fails_on_a_lost_item(url, tmp_path, capsys, target, local_stack, stack_home,
                                                          monkeypatch):
    """The trivial server acknowledges r1..r30 but 'writes' only 29 of them: the audit must fail
    and name the lost id; `report` reaches the same verdict from the saved files."""
    monkeypatch.setenv("STREAMLAB_HOME", str(stack_home))
    ddb = target.client("dynamodb")
    table = f"cli-{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": schema.ID, "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": schema.ID, "KeyType": "HASH"}])
    try:
        for n in range(1, 31):
            if n != 13:
                ddb.put_item(TableName=table, Item={
                    schema.ID: {"S": f"r{n}"}, schema.STATUS: {"S": schema.PROCESSED},
                    schema.ACCEPTED_AT: {"N": "1000"}, schema.PROCESSED_AT: {"N": "1300"}})
        run = tmp_path / "run"
        rc = main(["burst", "--url", url, "--rate", "30", "--duration", "1", "--out", str(run), "--table", table,
                   "--settle", "1", "--no-progress"])
        out = capsys.readouterr().out
        assert rc == 1
        assert "FAIL: 1 of 30 acknowledged requests lost" in out and "lost: r13" in out
        assert json.loads((run / "audit.json").read_text())["missing_ids"] == ["r13"]
        assert (run / "items.csv").exists() and (run / "lag.png").exists()
        assert main(["report", str(run)]) == 1
        assert "lost: r13" in capsys.readouterr().out
    finally:
        ddb.delete_table(TableName=table)
