"""FailureHandler: marks FAILED every request of a batch the event source mapping gave up on.

Triggered by the on-failure SQS queue through an SQS event source mapping (with
ReportBatchItemFailures). An on-failure record (E10) carries only the shard and the
sequence-number range of the dropped batch, never the data, so for each message this handler:

1. checks the message is an on-failure record of *this* table's stream; a malformed or foreign
   message goes to the handler's own dead-letter queue, nothing is marked;
2. reads the range back from the stream (GetShardIterator AT_SEQUENCE_NUMBER start, GetRecords
   to the end, through empty pages: `stream_range`); when those records are gone from the stream (trimmed after 24 h, S5)
   the message goes to the dead-letter queue and `streamlab reconcile` finds the items instead;
3. marks each INSERTed request FAILED with one conditional UpdateItem:
       SET status = FAILED, failure_reason = <condition>, failed_attempts = <invoke count>,
           failed_at = if_not_exists(failed_at, now)
       IF attribute_exists(id) AND status <> PROCESSED
   so PROCESSED is never overwritten and a duplicate SQS delivery changes nothing.

A transient error (throttling, the stream or table unreachable) reports the message as a batch
item failure: SQS delivers it again after its visibility timeout, and the queue's redrive policy
moves it to the dead-letter queue when it keeps failing.

Environment: TABLE_NAME (whose stream the records must come from), DEAD_LETTER_QUEUE_URL, and on
the local stack STREAMS_ENDPOINT_URL (its front door, which serves the stream's shards).
Dependencies: boto3 and the bundled failure_switches (its clients use the execution role's
credentials only) and stream_range. Locally MiniStack's worker sets AWS_ENDPOINT_URL; on AWS it is unset.
"""
from __future__ import annotations

import json
import os
import time

from botocore.exceptions import ClientError, ParamValidationError

try:  # bundled into the zip by streamlab.provision.package
    import failure_switches as switches
    import request_schema as schema
    import stream_range
except ImportError:  # running from a checkout (unit tests)
    from streamlab import schema  # type: ignore[no-redef]
    from streamlab.functions import failure_switches as switches  # type: ignore[no-redef]
    from streamlab.functions import stream_range  # type: ignore[no-redef]

MAX_PAGES = 1000  # GetRecords calls per message; a batch is at most 10,000 records (E2)
GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}


class Unusable(Exception):
    """This message can never mark anything: it goes to the dead-letter queue."""


def _client(service: str):
    # The execution role's credentials from the environment, never the default chain (see failure_switches).
    # Locally the stream's shards are the front door's view, not MiniStack's: STREAMS_ENDPOINT_URL.
    endpoint = os.environ.get("STREAMS_ENDPOINT_URL") if service == "dynamodbstreams" else None
    return switches.client(service, endpoint or None)


def parse_message(body: str, table_name: str) -> dict:
    """The on-failure record in an SQS body (an SNS envelope is unwrapped); Unusable if it is not
    one, or if it names another table's stream."""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and "DDBStreamBatchInfo" not in doc and isinstance(doc.get("Message"), str):
            doc = json.loads(doc["Message"])
    except (TypeError, ValueError) as exc:
        raise Unusable(f"not JSON: {exc}") from None
    info = doc.get("DDBStreamBatchInfo") if isinstance(doc, dict) else None
    if not isinstance(info, dict):
        raise Unusable("not a DynamoDB-stream on-failure record (no DDBStreamBatchInfo)")
    fields = ("shardId", "startSequenceNumber", "endSequenceNumber", "streamArn")
    if not all(isinstance(info.get(f), str) and info[f] for f in fields):
        raise Unusable(f"DDBStreamBatchInfo lacks one of {', '.join(fields)}")
    if not info["startSequenceNumber"].isdigit() or not info["endSequenceNumber"].isdigit():
        raise Unusable("sequence numbers are not numbers")
    if f":table/{table_name}/stream/" not in info["streamArn"]:
        raise Unusable(f"foreign: the batch is from {info['streamArn']}, not table {table_name}'s stream")
    context = doc.get("requestContext") if isinstance(doc.get("requestContext"), dict) else {}
    count = context.get("approximateInvokeCount")
    return {
        **info,
        "condition": str(context.get("condition") or "Unknown"),
        "attempts": count if isinstance(count, int) and not isinstance(count, bool) else 0,
    }


