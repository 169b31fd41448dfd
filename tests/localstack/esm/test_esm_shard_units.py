"""The shard poller against a scripted stream (pure logic, no stack): iterator expiry (S6) and retries (E5)."""
from __future__ import annotations

import io
import json
import time

import botocore.exceptions

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.config import new_mapping
from streamlab.localstack.esm.metrics import Metrics
from streamlab.localstack.esm.shard import ShardPoller
from streamlab.localstack.esm.store import Store
from streamlab.localstack.state import StackPaths

from .esm_helpers import run_poller_until

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"


def _error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "Op")


class ScriptedStream:
    """Plays DynamoDB Streams and Lambda: iterators are positions; `expire_on` GetRecords calls fail once."""

    def __init__(self, count: int, expire_on: set[int], answers: list, created: float | None = None) -> None:
        created = time.time() if created is None else created
        self.records = [{"eventID": str(i), "eventName": "INSERT", "dynamodb": {
            "SequenceNumber": f"{i + 1:030d}", "Keys": {"id": {"S": f"k{i}"}}, "ApproximateCreationDateTime": created}}
            for i in range(count)]
        self.expire_on, self.answers, self.gets, self.invoked = expire_on, answers, 0, []

    async def call(self, service: str, operation: str, **kw):
        if operation == "get_shard_iterator":
            kind, seq = kw["ShardIteratorType"], kw.get("SequenceNumber")
            if kind == "TRIM_HORIZON":
                return {"ShardIterator": "0"}
            index = next(i for i, r in enumerate(self.records) if r["dynamodb"]["SequenceNumber"] == seq)
            return {"ShardIterator": str(index + (1 if kind == "AFTER_SEQUENCE_NUMBER" else 0))}
        if operation == "get_records":
            self.gets += 1
            if self.gets in self.expire_on:
                raise _error("ExpiredIteratorException")
            pos = int(kw["ShardIterator"])
            page = self.records[pos:pos + 2]  # small pages so expiry hits mid-stream
            return {"Records": page, "NextShardIterator": str(pos + len(page))}
        if operation == "invoke":
            event = json.loads(kw["Payload"])
            self.invoked.append([r["eventID"] for r in event["Records"]])
            answer = self.answers.pop(0) if self.answers else None
            if answer == "error":
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage":"x"}')}
            if answer == "throttle":
                raise _error("TooManyRequestsException")
            if answer == "unreachable":
                raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
            return {"StatusCode": 200, "Payload": io.BytesIO(b"null")}
        raise AssertionError(operation)


def _run(stream: ScriptedStream, tmp_path, until, **settings) -> ShardPoller:
    mapping = new_mapping({"EventSourceArn": ARN, "FunctionName": "f", "StartingPosition": "TRIM_HORIZON",
                           "BatchSize": 2, **settings}, "f", "arn:aws:lambda:us-east-1:000000000000:function:f")
    store = Store(StackPaths(tmp_path))
    poller = ShardPoller(lambda: mapping, "shard-0", stream, store, Metrics(stream), {})
    return run_poller_until(poller, until)


def test_S6_expired_iterator_resumes_after_the_buffer_without_duplicates(tmp_path):
    stream = ScriptedStream(6, expire_on={2, 4}, answers=[])
    # A batching window keeps records buffered across polls, so expiry strikes with a full buffer.
    _run(stream, tmp_path, lambda: sum(map(len, stream.invoked)) >= 6, BatchSize=10, MaximumBatchingWindowInSeconds=1)
    assert [i for batch in stream.invoked for i in batch] == [str(i) for i in range(6)]


def test_E5_throttles_and_unreachable_are_retried_without_spending_attempts(tmp_path, monkeypatch):
    monkeypatch.setattr(chosen, "RETRY_INTERVAL_SECONDS", 0.01)
    stream = ScriptedStream(1, expire_on=set(), answers=["throttle", "unreachable", "throttle", "error", None])
    _run(stream, tmp_path, lambda: len(stream.invoked) >= 5, MaximumRetryAttempts=1)
    # 2 throttles + 1 unreachable + 1 error + 1 success: only the error spent a retry (1 of 1).
    assert stream.invoked == [["0"]] * 5


def test_E5_default_retries_end_when_the_record_leaves_the_stream(tmp_path):
    stream = ScriptedStream(2, expire_on=set(), answers=[], created=time.time() - 24 * 3600 - 5)
    poller = _run(stream, tmp_path, lambda: stream.gets > 3)
    assert stream.invoked == []  # both records are past the 24 h retention: dropped, never invoked
    assert poller.checkpoints["shard-0"]["SequenceNumber"] == stream.records[-1]["dynamodb"]["SequenceNumber"]
