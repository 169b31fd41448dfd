"""On-failure records (E10): drain the destination queue, and map a batch back to item ids.

SQS and SNS destinations get only the batch's metadata (`DDBStreamBatchInfo`: shard and the
first and last sequence numbers), never the records. The ids come from reading that range of
the stream again while it is still retained (24 h, S5); otherwise the batch metadata is kept.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from streamlab import schema
from streamlab.errors import ConfigError
from streamlab.functions.stream_range import read_range


@dataclass
class OnFailureRecord:
    condition: str
    function_arn: str
    approximate_invoke_count: int
    shard_id: str
    start_sequence_number: str
    end_sequence_number: str
    batch_size: int
    stream_arn: str
    timestamp: str
    ids: list[str] | None = None  # None: not mapped back to items (yet)
    raw: dict = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "raw"}


def parse_on_failure(body: str | dict) -> OnFailureRecord:
    """An E10 on-failure record from an SQS message body (SNS envelopes are unwrapped)."""
    doc = json.loads(body) if isinstance(body, str) else body
    if isinstance(doc, dict) and "DDBStreamBatchInfo" not in doc and isinstance(doc.get("Message"), str):
        doc = json.loads(doc["Message"])  # delivered through an SNS topic
    if not isinstance(doc, dict) or "DDBStreamBatchInfo" not in doc:
        raise ConfigError("this message is not a DynamoDB-stream on-failure record (no DDBStreamBatchInfo); "
                          "is the queue the event source mapping's OnFailure destination?")
    info, ctx = doc["DDBStreamBatchInfo"], doc.get("requestContext", {})
    return OnFailureRecord(
        condition=ctx.get("condition", ""),
        function_arn=ctx.get("functionArn", ""),
        approximate_invoke_count=int(ctx.get("approximateInvokeCount", 0)),
        shard_id=info["shardId"],
        start_sequence_number=str(info["startSequenceNumber"]),
        end_sequence_number=str(info["endSequenceNumber"]),
        batch_size=int(info.get("batchSize", 0)),
        stream_arn=info.get("streamArn", ""),
        timestamp=doc.get("timestamp", ""),
        raw=doc,
    )


def drain_on_failure(target_or_client: Any, queue_url: str, *, delete: bool = True, wait_s: int = 1,
                     max_messages: int = 100_000) -> tuple[list[OnFailureRecord], list[str]]:
    """Every message now in the queue: (records, bodies that were not on-failure records).

    Deleted after reading unless `delete=False` (then they come back after the visibility timeout).
    """
    sqs = target_or_client.client("sqs") if hasattr(target_or_client, "client") else target_or_client
    records: list[OnFailureRecord] = []
    other: list[str] = []
    while len(records) + len(other) < max_messages:
        page = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s)
        messages = page.get("Messages", [])
        if not messages:
            break
        for m in messages:
            try:
                records.append(parse_on_failure(m["Body"]))
            except (ConfigError, ValueError, KeyError):
                other.append(m["Body"])
        if delete:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return records, other


def ids_in_batch(target_or_client: Any, record: OnFailureRecord, max_pages: int = 1000) -> list[str] | None:
    """The item ids in the record's sequence range, read back from the stream; None when the
    stream no longer has them (trimmed, or the shard is gone)."""
    streams = (target_or_client.client("dynamodbstreams") if hasattr(target_or_client, "client")
               else target_or_client)
    try:
        it = streams.get_shard_iterator(StreamArn=record.stream_arn, ShardId=record.shard_id,
                                        ShardIteratorType="AT_SEQUENCE_NUMBER",
                                        SequenceNumber=record.start_sequence_number)["ShardIterator"]
    except Exception:  # TrimmedDataAccess, ResourceNotFound: keep the batch metadata instead
        return None
    records = read_range(streams, it, record.end_sequence_number, max_pages=max_pages)
    keys = (r["dynamodb"].get("Keys", {}).get(schema.ID, {}) for r in records)
    return [key["S"] for key in keys if "S" in key]