def read_ids(batch: dict) -> list[str]:
    """The ids of the requests INSERTed in the batch's sequence range, read back from the stream.
    Unusable when the range is no longer in the stream."""
    streams = _client("dynamodbstreams")
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch["streamArn"], ShardId=batch["shardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=batch["startSequenceNumber"],
        ).get("ShardIterator")
        records = stream_range.read_range(streams, iterator, batch["endSequenceNumber"], max_pages=MAX_PAGES)
    except ParamValidationError as exc:  # e.g. a shard id no stream can have
        raise Unusable(f"the batch info cannot name a stream position: {exc}") from None
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in GONE:
            raise Unusable(f"the records are no longer in the stream ({exc.response['Error']['Code']})") from None
        raise
    start = int(batch["startSequenceNumber"])
    if not any(int(r["dynamodb"]["SequenceNumber"]) == start for r in records):
        raise Unusable("the batch's first record is no longer in the stream")
    keys = (r["dynamodb"].get("Keys", {}).get(schema.ID, {}) for r in records if r.get("eventName") == "INSERT")
    return [key["S"] for key in keys if "S" in key]


def mark_failed(item_id: str, batch: dict, now_ms: int) -> bool:
    """FAILED with the reason, unless the item is PROCESSED or gone. True if it is FAILED now."""
    try:
        _client("dynamodb").update_item(
            TableName=os.environ["TABLE_NAME"],
            Key={schema.ID: {"S": item_id}},
            UpdateExpression="SET #s = :failed, #r = :reason, #n = :attempts, #t = if_not_exists(#t, :now)",
            ConditionExpression="attribute_exists(#id) AND #s <> :processed",
            ExpressionAttributeNames={"#s": schema.STATUS, "#r": schema.FAILURE_REASON, "#n": schema.FAILED_ATTEMPTS,
                                      "#t": schema.FAILED_AT, "#id": schema.ID},
            ExpressionAttributeValues={":failed": {"S": schema.FAILED}, ":processed": {"S": schema.PROCESSED},
                                       ":reason": {"S": batch["condition"]}, ":attempts": {"N": str(batch["attempts"])},
                                       ":now": {"N": str(now_ms)}},
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def dead_letter(message: dict, why: str) -> None:
    """Park the message, as it came, on the handler's own dead-letter queue with the reason."""
    _client("sqs").send_message(
        QueueUrl=os.environ["DEAD_LETTER_QUEUE_URL"],
        MessageBody=message.get("body") or "",
        MessageAttributes={"reason": {"DataType": "String", "StringValue": why[:1000]},
                           "source_message_id": {"DataType": "String", "StringValue": message.get("messageId") or "-"}},
    )


def handle_message(message: dict) -> dict:
    """What one SQS message led to: {"failed": n, "skipped": n} or {"dead_lettered": reason}."""
    try:
        batch = parse_message(message.get("body"), os.environ["TABLE_NAME"])
        ids = read_ids(batch)
    except Unusable as exc:
        dead_letter(message, str(exc))
        return {"dead_lettered": str(exc)}
    now_ms = int(time.time() * 1000)
    marked = sum(mark_failed(i, batch, now_ms) for i in ids)
    return {"failed": marked, "skipped": len(ids) - marked, "condition": batch["condition"]}


def handler(event, context):
    failures = []
    for message in (event or {}).get("Records") or []:
        try:
            outcome = handle_message(message)
        except Exception as exc:  # noqa: BLE001 - transient: SQS delivers this message again
            print(json.dumps({"message": message.get("messageId"), "retry": repr(exc)[:300]}))
            failures.append({"itemIdentifier": message.get("messageId")})
            continue
        print(json.dumps({"message": message.get("messageId"), **outcome}))
    return {"batchItemFailures": failures}
