"""Records and errors that used to stall a shard or vanish silently (S2, S5, E5, E7, E10).

Binary attributes are delivered base64 like AWS does; a record that cannot be converted, an
Invoke Lambda refuses and a checkpoint beyond retention each have a visible outcome; two
concurrent creates make one mapping.
"""
from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import json
import time
from decimal import Decimal

import botocore.exceptions
import pytest

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.config import new_mapping
from streamlab.localstack.esm.event import RecordConversionError, lambda_record, stream_record_size
from streamlab.localstack.esm.metrics import Metrics
from streamlab.localstack.esm.shard import ShardPoller
from streamlab.localstack.esm.store import Store, esm_folder
from streamlab.localstack.esm.upstream import Upstream, invoke
from streamlab.localstack.state import StackPaths

from .esm_helpers import run_poller_until, wait_for

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:dlq"

# Every DynamoDB type, as boto3's low-level client hands a stream record over (B/BS as bytes)...
DECODED = {
    "id": {"S": "k"}, "n": {"N": "-1.5"}, "b": {"B": b"\x00\xffbin"}, "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [b"\x01", b"\x02\x03"]}, "t": {"BOOL": True}, "z": {"NULL": True},
    "l": {"L": [{"B": b"\x04"}, {"S": "x"}, {"L": [{"BS": [b"\x05"]}]}]},
    "m": {"M": {"inner": {"B": b"\x06"}, "deep": {"M": {"n": {"N": "7"}}}}},
}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# ...and as Lambda delivers it: DynamoDB JSON exactly as on the wire.
WIRE = {
    "id": {"S": "k"}, "n": {"N": "-1.5"}, "b": {"B": _b64(b"\x00\xffbin")}, "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]}, "bs": {"BS": [_b64(b"\x01"), _b64(b"\x02\x03")]}, "t": {"BOOL": True},
    "z": {"NULL": True},
    "l": {"L": [{"B": _b64(b"\x04")}, {"S": "x"}, {"L": [{"BS": [_b64(b"\x05")]}]}]},
    "m": {"M": {"inner": {"B": _b64(b"\x06")}, "deep": {"M": {"n": {"N": "7"}}}}},
}


def _raw(seq: int, image: dict | None = None) -> dict:
    image = image or {"id": {"S": f"k{seq}"}}
    return {"eventID": str(seq), "eventName": "INSERT", "dynamodb": {
        "SequenceNumber": f"{seq:030d}", "Keys": {"id": image["id"]}, "NewImage": image,
        "ApproximateCreationDateTime": time.time()}}


# --- conversion (S2) -----------------------------------------------------------------------------

def test_S2_every_attribute_type_is_delivered_as_dynamodb_json_with_base64_binary():
    out = lambda_record(_raw(1, DECODED), ARN)
    assert out["dynamodb"]["NewImage"] == WIRE
    assert out["dynamodb"]["Keys"] == {"id": {"S": "k"}}
    json.dumps(out)  # a batch of such records can be serialised
    # SizeBytes counts the binary's bytes, not its base64 text.
    assert stream_record_size({"NewImage": {"b": WIRE["b"]}}) == 1 + len(b"\x00\xffbin")


def test_E7_a_record_that_cannot_be_serialised_is_a_conversion_error():
    with pytest.raises(RecordConversionError):
        lambda_record(_raw(1, {"id": {"S": "k"}, "x": {"N": Decimal("1")}}), ARN)
    with pytest.raises(RecordConversionError):
        lambda_record({"eventID": "1", "dynamodb": {"Keys": {}}}, ARN)


# --- a scripted stream and Lambda (pure logic) ----------------------------------------------------

def _error(code: str, status: int) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


class Scripted:
    """Plays Streams, Lambda and SQS: `answers` script the invokes; `trimmed` sequence numbers are gone."""

    def __init__(self, records: list[dict], answers: list, trimmed: frozenset[str] = frozenset()) -> None:
        self.records, self.answers, self.trimmed = records, answers, trimmed
        self.invoked: list[list[str]] = []
        self.sent: list[dict] = []

    async def call(self, service: str, operation: str, **kw):
        if operation == "get_shard_iterator":
            seq = kw.get("SequenceNumber")
            if seq in self.trimmed:
                raise _error("TrimmedDataAccessException", 400)
            if seq is None:
                return {"ShardIterator": "0"}
            index = next(i for i, r in enumerate(self.records) if r["dynamodb"]["SequenceNumber"] == seq)
            return {"ShardIterator": str(index + 1)}
        if operation == "get_records":
            pos = int(kw["ShardIterator"])
            return {"Records": self.records[pos:], "NextShardIterator": str(len(self.records))}
        if operation == "invoke":
            self.invoked.append([r["eventID"] for r in json.loads(kw["Payload"])["Records"]])
            answer = self.answers.pop(0) if self.answers else None
            if isinstance(answer, Exception):
                raise answer
            return {"StatusCode": 200, "Payload": io.BytesIO(b"null")}
        if operation == "get_queue_url":
            return {"QueueUrl": "http://queue"}
        if operation == "send_message":
            self.sent.append(json.loads(kw["MessageBody"]))
            return {}
        raise AssertionError(operation)


