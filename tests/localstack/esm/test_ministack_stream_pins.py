"""What the sharded stream view (localstack/streams) relies on from MiniStack 1.5.33's own DynamoDB
Streams, pinned over the wire on MiniStack's internal port (S2, S6)."""
from __future__ import annotations

import uuid

import pytest

from streamlab.target import local_target


@pytest.fixture
def stream(local_stack):
    ministack = local_target(local_stack.ministack_url)
    ddb, streams = ministack.client("dynamodb"), ministack.client("dynamodbstreams")
    table = f"pin{uuid.uuid4().hex[:8]}"
    ddb.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    put = lambda i: ddb.put_item(TableName=table, Item={"id": {"S": i}})  # noqa: E731
    yield streams, arn, put
    try:
        ddb.delete_table(TableName=table)
    except ddb.exceptions.ResourceNotFoundException:
        pass  # the test deleted it


def _iterator(streams, arn, shard, kind, seq=None):
    args = {"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind}
    if seq:
        args["SequenceNumber"] = seq
    return streams.get_shard_iterator(**args)["ShardIterator"]


def test_S6_one_open_shard_without_ending_sequence_number(stream):
    streams, arn, put = stream
    put("a")
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    assert len(shards) == 1
    assert "EndingSequenceNumber" not in shards[0]["SequenceNumberRange"]
    assert "ParentShardId" not in shards[0]


def test_S6_iterators_at_after_latest_trim_horizon(stream):
    streams, arn, put = stream
    for i in "abc":
        put(i)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    page = streams.get_records(ShardIterator=_iterator(streams, arn, shard, "TRIM_HORIZON"), Limit=2)
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in page["Records"]] == ["a", "b"]  # Limit honoured, in order
    nxt = streams.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in nxt["Records"]] == ["c"]
    assert nxt["NextShardIterator"]  # an open shard always hands out a next iterator
    first = page["Records"][0]["dynamodb"]["SequenceNumber"]
    after = streams.get_records(ShardIterator=_iterator(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", first))
    at = streams.get_records(ShardIterator=_iterator(streams, arn, shard, "AT_SEQUENCE_NUMBER", first))
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in after["Records"]] == ["b", "c"]
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in at["Records"]] == ["a", "b", "c"]
    latest = _iterator(streams, arn, shard, "LATEST")
    put("d")
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in streams.get_records(ShardIterator=latest)["Records"]] == ["d"]


def test_S2_sequence_numbers_and_creation_time_shape(stream):
    streams, arn, put = stream
    put("a")
    put("b")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    records = streams.get_records(ShardIterator=_iterator(streams, arn, shard, "TRIM_HORIZON"))["Records"]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    assert all(21 <= len(s) <= 40 for s in seqs) and len(set(seqs)) == 2
    assert records[0]["dynamodb"]["ApproximateCreationDateTime"].microsecond == 0  # whole seconds
    assert "eventSourceARN" not in records[0]  # the ESM adds it (S1)


def test_unknown_sequence_number_is_trimmed_data(stream):
    streams, arn, put = stream
    put("a")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(streams.exceptions.TrimmedDataAccessException):
        _iterator(streams, arn, shard, "AFTER_SEQUENCE_NUMBER", "0" * 30)


def test_sequence_numbers_carry_arrival_milliseconds(stream):
    """event.arrival_time relies on MiniStack's sequence number layout: 20 digits of epoch ms + counter."""
    import time

    streams, arn, put = stream
    before = time.time()
    put("a")
    after = time.time()
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    (record,) = streams.get_records(ShardIterator=_iterator(streams, arn, shard, "TRIM_HORIZON"))["Records"]
    seq = record["dynamodb"]["SequenceNumber"]
    assert len(seq) == 30 and seq.isdigit()
    assert before - 0.002 <= int(seq[:20]) / 1000 <= after + 0.002


def test_closed_stream_ends_without_next_iterator(stream, local_stack):
    """streams/tail.py: a deleted table's stream stays readable and its last page has no next iterator."""
    streams, arn, put = stream
    put("a")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = _iterator(streams, arn, shard, "TRIM_HORIZON")
    local_target(local_stack.ministack_url).client("dynamodb").delete_table(TableName=arn.split("/")[1])
    page = streams.get_records(ShardIterator=iterator)
    assert [r["dynamodb"]["Keys"]["id"]["S"] for r in page["Records"]] == ["a"]
    assert "NextShardIterator" not in page
