"""Read the request table: every item's acceptance and processing times, and lag per record.

Two ways in: a parallel Scan (segments in threads) for the whole table, or BatchGetItem by id
(100 keys a call, unprocessed keys retried) when the audit only needs some ids. The body is
not read: the audit and the lag need only the times and the status.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Iterable

import pandas as pd
from boto3.dynamodb.types import TypeDeserializer

from streamlab import schema
from streamlab.errors import ConfigError, WaitTimeout

COLUMNS = [schema.ID, schema.ACCEPTED_AT, schema.STATUS, schema.PROCESSED_AT, schema.ATTEMPTS]
_NAMES = {f"#a{i}": name for i, name in enumerate(COLUMNS)}  # several are reserved words (status)
_PROJECTION = ", ".join(_NAMES)
BATCH_GET_MAX = 100
_deserialize = TypeDeserializer().deserialize


def _client(target_or_client: Any) -> Any:
    return target_or_client.client("dynamodb") if hasattr(target_or_client, "client") else target_or_client


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in item.items():
        v = _deserialize(value)
        out[key] = (int(v) if v == v.to_integral_value() else float(v)) if isinstance(v, Decimal) else v
    return out


def _scan_segment(client: Any, table: str, segment: int, total: int, consistent: bool) -> list[dict]:
    items, kwargs = [], {"TableName": table, "ProjectionExpression": _PROJECTION,
                         "ExpressionAttributeNames": _NAMES, "ConsistentRead": consistent}
    if total > 1:
        kwargs.update(Segment=segment, TotalSegments=total)
    while True:
        page = client.scan(**kwargs)
        items.extend(_plain(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scan_items(target_or_client: Any, table: str, segments: int = 4, consistent: bool = True) -> list[dict]:
    """Every item of `table` (id and times), read by `segments` parallel Scan segments."""
    if segments < 1:
        raise ConfigError(f"segments must be at least 1, got {segments}.")
    client = _client(target_or_client)
    with ThreadPoolExecutor(max_workers=segments) as pool:
        parts = pool.map(lambda s: _scan_segment(client, table, s, segments, consistent), range(segments))
        return [item for part in parts for item in part]


def get_items(target_or_client: Any, table: str, ids: Iterable[str], consistent: bool = True,
              threads: int = 4, retry_deadline_s: float = 60.0) -> list[dict]:
    """The items with these ids (absent ones are simply not returned), by BatchGetItem."""
    client = _client(target_or_client)
    unique = list(dict.fromkeys(ids))
    chunks = [unique[i:i + BATCH_GET_MAX] for i in range(0, len(unique), BATCH_GET_MAX)]

    def fetch(chunk: list[str]) -> list[dict]:
        request = {table: {"Keys": [{schema.ID: {"S": i}} for i in chunk], "ConsistentRead": consistent,
                           "ProjectionExpression": _PROJECTION, "ExpressionAttributeNames": _NAMES}}
        found, delay, deadline = [], 0.05, time.monotonic() + retry_deadline_s
        while request:
            page = client.batch_get_item(RequestItems=request)
            found.extend(_plain(i) for i in page.get("Responses", {}).get(table, []))
            request = page.get("UnprocessedKeys") or {}
            if request:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"BatchGetItem on {table} kept returning unprocessed keys for "
                                       f"{retry_deadline_s:.0f} s; the table is throttled, try again later.")
                time.sleep(delay)  # back off as AWS asks for unprocessed keys
                delay = min(delay * 2, 2.0)
        return found

    with ThreadPoolExecutor(max_workers=max(1, min(threads, len(chunks)))) as pool:
        return [item for part in pool.map(fetch, chunks) for item in part]


def items_frame(items: Iterable[dict]) -> pd.DataFrame:
    """Items as a table with lag_ms = processed_at - accepted_at (NaN until processed)."""
    df = pd.DataFrame(list(items), columns=COLUMNS)
    for col in (schema.ACCEPTED_AT, schema.PROCESSED_AT, schema.ATTEMPTS):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df["lag_ms"] = df[schema.PROCESSED_AT] - df[schema.ACCEPTED_AT]
    return df.sort_values(schema.ACCEPTED_AT, kind="stable").reset_index(drop=True)


def read_lag(target_or_client: Any, table: str, ids: Iterable[str] | None = None, segments: int = 4) -> pd.DataFrame:
    """Per-record lag of the whole table (parallel Scan) or of the given ids (BatchGetItem)."""
    items = scan_items(target_or_client, table, segments) if ids is None else get_items(target_or_client, table, ids)
    return items_frame(items)


def wait_processed(target_or_client: Any, table: str, ids: Iterable[str], timeout_s: float = 60.0,
                   interval_s: float = 0.2) -> pd.DataFrame:
    """Poll until every id is PROCESSED; return their rows with lag_ms.

    Raises WaitTimeout when `timeout_s` passes first, saying how many were processed and what
    the others' status was, so a caller never mistakes a timeout for a result.
    """
    wanted = list(dict.fromkeys(ids))
    deadline = time.monotonic() + timeout_s
    while True:
        frame = items_frame(get_items(target_or_client, table, wanted))
        done = int((frame[schema.STATUS] == schema.PROCESSED).sum())
        if done == len(wanted):
            return frame
        if time.monotonic() > deadline:
            raise WaitTimeout(describe_unprocessed(table, wanted, frame, timeout_s))
        time.sleep(interval_s)


def describe_unprocessed(table: str, wanted: list[str], frame: pd.DataFrame, timeout_s: float) -> str:
    """Why a wait for processing ended: counts by status, and the likely cause."""
    statuses = dict(zip(frame[schema.ID], frame[schema.STATUS]))
    by_status: dict[str, int] = {}
    for i in wanted:
        key = statuses.get(i) or "not in the table"
        by_status[key] = by_status.get(key, 0) + 1
    seen = ", ".join(f"{n} {status}" for status, n in sorted(by_status.items()))
    return (f"waited {timeout_s:g} s for {len(wanted)} request(s) in {table} to become {schema.PROCESSED}; "
            f"saw {seen}. Items still {schema.ACCEPTED} mean nothing processed the stream: is the "
            "StreamProcessor deployed with its event source mapping (notebook 02, or `streamlab deploy`)?")
