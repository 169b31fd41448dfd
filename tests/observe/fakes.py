"""Fake AWS services for the observe tests: one stream shard, a request table, an on-failure queue."""
from __future__ import annotations

import json

from streamlab import schema


def sequence(n: int) -> str:
    """The sequence number of the n-th record (from 1) of the fake shard."""
    return f"{n:021d}"


class FakeStreams:
    """DynamoDB Streams over one open shard of INSERTs with these ids (None: a record without a string id).

    Iterators are positions; pages hold `page` records, each after `empty_pages` empty pages (as
    GetRecords may answer before records further on); a sequence number not in the shard has been
    trimmed (the 24 h retention)."""

    def __init__(self, ids: list[str | None], page: int = 2, empty_pages: int = 0) -> None:
        self.records = [{"eventName": "INSERT", "dynamodb": {"SequenceNumber": sequence(n),
                                                             "Keys": {schema.ID: {"S": i} if i else {"N": "0"}}}}
                        for n, i in enumerate(ids, 1)]
        self.page = page
        self.empty_pages = empty_pages
        self.calls = 0

    def client(self, service: str) -> "FakeStreams":
        return self

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType, SequenceNumber):  # noqa: N803 - boto3's names
        index = next((n for n, r in enumerate(self.records) if r["dynamodb"]["SequenceNumber"] == SequenceNumber), None)
        if index is None:
            raise RuntimeError("TrimmedDataAccessException")
        return {"ShardIterator": str(index + (ShardIteratorType == "AFTER_SEQUENCE_NUMBER"))}

    def get_records(self, ShardIterator, Limit):  # noqa: N803
        self.calls += 1
        pos, _, empties = ShardIterator.partition(":")
        pos, empties = int(pos), int(empties or 0)
        if empties < self.empty_pages:
            return {"Records": [], "NextShardIterator": f"{pos}:{empties + 1}"}
        page = self.records[pos:pos + self.page]
        return {"Records": page, "NextShardIterator": str(pos + len(page))}


class FakeAccount(FakeStreams):
    """Adds the request table (id -> status) and the on-failure queue that `audit()` reads."""

    def __init__(self, items: dict[str, str], messages: list[dict], stream_ids: list[str | None]) -> None:
        super().__init__(stream_ids)
        self.items, self.messages, self.deleted = items, list(messages), []

    def batch_get_item(self, RequestItems):  # noqa: N803
        (table, request), = RequestItems.items()
        wanted = [k[schema.ID]["S"] for k in request["Keys"]]
        found = [{schema.ID: {"S": i}, schema.STATUS: {"S": self.items[i]}} for i in wanted if i in self.items]
        return {"Responses": {table: found}}

    def receive_message(self, QueueUrl, MaxNumberOfMessages, WaitTimeSeconds):  # noqa: N803
        page, self.messages = self.messages[:MaxNumberOfMessages], self.messages[MaxNumberOfMessages:]
        return {"Messages": [{"Body": json.dumps(m), "ReceiptHandle": str(n)} for n, m in enumerate(page)]}

    def delete_message_batch(self, QueueUrl, Entries):  # noqa: N803
        self.deleted.extend(Entries)


def on_failure_record(first: int, last: int) -> dict:
    """An E10 record for the fake shard's records `first`..`last`."""
    return {"requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:p",
                               "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
            "version": "1.0", "timestamp": "2026-11-27T10:00:00.000Z",
            "DDBStreamBatchInfo": {"shardId": "shardId-0001", "startSequenceNumber": sequence(first),
                                   "endSequenceNumber": sequence(last), "batchSize": last - first + 1,
                                   "streamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/s"}}
