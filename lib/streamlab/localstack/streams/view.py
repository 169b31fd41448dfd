"""DynamoDB Streams with several shards, over MiniStack's single one (S6).

`StreamView` answers DescribeStream, GetShardIterator and GetRecords as AWS does for a stream of
N shards: each record goes to the shard of its partition-key hash (streams/layout.py), so one
item's records stay in order within one shard; sequence numbers are MiniStack's own, so they
rise within every shard. With a rollover period the shards of each period close (they get an
EndingSequenceNumber and their last GetRecords has no NextShardIterator) and child shards
(ParentShardId) take over their keys.

Shard iterators are the view's own tokens: stream, shard, the sequence number to continue
after and when they were issued (they expire after 15 minutes, S6).

CHOSEN (AWS does not say): a sequence number given to GetShardIterator is a position, not a
lookup, so one older than the oldest record left starts at the oldest record.
"""
from __future__ import annotations

import base64
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

from streamlab.errors import ConfigError
from streamlab.localstack.state import write_atomically
from streamlab.localstack.streams.layout import ShardLayout, layout_for, shard_index
from streamlab.localstack.streams.tail import StreamTail, UpstreamStreamsError, seq_key, seq_millis

# (operation, arguments, an ARN naming the account and region) -> MiniStack's JSON answer
ScopedCall = Callable[[str, dict, str], Awaitable[dict]]

log = logging.getLogger("streamlab.streams")

ITERATOR_TTL_S = 15 * 60  # S6
GET_RECORDS_MAX = 1000
GET_RECORDS_MAX_BYTES = 1024 * 1024  # S6
DESCRIBE_LIMIT_MAX = 100
# A period's shards close this long after the period ends, so every record stamped inside the
# period has reached MiniStack's list before the shard's end is announced.
CLOSE_MARGIN_MS = 1000
ITERATOR_TYPES = ("TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")


