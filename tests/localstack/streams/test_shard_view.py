"""The sharded stream view over the wire, read with boto3 through the front door (S6)."""
from __future__ import annotations

import time
import uuid

import pytest

from streamlab.localstack.streams.layout import ROLLOVER_TAG, SHARDS_TAG


@pytest.fixture
def make_table(target):
    ddb = target.client("dynamodb")
    made = []

    def make(tags: dict[str, str] | None = None, billing: str = "PAY_PER_REQUEST") -> str:
        name = f"view{uuid.uuid4().hex[:8]}"
        extra = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
        if billing == "PROVISIONED":
            extra["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2500}
        ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode=billing,
                         StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}, **extra)
        made.append(name)
        return ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]

    yield make
    for name in made:
        try:
            ddb.delete_table(TableName=name)
        except Exception:
            pass


def _put_versions(target, stream_arn: str, keys: int, versions: int, first: int = 0) -> None:
    ddb = target.client("dynamodb")
    table = stream_arn.split(":table/", 1)[1].split("/", 1)[0]
    for v in range(first, first + versions):
        for k in range(keys):
            ddb.put_item(TableName=table, Item={"id": {"S": f"k{k}"}, "v": {"N": str(v)}})


def _shards(streams, arn: str, limit: int | None = None) -> list[dict]:
    shards, start = [], None
    while True:
        args = {"StreamArn": arn}
        if start:
            args["ExclusiveStartShardId"] = start
        if limit:
            args["Limit"] = limit
        desc = streams.describe_stream(**args)["StreamDescription"]
        shards += desc["Shards"]
        start = desc.get("LastEvaluatedShardId")
        if not start:
            return shards


def _read_all(streams, arn: str, shard_id: str, limit: int = 1000) -> tuple[list[dict], str | None]:
    """Every record of a shard, page by page; and the last NextShardIterator (None: the shard ended)."""
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out = []
    while iterator:
        page = streams.get_records(ShardIterator=iterator, Limit=limit)
        out += page["Records"]
        iterator = page.get("NextShardIterator")
        if not page["Records"]:
            break
    return out, iterator


def test_S6_new_on_demand_table_has_several_shards_with_keys_split_and_in_order(target, make_table):
    arn = make_table()
    _put_versions(target, arn, keys=40, versions=3)
    streams = target.client("dynamodbstreams")
    shards = _shards(streams, arn, limit=3)  # pagination over the shard list
    assert len(shards) == 4
    assert len({s["ShardId"] for s in shards}) == 4
    seen: dict[str, str] = {}
    total = 0
    for shard in shards:
        rng = shard["SequenceNumberRange"]
        assert "EndingSequenceNumber" not in rng and "ParentShardId" not in shard  # open, no parent (S6)
        records, _ = _read_all(streams, arn, shard["ShardId"], limit=7)
        total += len(records)
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert seqs == sorted(seqs) and int(rng["StartingSequenceNumber"]) <= seqs[0]
        versions: dict[str, list[int]] = {}
        for r in records:
            key = r["dynamodb"]["Keys"]["id"]["S"]
            assert seen.setdefault(key, shard["ShardId"]) == shard["ShardId"], f"{key} in two shards"
            versions.setdefault(key, []).append(int(r["dynamodb"]["NewImage"]["v"]["N"]))
        assert all(v == [0, 1, 2] for v in versions.values())  # per-key order, nothing twice
    assert total == 120 and len(seen) == 40  # every record in exactly one shard
    assert all(sum(1 for k in seen.values() if k == s["ShardId"]) > 0 for s in shards)  # all shards used


def test_S6_iterator_types_per_shard(target, make_table):
    arn = make_table({SHARDS_TAG: "2"})
    _put_versions(target, arn, keys=6, versions=1)
    streams = target.client("dynamodbstreams")
    shard = _shards(streams, arn)[0]["ShardId"]
    records, _ = _read_all(streams, arn, shard)
    assert len(records) >= 2
    first, second = (r["dynamodb"]["SequenceNumber"] for r in records[:2])
    at = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER",
                                    SequenceNumber=second)["ShardIterator"]
    after = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                       SequenceNumber=first)["ShardIterator"]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=at)["Records"][0]["dynamodb"]["SequenceNumber"] == second
    assert streams.get_records(ShardIterator=after)["Records"][0]["dynamodb"]["SequenceNumber"] == second
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    with pytest.raises(streams.exceptions.ResourceNotFoundException):
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-deadbeef",
                                   ShardIteratorType="TRIM_HORIZON")
    with pytest.raises(streams.exceptions.ClientError, match="not valid"):
        streams.get_records(ShardIterator="bm90IGEgdG9rZW4=")


def test_S6_a_record_written_before_a_read_is_in_it(target, make_table):
    """Read your writes: another read a moment earlier does not hide a record written since."""
    arn = make_table({SHARDS_TAG: "1"})
    _put_versions(target, arn, keys=1, versions=1)
    streams = target.client("dynamodbstreams")
    shard = _shards(streams, arn)[0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = streams.get_records(ShardIterator=iterator)
    assert [r["dynamodb"]["NewImage"]["v"]["N"] for r in page["Records"]] == ["0"]
    _put_versions(target, arn, keys=1, versions=1, first=1)  # well within the view's 50 ms refresh interval
    page = streams.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["dynamodb"]["NewImage"]["v"]["N"] for r in page["Records"]] == ["1"]
    _put_versions(target, arn, keys=1, versions=1, first=2)
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=latest)["Records"] == []  # LATEST starts after the write


