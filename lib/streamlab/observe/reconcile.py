"""Find requests stuck in ACCEPTED, and re-process chosen requests (redrive).

`reconcile` lists the requests still ACCEPTED longer than a threshold: their processing never
finished and no on-failure record marked them (the mapping is disabled or deleted, or the
record left the stream before the FailureHandler could read it). `redrive(ids)` re-processes
chosen FAILED (or stuck) requests after a fix: it invokes the StreamProcessor synchronously with
each item's INSERT record rebuilt from the table, exactly what the stream would have delivered.
Success turns the item PROCESSED (over FAILED); a request that fails again stays as it was, with
its attempts and error updated. PROCESSED requests are never re-processed.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from boto3.dynamodb.types import TypeDeserializer

from streamlab import schema
from streamlab.errors import ConfigError, StreamlabError

REDRIVE_BATCH = 25  # records per synchronous invocation
_deserialize = TypeDeserializer().deserialize


@dataclass(frozen=True)
class Stuck:
    id: str
    accepted_at: int
    age_s: float
    attempts: int


@dataclass
class RedriveResult:
    processed: list[str] = field(default_factory=list)   # now PROCESSED
    failed: list[str] = field(default_factory=list)      # the processor failed again; unchanged state
    skipped: dict[str, str] = field(default_factory=dict)  # id -> why (already PROCESSED, not found)

    def __str__(self) -> str:
        lines = [f"redrive: {len(self.processed)} processed, {len(self.failed)} failed again, "
                 f"{len(self.skipped)} skipped"]
        lines += [f"  failed again: {i}" for i in self.failed]
        lines += [f"  skipped {i}: {why}" for i, why in self.skipped.items()]
        return "\n".join(lines)


@dataclass
class ReconcileReport:
    older_than_s: float
    stuck: list[Stuck]
    redrive: RedriveResult | None = None

    def __str__(self) -> str:
        lines = [f"{len(self.stuck)} requests ACCEPTED for more than {self.older_than_s:g} s"]
        lines += [f"  {s.id}: accepted {s.age_s:.0f} s ago, {s.attempts} attempts" for s in self.stuck[:50]]
        if len(self.stuck) > 50:
            lines.append(f"  and {len(self.stuck) - 50} more")
        if self.redrive is not None:
            lines.append(str(self.redrive))
        return "\n".join(lines)


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserialize(v) for k, v in item.items()}


def find_stuck(target: Any, table: str, older_than_s: float = 60.0, now_ms: int | None = None) -> list[Stuck]:
    """Requests ACCEPTED for more than `older_than_s` seconds, oldest first (a filtered Scan)."""
    if older_than_s < 0:
        raise ConfigError(f"older_than_s must be zero or more seconds, got {older_than_s!r}.")
    ddb = target.client("dynamodb")
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    kwargs: dict[str, Any] = {
        "TableName": table, "ConsistentRead": True,
        "FilterExpression": "#s = :accepted AND #a < :cutoff",
        "ProjectionExpression": "#id, #a, #n",
        "ExpressionAttributeNames": {"#s": schema.STATUS, "#a": schema.ACCEPTED_AT, "#id": schema.ID,
                                     "#n": schema.ATTEMPTS},
        "ExpressionAttributeValues": {":accepted": {"S": schema.ACCEPTED},
                                      ":cutoff": {"N": str(now_ms - int(older_than_s * 1000))}},
    }
    stuck = []
    while True:
        page = ddb.scan(**kwargs)
        for raw in page.get("Items", []):
            item = _plain(raw)
            accepted = int(item[schema.ACCEPTED_AT])
            stuck.append(Stuck(item[schema.ID], accepted, (now_ms - accepted) / 1000.0, int(item.get(schema.ATTEMPTS, 0))))
        if "LastEvaluatedKey" not in page:
            return sorted(stuck, key=lambda s: s.accepted_at)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def insert_record(item: dict[str, Any], stream_arn: str, region: str, number: int) -> dict:
    """The INSERT stream record (S1, S2) the table's stream delivered for this item, rebuilt."""
    return {
        "eventID": f"redrive-{number}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": float(int(time.time())),
            "Keys": {schema.ID: item[schema.ID]},
            "NewImage": item,
            "SequenceNumber": f"{number:021d}",
            "SizeBytes": len(json.dumps(item)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }


def redrive(target: Any, ids: Iterable[str], *, table: str, function_name: str) -> RedriveResult:
    """Re-process the chosen requests with the StreamProcessor `function_name` (see the module docstring)."""
    ddb, lam = target.client("dynamodb"), target.client("lambda")
    stream_arn = ddb.describe_table(TableName=table)["Table"].get("LatestStreamArn", "")
    result = RedriveResult()
    records: list[dict] = []
    for item_id in dict.fromkeys(ids):
        item = ddb.get_item(TableName=table, Key={schema.ID: {"S": item_id}}, ConsistentRead=True).get("Item")
        if item is None:
            result.skipped[item_id] = "not found"
        elif item.get(schema.STATUS, {}).get("S") == schema.PROCESSED:
            result.skipped[item_id] = "already PROCESSED"
        else:
            records.append(insert_record(item, stream_arn, target.region, len(records) + 1))
    for start in range(0, len(records), REDRIVE_BATCH):
        _invoke(lam, function_name, records[start:start + REDRIVE_BATCH], result)
    return result


def _invoke(lam: Any, function_name: str, records: list[dict], result: RedriveResult) -> None:
    ids = {r["dynamodb"]["SequenceNumber"]: r["dynamodb"]["Keys"][schema.ID]["S"] for r in records}
    answer = lam.invoke(FunctionName=function_name, InvocationType="RequestResponse",
                        Payload=json.dumps({"Records": records}).encode())
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):
        # Without partial responses one failing record fails the invocation: retry them one by one.
        if len(records) > 1:
            for record in records:
                _invoke(lam, function_name, [record], result)
            return
        result.failed.extend(ids.values())
        return
    try:
        failures = {f.get("itemIdentifier") for f in (json.loads(payload or b"{}") or {}).get("batchItemFailures") or []}
    except (ValueError, AttributeError) as exc:
        raise StreamlabError(f"{function_name} answered the redrive with {payload[:200]!r}, not a batch response") from exc
    for number, item_id in ids.items():
        (result.failed if number in failures else result.processed).append(item_id)


def reconcile(target: Any, *, table: str, function_name: str, older_than_s: float = 60.0,
              redrive_stuck: bool = False) -> ReconcileReport:
    """The requests stuck in ACCEPTED for more than `older_than_s`; with `redrive_stuck`, re-process them."""
    stuck = find_stuck(target, table, older_than_s)
    report = ReconcileReport(older_than_s, stuck)
    if redrive_stuck and stuck:
        report.redrive = redrive(target, [s.id for s in stuck], table=table, function_name=function_name)
    return report
