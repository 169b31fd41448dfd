"""End to end on the local stack: POST -> 202 -> item in the table -> PROCESSED by the stream -> GET.

Deploys a whole pipeline with the provisioning library and always tears it down (finally).
Needs the API executor (front door) and MiniStack's own event source mapping for delivery.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest

from streamlab import load, schema
from streamlab.experiment import PipelineNames, send_experiment
from streamlab.notebook.client import call
from streamlab.provision import PipelineConfig, deploy, teardown

DEADLINE_S = 60.0  # generous: the machine is small and shared


def _http(*args, **kwargs) -> tuple[int, bytes]:
    reply = call(*args, **kwargs)
    return reply.status, reply.body


@pytest.fixture(scope="module")
def pipeline(target):
    config = PipelineConfig(stack="e2e" + uuid.uuid4().hex[:8])
    try:
        yield deploy(config, target=target, log=lambda _: None)
    finally:
        teardown(config, target=target, log=lambda _: None)


def _item(target, pipeline, request_id: str) -> dict | None:
    got = target.client("dynamodb").get_item(
        TableName=pipeline.table_name, Key={schema.ID: {"S": request_id}}, ConsistentRead=True
    )
    return got.get("Item")


def _wait_processed(target, pipeline, request_id: str) -> dict:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        item = _item(target, pipeline, request_id)
        if item and item[schema.STATUS]["S"] == schema.PROCESSED:
            return item
        time.sleep(0.2)
    pytest.fail(f"request {request_id} not PROCESSED within {DEADLINE_S:.0f}s; last seen: {item}")


def _count(target, pipeline) -> int:
    return target.client("dynamodb").scan(TableName=pipeline.table_name, Select="COUNT", ConsistentRead=True)["Count"]


def test_post_is_accepted_stored_processed_and_readable(target, pipeline):
    text = '{"msg": "w\u00f6rld \u2713 \\"quoted\\" it\'s\\nnew line $x #set($a = 1) \\\\ done"}'
    status, raw = _http("POST", pipeline.invoke_url, text.encode("utf-8"), headers=pipeline.request_headers)
    assert status == 202, raw
    request_id = json.loads(raw)["id"]
    assert request_id

    stored = _item(target, pipeline, request_id)
    assert stored, "a 202 means the item is already in the table"
    assert stored[schema.ID] == {"S": request_id}
    assert stored[schema.BODY]["S"] == text  # byte-exact, quotes/unicode/VTL sequences included
    accepted_at = int(stored[schema.ACCEPTED_AT]["N"])
    assert abs(accepted_at - time.time() * 1000) < 10 * 60 * 1000  # epoch milliseconds, not seconds

    done = _wait_processed(target, pipeline, request_id)
    lag_ms = int(done[schema.PROCESSED_AT]["N"]) - int(done[schema.ACCEPTED_AT]["N"])
    assert lag_ms >= 0 and int(done[schema.ATTEMPTS]["N"]) >= 1

    status, raw = _http("GET", pipeline.status_url(request_id), headers=pipeline.request_headers)
    assert status == 200, raw
    assert json.loads(raw) == {
        "id": request_id, "status": schema.PROCESSED, "accepted_at": accepted_at,
        "processed_at": int(done[schema.PROCESSED_AT]["N"]), "failed_at": None, "attempts": int(done[schema.ATTEMPTS]["N"]),
    }


def test_every_accepted_request_is_processed(target, pipeline):
    ids = []
    for i in range(20):
        status, raw = _http("POST", pipeline.invoke_url, json.dumps({"n": i}).encode(), headers=pipeline.request_headers)
        assert status == 202, raw
        ids.append(json.loads(raw)["id"])
    assert len(set(ids)) == len(ids)
    for request_id in ids:
        _wait_processed(target, pipeline, request_id)


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        (b'{"unclosed": ', "application/json", 400),   # malformed JSON (A5)
        (b"[1, 2, 3]", "application/json", 400),         # JSON, but not an object (the model)
        (b'{"sleep_ms": -5}', "application/json", 400),  # fails the model
        (b"plain words", "text/plain", 415),             # passthrough NEVER (A3)
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(target, pipeline, body, content_type, expected):
    before = _count(target, pipeline)
    status, raw = _http("POST", pipeline.invoke_url, body, content_type, headers=pipeline.request_headers)
    assert status == expected, raw
    assert "id" not in json.loads(raw)
    assert _count(target, pipeline) == before


def test_get_of_an_unknown_id_is_404(pipeline):
    status, raw = _http("GET", pipeline.status_url("no-such-request"), headers=pipeline.request_headers)
    assert status == 404, raw
    assert json.loads(raw)["id"] == "no-such-request"


def test_transient_failure_is_retried_and_poison_ends_failed_with_its_reason_E7_E9_E10(target, pipeline):
    """With the default settings (2 retries, bisect, ReportBatchItemFailures) nothing is lost, and the
    poison request's on-failure record reaches the FailureHandler, which marks it FAILED."""
    ids = {}
    for name, body in (("once", {"fail": "once"}), ("poison", {"fail": "poison"}), ("after", {"n": 1})):
        status, raw = _http("POST", pipeline.invoke_url, json.dumps(body).encode(), headers=pipeline.request_headers)
        assert status == 202, raw
        ids[name] = json.loads(raw)["id"]

    once = _wait_processed(target, pipeline, ids["once"])
    assert int(once[schema.ATTEMPTS]["N"]) >= 2  # failed once, then processed
    _wait_processed(target, pipeline, ids["after"])  # the poison record does not block the shard for good

    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        status, raw = _http("GET", pipeline.status_url(ids["poison"]), headers=pipeline.request_headers)
        if json.loads(raw)["status"] != schema.ACCEPTED:
            break
        time.sleep(0.5)
    answer = json.loads(raw)
    assert status == 200 and answer["status"] == schema.FAILED, answer
    assert answer["reason"] == "RetryAttemptsExhausted" and answer["failed_attempts"] >= 1
    assert answer["error"].startswith("InjectedFailure")  # the processor's own error, kept on the item


def test_an_experiment_sent_now_and_finished_later_accounts_for_every_request(target, pipeline, tmp_path):
    # Each record takes the processor 300 ms, so when the load is sent most outcomes are still to come.
    sent = send_experiment(target, pipeline.invoke_url, load.batches(size=8, count=1, gap=1.0), tmp_path / "late",
                           names=PipelineNames.of(pipeline), body=load.JsonBodies(seed=3, sleep_ms=300),
                           progress=False)
    assert sent.run.summary["acknowledged"] == 8 and not (tmp_path / "late" / "dashboard.png").exists()
    exp = sent.finish(settle_timeout=DEADLINE_S)
    assert exp.name == "late" and exp.passed and exp.obs.audit.processed == 8
    assert (tmp_path / "late" / "dashboard.png").exists()
