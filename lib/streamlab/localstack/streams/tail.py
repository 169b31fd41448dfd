"""One reader of MiniStack's single stream shard, shared by every shard of the view.

MiniStack keeps each stream as one ordered list (one synthetic shard). The tail reads it once,
keeps the newest records in memory and answers every shard's reads from there, so N shards cost
one GetRecords loop, not N. Records older than the memory keeps are read again from MiniStack
when a slow reader asks for them.

What it relies on from MiniStack 1.5.33 (held by tests/localstack/esm/test_ministack_stream_pins.py):
sequence numbers are 30 digits (20 of epoch ms + a 10-digit counter), so they rise with time and
compare as integers; AFTER_SEQUENCE_NUMBER needs a sequence number that exists; a closed stream
(table deleted, stream disabled) answers GetRecords without NextShardIterator at its end.
"""
from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

PAGE = 1000
# Readers poll 4x a second (E1); one refresh serves every shard that asks within this time.
# A client's call asks for one that started after it (StreamView._tail).
REFRESH_INTERVAL_S = 0.05
# Memory keeps at least this many records, more while an active reader still needs them, never
# more than the hard cap (then slow readers read MiniStack again, `scan_evicted`).
MAX_CACHED = 50_000
HARD_CAP = 400_000
EVICT_CHUNK = 10_000
READER_ACTIVE_S = 60.0
MAX_PAGES_PER_REFRESH = 20

# (operation, arguments) -> the JSON answer of MiniStack's DynamoDB Streams API
StreamsCall = Callable[[str, dict], Awaitable[dict]]


