"""E4 lanes (esm/lanes.py) with a stand-in poller: the checkpoint never passes an unfinished record."""
from __future__ import annotations

import asyncio

from streamlab.localstack.esm.event import key_lane
from streamlab.localstack.esm.lanes import LaneRunner
from streamlab.localstack.esm.mapping import Mapping


class FakePoller:
    """Records what the runner asks of the poller; each batch finishes when the test says so."""

    closed = False

    def __init__(self) -> None:
        self.started: list[list[str]] = []
        self.release: dict[str, asyncio.Event] = {}
        self.checkpoints: list[str] = []

    async def _deliver(self, records: list[dict]) -> None:
        ids = [r["dynamodb"]["Keys"]["id"]["S"] for r in records]
        self.started.append(ids)
        await self.release.setdefault(ids[0], asyncio.Event()).wait()

    def _checkpoint_after(self, seq: str) -> None:
        self.checkpoints.append(seq)


def _record(key: str, seq: int) -> dict:
    return {"dynamodb": {"Keys": {"id": {"S": key}}, "SequenceNumber": f"{seq:030d}"}}


def _key_in_lane(lane: int, lanes: int, skip: int = 0) -> str:
    found = [k for k in (f"k{i}" for i in range(200)) if key_lane(_record(k, 0), lanes) == lane]
    return found[skip]


def test_E4_checkpoint_waits_for_the_slow_lane_and_a_key_never_runs_twice_at_once():
    async def main():
        poller = FakePoller()
        runner = LaneRunner(poller)  # type: ignore[arg-type]
        mapping = Mapping(uuid="u", event_source_arn="arn:s", function_name="f", function_arn="arn:f",
                          starting_position="TRIM_HORIZON", batch_size=1)
        slow, fast = _key_in_lane(0, 2), _key_in_lane(1, 2)
        runner.take([_record(slow, 1), _record(fast, 2), _record(fast, 3), _record(slow, 4)], lanes=2)
        runner.start_ready(mapping)
        await asyncio.sleep(0)
        assert sorted(poller.started) == sorted([[slow], [fast]])  # one batch per lane at once
        poller.release.setdefault(fast, asyncio.Event()).set()  # the fast lane finishes its batches
        for _ in range(5):
            await asyncio.sleep(0)
            runner.start_ready(mapping)
            runner.advance_checkpoint()
        assert [slow] in poller.started and poller.started.count([slow]) == 1  # the slow key waits its turn
        assert poller.checkpoints == []  # record 1 (slow) is unfinished: nothing is checkpointed past it
        poller.release[slow].set()
        for _ in range(5):
            await asyncio.sleep(0)
            runner.start_ready(mapping)
            runner.advance_checkpoint()
        assert poller.checkpoints[-1] == f"{4:030d}" and runner.in_flight() == 0
        assert poller.started.count([slow]) == 2 and poller.started.count([fast]) == 2

    asyncio.run(main())
