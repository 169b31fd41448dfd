"""StreamProcessor: marks each accepted request PROCESSED, once per INSERT record of the table's stream.

For every INSERT it runs one UpdateItem:
    SET status = PROCESSED, processed_at = <first completion, epoch ms>  ADD attempts 1
so a duplicate delivery (at least once, E1) never breaks anything and shows up as attempts > 1.
Records of items that no longer exist are skipped, never re-created.

Failure switches, for experiments:
- per record, in the request's JSON body:
    {"fail": "poison"}   raise on every attempt
    {"fail": "once"}     raise on the first attempt only; {"fail": 3} on the first 3 attempts
    {"sleep_ms": 5000}   sleep first (longer than the function timeout = a timeout)
- per function, environment variables:
    FAILURE_RATE=0..1, FAILURE_SEED=n   that share of record attempts raises, reproducibly
    PARTIAL_FAILURES=true               answer {"batchItemFailures": [...]} for failed records
                                        instead of raising (needs ReportBatchItemFailures, E9)
A failed attempt still bumps `attempts`, so retries are visible in the table.

Dependencies: boto3 only. Locally MiniStack's worker sets AWS_ENDPOINT_URL; on AWS it is unset.
"""
from __future__ import annotations

import json
import os
import time

try:  # bundled into the zip by streamlab.provision.package
    import failure_switches as switches
    import request_schema as schema
except ImportError:  # running from a checkout (unit tests)
    from streamlab.functions import failure_switches as switches  # type: ignore[no-redef]
    from streamlab import schema  # type: ignore[no-redef]

InjectedFailure = switches.InjectedFailure
draw = switches.draw
FAILURE_RATE = switches.env_number("FAILURE_RATE", 0.0, 1.0)
FAILURE_SEED = os.environ.get("FAILURE_SEED", "0")
PARTIAL_FAILURES = switches.env_flag("PARTIAL_FAILURES")


def _dynamodb():
    return switches.dynamodb()


def _table_name(record: dict) -> str:
    # TABLE_NAME is set by the deployment; the record's own ARN is the fallback (…:table/<name>/stream/…).
    return os.environ.get("TABLE_NAME") or record["eventSourceARN"].split(":table/", 1)[1].split("/", 1)[0]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _bump_attempts(table: str, item_id: str) -> int | None:
    """ADD attempts 1 and return the new count; None if the item is gone."""
    try:
        out = _dynamodb().update_item(
            TableName=table,
            Key={schema.ID: {"S": item_id}},
            UpdateExpression="ADD #a :one",
            ConditionExpression="attribute_exists(#id)",
            ExpressionAttributeNames={"#a": schema.ATTEMPTS, "#id": schema.ID},
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
    except _dynamodb().exceptions.ConditionalCheckFailedException:
        return None
    return int(out["Attributes"][schema.ATTEMPTS]["N"])


def _mark_processed(table: str, item_id: str, *, count_attempt: bool) -> bool:
    """SET status/processed_at (first completion wins) [ADD attempts 1]; False if the item is gone."""
    update = "SET #s = :processed, #p = if_not_exists(#p, :now)"
    names = {"#s": schema.STATUS, "#p": schema.PROCESSED_AT, "#id": schema.ID}
    values = {":processed": {"S": schema.PROCESSED}, ":now": {"N": str(_now_ms())}}
    if count_attempt:
        update += " ADD #a :one"
        names["#a"] = schema.ATTEMPTS
        values[":one"] = {"N": "1"}
    try:
        _dynamodb().update_item(
            TableName=table,
            Key={schema.ID: {"S": item_id}},
            UpdateExpression=update,
            ConditionExpression="attribute_exists(#id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except _dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def process_record(record: dict) -> str:
    """Process one stream record; returns what happened ('processed', 'skipped', 'gone'). Raises on failure."""
    if record.get("eventName") != "INSERT":
        return "skipped"
    change = record["dynamodb"]
    item_id = change["Keys"][schema.ID]["S"]
    table = _table_name(record)
    wanted = switches.parse_switches((change.get("NewImage") or {}).get(schema.BODY, {}).get("S"))
    switches.do_work(wanted)

    if wanted.get("fail") is not None or FAILURE_RATE > 0:
        # The decision needs this attempt's number, so the attempt is counted first.
        attempt = _bump_attempts(table, item_id)
        if attempt is None:
            return "gone"
        switches.check_failure(wanted, item_id, attempt, FAILURE_RATE, FAILURE_SEED)
        return "processed" if _mark_processed(table, item_id, count_attempt=False) else "gone"
    return "processed" if _mark_processed(table, item_id, count_attempt=True) else "gone"


def handler(event, context):
    records = (event or {}).get("Records") or []
    failures = []
    outcome: dict[str, int] = {}
    for record in records:
        try:
            result = process_record(record)
        except Exception as exc:
            if not PARTIAL_FAILURES:
                raise
            print(json.dumps({"failed": record.get("dynamodb", {}).get("SequenceNumber"), "error": str(exc)}))
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
            result = "failed"
        outcome[result] = outcome.get(result, 0) + 1
    print(json.dumps({"records": len(records), **outcome}))
    return {"batchItemFailures": failures}
