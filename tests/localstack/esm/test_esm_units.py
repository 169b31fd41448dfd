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


@pytest.mark.parametrize("pattern, value, ok", [
    ({"x": [True]}, {"x": 1}, False),  # EventBridge compares types: true is not 1
    ({"x": [1]}, {"x": True}, False),
    ({"x": [1]}, {"x": 1}, True),
    ({"x": [None]}, {"x": None}, True),
    ({"x": [{"numeric": [">", 0]}]}, {"x": True}, False),  # a boolean is not a number
    ({"x": [{"numeric": [">=", 1, "<", 3]}]}, {"x": 3}, False),
    ({"x": [{"numeric": [">=", 1, "<", 3]}]}, {"x": 1}, True),
    ({"x": [{"anything-but": ["a", "b"]}]}, {"x": "c"}, True),
    ({"x": [{"anything-but": "a"}]}, {"x": "a"}, False),
    ({"x": [{"anything-but": {"prefix": "a"}}]}, {"x": "ab"}, False),
    ({"x": [{"equals-ignore-case": "AbC"}]}, {"x": "aBc"}, True),
    ({"x": [{"suffix": "z"}]}, {"x": "za"}, False),
    ({"x": [{"prefix": {"equals-ignore-case": "AB"}}]}, {"x": "abc"}, True),
    ({"x": {"y": ["1"]}}, {}, False),  # a nested pattern needs the field
    ({"x": {"y": [{"exists": False}]}}, {"x": {}}, True),
    ({"x": [{"exists": False}]}, {"x": 1}, False),
    ({"x": ["a"]}, {"x": ["b", "a"]}, True),  # a list matches if any element does
])
def test_E11_rule_edges(pattern, value, ok):
    assert matches(pattern, value) is ok


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
    assert unknown.kind == "failure"  # CHOSEN (E9); a literal, so flipping the choice shows here


def test_E9_ignored_when_not_enabled_and_exception_always_fails():
    assert classify(result({"batchItemFailures": "x"}), BATCH, False, False).kind == "success"
    assert classify(result({"errorMessage": "x"}, "function_error"), BATCH, True, False).kind == "failure"


def test_E12_tumbling_response_needs_state():
    assert classify(result({"state": {}}), BATCH, False, True).kind == "success"
    assert classify(result({"x": 1}), BATCH, False, True).kind == "failure"
    assert classify(result(None), BATCH, False, True).kind == "failure"


# --- batches (E2, E4, S3) ---

def test_E2_batch_size_and_6mb_cap():
    assert ids(cut_batches([rec(i) for i in range(5)], 3, 1)) == [[0, 1, 2]]
    assert ids(cut_batches([rec(i) for i in range(3)], 3, 1)) == [[0, 1, 2]]
    big = [rec(i, size=2 * 1024 * 1024) for i in range(4)]
    (batch,) = cut_batches(big, 100, 1)
    assert len(batch) == 2 and len(json.dumps({"Records": batch})) <= MAX_PAYLOAD_BYTES


def test_E2_the_6mb_cap_counts_the_whole_event():
    from streamlab.localstack.esm.event import payload_bytes, record_size

    first = rec(0, size=1000)
    room = MAX_PAYLOAD_BYTES - payload_bytes([first])  # what a second record may still take
    pad = room - record_size(rec(1))
    exact, over = rec(1, size=pad), rec(1, size=pad + 1)
    assert payload_bytes([first, exact]) == MAX_PAYLOAD_BYTES  # (a byte over the JSON's length: on the safe side)
    assert ids(cut_batches([first, exact], 100, 1)) == [[0, 1]]
    assert ids(cut_batches([first, over], 100, 1)) == [[0]]


def test_E2_a_record_over_6mb_still_goes_alone():
    huge = [rec(0, size=MAX_PAYLOAD_BYTES), rec(1)]
    assert ids(cut_batches(huge, 100, 1)) == [[0]]


# The lane of a one-attribute key among 3 lanes: crc32 of the sorted Keys JSON, modulo 3 (E4).
# Literal values, found once by computing the hash, so the lane tests below really spread.
LANE_OF_3 = {"c": 0, "d": 0, "f": 0, "b": 1, "j": 1, "a": 2, "e": 2, "g": 2}


def ids(batches: list[list[dict]]) -> list[list[int]]:
    return [[int(r["eventID"]) for r in batch] for batch in batches]


def keyed(*keys: str) -> list[dict]:
    return [rec(i, key=k) for i, k in enumerate(keys)]


def test_E4_lane_is_a_hash_of_the_item_keys():
    assert {k: key_lane(rec(0, key=k), 3) for k in LANE_OF_3} == LANE_OF_3
    assert key_lane(rec(0, key="a"), 1) == 0


def test_E4_lane_does_not_depend_on_the_order_of_key_attributes():
    def composite(pk: str, first: str) -> dict:
        keys = {"pk": {"S": pk}, "sk": {"S": "1"}}
        return {"dynamodb": {"Keys": keys if first == "pk" else dict(reversed(list(keys.items())))}}

    assert [key_lane(composite(pk, first), 3) for pk in "xze" for first in ("pk", "sk")] == [0, 0, 2, 2, 0, 0]


def test_E4_a_round_takes_one_batch_per_lane_in_lane_order():
    # lanes: a2 b1 c0 e2 j1 d0 | g2 would make lane 2's third record: the round ends before it
    batches = cut_batches(keyed("a", "b", "c", "e", "j", "d", "g"), 2, 3)
    assert ids(batches) == [[2, 5], [1, 4], [0, 3]]


