"""Pure logic of the ESM without a stack: filters (E11), responses (E9, E12), batches (E2, E4), config (E2-E6)."""
from __future__ import annotations

import json

import pytest

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.config import AwsError, apply_update, new_mapping
from streamlab.localstack.esm.destinations import failure_record
from streamlab.localstack.esm.event import MAX_PAYLOAD_BYTES, cut_batches, key_lane, lambda_record
from streamlab.localstack.esm.filters import compile_patterns, matches, matches_any
from streamlab.localstack.esm.outcome import classify
from streamlab.localstack.esm.upstream import InvokeResult

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"


def rec(i: int, key: str | None = None, size: int = 0, created: float = 1_700_000_000) -> dict:
    return {"eventID": str(i), "eventName": "INSERT", "dynamodb": {
        "SequenceNumber": f"{i:030d}", "Keys": {"id": {"S": key or f"k{i}"}},
        "NewImage": {"id": {"S": key or f"k{i}"}, "pad": {"S": "x" * size}, "n": {"N": str(i)}},
        "ApproximateCreationDateTime": created}}


# --- filters (E11) ---

@pytest.mark.parametrize("pattern,ok", [
    ({"eventName": ["INSERT"]}, True),
    ({"eventName": ["MODIFY", "REMOVE"]}, False),
    ({"dynamodb": {"NewImage": {"n": {"N": ["3"]}}}}, True),
    ({"dynamodb": {"NewImage": {"n": {"N": [3]}}}}, False),  # numbers are strings in DynamoDB JSON
    ({"dynamodb": {"NewImage": {"id": {"S": [{"prefix": "k"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"id": {"S": [{"suffix": "3"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"id": {"S": [{"equals-ignore-case": "K3"}]}}}}, True),
    ({"dynamodb": {"NewImage": {"id": {"S": [{"anything-but": ["k3"]}]}}}}, False),
    ({"dynamodb": {"NewImage": {"gone": [{"exists": False}]}}}, True),
    ({"dynamodb": {"NewImage": {"pad": [{"exists": True}]}}}, True),
    ({"dynamodb": {"OldImage": {"id": {"S": ["k3"]}}}}, False),
    ({"eventID": [{"numeric": [">", 1]}]}, False),
])
def test_E11_patterns(pattern, ok):
    assert matches(pattern, rec(3)) is ok


def test_E11_numeric_and_or():
    assert matches({"x": [{"numeric": [">", 1, "<=", 5]}]}, {"x": 5})
    assert not matches({"x": [{"numeric": [">", 1, "<=", 5]}]}, {"x": 5.5})
    patterns = compile_patterns({"Filters": [{"Pattern": json.dumps({"x": [1]})}, {"Pattern": json.dumps({"x": [2]})}]})
    assert matches_any(patterns, {"x": 2}) and not matches_any(patterns, {"x": 3})
    assert matches_any([], {"anything": 1})


# --- responses (E9, E12) ---

def result(payload, kind="ok"):
    return InvokeResult(kind=kind, payload=payload, status=200, function_error="Unhandled" if kind != "ok" else None)


BATCH = [rec(i) for i in range(4)]


@pytest.mark.parametrize("payload", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, {"other": 1}])
def test_E9_success_shapes(payload):
    assert classify(result(payload), BATCH, True, False).kind == "success"


@pytest.mark.parametrize("payload", [
    {"batchItemFailures": [{"itemIdentifier": ""}]}, {"batchItemFailures": [{"itemIdentifier": None}]},
    {"batchItemFailures": [{"wrong": BATCH[1]["dynamodb"]["SequenceNumber"]}]}, {"batchItemFailures": "x"},
    "text", [1],
])
def test_E9_malformed_is_full_failure(payload):
    assert classify(result(payload), BATCH, True, False).kind == "failure"


def test_E9_lowest_identifier_wins_and_unknown_is_chosen_failure():
    seq = lambda i: {"itemIdentifier": BATCH[i]["dynamodb"]["SequenceNumber"]}  # noqa: E731
    out = classify(result({"batchItemFailures": [seq(3), seq(1)]}), BATCH, True, False)
    assert (out.kind, out.retry_from) == ("partial", 1)
    assert classify(result({"batchItemFailures": [seq(0)]}), BATCH, True, False).kind == "failure"
    unknown = classify(result({"batchItemFailures": [{"itemIdentifier": "9" * 30}]}), BATCH, True, False)
    assert unknown.kind == ("failure" if chosen.UNKNOWN_ITEM_IDENTIFIER_IS_FULL_FAILURE else "success")


def test_E9_ignored_when_not_enabled_and_exception_always_fails():
    assert classify(result({"batchItemFailures": "x"}), BATCH, False, False).kind == "success"
    assert classify(result({"errorMessage": "x"}, "function_error"), BATCH, True, False).kind == "failure"


def test_E12_tumbling_response_needs_state():
    assert classify(result({"state": {}}), BATCH, False, True).kind == "success"
    assert classify(result({"x": 1}), BATCH, False, True).kind == "failure"
    assert classify(result(None), BATCH, False, True).kind == "failure"


# --- batches (E2, E4, S3) ---

def test_E2_batch_size_and_6mb_cap():
    assert [len(b) for b in cut_batches([rec(i) for i in range(5)], 3, 1)] == [3]
    big = [rec(i, size=2 * 1024 * 1024) for i in range(4)]
    (batch,) = cut_batches(big, 100, 1)
    assert len(batch) == 2 and len(json.dumps({"Records": batch})) <= MAX_PAYLOAD_BYTES


def test_E4_lanes_keep_keys_together_and_take_a_prefix():
    buffer = [rec(i, key=f"k{i % 3}") for i in range(12)]
    batches = cut_batches(buffer, 2, 3)
    taken = [r for b in batches for r in b]
    assert sorted(int(r["eventID"]) for r in taken) == list(range(len(taken)))  # a contiguous prefix
    for batch in batches:
        assert len({key_lane(r, 3) for r in batch}) == 1
        assert [int(r["eventID"]) for r in batch] == sorted(int(r["eventID"]) for r in batch)


def test_S3_lambda_record_has_arn_and_whole_seconds():
    out = lambda_record({**rec(1), "dynamodb": {**rec(1)["dynamodb"], "ApproximateCreationDateTime": 1700000000.7}}, ARN)
    assert out["eventSourceARN"] == ARN
    assert out["dynamodb"]["ApproximateCreationDateTime"] == 1700000000.0


# --- control-plane validation (E2-E6, E12) ---

def body(**kw):
    return {"EventSourceArn": ARN, "FunctionName": "f", "StartingPosition": "LATEST", **kw}


@pytest.mark.parametrize("kw", [
    {"BatchSize": 0}, {"BatchSize": 10001}, {"BatchSize": True}, {"BatchSize": "5"},
    {"MaximumBatchingWindowInSeconds": 301}, {"ParallelizationFactor": 11}, {"MaximumRetryAttempts": -2},
    {"MaximumRecordAgeInSeconds": 59}, {"MaximumRecordAgeInSeconds": 604801}, {"TumblingWindowInSeconds": 901},
    {"StartingPosition": "AT_TIMESTAMP"}, {"StartingPosition": None}, {"BisectBatchOnFunctionError": "yes"},
    {"FilterCriteria": {"Filters": [{"Pattern": "not json"}]}},
    {"FilterCriteria": {"Filters": [{"Pattern": "{}"}] * 6}},
    {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:lambda:us-east-1:000000000000:function:x"}}},
    {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}}},
    {"MetricsConfig": {"Metrics": ["Other"]}}, {"Enabled": "false"},
])
def test_E2_E6_E12_invalid_create(kw):
    with pytest.raises(AwsError) as err:
        new_mapping(body(**kw), "f", "arn:f")
    assert err.value.code == "InvalidParameterValueException" and err.value.status == 400


@pytest.mark.parametrize("kw", [{"MaximumRecordAgeInSeconds": -1}, {"MaximumRecordAgeInSeconds": 60},
                                {"MaximumRetryAttempts": 10000}, {"BatchSize": 10000}, {"TumblingWindowInSeconds": 900}])
def test_E2_E6_edges_are_valid(kw):
    assert new_mapping(body(**kw), "f", "arn:f").to_api()[next(iter(kw))] == next(iter(kw.values()))


def test_update_rules():
    mapping = new_mapping(body(), "f", "arn:f").changed(state="Enabled")
    assert apply_update(mapping, {"Enabled": False}, None).state == "Disabling"
    updated = apply_update(mapping, {"BatchSize": 5}, None)
    assert (updated.state, updated.batch_size, mapping.batch_size) == ("Updating", 5, 100)
    with pytest.raises(AwsError) as err:
        apply_update(mapping.changed(state="Creating"), {"BatchSize": 5}, None)
    assert err.value.code == "ResourceConflictException"
    with pytest.raises(AwsError):
        apply_update(mapping, {"StartingPosition": "TRIM_HORIZON"}, None)


def test_E10_failure_record_without_invocation_uses_chosen_context():
    out = failure_record(records=[rec(1), rec(2)], condition=chosen.CONDITION_RECORD_AGE_EXCEEDED,
                         function_arn="arn:f", invoke_count=0, last_result=None, shard_id="s", stream_arn=ARN)
    assert out["responseContext"] == chosen.NO_INVOCATION_RESPONSE_CONTEXT
    assert out["requestContext"]["condition"] == "RecordAgeExceeded"
    info = out["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (f"{1:030d}", f"{2:030d}", 2)
    assert info["approximateArrivalOfFirstRecord"] == "2023-11-14T22:13:20Z"


def test_M2_arrival_time_uses_sequence_millis_only_when_consistent():
    from streamlab.localstack.esm.event import arrival_time

    good = {"dynamodb": {"SequenceNumber": f"{1_700_000_000_250:020d}{7:010d}", "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(good) == 1_700_000_000.25
    other = {"dynamodb": {"SequenceNumber": "4" * 21, "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(other) == 1_700_000_000.0
    off = {"dynamodb": {"SequenceNumber": f"{1_700_000_005_000:020d}{7:010d}", "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(off) == 1_700_000_000.0


def test_E5_unreachable_lambda_is_classified_not_counted():
    import asyncio

    from streamlab.localstack.esm.upstream import Upstream, invoke
    from streamlab.localstack.stack import pick_free_port

    dead = Upstream(f"http://127.0.0.1:{pick_free_port()}")
    result = asyncio.run(invoke(dead, "arn:aws:lambda:us-east-1:000000000000:function:f", {"Records": []}))
    assert result.kind == "unreachable"


def test_S2_size_bytes_follows_item_size_rules_when_the_stream_reports_none():
    from streamlab.localstack.esm.event import stream_record_size

    assert stream_record_size({"Keys": {"id": {"S": "r0"}}}) == 4
    assert stream_record_size({"Keys": {"id": {"S": "r0"}}, "NewImage": {"id": {"S": "r0"}, "n": {"N": "123"}}}) == 4 + 4 + 1 + 3
    out = lambda_record({"dynamodb": {"SequenceNumber": "1" * 21, "SizeBytes": 0, "Keys": {"id": {"S": "é"}}}}, ARN)
    assert out["dynamodb"]["SizeBytes"] == 4
    kept = lambda_record({"dynamodb": {"SequenceNumber": "1" * 21, "SizeBytes": 99, "Keys": {}}}, ARN)
    assert kept["dynamodb"]["SizeBytes"] == 99