class UpstreamStreamsError(Exception):
    """MiniStack refused a Streams call; `code` is its error type."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def seq_key(seq: str) -> int:
    return int(seq) if seq.isdigit() else -1


def seq_millis(seq: str) -> int:
    """The epoch milliseconds a MiniStack sequence number starts with (0 if it has another form)."""
    return int(seq[:20]) if len(seq) == 30 and seq.isdigit() else 0


@dataclass
class StreamTail:
    """The newest records of one stream, in stream order, with the shard of each."""

    stream_arn: str
    call: StreamsCall
    shard_of: Callable[[dict], int]
    records: list[dict] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)  # seq_key of each record, for bisect
    shards: list[int] = field(default_factory=list)
    bookmarks: list[str] = field(default_factory=list)  # last sequence number of each evicted chunk
    readers: dict[Any, tuple[int, float]] = field(default_factory=dict)  # reader -> (position, when)
    closed: bool = False
    refreshed_at: float = 0.0  # wall clock of the last read that reached the end
    _iterator: str | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self, since: float | None = None) -> None:
        """Read what MiniStack has added since the last read, unless a read that started at or
        after `since` (by default REFRESH_INTERVAL_S ago) already did: callers asking at once share
        one read, and one that passes the time it was asked sees every record written before."""
        async with self._lock:
            fresh_from = time.time() - REFRESH_INTERVAL_S if since is None else since
            if self.closed or self.refreshed_at >= fresh_from:
                return
            started = time.time()
            for _ in range(MAX_PAGES_PER_REFRESH):
                page = await self._page()
                if page is None:
                    return
                if len(page) < PAGE:
                    break
            self.refreshed_at = started
            self._evict()

    async def _page(self) -> list[dict] | None:
        if self._iterator is None:
            self._iterator = await self._iterator_after(self.records[-1]["dynamodb"]["SequenceNumber"]
                                                        if self.records else None)
        try:
            answer = await self.call("GetRecords", {"ShardIterator": self._iterator, "Limit": PAGE})
        except UpstreamStreamsError as exc:
            if exc.code == "ExpiredIteratorException" and not self.closed:
                self._iterator = None
                return []
            raise
        page = answer.get("Records", [])
        for record in page:
            self._append(record)
        self._iterator = answer.get("NextShardIterator")
        if self._iterator is None:
            self.closed = True
            self.refreshed_at = time.time()
            return None
        return page

    async def _iterator_after(self, seq: str | None) -> str:
        try:
            return await self._read_from(seq)
        except UpstreamStreamsError as exc:
            if exc.code != "TrimmedDataAccessException":
                raise
            # Our newest record aged out of MiniStack (24 h, S5): everything we hold is older
            # than what remains, so start over at the oldest record left.
            self._clear()
            return await self._read_from(None)

    async def _upstream_shard(self) -> str:
        desc = (await self.call("DescribeStream", {"StreamArn": self.stream_arn}))["StreamDescription"]
        return desc["Shards"][0]["ShardId"] if desc.get("Shards") else "shardId-00000000000000000000-00000000"

    def _append(self, record: dict) -> None:
        self.records.append(record)
        self.keys.append(seq_key(record["dynamodb"]["SequenceNumber"]))
        self.shards.append(self.shard_of(record))

    def _clear(self) -> None:
        self.records, self.keys, self.shards, self.bookmarks = [], [], [], []

    def _evict(self) -> None:
        now = time.time()
        active = [pos for pos, seen in self.readers.values() if now - seen < READER_ACTIVE_S]
        needed = bisect.bisect_right(self.keys, min(active)) if active else len(self.records)
        while len(self.records) > HARD_CAP or (len(self.records) > MAX_CACHED and needed >= EVICT_CHUNK):
            needed -= EVICT_CHUNK
            self.bookmarks.append(self.records[EVICT_CHUNK - 1]["dynamodb"]["SequenceNumber"])
            del self.records[:EVICT_CHUNK], self.keys[:EVICT_CHUNK], self.shards[:EVICT_CHUNK]

    # --- reading ------------------------------------------------------------------------------

    def cached_from(self) -> int:
        """The sequence key of the oldest record in memory (-1: nothing was evicted)."""
        return -1 if not self.bookmarks else seq_key(self.bookmarks[-1])

    def scan(self, after: int, wanted: Callable[[dict, int], bool], limit: int,
             reader: Any = None) -> tuple[list[dict], int, bool]:
        """Records after sequence key `after` that `wanted(record, shard)` keeps, at most `limit`.

        Returns (records, the sequence key to continue after, whether the cache's end was reached).
        `reader` (e.g. the shard id) marks that position as still needed in memory.
        """
        if reader is not None:
            self.readers[reader] = (after, time.time())
        start = bisect.bisect_right(self.keys, after)
        out: list[dict] = []
        position = after
        for i in range(start, len(self.records)):
            if wanted(self.records[i], self.shards[i]):
                if len(out) >= limit:
                    return out, position, False
                out.append(self.records[i])
            position = self.keys[i]
        return out, position, True

    async def scan_evicted(self, after: int, wanted: Callable[[dict, int], bool],
                           limit: int) -> tuple[list[dict], int]:
        """Like `scan`, for a position older than the memory: read MiniStack again from the
        closest bookmark before it (slow, for readers far behind)."""
        marks = [b for b in self.bookmarks if seq_key(b) <= after]
        iterator = await self._read_from(marks[-1] if marks else None)
        out: list[dict] = []
        position = after
        for _ in range(MAX_PAGES_PER_REFRESH):
            answer = await self.call("GetRecords", {"ShardIterator": iterator, "Limit": PAGE})
            page = answer.get("Records", [])
            for record in page:
                key = seq_key(record["dynamodb"]["SequenceNumber"])
                if key <= after:
                    continue
                if self.bookmarks and key > self.cached_from():
                    return out, position
                if wanted(record, self.shard_of(record)):
                    if len(out) >= limit:
                        return out, position
                    out.append(record)
                position = key
            iterator = answer.get("NextShardIterator")
            if not iterator or len(page) < PAGE:
                break
        return out, position

    async def _read_from(self, seq: str | None) -> str:
        args: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": await self._upstream_shard()}
        if seq is None:
            args["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            args.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=seq)
        return (await self.call("GetShardIterator", args))["ShardIterator"]