def test_E4_a_round_ends_at_the_first_record_whose_lane_is_full():
    # c, d fill lane 0; f (lane 0) ends the round even though lanes 1 and 2 have room for j and a.
    # Taking j and a would cut records out of order, and the checkpoint would pass f unread.
    assert ids(cut_batches(keyed("c", "d", "b", "f", "j", "a"), 2, 3)) == [[0, 1], [2]]


def test_E4_records_of_one_lane_make_one_batch_and_keep_their_order():
    assert ids(cut_batches(keyed("c", "d", "f", "c"), 10, 3)) == [[0, 1, 2, 3]]
    assert ids(cut_batches(keyed("a", "b", "a", "b", "a"), 10, 3)) == [[1, 3], [0, 2, 4]]


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
    {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q.fifo"}}},
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


def test_E2_E5_E13_defaults_of_a_new_mapping():
    made = new_mapping(body(), "f", "arn:f").to_api()
    assert {k: made[k] for k in (
        "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "TumblingWindowInSeconds", "FunctionResponseTypes",
        "DestinationConfig", "State", "Enabled", "StartingPosition")} == {
        "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1, "MaximumRetryAttempts": -1,
        "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False, "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": [], "DestinationConfig": {"OnFailure": {}}, "State": "Creating", "Enabled": True,
        "StartingPosition": "LATEST"}
    assert new_mapping(body(Enabled=False), "f", "arn:f").enabled is False


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
    out = failure_record(records=[rec(1), rec(2), rec(3, created=1_700_000_061.9)],
                         condition=chosen.CONDITION_RECORD_AGE_EXCEEDED,
                         function_arn="arn:f", invoke_count=0, last_result=None, shard_id="s", stream_arn=ARN)
    assert out["responseContext"] == {"statusCode": 0, "executedVersion": "$LATEST"}  # CHOSEN
    assert out["requestContext"]["condition"] == "RecordAgeExceeded"  # CHOSEN
    assert (out["requestContext"]["functionArn"], out["requestContext"]["approximateInvokeCount"]) == ("arn:f", 0)
    assert out["version"] == "1.0"
    assert out["DDBStreamBatchInfo"] == {
        "shardId": "s", "startSequenceNumber": f"{1:030d}", "endSequenceNumber": f"{3:030d}",
        "approximateArrivalOfFirstRecord": "2023-11-14T22:13:20Z",
        "approximateArrivalOfLastRecord": "2023-11-14T22:14:21Z", "batchSize": 3, "streamArn": ARN}


def test_E10_failure_record_after_invocations_carries_the_last_answer():
    last = InvokeResult(kind="function_error", payload={"errorMessage": "x"}, status=200, function_error="Unhandled")
    out = failure_record(records=[rec(1)], condition="RetryAttemptsExhausted", function_arn="arn:f", invoke_count=3,
                         last_result=last, shard_id="s", stream_arn=ARN)
    assert out["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert out["requestContext"]["approximateInvokeCount"] == 3
    ok = InvokeResult(kind="ok", payload=None, status=200, function_error=None)
    assert "functionError" not in failure_record(records=[rec(1)], condition="x", function_arn="f", invoke_count=1,
                                                 last_result=ok, shard_id="s", stream_arn=ARN)["responseContext"]


def test_E10_timestamps_in_aws_formats():
    from streamlab.localstack.esm.event import iso_millis, iso_seconds

    assert iso_millis(1_700_000_000.123456) == "2023-11-14T22:13:20.123Z"
    assert iso_millis(1_700_000_000.0) == "2023-11-14T22:13:20.000Z"
    assert iso_seconds(1_700_000_000.9) == "2023-11-14T22:13:20Z"


def test_M2_arrival_time_uses_sequence_millis_only_when_consistent():
    from streamlab.localstack.esm.event import arrival_time

    good = {"dynamodb": {"SequenceNumber": f"{1_700_000_000_250:020d}{7:010d}", "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(good) == 1_700_000_000.25
    other = {"dynamodb": {"SequenceNumber": "4" * 21, "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(other) == 1_700_000_000.0
    off = {"dynamodb": {"SequenceNumber": f"{1_700_000_005_000:020d}{7:010d}", "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(off) == 1_700_000_000.0
    for millis in (1_700_000_001_000, 1_699_999_999_999):  # just outside the creation second
        edge = {"dynamodb": {"SequenceNumber": f"{millis:020d}{7:010d}", "ApproximateCreationDateTime": 1_700_000_000.0}}
        assert arrival_time(edge) == 1_700_000_000.0
    last_ms = {"dynamodb": {"SequenceNumber": f"{1_700_000_000_999:020d}{7:010d}", "ApproximateCreationDateTime": 1_700_000_000.0}}
    assert arrival_time(last_ms) == 1_700_000_000.999


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


def test_E13_a_change_while_deleting_is_a_conflict_and_changes_nothing(tmp_path):
    """The service's state machine without its supervisor, so Deleting lasts as long as the test needs."""
    from streamlab.localstack.esm.service import EsmService
    from streamlab.localstack.state import StackPaths

    service = EsmService(StackPaths(tmp_path), "http://127.0.0.1:1")
    made = new_mapping(body(), "f", "arn:f").changed(state="Enabled")
    service.add(made)
    assert service.delete(made.uuid).state == "Deleting"
    for change in (lambda: service.delete(made.uuid),
                   lambda: apply_update(service.mappings[made.uuid], {"BatchSize": 5}, None)):
        with pytest.raises(AwsError) as err:
            change()
        assert (err.value.status, err.value.code) == (409, "ResourceConflictException")
    assert service.mappings[made.uuid].batch_size == made.batch_size
    service.reconcile()
    assert made.uuid not in service.mappings
    with pytest.raises(AwsError) as err:
        service.delete(made.uuid)
    assert err.value.code == "ResourceNotFoundException"
