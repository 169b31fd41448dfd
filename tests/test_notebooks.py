"""The notebook suite, executed with papermill on a real local stack, and the key results read back."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import nbformat
import pytest

from streamlab.localstack import stack
from streamlab.localstack.state import StackPaths, read_state
from streamlab.notebook.results import read_results
from streamlab.notebook.suite import list_notebooks, run_suite
from tests.browser import browser  # noqa: F401  (fixture)
from tests.notebook.report_checks import check_run_report
from tests.tiers import process_fixture

pytestmark = pytest.mark.notebooks


@process_fixture("notebooks", scope="module")
def suite_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("nb-home")
    run_dir = tmp_path_factory.mktemp("nb-run")
    mp = pytest.MonkeyPatch()
    # The kernels inherit this environment, so every notebook finds this isolated stack.
    mp.setenv("STREAMLAB_HOME", str(home))
    mp.setenv("STREAMLAB_PORT", str(stack.pick_free_port()))
    mp.setenv("STREAMLAB_TARGET", "local")
    try:
        result = run_suite(profile="ci", run_dir=run_dir, junit=run_dir / "junit.xml", log=lambda _: None)
        yield result, home
    finally:
        stack.down(home=home)
        mp.undo()


def test_source_notebooks_have_no_outputs_and_a_literal_parameters_cell():
    for path in list_notebooks():
        nb = nbformat.read(path, as_version=4)
        params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(params) == 1, f"{path.name} needs exactly one parameters cell"
        for line in params[0].source.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                name, _, value = line.partition("=")
                assert name.strip().isidentifier(), f"{path.name}: {line!r}"
                json.loads(value.strip().replace("'", '"').replace("True", "true").replace("False", "false").replace("None", "null"))
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name} has outputs committed"
                assert "sys.path" not in cell.source and "input(" not in cell.source


def test_every_notebook_ran_into_the_run_folder(suite_run):
    result, _ = suite_run
    assert [p.name for p in result.executed] == [p.name for p in list_notebooks()]
    for path in result.executed:
        nb = nbformat.read(path, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path.name} produced no output"


def test_start_here_found_every_service_healthy(suite_run):
    result, _ = suite_run
    res = read_results(result.run_dir, "00_start_here")
    assert res["target"] == "local"
    assert set(res["health"]) >= {"dynamodb", "lambda", "iam", "sqs", "apigateway", "cloudwatch"}
    assert set(res["health"].values()) == {"ok"}


def test_suite_leaves_no_stack_running(suite_run):
    _, home = suite_run
    assert read_state(StackPaths(home)) is None


def test_table_notebook_saw_insert_modify_remove_S2_S5(suite_run):
    res = read_results(suite_run[0].run_dir, "01_table_and_stream")
    assert res["events"] == ["INSERT", "MODIFY", "REMOVE"]
    assert res["insert_has_old_image"] is False and res["remove_has_new_image"] is False


def test_processor_notebook_processed_a_write_with_a_real_lag(suite_run):
    result, _ = suite_run
    res = read_results(result.run_dir, "02_stream_processor")
    assert res["manual_invoke_status"] == 200
    # The write and its processing both happened while the notebook ran: a bound from this run.
    assert 0 < res["lag_ms"] <= result.seconds["02_stream_processor.ipynb"] * 1000


def test_api_notebook_refused_bad_input_and_surfaced_the_fault(suite_run):
    res = read_results(suite_run[0].run_dir, "03_api_direct_integration")
    assert res["post_status"] == 202
    assert res["refused"] == {"malformed JSON": 400, "body is not an object": 400, "text/plain": 415,
                              "item over 400 KB": 400, "Idempotency-Key too long": 400,
                              "Idempotency-Key with a space": 400}
    assert res["written_by_refused"] == 0
    assert 500 <= res["fault_status"] < 600
    # The request-reply loop: a Location to poll, and the 504 retried with the same key stored once.
    assert res["location"].startswith("requests/") and res["time_to_known_outcome_ms"] > 0
    assert res["retry_status"] == 202 and res["retry_copies"] == 1 and res["conflict_status"] == 422
    assert 429 in res["stage_throttle"] and res["dynamodb_throttle"].count(429) == 3


def test_teardown_notebook_left_nothing(suite_run):
    res = read_results(suite_run[0].run_dir, "99_teardown")
    assert res["clean"] is True
    assert res["before"]["table"] == 1 and res["before"]["api"] == 1
    assert not any(res["remaining"].values())


def test_bursts_notebook_lost_nothing_and_measured_parallelization_E4(suite_run):
    res = read_results(suite_run[0].run_dir, "04_bursts")
    rows = {r["experiment"]: r for r in res["rows"]}
    assert res["all_passed"] is True and res["lost"] == 0
    assert all(r["acknowledged"] == r["processed"] for r in rows.values())
    # Which setting drains faster is the notebook's finding, worded from its own numbers; a test
    # on a shared machine checks only that each was measured (no timing comparison here).
    for name in ("parallelization 4", "defaults (batch 100)"):
        assert 0 < rows[name]["lag p50 ms"] <= rows[name]["lag p99 ms"], rows[name]
    # The knee search stops at the first rate that fails the bench's verdict (lag, loss, drops).
    assert res["knee"][-1]["keeps up"] is False and all(r["keeps up"] for r in res["knee"][:-1])
    drain = {r["knob"]: r for r in res["drain"]}
    assert all(r["lost"] == 0 and r["drain capacity rec/s"] > 0 for r in drain.values())


def test_resilience_notebook_accounts_for_every_poison_record_E7_E8_E9(suite_run):
    res = read_results(suite_run[0].run_dir, "05_resilience")
    rows = {r["experiment"]: r for r in res["rows"]}
    assert res["all_passed"] is True and res["lost"] == 0
    poison = rows["bisect"]["acknowledged"] // 50  # every 50th request of the CI profile is poison
    # bisect and partial responses give up only the poison; a retry limit alone takes neighbours along
    assert rows["bisect"]["on-failure"] == rows["partial batch responses"]["on-failure"] == poison
    assert rows["retry limit only"]["on-failure"] >= poison
    assert res["blocked_pending"] > 0  # AWS's defaults: the poison blocked its shard...
    assert res["unblocked"]["passed"] and res["unblocked"]["settled"]  # ...until the settings changed
    assert rows["outage"]["processed"] == rows["outage"]["acknowledged"] and rows["outage"]["max attempts"] > 1
    # Every failure scenario ends FAILED with its reason, as GET shows; none stuck, none lost.
    assert res["stuck"] == 0 and res["one_message_condition"] == "RetryAttemptsExhausted"
    assert res["one_outcome"]["status"] == "FAILED" and res["one_outcome"]["reason"] == "RetryAttemptsExhausted"
    assert res["reasons"]["bisect"] == {"RetryAttemptsExhausted": poison}
    assert set(res["reasons"]["record age"]) == {"RecordAgeExceeded"}
    # After the fix a redrive turned every failed request PROCESSED.
    assert res["redrive"]["processed"] == res["redrive"]["requested"] > 0
    assert res["after_redrive"]["processed"] == res["redrive"]["requested"] and res["after_redrive"]["passed"]


def test_observability_notebook_read_every_metric_and_counted_every_request_M1_M3_A8(suite_run):
    res = read_results(suite_run[0].run_dir, "06_observability")
    assert res["complete"] is True
    assert {"Count", "Latency", "IntegrationLatency", "Invocations", "IteratorAge", "PolledEventCount"} <= set(
        res["metrics_present"])
    assert res["api_count"] == res["sent"]
    assert res["audit"]["passed"] is True


def test_sync_vs_async_notebook_measured_the_claim(suite_run):
    res = read_results(suite_run[0].run_dir, "07_sync_vs_async")
    assert res["async_audit_passed"] is True and res["lost"]["async"] == 0
    assert res["errors"]["async"] == 0
    assert res["p99_ms"]["async"] > 0 and res["p99_ms"]["sync"] > 0  # measured; which is lower is the notebook's finding
    # every sync request that failed was an error the client saw, and was not stored
    assert res["not_stored"]["sync"] == res["errors"]["sync"]
    assert res["usd_per_million"]["async"] > 0 and res["usd_per_million"]["sync"] > 0


def test_run_report_opens_from_disk_with_every_figure_and_every_verdict_passed(suite_run, browser):  # noqa: F811
    result, _ = suite_run
    rows = check_run_report(browser, result.run_dir, "run-report.png")
    assert list(rows) == [p.stem for p in list_notebooks()]
    assert {r["ran"] for r in rows.values()} == {"passed"}
    verdicts = {name: r["verdict"] for name, r in rows.items() if r["verdict"] != "—"}
    # the audits (04-07), the stack's health (00) and the clean teardown (99) each give a verdict
    assert {"00_start_here", "04_bursts", "05_resilience", "06_observability", "07_sync_vs_async",
            "99_teardown"} <= set(verdicts)
    assert all(v.startswith("passed") for v in verdicts.values()), verdicts
    html = (result.run_dir / "index.html").read_text()
    assert html.count("<img ") == len(list(result.run_dir.rglob("*.png"))) > 0


def test_junit_file_names_every_notebook_as_a_passed_test_case(suite_run):
    result, _ = suite_run
    root = ET.parse(result.run_dir / "junit.xml").getroot()
    cases = list(root.iter("testcase"))
    assert [c.get("name") for c in cases] == [p.stem for p in list_notebooks()]
    assert root.get("failures") == "0" and root.get("skipped") == "0"
    assert all(float(c.get("time")) > 0 and not list(c.iter("failure")) for c in cases)
