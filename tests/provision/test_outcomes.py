"""Every request reaches an outcome the client can see: the whole loop on the local stack, over the wire.

One pipeline (deployed by the library, always torn down) serves the module: POST -> 202 +
Location, GET's states, FAILED with its reason from the FailureHandler, redrive, reconcile,
Idempotency-Key, DynamoDB throttling and stage throttling, and the FailureHandler's bad input.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest

from streamlab import schema
from streamlab.notebook import client
from streamlab.localstack.faults import throttle_dynamodb
from streamlab.observe.audit import audit
from streamlab.load.outcome import status_url, wait_for_outcome
from streamlab.observe.reconcile import reconcile, redrive
from streamlab.provision import PipelineConfig, deploy, teardown
from streamlab.provision import function as function_step

DEADLINE_S = 90.0  # generous: the machine is small and shared


@pytest.fixture(scope="module")
def config():
    return PipelineConfig(stack="oc" + uuid.uuid4().hex[:8])


@pytest.fixture(scope="module")
def pipeline(target, config):
    try:
        yield deploy(config, target=target, log=lambda _: None)
    finally:
        teardown(config, target=target, log=lambda _: None)


def post(pipeline, body, key: str | None = None) -> client.Reply:
    """POST with the pipeline's API key (its guard rails require one), and an Idempotency-Key if given."""
    return client.call("POST", pipeline.invoke_url, body,
                       headers={**pipeline.request_headers, **({"Idempotency-Key": key} if key else {})})


def get(pipeline, url: str) -> client.Reply:
    return client.call("GET", url, headers=pipeline.request_headers)


def items_with_id(target, pipeline, item_id: str) -> list[dict]:
    page = target.client("dynamodb").scan(TableName=pipeline.table_name, ConsistentRead=True,
                                          FilterExpression="#id = :id", ExpressionAttributeNames={"#id": "id"},
                                          ExpressionAttributeValues={":id": {"S": item_id}})
    return page["Items"]


def count_items(target, pipeline) -> int:
    return target.client("dynamodb").scan(TableName=pipeline.table_name, Select="COUNT", ConsistentRead=True)["Count"]


def test_post_answers_202_with_location_and_get_reports_the_outcome(pipeline):
    reply = post(pipeline, {"hello": "world"})
    assert reply.status == 202
    body = reply.json()
    assert body["status"] == schema.ACCEPTED and body["duplicate"] is False
    assert reply.headers["Location"] == body["location"] == f"requests/{body['id']}"
    first = get(pipeline, status_url(pipeline.invoke_url, reply.headers["Location"]))
    assert first.status == 200 and first.json()["id"] == body["id"]
    if first.json()["status"] == schema.ACCEPTED:
        assert first.headers["Retry-After"] == "1"
    outcome = wait_for_outcome(pipeline.invoke_url, body["location"], timeout_s=DEADLINE_S, headers=pipeline.request_headers)
    assert outcome.status == schema.PROCESSED and outcome.attempts == 1
    assert outcome.time_to_known_outcome_ms is not None and outcome.time_to_known_outcome_ms > 0
    done = get(pipeline, status_url(pipeline.invoke_url, body["id"]))
    assert "Retry-After" not in done.headers and done.json()["processed_at"] >= done.json()["accepted_at"]


def test_unknown_and_malformed_ids_are_404_never_5xx(pipeline):
    assert get(pipeline, status_url(pipeline.invoke_url, "no-such-request")).status == 404
    for bad in ("%22%7D%7B", "x" * 300, "a%00b", "..%2F..%2Fetc"):
        reply = get(pipeline, pipeline.invoke_url + "/" + bad)
        assert reply.status in (400, 404), (bad, reply)


def test_poison_request_ends_failed_with_its_reason_then_a_redrive_after_the_fix_processes_it(target, pipeline, config):
    ids = [post(pipeline, {"fail": "poison", "n": i}).json()["id"] for i in range(2)]
    for request_id in ids:
        outcome = wait_for_outcome(pipeline.invoke_url, request_id, timeout_s=DEADLINE_S, headers=pipeline.request_headers)
        assert outcome.status == schema.FAILED, outcome
        assert outcome.reason == "RetryAttemptsExhausted"
        assert outcome.attempts >= config.esm.maximum_retry_attempts + 1  # bisecting may add one
        assert outcome.body["failed_attempts"] >= 1 and outcome.body["failed_at"] >= outcome.accepted_at
        assert outcome.error.startswith("InjectedFailure: ") and "poison" in outcome.error

    still_poison = redrive(target, ids, table=pipeline.table_name, function_name=pipeline.function_name)
    assert sorted(still_poison.failed) == sorted(ids) and not still_poison.processed
    assert all(wait_for_outcome(pipeline.invoke_url, i, timeout_s=5, headers=pipeline.request_headers).status == schema.FAILED for i in ids)

    fixed = config.with_processor(request_failures=False)
    function_step.create_function(target, fixed, role_arn=pipeline.processor_role_arn)
    try:
        result = redrive(target, ids + ["never-existed"], table=pipeline.table_name,
                         function_name=pipeline.function_name)
        assert sorted(result.processed) == sorted(ids) and result.skipped == {"never-existed": "not found"}
        for request_id in ids:
            assert get(pipeline, status_url(pipeline.invoke_url, request_id)).json()["status"] == schema.PROCESSED
        again = redrive(target, ids, table=pipeline.table_name, function_name=pipeline.function_name)
        assert again.skipped == {i: "already PROCESSED" for i in ids}
    finally:
        function_step.create_function(target, config, role_arn=pipeline.processor_role_arn)


