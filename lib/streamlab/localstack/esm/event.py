"""The Lambda event a DynamoDB stream mapping sends (S1-S3) and how batches are cut (E2, E4)."""
from __future__ import annotations

import base64
import json
import zlib
from datetime import datetime, timezone
from typing import Any, Iterable

from streamlab.errors import StreamlabError

# E2: the batch goes when the payload would pass 6 MB.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
_EVENT_OVERHEAD = len('{"Records":[]}')


class RecordConversionError(StreamlabError):
    """A stream record that cannot become a Lambda record (the poller drops it, E7, instead of stalling)."""


IMAGES = ("Keys", "NewImage", "OldImage")


def lambda_record(record: dict, stream_arn: str) -> dict:
    """A Streams record as Lambda delivers it: eventSourceARN added, creation time in whole seconds (S3).

    Attribute values are DynamoDB JSON exactly as on the wire (S2): boto3 decodes `B`/`BS` into
    bytes, Lambda delivers them base64-encoded. Raises RecordConversionError for a record that
    has no sequence number or cannot be serialised as JSON.
    """
    try:
        return _lambda_record(record, stream_arn)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise RecordConversionError(f"stream record cannot be delivered to Lambda: {exc!r}") from exc


def _lambda_record(record: dict, stream_arn: str) -> dict:
    dynamodb = dict(record.get("dynamodb") or {})
    if not isinstance(dynamodb.get("SequenceNumber"), str):
        raise ValueError("the record has no SequenceNumber")
    for part in IMAGES:
        if part in dynamodb:
            dynamodb[part] = {name: wire_value(value) for name, value in dynamodb[part].items()}
    if not dynamodb.get("SizeBytes"):
        # MiniStack reports 0; AWS reports the record's size (S2).
        dynamodb["SizeBytes"] = stream_record_size(dynamodb)
    created = dynamodb.get("ApproximateCreationDateTime")
    if created is not None:
        dynamodb["ApproximateCreationDateTime"] = float(int(_epoch(created)))
    out = {k: v for k, v in record.items() if k not in ("dynamodb", "eventSourceARN")}
    out["dynamodb"] = dynamodb
    out["eventSourceARN"] = stream_arn
    json.dumps(out)  # fail here, on one record, rather than later on a whole batch
    return out


def stand_in_record(raw: dict, stream_arn: str) -> dict | None:
    """What can be told of a record that cannot be converted: its position and time (for E10), or None."""
    dynamodb = raw.get("dynamodb") if isinstance(raw, dict) else None
    seq = dynamodb.get("SequenceNumber") if isinstance(dynamodb, dict) else None
    if not isinstance(seq, str):
        return None
    try:
        created = float(int(_epoch(dynamodb.get("ApproximateCreationDateTime") or 0)))
    except (TypeError, ValueError):
        created = 0.0
    return {"eventID": str(raw.get("eventID", "")), "eventSourceARN": stream_arn,
            "dynamodb": {"SequenceNumber": seq, "ApproximateCreationDateTime": created}}


def wire_value(value: dict) -> dict:
    """One attribute value as DynamoDB JSON on the wire: binary (`B`, `BS`) as base64, at any depth."""
    ((kind, inner),) = value.items()
    return {kind: _wire_inner(kind, inner)}


def _wire_inner(kind: str, inner: Any) -> Any:
    if kind == "B":
        return _base64(inner)
    if kind == "BS":
        return [_base64(b) for b in inner]
    if kind == "L":
        return [wire_value(v) for v in inner]
    if kind == "M":
        return {k: wire_value(v) for k, v in inner.items()}
    return inner


def _base64(blob: bytes | str) -> str:
    # A str is already base64 (a stream read without boto3's blob decoding).
    return blob if isinstance(blob, str) else base64.b64encode(blob).decode("ascii")


def stream_record_size(dynamodb: dict) -> int:
    """Keys + images sized by DynamoDB's item-size rules (names + values, UTF-8 bytes)."""
    return sum(_item_size(dynamodb.get(part) or {}) for part in ("Keys", "NewImage", "OldImage"))


def _item_size(item: dict) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    ((kind, inner),) = value.items() if len(value) == 1 else (("NULL", True),)
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        digits = inner.lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner)) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    return 0


def _epoch(value: float | int | str | datetime) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def created_at(record: dict) -> float:
    """ApproximateCreationDateTime of a Lambda record, epoch seconds."""
    return float(record["dynamodb"].get("ApproximateCreationDateTime") or 0.0)


def arrival_time(record: dict) -> float:
    """When the record reached the stream, as precisely as the stream tells.

    ApproximateCreationDateTime has whole seconds only (S3), which would make IteratorAge and
    the record-age limit up to a second off. MiniStack 1.5.33 builds sequence numbers as
    20 digits of epoch milliseconds + a 10-digit counter; when a sequence number has that form
    and agrees with the creation second, its milliseconds are used.
    """
    created = created_at(record)
    seq = record["dynamodb"].get("SequenceNumber", "")
    if len(seq) == 30 and seq.isdigit():
        millis = int(seq[:20]) / 1000
        if created <= millis < created + 1:
            return millis
    return created


def sequence_number(record: dict) -> str:
    return record["dynamodb"]["SequenceNumber"]


def record_size(record: dict) -> int:
    return len(json.dumps(record, separators=(",", ":")).encode()) + 1


def key_lane(record: dict, lanes: int) -> int:
    """E4: the lane of a record; records of one item (same Keys) always share a lane."""
    if lanes == 1:
        return 0
    keys = json.dumps(record["dynamodb"].get("Keys") or {}, sort_keys=True)
    return zlib.crc32(keys.encode()) % lanes


def cut_batches(buffer: list[dict], batch_size: int, lanes: int) -> list[list[dict]]:
    """The next round of batches from the head of `buffer`, one per lane.

    Takes a contiguous prefix of the buffer (so the shard checkpoint can move past all of it
    once every lane is done) and stops at the first record whose lane is full or would pass
    6 MB.
    """
    batches: list[list[dict]] = [[] for _ in range(lanes)]
    sizes = [_EVENT_OVERHEAD] * lanes
    for record in buffer:
        lane = key_lane(record, lanes)
        size = record_size(record)
        if len(batches[lane]) >= batch_size or (batches[lane] and sizes[lane] + size > MAX_PAYLOAD_BYTES):
            break
        batches[lane].append(record)
        sizes[lane] += size
    return [b for b in batches if b]


def payload_bytes(records: Iterable[dict]) -> int:
    return _EVENT_OVERHEAD + sum(record_size(r) for r in records)


def iso_seconds(epoch: float) -> str:
    """`2019-11-14T00:13:19Z`: the arrival times of an on-failure record."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(epoch: float) -> str:
    """`2019-11-14T00:13:49.717Z`: the timestamp of an on-failure record."""
    stamp = datetime.fromtimestamp(epoch, timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
