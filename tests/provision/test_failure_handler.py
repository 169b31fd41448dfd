"""The FailureHandler's reading of on-failure records (E10), pure: what it accepts and what it parks.

Its work against the real queue, stream and table is in test_outcomes.py.
"""
from __future__ import annotations

import importlib.util
import json

import pytest

from streamlab.provision.paths import function_dir
from tests.observe.fakes import FakeStreams, sequence

STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/lab-requests/stream/2026-11-28T00:00:00.000"


def _handler():
    spec = importlib.util.spec_from_file_location("failure_handler", function_dir("failure_handler") / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(**info) -> dict:
    return {
        "requestContext": {"requestId": "r", "functionArn": "f", "condition": "RecordAgeExceeded",
                           "approximateInvokeCount": 4},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
        "version": "1.0", "timestamp": "2026-11-28T00:00:00.000Z",
        "DDBStreamBatchInfo": {"shardId": "shardId-00000000000000000000-00000001",
                               "startSequenceNumber": "000000000000000000010", "endSequenceNumber": "000000000000000000012",
                               "batchSize": 2, "streamArn": STREAM, **info},
    }


def test_an_on_failure_record_and_one_inside_an_sns_envelope():
    handler = _handler()
    batch = handler.parse_message(json.dumps(record()), "lab-requests")
    assert (batch["condition"], batch["attempts"], batch["startSequenceNumber"]) == (
        "RecordAgeExceeded", 4, "000000000000000000010")
    wrapped = json.dumps({"Type": "Notification", "Message": json.dumps(record())})
    assert handler.parse_message(wrapped, "lab-requests") == batch


@pytest.mark.parametrize("body, why", [
    ("{oops", "not JSON"),
    ("[1, 2]", "no DDBStreamBatchInfo"),
    (json.dumps({"hello": "world"}), "no DDBStreamBatchInfo"),
    (json.dumps(record(shardId=None)), "lacks one of"),
    (json.dumps(record(startSequenceNumber="12; DROP")), "not numbers"),
    (json.dumps(record(streamArn=STREAM.replace("lab-requests", "lab-requests-2"))), "foreign"),
    (json.dumps(record(streamArn=STREAM.replace("lab-requests", "other"))), "foreign"),
])
def test_malformed_or_foreign_messages_are_unusable(body, why):
    handler = _handler()
    with pytest.raises(handler.Unusable, match=why):
        handler.parse_message(body, "lab-requests")


def test_the_ids_of_a_range_are_read_through_empty_pages_and_a_gone_start_is_unusable(monkeypatch):
    handler = _handler()
    streams = FakeStreams([f"r{n}" for n in range(1, 8)], empty_pages=2)
    monkeypatch.setattr(handler, "_client", lambda service: streams)
    batch = handler.parse_message(json.dumps(record(startSequenceNumber=sequence(2), endSequenceNumber=sequence(5))),
                                  "lab-requests")
    assert handler.read_ids(batch) == ["r2", "r3", "r4", "r5"]
    gone = {**batch, "startSequenceNumber": sequence(9), "endSequenceNumber": sequence(9)}
    monkeypatch.setattr(streams, "get_shard_iterator", lambda **_: {"ShardIterator": "8"})  # past the tip
    with pytest.raises(handler.Unusable, match="first record"):
        handler.read_ids(gone)