def test_reconcile_finds_requests_stuck_in_accepted_and_redrives_them(target, pipeline):
    lam = target.client("lambda")
    lam.update_event_source_mapping(UUID=pipeline.mapping_uuid, Enabled=False)
    try:
        stuck_id = post(pipeline, {"stuck": True}).json()["id"]
        time.sleep(1.0)
        listed = reconcile(target, table=pipeline.table_name, function_name=pipeline.function_name, older_than_s=0.5)
        assert stuck_id in [s.id for s in listed.stuck] and listed.redrive is None
        assert not [s for s in reconcile(target, table=pipeline.table_name, function_name=pipeline.function_name,
                                         older_than_s=3600).stuck if s.id == stuck_id]
        fixed = reconcile(target, table=pipeline.table_name, function_name=pipeline.function_name,
                          older_than_s=0.5, redrive_stuck=True)
        assert stuck_id in fixed.redrive.processed
        result = audit(target, pipeline.table_name, [stuck_id], through_api=pipeline.invoke_url,
                       api_headers=pipeline.request_headers, settle_timeout=1)
        assert result.processed == 1 and result.settled and result.passed
    finally:
        lam.update_event_source_mapping(UUID=pipeline.mapping_uuid, Enabled=True)


def test_idempotency_key_stores_one_item_and_a_different_body_is_refused_with_the_first_standing(target, pipeline):
    key = "order-" + uuid.uuid4().hex
    first = post(pipeline, {"amount": 10}, key)
    again = post(pipeline, {"amount": 10}, key)
    assert (first.status, again.status) == (202, 202)
    assert first.json()["id"] == again.json()["id"] == key
    assert first.json()["duplicate"] is False and again.json()["duplicate"] is True
    assert again.json()["accepted_at"] == first.json()["accepted_at"]

    other = post(pipeline, {"amount": 99}, key)
    assert other.status == 422 and other.json()["id"] == key and "first request stands" in other.json()["message"]
    stored = items_with_id(target, pipeline, key)
    assert len(stored) == 1 and json.loads(stored[0][schema.BODY]["S"]) == {"amount": 10}
    assert wait_for_outcome(pipeline.invoke_url, key, timeout_s=DEADLINE_S, headers=pipeline.request_headers).status == schema.PROCESSED
    late = post(pipeline, {"amount": 10}, key)  # a retry after processing does not start it again
    assert late.status == 202 and late.json()["status"] == schema.PROCESSED
    assert int(items_with_id(target, pipeline, key)[0][schema.ATTEMPTS]["N"]) == 1


@pytest.mark.parametrize("key", ["x" * 65, "has space", "quote\"", "dot.dot", "ünïcode"])
def test_a_bad_idempotency_key_is_400_and_nothing_is_written(target, pipeline, key):
    before = count_items(target, pipeline)
    reply = client.call("POST", pipeline.invoke_url, {"a": 1},
                        headers={**pipeline.request_headers, "Idempotency-Key": key.encode("utf-8").decode("latin-1")})
    assert reply.status == 400 and "Idempotency-Key" in reply.json()["message"]
    assert count_items(target, pipeline) == before


def test_dynamodb_throttling_is_429_with_retry_after_and_writes_nothing(target, pipeline, stack_home):
    before = count_items(target, pipeline)
    with throttle_dynamodb(1.0, seconds=30, home=stack_home):
        reply = post(pipeline, {"a": 1}, "throttled-" + uuid.uuid4().hex)
    assert reply.status == 429 and reply.headers["Retry-After"] == "1"
    assert "ProvisionedThroughput" not in reply.body.decode() and "Idempotency-Key" in reply.json()["message"]
    assert count_items(target, pipeline) == before
    with throttle_dynamodb(0.5, seconds=30, home=stack_home):
        statuses = [post(pipeline, {"i": i}).status for i in range(6)]
    assert statuses.count(429) == 3 and statuses.count(202) == 3
    assert post(pipeline, {"after": True}).status == 202  # the switch is off when the block ends


