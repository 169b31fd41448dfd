"""How a stream is cut into shards: how many, which shard a record belongs to, their ids (S6).

DynamoDB Streams on AWS has one shard per table partition. A new on-demand table can take up to
4,000 writes per second at once, and a partition takes 1,000 write units per second, so it starts
with at least 4 partitions (S7, docs/streams.md). A provisioned table has
max(WCU / 1,000, RCU / 3,000) partitions. The local stack follows that by default; a table tag
overrides it:

    streamlab:stream-shards            1..64  shards of the table's stream
    streamlab:stream-rollover-seconds  0 (never, the default) or >= 1: every shard closes after this
                                       period and a child shard takes over its keys

A record's shard is a hash of its partition key, so every record of one item lands in one shard
and keeps its order there. The layout of a stream is fixed when the view first sees it.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

from streamlab.errors import ConfigError
from streamlab.target import STREAM_SHARDS_TAG

SHARDS_TAG = STREAM_SHARDS_TAG
ROLLOVER_TAG = "streamlab:stream-rollover-seconds"
ON_DEMAND_SHARDS = 4  # 4,000 WRU/s initial on-demand throughput / 1,000 WCU per partition (docs/streams.md)
MAX_SHARDS = 64
WCU_PER_PARTITION, RCU_PER_PARTITION = 1000, 3000


@dataclass(frozen=True)
class ShardLayout:
    """The shards of one stream: `count` per generation, a new generation every `rollover_s` (0 = never)."""

    count: int
    created_ms: int
    rollover_s: int = 0

    def generation(self, epoch_ms: int) -> int:
        if not self.rollover_s:
            return 0
        return max(0, (epoch_ms - self.created_ms) // (self.rollover_s * 1000))

    def generation_start_ms(self, generation: int) -> int:
        return self.created_ms + generation * self.rollover_s * 1000

    def generation_end_ms(self, generation: int) -> int | None:
        """When the shards of `generation` close; None while they never do."""
        return self.generation_start_ms(generation + 1) if self.rollover_s else None

    def shard_id(self, generation: int, index: int) -> str:
        """An AWS-shaped id: `shardId-<20-digit start ms>-<8 hex>`, stable for the stream's life."""
        tag = hashlib.sha1(f"{self.created_ms}/{generation}/{index}".encode()).hexdigest()[:8]
        return f"shardId-{self.generation_start_ms(generation):020d}-{tag}"

    def to_json(self) -> dict:
        return {"count": self.count, "created_ms": self.created_ms, "rollover_s": self.rollover_s}

    @classmethod
    def from_json(cls, data: dict) -> "ShardLayout":
        return cls(int(data["count"]), int(data["created_ms"]), int(data.get("rollover_s", 0)))


def shard_index(keys: dict, count: int) -> int:
    """The shard of a record: a stable hash of its partition key (the whole primary key, which
    contains it, gives the same grouping per item and needs no key schema)."""
    if count == 1:
        return 0
    text = json.dumps(keys, sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big") % count


def default_shard_count(table: dict) -> int:
    """Partitions of a new table as AWS sizes it: on-demand 4, provisioned by its capacity."""
    mode = (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
    if mode == "PAY_PER_REQUEST":
        return ON_DEMAND_SHARDS
    throughput = table.get("ProvisionedThroughput") or {}
    wcu, rcu = int(throughput.get("WriteCapacityUnits") or 0), int(throughput.get("ReadCapacityUnits") or 0)
    if not wcu and not rcu:
        return ON_DEMAND_SHARDS
    return max(1, min(MAX_SHARDS, max(math.ceil(wcu / WCU_PER_PARTITION), math.ceil(rcu / RCU_PER_PARTITION))))


def layout_for(table: dict, tags: dict[str, str], created_ms: int) -> ShardLayout:
    """The layout of a table's stream from its description and tags; ConfigError for a bad tag."""
    count = default_shard_count(table)
    if SHARDS_TAG in tags:
        count = _int_tag(tags, SHARDS_TAG, 1, MAX_SHARDS)
    rollover = _int_tag(tags, ROLLOVER_TAG, 0, 24 * 60 * 60) if ROLLOVER_TAG in tags else 0
    return ShardLayout(count=count, created_ms=created_ms, rollover_s=rollover)


def _int_tag(tags: dict[str, str], name: str, low: int, high: int) -> int:
    value = tags[name]
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if not low <= number <= high:
        raise ConfigError(f"table tag {name}={value!r}: use a whole number from {low} to {high}")
    return number
