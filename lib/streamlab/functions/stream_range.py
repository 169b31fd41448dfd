"""One shard's sequence-number range read back from a DynamoDB stream, page by page.

A GetRecords page may be empty while records further on exist: DynamoDB Streams says it "might
take multiple calls to get to a portion of the shard that contains stream records", and the local
stack's shard view answers so when a read goes back further than it keeps in memory. So an empty
page does not end the read. The range's last record does, or the end of
a closed shard, or EMPTY_PAGES_AT_TIP empty pages in a row (the tip of an open shard).

Bundled into each function's zip (the FailureHandler reads on-failure ranges with it) and used by
`streamlab.observe` for the same job from a notebook.
"""
from __future__ import annotations

from typing import Any

EMPTY_PAGES_AT_TIP = 5
PAGE_LIMIT = 1000  # GetRecords' own maximum


def read_range(streams: Any, iterator: str | None, end: str, max_pages: int = 1000) -> list[dict]:
    """The records from `iterator` (AT_SEQUENCE_NUMBER the range's start) to sequence number `end`,
    included, in order. `streams` is a DynamoDB Streams client; its errors reach the caller."""
    last = int(end)
    found: list[dict] = []
    empty_in_a_row = 0
    for _ in range(max_pages):
        if not iterator:
            break  # a closed shard's end
        page = streams.get_records(ShardIterator=iterator, Limit=PAGE_LIMIT)
        records = page.get("Records", [])
        for record in records:
            number = int(record["dynamodb"]["SequenceNumber"])
            if number > last:
                return found
            found.append(record)
            if number == last:
                return found
        empty_in_a_row = 0 if records else empty_in_a_row + 1
        if empty_in_a_row >= EMPTY_PAGES_AT_TIP:
            break
        iterator = page.get("NextShardIterator")
    return found