def test_stage_throttling_set_with_update_stage_answers_429_like_api_gateway(target, pipeline):
    apigw = target.client("apigateway")
    apigw.update_stage(restApiId=pipeline.api_id, stageName=pipeline.stage, patchOperations=[
        {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2"},
        {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "0.01"},
    ])
    try:
        statuses = [get(pipeline, status_url(pipeline.invoke_url, "nothing-here")) for _ in range(4)]
        assert [r.status for r in statuses] == [404, 404, 429, 429]
        assert statuses[2].headers["x-amzn-ErrorType"] == "TooManyRequestsException"
        assert statuses[2].json() == {"message": "Too Many Requests"} and int(statuses[2].headers["Retry-After"]) >= 1
    finally:
        apigw.update_stage(restApiId=pipeline.api_id, stageName=pipeline.stage, patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "5000"},
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "10000"},
        ])
    deadline = time.monotonic() + 10
    while get(pipeline, status_url(pipeline.invoke_url, "nothing-here")).status == 429:
        assert time.monotonic() < deadline, "stage throttling still on after UpdateStage removed it"
        time.sleep(0.2)


def _dead_letters(target, pipeline, want: int) -> list[dict]:
    sqs = target.client("sqs")
    got: list[dict] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(got) < want and time.monotonic() < deadline:
        page = sqs.receive_message(QueueUrl=pipeline.dead_letter_queue_url, MaxNumberOfMessages=10,
                                   WaitTimeSeconds=1, MessageAttributeNames=["All"])
        for m in page.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=pipeline.dead_letter_queue_url, ReceiptHandle=m["ReceiptHandle"])
    return got


def on_failure_record(pipeline, *, start: str, end: str, shard: str, stream_arn: str | None = None) -> dict:
    return {
        "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": pipeline.function_arn,
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": "2026-11-28T00:00:00.000Z",
        "DDBStreamBatchInfo": {"shardId": shard, "startSequenceNumber": start, "endSequenceNumber": end,
                               "approximateArrivalOfFirstRecord": "2026-11-28T00:00:00Z",
                               "approximateArrivalOfLastRecord": "2026-11-28T00:00:00Z", "batchSize": 1,
                               "streamArn": stream_arn or pipeline.stream_arn},
    }


def _insert_record_of(target, pipeline, item_id: str) -> tuple[str, str]:
    """(shard id, sequence number) of the item's INSERT, read from the stream as a consumer would.

    GetRecords may answer an empty page before records further on (S6), so every shard is read on
    until the record turns up or the deadline passes."""
    streams = target.client("dynamodbstreams")
    iterators = {shard["ShardId"]: streams.get_shard_iterator(StreamArn=pipeline.stream_arn, ShardId=shard["ShardId"],
                                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                 for shard in streams.describe_stream(StreamArn=pipeline.stream_arn)["StreamDescription"]["Shards"]}
    deadline = time.monotonic() + DEADLINE_S
    while iterators and time.monotonic() < deadline:
        for shard_id, iterator in list(iterators.items()):
            page = streams.get_records(ShardIterator=iterator)
            for r in page["Records"]:
                if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["id"]["S"] == item_id:
                    return shard_id, r["dynamodb"]["SequenceNumber"]
            if page.get("NextShardIterator"):
                iterators[shard_id] = page["NextShardIterator"]
            else:
                del iterators[shard_id]
        time.sleep(0.05)
    raise AssertionError(f"no INSERT of {item_id} in the stream")


def test_failure_handler_parks_malformed_foreign_and_vanished_batches_and_marks_nothing(target, pipeline):
    sqs = target.client("sqs")
    before = count_items(target, pipeline)
    processed_id = post(pipeline, {"fine": True}).json()["id"]
    assert wait_for_outcome(pipeline.invoke_url, processed_id, timeout_s=DEADLINE_S, headers=pipeline.request_headers).status == schema.PROCESSED
    shard, seq = _insert_record_of(target, pipeline, processed_id)
    bodies = {
        "not JSON": "{oops",
        "not an on-failure record": json.dumps({"hello": "world"}),
        "foreign": json.dumps(on_failure_record(pipeline, start=seq, end=seq, shard=shard,
                                                stream_arn=pipeline.stream_arn.replace(pipeline.table_name, "other-table"))),
        "gone from the stream": json.dumps(on_failure_record(pipeline, start="9" * 21, end="9" * 21, shard=shard)),
        "no such shard": json.dumps(on_failure_record(pipeline, start=seq, end=seq,
                                                      shard="shardId-00000000000000000000-deadbeef")),
        "not a shard id": json.dumps(on_failure_record(pipeline, start=seq, end=seq, shard="shardId-nope")),
    }
    for body in bodies.values():
        sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=body)
    parked = _dead_letters(target, pipeline, len(bodies))
    assert sorted(m["Body"] for m in parked) == sorted(bodies.values())
    assert all(m["MessageAttributes"]["reason"]["StringValue"] for m in parked)
    # A PROCESSED request named by an on-failure record stays PROCESSED (never overwritten).
    sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=json.dumps(
        on_failure_record(pipeline, start=seq, end=seq, shard=shard)))
    time.sleep(3)
    assert get(pipeline, status_url(pipeline.invoke_url, processed_id)).json()["status"] == schema.PROCESSED
    assert count_items(target, pipeline) == before + 1


