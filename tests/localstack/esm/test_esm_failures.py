"""Failures: retries, timeouts, throttles, bisect, partial batch responses, on-failure records (E5-E10, E12, E14)."""
from __future__ import annotations

import json
import re
import time

import pytest

from .esm_helpers import make_queue, receive_all, until_sentinel, wait_for
from .test_esm_powertools import POWERTOOLS

FAIL_ALWAYS = "raise ValueError('boom')"
FAIL_ON_POISON = "if 'poison' in ids: raise ValueError('poison')"


def _seqs(pipe):
    return [s for inv in pipe.invocations() for s in inv["seqs"]]


def test_E5_E7_E10_retries_then_on_failure_record_to_sqs(pipeline_factory, target):
    pipe = pipeline_factory(FAIL_ON_POISON)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    pipe.put("poison")
    pipe.mapping(MaximumRetryAttempts=2, DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    assert [inv["ids"] for inv in pipe.invocations()] == [["poison"]] * 3  # first try + 2 retries
    seq = pipe.invocations()[0]["seqs"][0]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{pipe.function}")
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["version"] == "1.0"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
    info = record["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == seq
    assert info["batchSize"] == 1 and info["streamArn"] == pipe.stream_arn
    assert info["shardId"].startswith("shardId-")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", info["approximateArrivalOfFirstRecord"])
    assert "payload" not in record and "Records" not in json.dumps(record)
    # E7: the shard goes on after the dropped batch.
    pipe.put("fine")
    wait_for(lambda: pipe.delivered_ids()[-1:] == ["fine"], what="next record after the drop")


def test_E10_on_failure_record_to_sns(pipeline_factory, target):
    pipe = pipeline_factory(FAIL_ALWAYS)
    sns = target.client("sns")
    topic = sns.create_topic(Name=f"{pipe.name}-topic")["TopicArn"]
    url, queue_arn = make_queue(target, f"{pipe.name}-sub")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    pipe.put("a")
    pipe.put("b")
    pipe.mapping(MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": topic}})
    (record,) = receive_all(target, url, 1)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2


def test_E5_timeouts_count_as_failures(pipeline_factory, target):
    pipe = pipeline_factory("time.sleep(5)", timeout=1)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    pipe.put("slow")
    pipe.mapping(MaximumRetryAttempts=1, DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1, timeout=90)
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"


def test_E5_throttles_do_not_spend_retries(pipeline_factory, target):
    pipe = pipeline_factory()
    pipe.lam.put_function_concurrency(FunctionName=pipe.function, ReservedConcurrentExecutions=0)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    pipe.put("r0")
    pipe.mapping(MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": arn}})
    unthrottled_at = time.time()
    pipe.lam.delete_function_concurrency(FunctionName=pipe.function)
    # With 0 retries, a throttle that spent an attempt would have dropped r0 to the queue instead.
    assert [inv["ids"] for inv in until_sentinel(pipe)] == [["r0"]]
    assert pipe.invocations()[0]["t0"] >= unthrottled_at  # nothing reached the function while throttled
    sqs = target.client("sqs")
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def test_E7_without_limits_a_failing_batch_blocks_its_shard(pipeline_factory):
    pipe = pipeline_factory(FAIL_ON_POISON)
    pipe.put("poison")
    pipe.put("after")
    pipe.mapping(BatchSize=1)
    wait_for(lambda: len(pipe.invocations()) >= 4, what="repeated retries")
    assert "after" not in pipe.delivered_ids()


def test_E8_bisect_isolates_the_poison_record(pipeline_factory, target):
    pipe = pipeline_factory(FAIL_ON_POISON)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    for item in ("r0", "r1", "poison", "r3"):
        pipe.put(item)
    pipe.mapping(BatchSize=4, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1,
                 DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    wait_for(lambda: pipe.invocations()[-1]["ids"] == ["r3"], what="the record after the poison")
    batches = [inv["ids"] for inv in pipe.invocations()]
    # CHOSEN: halves in order, each with a fresh retry count, down to the single poison record.
    assert batches == [["r0", "r1", "poison", "r3"], ["r0", "r1"], ["poison", "r3"], ["poison"], ["poison"], ["r3"]]
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert record["requestContext"]["approximateInvokeCount"] == 2


def test_E8_without_bisect_the_whole_batch_is_dropped(pipeline_factory, target):
    pipe = pipeline_factory(FAIL_ON_POISON)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    for item in ("r0", "poison", "r2"):
        pipe.put(item)
    pipe.mapping(BatchSize=3, MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    assert record["DDBStreamBatchInfo"]["batchSize"] == 3
    assert [inv["ids"] for inv in pipe.invocations()] == [["r0", "poison", "r2"]]


REPORT_BAD = """
bad = [s for s, i in zip(seqs, ids) if i.startswith('bad')]
answer = {'batchItemFailures': [{'itemIdentifier': s} for s in bad]}
"""


@pytest.mark.parametrize("behaviour", [REPORT_BAD, POWERTOOLS], ids=["our handler", "powertools BatchProcessor"])
def test_E9_partial_failure_retries_from_lowest_failed_record(pipeline_factory, target, behaviour):
    pipe = pipeline_factory(behaviour)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    for item in ("a", "b", "bad", "c"):
        pipe.put(item)
    pipe.mapping(BatchSize=4, MaximumRetryAttempts=1, FunctionResponseTypes=["ReportBatchItemFailures"],
                 DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    invocations = until_sentinel(pipe)
    assert [inv["error"] for inv in invocations] == ["", ""], "the handler raised (or could not parse the event)"
    assert [inv["ids"] for inv in invocations] == [["a", "b", "bad", "c"], ["bad", "c"]]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2
    assert record["requestContext"]["approximateInvokeCount"] == 2


@pytest.mark.parametrize("answer", ["{'batchItemFailures': []}", "{'batchItemFailures': None}", "{}", "None"])
def test_E9_empty_or_null_response_is_full_success(pipeline_factory, answer):
    pipe = pipeline_factory(f"answer = {answer}")
    pipe.put("a")
    pipe.put("b")
    pipe.mapping(FunctionResponseTypes=["ReportBatchItemFailures"])
    assert [inv["ids"] for inv in until_sentinel(pipe)] == [["a", "b"]]


@pytest.mark.parametrize("answer", [
    "{'batchItemFailures': [{'itemIdentifier': ''}]}",
    "{'batchItemFailures': [{'itemIdentifier': None}]}",
    "{'batchItemFailures': [{'id': seqs[1]}]}",
    "{'batchItemFailures': [{'itemIdentifier': '999'}]}",  # CHOSEN: unknown id
    "'not an object'",
])
def test_E9_malformed_or_unknown_identifier_is_full_failure(pipeline_factory, target, answer):
    pipe = pipeline_factory(f"answer = {answer}")
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    pipe.put("a")
    pipe.put("b")
    pipe.mapping(MaximumRetryAttempts=1, FunctionResponseTypes=["ReportBatchItemFailures"],
                 DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2
    assert [inv["ids"] for inv in pipe.invocations()] == [["a", "b"], ["a", "b"]]


def test_E9_responses_ignored_unless_enabled(pipeline_factory):
    pipe = pipeline_factory(REPORT_BAD)
    pipe.put("a")
    pipe.put("bad")
    pipe.mapping()
    assert [inv["ids"] for inv in until_sentinel(pipe)] == [["a", "bad"]]


def test_E9_with_bisect_splits_at_the_reported_record(pipeline_factory, target):
    pipe = pipeline_factory(REPORT_BAD)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    for item in ("a", "bad", "c"):
        pipe.put(item)
    pipe.mapping(BatchSize=3, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
                 FunctionResponseTypes=["ReportBatchItemFailures"], DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    # Split at the reported record; [bad, c] then fails on its first record (a full failure) and
    # bisects down to [bad], given up after its one attempt; c succeeds.
    assert [inv["ids"] for inv in until_sentinel(pipe)] == [["a", "bad", "c"], ["bad", "c"], ["bad"], ["c"]]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    info = record["DDBStreamBatchInfo"]
    bad_seq = pipe.invocations()[2]["seqs"][0]
    assert (info["batchSize"], info["startSequenceNumber"], info["endSequenceNumber"]) == (1, bad_seq, bad_seq)


def test_E14_retries_wait_a_poll_interval(pipeline_factory):
    pipe = pipeline_factory(FAIL_ALWAYS)
    pipe.put("a")
    pipe.mapping(MaximumRetryAttempts=3)
    invs = wait_for(lambda: len(pipe.invocations()) >= 4 and pipe.invocations(), what="4 attempts")
    gaps = [b["at"] - a["at"] for a, b in zip(invs, invs[1:])]
    assert min(gaps) >= 0.25, gaps


def test_E12_tumbling_window_carries_state_and_ends_with_a_final_invoke(pipeline_factory):
    pipe = pipeline_factory("answer = {'state': {'count': event['state'].get('count', 0) + len(ids)}}")
    pipe.mapping(TumblingWindowInSeconds=2, BatchSize=1)
    for item in ("a", "b", "c"):
        pipe.put(item)

    def finals():
        return [inv["event"] for inv in pipe.invocations() if inv["event"].get("isFinalInvokeForWindow")]
    wait_for(lambda: sum(f["state"].get("count", 0) for f in finals()) == 3, what="final invokes totalling 3 records")
    invs = [inv["event"] for inv in pipe.invocations()]
    assert all(set(e) >= {"window", "state", "shardId", "eventSourceARN", "isWindowTerminatedEarly"} for e in invs)
    assert all(f["Records"] == [] for f in finals())
    for event in invs:  # within a window, each invocation gets the state the previous one returned
        if event["Records"] and event["state"]:
            assert event["state"]["count"] >= 1


def test_E12_tumbling_response_without_state_is_a_failure(pipeline_factory):
    stateless = pipeline_factory("answer = {'no': 'state'}")
    stateless.mapping(TumblingWindowInSeconds=300, MaximumRetryAttempts=1)
    stateless.put("x")
    wait_for(lambda: len([i for i in stateless.invocations() if i["ids"] == ["x"]]) >= 2,
             what="a retry of the stateless answer")


def test_E10_on_failure_record_to_s3_carries_the_payload(pipeline_factory, target):
    pipe = pipeline_factory(FAIL_ALWAYS)
    s3 = target.client("s3")
    bucket = f"{pipe.name}-dlq"
    s3.create_bucket(Bucket=bucket)
    pipe.put("a")
    made = pipe.mapping(MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{bucket}"}})
    keys = wait_for(lambda: [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])], what="S3 object")
    assert keys[0].startswith(f"aws/lambda/{made['UUID']}/shardId-")
    record = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    payload = json.loads(record["payload"])
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in payload["Records"]] == ["a"]


def test_E10_M1_unreachable_destination_is_retried_until_it_works(pipeline_factory, target):
    pipe = pipeline_factory(FAIL_ALWAYS)
    queue = f"{pipe.name}-late"
    arn = f"arn:aws:sqs:us-east-1:000000000000:{queue}"  # does not exist yet
    pipe.put("a")
    pipe.mapping(MaximumRetryAttempts=0, DestinationConfig={"OnFailure": {"Destination": arn}})
    wait_for(lambda: pipe.invocations(), what="the failed invocation")
    cloudwatch = target.client("cloudwatch")

    def delivery_failures():
        from datetime import datetime, timedelta, timezone
        now = datetime.now(timezone.utc)
        points = cloudwatch.get_metric_statistics(
            Namespace="AWS/Lambda", MetricName="DestinationDeliveryFailures",
            Dimensions=[{"Name": "FunctionName", "Value": pipe.function}], StartTime=now - timedelta(minutes=5),
            EndTime=now + timedelta(minutes=1), Period=60, Statistics=["Sum"])["Datapoints"]
        return sum(p["Sum"] for p in points)
    wait_for(delivery_failures, what="DestinationDeliveryFailures")
    url, _ = make_queue(target, queue)
    (record,) = receive_all(target, url, 1)  # the failure record was kept, not lost
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