class StreamsApiError(Exception):
    """An error answer in AWS's words: `code` is the error type, HTTP 400."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _shard_not_found() -> StreamsApiError:
    return StreamsApiError("ResourceNotFoundException", "Requested resource not found: Shard does not exist")


def _floor_seq(epoch_ms: int) -> str:
    """A sequence number before every record stamped at or after `epoch_ms`."""
    return f"{max(0, epoch_ms):020d}{0:010d}"


class StreamView:
    """The sharded view of every stream in one MiniStack."""

    def __init__(self, streams_call: ScopedCall, table_call: ScopedCall, folder: Path | None = None) -> None:
        self._streams_call = streams_call
        self._table_call = table_call
        self._layouts_file = folder / "layouts.json" if folder else None
        self._layouts: dict[str, ShardLayout] = self._load_layouts()
        self._tails: dict[str, StreamTail] = {}

    # --- the API ----------------------------------------------------------------------------

    async def describe_stream(self, args: dict, since: float | None = None) -> dict:
        desc = await self._upstream_description(args)
        arn = desc["StreamArn"]
        layout = await self.layout(arn, desc)
        tail = await self._tail(arn, layout, since)
        shards = self._shards(layout, tail)
        wanted = args.get("ShardFilter") or {}
        if wanted.get("Type") == "CHILD_SHARDS":
            shards = [s for s in shards if s.get("ParentShardId") == wanted.get("ShardId")]
        limit = min(int(args.get("Limit") or DESCRIBE_LIMIT_MAX), DESCRIBE_LIMIT_MAX)
        start = args.get("ExclusiveStartShardId")
        if start:
            ids = [s["ShardId"] for s in shards]
            shards = shards[ids.index(start) + 1:] if start in ids else []
        page = shards[:limit]
        desc = {**desc, "Shards": page}
        desc.pop("LastEvaluatedShardId", None)
        if len(shards) > limit:
            desc["LastEvaluatedShardId"] = page[-1]["ShardId"]
        return {"StreamDescription": desc}

    async def get_shard_iterator(self, args: dict, since: float | None = None) -> dict:
        kind = args.get("ShardIteratorType")
        if kind not in ITERATOR_TYPES:
            raise StreamsApiError("ValidationException", f"ShardIteratorType must be one of {list(ITERATOR_TYPES)}")
        desc = await self._upstream_description(args)
        arn = desc["StreamArn"]
        layout = await self.layout(arn, desc)
        self._locate(layout, args.get("ShardId") or "")
        tail = await self._tail(arn, layout, since)
        if kind == "TRIM_HORIZON":
            after = -1
        elif kind == "LATEST":
            after = tail.keys[-1] if tail.keys else max(-1, tail.cached_from())
        else:
            seq = args.get("SequenceNumber") or ""
            if not seq.isdigit():
                raise StreamsApiError("ValidationException", f"SequenceNumber is required for {kind}: "
                                                             "give the digits of a record's SequenceNumber")
            after = seq_key(seq) - (1 if kind == "AT_SEQUENCE_NUMBER" else 0)
        return {"ShardIterator": _encode(arn, args["ShardId"], after)}

    async def get_records(self, args: dict, since: float | None = None) -> dict:
        limit = int(args.get("Limit") or GET_RECORDS_MAX)
        if limit < 1:
            raise StreamsApiError("ValidationException", f"1 validation error detected: Value '{limit}' at 'limit' "
                                                         "failed to satisfy constraint: Member must have value "
                                                         "greater than or equal to 1")
        token = _decode(args.get("ShardIterator") or "")
        if time.time() - token["i"] >= ITERATOR_TTL_S:
            raise StreamsApiError("ExpiredIteratorException", "The shard iterator has expired and can no longer "
                                                              "be used to retrieve stream records.")
        arn, shard_id, after = token["a"], token["s"], token["p"]
        layout = await self.layout(arn)
        generation, index = self._locate(layout, shard_id)
        tail = await self._tail(arn, layout, since)
        wanted = self._member(layout, generation, index)
        limit = min(limit, GET_RECORDS_MAX)
        if tail.bookmarks and after < tail.cached_from():
            records, position = await tail.scan_evicted(after, wanted, limit)
            at_end = False
        else:
            records, position, at_end = tail.scan(after, wanted, limit, reader=shard_id)
        capped = _cap_bytes(records)
        if len(capped) < len(records):
            records, at_end = capped, False
            position = seq_key(records[-1]["dynamodb"]["SequenceNumber"])
        answer: dict[str, Any] = {"Records": records}
        if not (at_end and self._closed(layout, tail, generation)):
            answer["NextShardIterator"] = _encode(arn, shard_id, position)
        return answer

    # --- layouts --------------------------------------------------------------------------------

    async def layout(self, stream_arn: str, desc: dict | None = None) -> ShardLayout:
        """The stream's layout: fixed the first time the view sees the stream, kept across restarts."""
        known = self._layouts.get(stream_arn)
        if known is not None:
            return known
        desc = desc or (await self._upstream_description({"StreamArn": stream_arn}))
        table_arn = stream_arn.split("/stream/", 1)[0]
        table, tags = {}, {}
        try:
            table = (await self._table_call("DescribeTable", {"TableName": desc["TableName"]}, stream_arn))["Table"]
            answer = await self._table_call("ListTagsOfResource", {"ResourceArn": table_arn}, stream_arn)
            tags = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}
        except UpstreamStreamsError as exc:
            log.warning("%s: table not readable (%s); using the on-demand layout", stream_arn, exc.message)
        try:
            layout = layout_for(table, tags, _created_ms(stream_arn, desc))
        except ConfigError as exc:
            raise StreamsApiError("ValidationException", f"{table_arn}: {exc}") from exc
        self._layouts[stream_arn] = layout
        self._save_layouts()
        return layout

    def _load_layouts(self) -> dict[str, ShardLayout]:
        if self._layouts_file is None or not self._layouts_file.exists():
            return {}
        try:
            return {arn: ShardLayout.from_json(v) for arn, v in json.loads(self._layouts_file.read_text()).items()}
        except (ValueError, KeyError, TypeError) as exc:
            log.error("%s unreadable (%s); stream layouts start afresh", self._layouts_file, exc)
            return {}

    def _save_layouts(self) -> None:
        if self._layouts_file is not None:
            self._layouts_file.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self._layouts_file,
                             json.dumps({a: lay.to_json() for a, lay in self._layouts.items()}, sort_keys=True))

    # --- shards -------------------------------------------------------------------------------

    async def _tail(self, stream_arn: str, layout: ShardLayout, since: float | None = None) -> StreamTail:
        """The stream's reader, read on so that with `since` (when the call was made) every record
        written before it is there; without, what MiniStack had up to REFRESH_INTERVAL_S ago (the
        ESM's pollers, which read on anyway, share one read of MiniStack per interval)."""
        tail = self._tails.get(stream_arn)
        if tail is None:
            count = layout.count
            tail = StreamTail(stream_arn, lambda op, args: self._streams_call(op, args, stream_arn),
                              lambda record: shard_index(record["dynamodb"].get("Keys") or {}, count))
            self._tails[stream_arn] = tail
        try:
            await tail.refresh(since)
        except UpstreamStreamsError as exc:
            raise StreamsApiError(exc.code, exc.message) from exc
        return tail

    def _generations(self, layout: ShardLayout, tail: StreamTail) -> range:
        if not layout.rollover_s:
            return range(0, 1)
        oldest = tail.bookmarks[0] if tail.bookmarks else (
            tail.records[0]["dynamodb"]["SequenceNumber"] if tail.records else None)
        newest_ms = (seq_millis(tail.records[-1]["dynamodb"]["SequenceNumber"]) if tail.closed and tail.records
                     else int(time.time() * 1000))
        last = layout.generation(newest_ms)
        first = layout.generation(seq_millis(oldest)) if oldest else last
        return range(first, last + 1)

    def _shards(self, layout: ShardLayout, tail: StreamTail) -> list[dict]:
        generations = self._generations(layout, tail)
        ends = self._last_sequence_numbers(layout, tail, generations)
        shards = []
        for generation in generations:
            for index in range(layout.count):
                shard: dict[str, Any] = {
                    "ShardId": layout.shard_id(generation, index),
                    "SequenceNumberRange": {"StartingSequenceNumber": _floor_seq(
                        layout.generation_start_ms(generation))},
                }
                if generation > 0:
                    shard["ParentShardId"] = layout.shard_id(generation - 1, index)
                if self._closed(layout, tail, generation):
                    shard["SequenceNumberRange"]["EndingSequenceNumber"] = ends.get(
                        (generation, index), shard["SequenceNumberRange"]["StartingSequenceNumber"])
                shards.append(shard)
        return shards

    def _last_sequence_numbers(self, layout: ShardLayout, tail: StreamTail,
                               generations: range) -> dict[tuple[int, int], str]:
        closing = [g for g in generations if self._closed(layout, tail, g)]
        if not closing:
            return {}
        ends: dict[tuple[int, int], str] = {}
        for record, index in zip(tail.records, tail.shards):
            seq = record["dynamodb"]["SequenceNumber"]
            ends[(layout.generation(seq_millis(seq)), index)] = seq
        return ends

    def _closed(self, layout: ShardLayout, tail: StreamTail, generation: int) -> bool:
        """A shard is closed when its stream is, or when its period ended and the tail has read past it."""
        if tail.closed:
            return True
        end = layout.generation_end_ms(generation)
        return end is not None and tail.refreshed_at * 1000 >= end + CLOSE_MARGIN_MS

    def _locate(self, layout: ShardLayout, shard_id: str) -> tuple[int, int]:
        """(generation, index) of a shard id of this stream; ResourceNotFoundException otherwise."""
        parts = shard_id.split("-")
        if len(parts) != 3 or parts[0] != "shardId" or not parts[1].isdigit():
            raise _shard_not_found()
        start_ms = int(parts[1])
        generation = 0
        if layout.rollover_s:
            generation = layout.generation(start_ms)
        if layout.generation_start_ms(generation) != start_ms:
            raise _shard_not_found()
        for index in range(layout.count):
            if layout.shard_id(generation, index) == shard_id:
                return generation, index
        raise _shard_not_found()

    @staticmethod
    def _member(layout: ShardLayout, generation: int, index: int):
        if not layout.rollover_s:
            return lambda record, shard: shard == index
        return lambda record, shard: shard == index and layout.generation(
            seq_millis(record["dynamodb"]["SequenceNumber"])) == generation

    async def _upstream_description(self, args: dict) -> dict:
        arn = args.get("StreamArn")
        if not arn:
            raise StreamsApiError("ValidationException", "StreamArn is required")
        try:
            desc = (await self._streams_call("DescribeStream", {"StreamArn": arn}, arn))["StreamDescription"]
        except UpstreamStreamsError as exc:
            raise StreamsApiError(exc.code, exc.message) from exc
        desc.pop("Shards", None)
        return desc