def _poll(stream: Scripted, tmp_path, until, checkpoints: dict | None = None, **settings) -> ShardPoller:
    mapping = new_mapping({"EventSourceArn": ARN, "FunctionName": "f", "StartingPosition": "TRIM_HORIZON",
                           "BatchSize": 10, "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN}},
                           **settings}, "f", "arn:aws:lambda:us-east-1:000000000000:function:f")
    held = {"mapping": mapping}  # what the service would hold: the poller reads and keeps through it
    poller = ShardPoller(lambda: held["mapping"], "shard-0", stream, Store(StackPaths(tmp_path)), Metrics(stream),
                         dict(checkpoints or {}), keep=lambda changed: held.update(mapping=changed))
    return run_poller_until(poller, until)


def _metric(poller: ShardPoller, name: str) -> float:
    return sum(cell[1] for key, cell in poller.metrics._cells.items() if key[0] == name)


def test_E7_an_unconvertible_record_goes_to_on_failure_and_the_shard_moves_on(tmp_path):
    bad = _raw(2, {"id": {"S": "k2"}, "x": {"N": Decimal("1")}})
    stream = Scripted([_raw(1), bad, _raw(3)], answers=[])
    poller = _poll(stream, tmp_path, lambda: stream.invoked and stream.sent)
    assert stream.invoked == [["1", "3"]]
    (record,) = stream.sent
    assert record["requestContext"]["condition"] == chosen.CONDITION_UNCONVERTIBLE
    assert record["DDBStreamBatchInfo"]["startSequenceNumber"] == bad["dynamodb"]["SequenceNumber"]
    assert poller.checkpoints["shard-0"]["SequenceNumber"] == f"{3:030d}"


def test_E5_a_refused_invoke_spends_no_attempt_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(chosen, "RETRY_INTERVAL_SECONDS", 0.01)
    gone = _error("ResourceNotFoundException", 404)
    stream = Scripted([_raw(1)], answers=[gone, gone, None])
    mapping_seen = []
    poller = _poll(stream, tmp_path, lambda: len(stream.invoked) >= 2 and not mapping_seen.append(1),
                   MaximumRetryAttempts=0)
    # Two refusals, no attempt spent: still not dropped although MaximumRetryAttempts is 0.
    assert stream.sent == []
    assert poller.mapping().last_processing_result == "PROBLEM: Function not found"


def test_E5_a_batch_refused_as_too_large_is_split_in_halves(tmp_path, monkeypatch):
    monkeypatch.setattr(chosen, "RETRY_INTERVAL_SECONDS", 0.01)
    stream = Scripted([_raw(1), _raw(2), _raw(3), _raw(4)], answers=[_error("RequestTooLargeException", 413)])
    _poll(stream, tmp_path, lambda: len(stream.invoked) >= 3)
    assert stream.invoked[:3] == [["1", "2", "3", "4"], ["1", "2"], ["3", "4"]]
    assert stream.sent == []


def test_S5_E10_a_checkpoint_beyond_retention_is_reported_not_skipped_silently(tmp_path):
    gone = f"{99:030d}"
    stream = Scripted([_raw(1), _raw(2)], answers=[], trimmed=frozenset({gone}))
    poller = _poll(stream, tmp_path, lambda: stream.invoked,
                   checkpoints={"shard-0": {"SequenceNumber": gone, "Iterator": "AFTER_SEQUENCE_NUMBER"}})
    (record,) = stream.sent
    assert record["requestContext"]["condition"] == chosen.CONDITION_CHECKPOINT_TRIMMED
    assert record["DDBStreamBatchInfo"]["startSequenceNumber"] == gone
    assert record["DDBStreamBatchInfo"]["batchSize"] == 0
    assert _metric(poller, chosen.TRIMMED_CHECKPOINT_METRIC) == 1
    assert stream.invoked == [["1", "2"]]  # then it goes on from the oldest record left


# --- over the wire, on the local stack -------------------------------------------------------------

def test_E5_invoking_a_missing_function_is_refused_not_unreachable(local_stack):
    result = asyncio.run(invoke(Upstream(local_stack.ministack_url),
                                "arn:aws:lambda:us-east-1:000000000000:function:no-such-fn", {"Records": []}))
    assert result.kind == "rejected" and result.error_code == "ResourceNotFoundException"
    assert not result.reached_function


def test_S2_binary_and_every_other_type_reach_the_function_as_aws_delivers_them(pipeline_factory):
    pipe = pipeline_factory()
    pipe.ddb.put_item(TableName=pipe.table, Item=DECODED)
    pipe.mapping()
    (inv,) = wait_for(pipe.invocations, what="the record with every attribute type")
    record = inv["event"]["Records"][0]
    assert record["dynamodb"]["NewImage"] == WIRE


def test_concurrent_creates_make_one_mapping_and_leave_no_stray_checkpoint(pipeline_factory, stack_home):
    pipe = pipeline_factory()
    before = set((esm_folder(StackPaths(stack_home)) / "checkpoints").glob("*.json"))

    def create():
        try:
            return pipe.lam.create_event_source_mapping(
                EventSourceArn=pipe.stream_arn, FunctionName=pipe.function, StartingPosition="LATEST")["UUID"]
        except pipe.lam.exceptions.ResourceConflictException:
            return None

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        made = [u for u in pool.map(lambda _: create(), range(6)) if u]
    pipe.mappings.extend(made)
    assert len(made) == 1
    listed = pipe.lam.list_event_source_mappings(EventSourceArn=pipe.stream_arn)["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == made
    new = set((esm_folder(StackPaths(stack_home)) / "checkpoints").glob("*.json")) - before
    assert {p.stem for p in new} == set(made)