def test_failure_handler_is_idempotent_under_duplicate_deliveries(target, pipeline):
    lam, sqs = target.client("lambda"), target.client("sqs")
    lam.update_event_source_mapping(UUID=pipeline.mapping_uuid, Enabled=False)
    try:
        item_id = post(pipeline, {"waits": True}).json()["id"]
        shard, seq = _insert_record_of(target, pipeline, item_id)
        record = json.dumps(on_failure_record(pipeline, start=seq, end=seq, shard=shard))
        sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=record)
        first = wait_for_outcome(pipeline.invoke_url, item_id, timeout_s=DEADLINE_S, headers=pipeline.request_headers)
        assert first.status == schema.FAILED and first.reason == "RetryAttemptsExhausted"
        sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=record)  # SQS delivers at least once
        deadline = time.monotonic() + 10
        while int(sqs.get_queue_attributes(QueueUrl=pipeline.queue_url, AttributeNames=["All"])["Attributes"]
                  ["ApproximateNumberOfMessages"]) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        again = get(pipeline, status_url(pipeline.invoke_url, item_id)).json()
        assert again["status"] == schema.FAILED and again["failed_at"] == first.body["failed_at"]
        assert len(items_with_id(target, pipeline, item_id)) == 1
    finally:
        lam.update_event_source_mapping(UUID=pipeline.mapping_uuid, Enabled=True)


def test_a_client_nobody_here_wrote_retries_a_throttled_post_safely(target, pipeline, stack_home):
    """urllib3's own Retry honours our 429's Retry-After; with an Idempotency-Key the retries store one item."""
    import urllib3

    retry = urllib3.Retry(total=5, status_forcelist=[429], allowed_methods=None, respect_retry_after_header=True,
                          backoff_factor=0, raise_on_status=False)
    http = urllib3.PoolManager(retries=retry)
    key = "u3-" + uuid.uuid4().hex
    with throttle_dynamodb(1.0, seconds=1.5, home=stack_home):
        started = time.monotonic()
        answer = http.request("POST", pipeline.invoke_url, body=b'{"via": "urllib3"}',
                              headers={"Content-Type": "application/json", "Idempotency-Key": key,
                                       **pipeline.request_headers})
        took = time.monotonic() - started
    assert answer.status == 202 and json.loads(answer.data)["id"] == key
    assert took >= 1.0  # it waited as Retry-After asked, at least once
    assert len(items_with_id(target, pipeline, key)) == 1
    location = answer.headers["Location"]
    status = http.request("GET", status_url(pipeline.invoke_url, location), headers=pipeline.request_headers)
    assert status.status == 200 and json.loads(status.data)["id"] == key


def test_the_load_runner_samples_time_to_known_outcome_during_a_run(target, pipeline, tmp_path):
    from streamlab.load import schedule
    from streamlab.load.run import run_load

    result = run_load(pipeline.invoke_url, schedule.constant(20, 3.0), workers=1, progress=False,
                      outcome_probe_every_s=0.5, out=tmp_path, headers=pipeline.request_headers)
    frame = result.outcomes
    assert len(frame) >= 4 and set(frame["status"]) == {schema.PROCESSED}
    assert (frame["time_to_known_outcome_ms"] > 0).all() and (frame["polls"] >= 1).all()
    summary = result.summary["time_to_known_outcome_ms"]
    assert summary["n"] == len(frame) and summary["unknown"] == 0 and 0 < summary["p50"] <= summary["max"]
    assert (tmp_path / "outcomes.csv").exists()
    # The audit through GET: every acknowledged request of the run reached an outcome.
    checked = audit(target, pipeline.table_name, result, through_api=pipeline.invoke_url,
                    api_headers=pipeline.request_headers, settle_timeout=DEADLINE_S)
    assert checked.passed and checked.settled and checked.processed == len(result.acknowledged_ids)