def _created_ms(stream_arn: str, desc: dict) -> int:
    """When the stream began: its label (ISO time, UTC, as in the ARN), else the table's creation."""
    label = desc.get("StreamLabel") or stream_arn.rsplit("/", 1)[-1]
    try:
        return int(datetime.fromisoformat(label).replace(tzinfo=timezone.utc).timestamp() * 1000)
    except ValueError:
        return int(float(desc.get("CreationRequestDateTime") or 0) * 1000)


def _encode(stream_arn: str, shard_id: str, after: int) -> str:
    payload = json.dumps({"a": stream_arn, "s": shard_id, "p": after, "i": time.time()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii")


def _decode(token: str) -> dict:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        if isinstance(data, dict) and {"a", "s", "p", "i"} <= data.keys():
            return data
    except (ValueError, UnicodeError):
        pass
    raise StreamsApiError("ValidationException", "ShardIterator is not valid: pass back a NextShardIterator "
                                                 "or ShardIterator exactly as it was returned")


def _cap_bytes(records: list[dict]) -> list[dict]:
    """S6: a page stops before the record that would pass 1 MB."""
    total = 0
    for i, record in enumerate(records):
        total += len(json.dumps(record, separators=(",", ":"), default=str))
        if i and total > GET_RECORDS_MAX_BYTES:
            return records[:i]
    return records
