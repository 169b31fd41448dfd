"""E4: with ParallelizationFactor > 1, a shard's batches run in independent lanes.

Each record goes to the lane of its key hash (`event.key_lane`), so one item's records are
handled by one lane, one batch after another, in stream order, through retries and bisection.
Lanes do not wait for each other: a slow or failing batch holds up only its own lane. The shard's
checkpoint moves past a record only when it and every record before it are finished, whichever
lane they were in, so a restart never skips a record an unfinished lane still holds.

Tumbling windows (E12) keep the round-by-round delivery of shard.py, where a window's state is
one sequence of invocations.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streamlab.localstack.esm.event import MAX_PAYLOAD_BYTES, key_lane, payload_bytes, record_size, sequence_number
from streamlab.localstack.esm.mapping import Mapping

if TYPE_CHECKING:
    from streamlab.localstack.esm.shard import ShardPoller


def uses_lanes(mapping: Mapping) -> bool:
    return mapping.parallelization_factor > 1 and not mapping.tumbling_window_in_seconds


@dataclass
class Slot:
    """A record handed to a lane, and whether its lane is done with it."""

    record: dict
    done: bool = False


@dataclass
class Lane:
    waiting: deque = field(default_factory=deque)  # of Slot, in stream order
    since: float = 0.0  # when the oldest waiting record arrived (batching window, E2)
    task: asyncio.Task | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()


def next_batch(lane: Lane, batch_size: int) -> list[Slot]:
    """The lane's next batch: up to BatchSize records and 6 MB of payload (E2)."""
    batch: list[Slot] = []
    size = payload_bytes(())
    while lane.waiting and len(batch) < batch_size:
        grow = record_size(lane.waiting[0].record)
        if batch and size + grow > MAX_PAYLOAD_BYTES:
            break
        batch.append(lane.waiting.popleft())
        size += grow
    return batch


class LaneRunner:
    """Runs one shard's records through `ParallelizationFactor` independent lanes."""

    def __init__(self, poller: "ShardPoller") -> None:
        self.poller = poller
        self.order: deque[Slot] = deque()  # every record handed out and not yet checkpointed past
        self.lanes: list[Lane] = []

    def in_flight(self) -> int:
        return len(self.order)

    def take(self, records: list[dict], lanes: int) -> None:
        """Hand fetched records to their lanes."""
        self._resize(lanes)
        now = time.monotonic()
        for record in records:
            slot = Slot(record)
            lane = self.lanes[key_lane(record, len(self.lanes))]
            if not lane.waiting:
                lane.since = now
            lane.waiting.append(slot)
            self.order.append(slot)

    def _resize(self, lanes: int) -> None:
        """A changed ParallelizationFactor re-deals waiting records once no lane is busy."""
        if len(self.lanes) == lanes or any(lane.busy for lane in self.lanes):
            return
        waiting = [slot for slot in self.order if not slot.done]
        self.lanes = [Lane() for _ in range(lanes)]
        now = time.monotonic()
        for slot in waiting:
            lane = self.lanes[key_lane(slot.record, lanes)]
            if not lane.waiting:
                lane.since = now
            lane.waiting.append(slot)

    def start_ready(self, mapping: Mapping) -> None:
        """Start a batch in every idle lane whose batch is ready (E2: size, window or 6 MB)."""
        window = mapping.maximum_batching_window_in_seconds
        for lane in self.lanes:
            if lane.busy or not lane.waiting:
                continue
            ready = (window == 0 or len(lane.waiting) >= mapping.batch_size or self.poller.closed
                     or time.monotonic() - lane.since >= window
                     or payload_bytes(s.record for s in lane.waiting) >= MAX_PAYLOAD_BYTES)
            if ready:
                batch = next_batch(lane, mapping.batch_size)
                lane.task = asyncio.create_task(self._run(batch))
                lane.since = time.monotonic()

    async def _run(self, batch: list[Slot]) -> None:
        await self.poller._deliver([slot.record for slot in batch])
        for slot in batch:
            slot.done = True

    def advance_checkpoint(self) -> None:
        """Move the checkpoint past the finished prefix of the stream (never past an unfinished record)."""
        last = None
        while self.order and self.order[0].done:
            last = self.order.popleft()
        if last is not None:
            self.poller._checkpoint_after(sequence_number(last.record))

    def raise_failures(self) -> None:
        """A lane that crashed (a bug, not a function error) stops the poller; it restarts from the checkpoint."""
        for lane in self.lanes:
            if lane.task is not None and lane.task.done() and not lane.task.cancelled() and lane.task.exception():
                raise lane.task.exception()  # type: ignore[misc]

    async def wait(self, timeout: float) -> None:
        """Until a lane finishes or `timeout` passes."""
        busy = [lane.task for lane in self.lanes if lane.busy]
        if busy:
            await asyncio.wait(busy, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        else:
            await asyncio.sleep(timeout)

    async def drain(self) -> list[dict]:
        """Let busy lanes finish; return the records no lane has started, in stream order."""
        busy = [lane.task for lane in self.lanes if lane.busy]
        if busy:
            await asyncio.gather(*busy)
        self.advance_checkpoint()
        rest = [slot.record for slot in self.order if not slot.done]
        self.order.clear()
        self.lanes = []
        return rest

    def cancel(self) -> None:
        for lane in self.lanes:
            if lane.task is not None:
                lane.task.cancel()