def test_S7_shard_count_is_a_table_setting(target, make_table):
    streams = target.client("dynamodbstreams")
    assert len(_shards(streams, make_table({SHARDS_TAG: "3"}))) == 3
    assert len(_shards(streams, make_table({SHARDS_TAG: "1"}))) == 1
    assert len(_shards(streams, make_table(billing="PROVISIONED"))) == 3  # 2,500 WCU / 1,000 per partition
    with pytest.raises(streams.exceptions.ClientError, match=SHARDS_TAG):
        streams.describe_stream(StreamArn=make_table({SHARDS_TAG: "many"}))


def test_S6_closed_stream_ends_every_shard(target, make_table):
    arn = make_table({SHARDS_TAG: "2"})
    _put_versions(target, arn, keys=8, versions=1)
    streams = target.client("dynamodbstreams")
    target.client("dynamodb").delete_table(TableName=arn.split(":table/", 1)[1].split("/", 1)[0])
    shards = _shards(streams, arn)
    assert all("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards)
    got = 0
    for shard in shards:
        records, next_iterator = _read_all(streams, arn, shard["ShardId"])
        got += len(records)
        assert next_iterator is None  # a closed shard's last page has no next iterator
        if records:
            assert shard["SequenceNumberRange"]["EndingSequenceNumber"] == records[-1]["dynamodb"]["SequenceNumber"]
    assert got == 8


def test_S6_rollover_closes_parents_and_children_take_their_keys(target, make_table):
    arn = make_table({SHARDS_TAG: "2", ROLLOVER_TAG: "3"})
    streams = target.client("dynamodbstreams")
    _put_versions(target, arn, keys=6, versions=1)
    time.sleep(4.2)  # past the first period (3 s) and the closing margin (1 s)
    _put_versions(target, arn, keys=6, versions=1, first=1)  # a write that changes nothing has no record (S5)
    shards = _shards(streams, arn)
    parents = [s for s in shards if "ParentShardId" not in s]
    assert len(parents) == 2 and len(shards) >= 4
    assert all("EndingSequenceNumber" in p["SequenceNumberRange"] for p in parents)
    children_of: dict[str, list[str]] = {}
    for shard in shards:
        if "ParentShardId" in shard:
            children_of.setdefault(shard["ParentShardId"], []).append(shard["ShardId"])
    assert all(len(children_of[p["ShardId"]]) == 1 for p in parents)  # one child each
    for parent in parents:
        old, next_iterator = _read_all(streams, arn, parent["ShardId"])
        assert next_iterator is None  # the parent is finished
        new, line = [], children_of.get(parent["ShardId"], [])
        while line:  # the child, its child, ...
            records, _ = _read_all(streams, arn, line[0])
            new += records
            line = children_of.get(line[0], [])
        assert {r["dynamodb"]["Keys"]["id"]["S"] for r in new} == {r["dynamodb"]["Keys"]["id"]["S"] for r in old}
        assert all(int(n["dynamodb"]["SequenceNumber"]) > int(old[-1]["dynamodb"]["SequenceNumber"]) for n in new)
    first = parents[0]["ShardId"]
    only_children = streams.describe_stream(StreamArn=arn, ShardFilter={"Type": "CHILD_SHARDS", "ShardId": first})
    assert [s["ShardId"] for s in only_children["StreamDescription"]["Shards"]] == children_of[first]


def _raw_call(target, operation: str, body: bytes) -> tuple[int, dict, bytes]:
    """A Streams call in AWS's JSON protocol without any SDK: status, headers, body."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(target.endpoint_url, data=body, method="POST", headers={
        "X-Amz-Target": f"DynamoDBStreams_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    try:
        with urllib.request.urlopen(request) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_answers_carry_a_request_id_and_the_crc32_of_their_body(target, make_table):
    import json
    import zlib

    arn = make_table({SHARDS_TAG: "2"})
    _put_versions(target, arn, keys=4, versions=1)
    for operation, args in (("DescribeStream", {"StreamArn": arn}), ("DescribeStream", {"StreamArn": arn + "x"})):
        status, headers, body = _raw_call(target, operation, json.dumps(args).encode())
        assert status in (200, 400) and body
        assert headers["x-amz-crc32"] == str(zlib.crc32(body)), (status, headers)
        assert headers["x-amzn-RequestId"]


def test_malformed_calls_get_aws_shaped_400s(target, make_table):
    import json

    arn = make_table({SHARDS_TAG: "1"})

    def call(operation: str, body: bytes) -> tuple[int, dict]:
        status, _, answer = _raw_call(target, operation, body)
        return status, json.loads(answer)

    status, answer = call("DescribeStream", b"not json")  # the front door's own check may answer first
    assert status == 400 and answer["__type"].rsplit("#", 1)[-1] in {"SerializationException", "ValidationException"}
    status, answer = call("DescribeStream", json.dumps({"StreamArn": arn, "Limit": "many"}).encode())
    assert status == 400 and answer["__type"].endswith("ValidationException")
    status, answer = call("GetShardIterator", json.dumps({"StreamArn": arn, "ShardId": "x",
                                                          "ShardIteratorType": "SOMEWHERE"}).encode())
    assert status == 400 and answer["__type"].endswith("ValidationException")
