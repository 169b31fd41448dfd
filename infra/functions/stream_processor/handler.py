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

RECORD_CONCURRENCY=1..10 (default 1): records of different items are processed at once on that
many threads; the records of one item (same Keys) still run one after another in stream order,
and after one of them fails the item's later records are not tried in this invocation (they are
reported failed with it, or the whole batch fails), so an item never sees its changes out of
order. Safe when the work per record touches only its own item, as here; work that spans items
(totals, counters of several items) needs RECORD_CONCURRENCY=1. Bounded by 10, botocore's
default connection pool.

BATCH_WRITES=true (default false): the records that need nothing but the PROCESSED mark (no fail
or sleep switch, FAILURE_RATE 0) are marked with one TransactWriteItems per 100 items instead of
one UpdateItem each: the same updates and conditions, a fraction of the CPU per record. If any
item of a transaction is gone, that chunk is marked one item at a time. On AWS a transactional
write costs two write units per item instead of one.

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
RECORD_CONCURRENCY = int(switches.env_number("RECORD_CONCURRENCY", 0, 10)) or 1
BATCH_WRITES = switches.env_flag("BATCH_WRITES")
TRANSACTION_MAX_ITEMS = 100  # TransactWriteItems' limit
_pool = None


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


def _mark_update(table: str, item_id: str, *, count_attempt: bool) -> dict:
    """The UpdateItem arguments of the PROCESSED mark: SET status/processed_at (first completion wins) [ADD attempts 1]."""
    update = "SET #s = :processed, #p = if_not_exists(#p, :now)"
    names = {"#s": schema.STATUS, "#p": schema.PROCESSED_AT, "#id": schema.ID}
    values = {":processed": {"S": schema.PROCESSED}, ":now": {"N": str(_now_ms())}}
    if count_attempt:
        update += " ADD #a :one"
        names["#a"] = schema.ATTEMPTS
        values[":one"] = {"N": "1"}
    return {"TableName": table, "Key": {schema.ID: {"S": item_id}}, "UpdateExpression": update,
            "ConditionExpression": "attribute_exists(#id)", "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values}


def _mark_processed(table: str, item_id: str, *, count_attempt: bool) -> bool:
    """The PROCESSED mark on one item; False if the item is gone."""
    try:
        _dynamodb().update_item(**_mark_update(table, item_id, count_attempt=count_attempt))
    except _dynamodb().exceptions.ConditionalCheckFailedException:
        return False
    return True


def _needs_only_the_mark(record: dict) -> bool:
    if record.get("eventName") != "INSERT" or FAILURE_RATE > 0:
        return False
    wanted = switches.parse_switches(((record["dynamodb"].get("NewImage") or {}).get(schema.BODY) or {}).get("S"))
    return wanted.get("fail") is None and not wanted.get("sleep_ms")


def _split_plain(records: list) -> tuple[list, list]:
    """(records that need only the mark, the rest); an item with any other record stays whole in
    the rest, so its records keep their order."""
    keys = lambda r: json.dumps(r["dynamodb"].get("Keys") or {}, sort_keys=True)  # noqa: E731
    plain = [_needs_only_the_mark(r) for r in records]
    mixed = {keys(r) for r, p in zip(records, plain) if not p}
    take = [p and keys(r) not in mixed for r, p in zip(records, plain)]
    return [r for r, t in zip(records, take) if t], [r for r, t in zip(records, take) if not t]


def _mark_in_transactions(records: list) -> list:
    """(record, result, None) for records that need only the mark, TRANSACTION_MAX_ITEMS items per call."""
    out, chunk, ids = [], [], set()

    def flush() -> None:
        if not chunk:
            return
        try:
            _dynamodb().transact_write_items(TransactItems=[
                {"Update": _mark_update(_table_name(r), r["dynamodb"]["Keys"][schema.ID]["S"], count_attempt=True)}
                for r in chunk])
            out.extend((r, "processed", None) for r in chunk)
        except _dynamodb().exceptions.TransactionCanceledException:
            out.extend((r, process_record(r), None) for r in chunk)  # an item is gone: one at a time
        chunk.clear()
        ids.clear()

    for record in records:
        item_id = record["dynamodb"]["Keys"][schema.ID]["S"]
        if item_id in ids or len(chunk) == TRANSACTION_MAX_ITEMS:
            flush()  # a transaction names each item once
        chunk.append(record)
        ids.add(item_id)
    flush()
    return out


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


def _process_each(records: list) -> list:
    """(record, result, error) for each record, one after another; raises at once unless PARTIAL_FAILURES."""
    out = []
    for record in records:
        try:
            out.append((record, process_record(record), None))
        except Exception as exc:
            if not PARTIAL_FAILURES:
                raise
            out.append((record, "failed", exc))
    return out


def _process_item(records: list) -> list:
    """The records of one item in order, stopping at its first failure: a later change of the
    item must not overtake a failed earlier one (the ESM redelivers both, E9)."""
    out, failed = [], None
    for record in records:
        if failed is not None:
            out.append((record, "failed", failed))
            continue
        try:
            out.append((record, process_record(record), None))
        except Exception as exc:
            failed = exc
            out.append((record, "failed", exc))
    return out


def _by_item(records: list) -> list:
    """The records grouped per item (same Keys), groups in order of first appearance."""
    groups: dict[str, list] = {}
    for record in records:
        key = json.dumps((record.get("dynamodb") or {}).get("Keys") or {}, sort_keys=True)
        groups.setdefault(key, []).append(record)
    return list(groups.values())


def _process_concurrently(records: list) -> list:
    """RECORD_CONCURRENCY items at once, each item's records in order; outcomes in batch order."""
    global _pool
    from concurrent.futures import ThreadPoolExecutor

    _dynamodb()  # create the shared client before the threads: boto3 client creation is not thread-safe
    if _pool is None:
        _pool = ThreadPoolExecutor(RECORD_CONCURRENCY, thread_name_prefix="record")
    done = [outcome for group in _pool.map(_process_item, _by_item(records)) for outcome in group]
    order = {id(record): i for i, record in enumerate(records)}
    done.sort(key=lambda outcome: order[id(outcome[0])])
    if not PARTIAL_FAILURES:
        for _, _, error in done:
            if error is not None:
                raise error
    return done


def handler(event, context):
    records = (event or {}).get("Records") or []
    failures = []
    outcome: dict[str, int] = {}
    outcomes = []
    if BATCH_WRITES:
        plain, records = _split_plain(records)
        outcomes = _mark_in_transactions(plain)
    concurrent = RECORD_CONCURRENCY > 1 and len(records) > 1
    outcomes += (_process_concurrently if concurrent else _process_each)(records)
    for record, result, error in outcomes:
        if error is not None:
            print(json.dumps({"failed": record.get("dynamodb", {}).get("SequenceNumber"), "error": str(error)}))
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        outcome[result] = outcome.get(result, 0) + 1
    print(json.dumps({"records": len(records), **outcome}))
    return {"batchItemFailures": failures}
