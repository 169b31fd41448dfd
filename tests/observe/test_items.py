"""Reading the real request table of the local stack, and the audit catching a deleted item."""
from __future__ import annotations

import time
import uuid

import pytest

from streamlab import schema
from streamlab.observe import audit, get_items, ids_in_batch, read_lag, scan_items
from streamlab.observe.failures import OnFailureRecord

pytestmark = pytest.mark.integration


@pytest.fixture()
def table(target):
    ddb = target.client("dynamodb")
    name = f"requests-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": schema.ID, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": schema.ID, "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    try:
        yield name
    finally:
        ddb.delete_table(TableName=name)


def put(ddb, table: str, i: str, processed: bool, accepted_at: int = 1_000_000) -> None:
    item = {schema.ID: {"S": i}, schema.BODY: {"S": '{"x": 1}'}, schema.ACCEPTED_AT: {"N": str(accepted_at)},
            schema.STATUS: {"S": schema.PROCESSED if processed else schema.ACCEPTED}, schema.ATTEMPTS: {"N": "1"}}
    if processed:
        item[schema.PROCESSED_AT] = {"N": str(accepted_at + 250)}
    ddb.put_item(TableName=table, Item=item)


def test_scan_and_batch_get_read_every_item_with_lag(target, table):
    ddb = target.client("dynamodb")
    ids = [f"req-{n:03d}" for n in range(230)]
    for n, i in enumerate(ids):
        put(ddb, table, i, processed=n % 2 == 0, accepted_at=1_000_000 + n)
    assert sorted(x[schema.ID] for x in scan_items(target, table, segments=4)) == ids
    got = get_items(target, table, ids + ["absent"])  # 3 BatchGetItem calls of <= 100 keys
    assert sorted(x[schema.ID] for x in got) == ids
    lag = read_lag(target, table)
    assert len(lag) == 230
    assert (lag.loc[lag[schema.STATUS] == schema.PROCESSED, "lag_ms"] == 250).all()
    assert lag.loc[lag[schema.STATUS] == schema.ACCEPTED, "lag_ms"].isna().all()


def test_audit_catches_a_deleted_item_in_the_real_table(target, table):
    ddb = target.client("dynamodb")
    ids = [f"ack-{n}" for n in range(20)]
    for i in ids:
        put(ddb, table, i, processed=True)
    ddb.delete_item(TableName=table, Key={schema.ID: {"S": "ack-7"}})
    result = audit(target, table, ids, settle_timeout=1, poll=0.2)
    assert not result.passed
    assert result.missing_ids == ["ack-7"] and result.processed == 19


def test_audit_waits_for_pending_items_to_settle(target, table):
    ddb = target.client("dynamodb")
    put(ddb, table, "slow", processed=False)
    started = time.monotonic()
    result = audit(target, table, ["slow"], settle_timeout=1.0, poll=0.2)
    assert result.pending_ids == ["slow"] and result.passed and not result.settled
    assert time.monotonic() - started >= 1.0


def test_on_failure_batch_maps_back_to_ids_through_the_stream(target, table):
    """The batch's shard and sequence-number range name its records, on a stream of several shards (S6)."""
    ddb, streams = target.client("dynamodb"), target.client("dynamodbstreams")
    ids = [f"s{i}" for i in range(12)]
    for i in ids:
        put(ddb, table, i, processed=False)
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    per_shard = {}
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        per_shard[shard["ShardId"]] = streams.get_records(ShardIterator=it)["Records"]
    assert sum(len(r) for r in per_shard.values()) == len(ids)
    shard, recs = max(per_shard.items(), key=lambda kv: len(kv[1]))
    assert len(recs) >= 3  # 12 keys over 4 shards: one shard holds at least 3
    seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
    batch = OnFailureRecord(condition="RetryAttemptsExhausted", function_arn="f", approximate_invoke_count=1,
                            shard_id=shard, start_sequence_number=seqs[0], end_sequence_number=seqs[1],
                            batch_size=2, stream_arn=arn, timestamp="")
    assert ids_in_batch(target, batch) == [r["dynamodb"]["Keys"][schema.ID]["S"] for r in recs[:2]]
