"""On-failure records (E10): parsing (pure) and draining a real queue of the local stack."""
from __future__ import annotations

import json
import uuid

import pytest

from streamlab.errors import ConfigError
from streamlab.functions.stream_range import EMPTY_PAGES_AT_TIP
from streamlab.observe.failures import OnFailureRecord, drain_on_failure, ids_in_batch, parse_on_failure

from .fakes import FakeStreams, on_failure_record

E10_RECORD = {
    "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:p",
                       "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3},
    "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
    "version": "1.0",
    "timestamp": "2026-11-27T10:00:00.000Z",
    "DDBStreamBatchInfo": {"shardId": "shardId-0001", "startSequenceNumber": "100000000000000000001",
                           "endSequenceNumber": "100000000000000000005", "approximateArrivalOfFirstRecord": "x",
                           "approximateArrivalOfLastRecord": "y", "batchSize": 5,
                           "streamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/s"},
}


def test_parse_e10_record():
    r = parse_on_failure(json.dumps(E10_RECORD))
    assert r.condition == "RetryAttemptsExhausted" and r.approximate_invoke_count == 3
    assert r.shard_id == "shardId-0001" and r.batch_size == 5
    assert (r.start_sequence_number, r.end_sequence_number) == ("100000000000000000001", "100000000000000000005")
    assert r.ids is None and "raw" not in r.as_dict()


def test_parse_unwraps_an_sns_envelope():
    envelope = {"Type": "Notification", "Message": json.dumps(E10_RECORD)}
    assert parse_on_failure(json.dumps(envelope)).batch_size == 5


def test_parse_refuses_other_messages():
    with pytest.raises(ConfigError, match="DDBStreamBatchInfo"):
        parse_on_failure('{"hello": 1}')


@pytest.mark.integration
def test_drain_reads_and_deletes_every_message_E10(target):
    sqs = target.client("sqs")
    url = sqs.create_queue(QueueName=f"onfail-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    try:
        for n in range(12):
            rec = json.loads(json.dumps(E10_RECORD))
            rec["DDBStreamBatchInfo"]["batchSize"] = n + 1
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(rec))
        sqs.send_message(QueueUrl=url, MessageBody="not a record")
        records, other = drain_on_failure(target, url, wait_s=0)
        assert sorted(r.batch_size for r in records) == list(range(1, 13))
        assert other == ["not a record"]
        again, _ = drain_on_failure(target, url, wait_s=0)
        assert again == []
    finally:
        sqs.delete_queue(QueueUrl=url)



def _batch(first: int, last: int) -> OnFailureRecord:
    return parse_on_failure(on_failure_record(first, last))


def test_a_batch_maps_back_to_exactly_its_range_of_ids_across_pages():
    ids = [f"r{n}" for n in range(1, 8)]
    assert ids_in_batch(FakeStreams(ids), _batch(2, 5)) == ["r2", "r3", "r4", "r5"]
    assert ids_in_batch(FakeStreams(ids), _batch(7, 7)) == ["r7"]  # the last record of the shard
    assert ids_in_batch(FakeStreams(ids[:3], page=1000), _batch(1, 3)) == ["r1", "r2", "r3"]


def test_empty_pages_before_the_end_of_the_range_do_not_end_the_read():
    ids = [f"r{n}" for n in range(1, 8)]
    assert ids_in_batch(FakeStreams(ids, empty_pages=3), _batch(2, 6)) == ["r2", "r3", "r4", "r5", "r6"]


def test_a_range_past_the_tip_of_an_open_shard_ends_after_a_few_empty_pages():
    streams = FakeStreams(["r1", "r2"], page=1000)
    assert ids_in_batch(streams, _batch(2, 9)) == ["r2"]
    assert streams.calls == 1 + EMPTY_PAGES_AT_TIP


def test_a_batch_no_longer_in_the_stream_keeps_its_metadata_only():
    assert ids_in_batch(FakeStreams(["r1"]), _batch(5, 6)) is None


def test_records_without_a_string_id_are_skipped():
    assert ids_in_batch(FakeStreams(["r1", None, "r3"]), _batch(1, 3)) == ["r1", "r3"]
