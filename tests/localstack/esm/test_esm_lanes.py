"""E4: ParallelizationFactor > 1 runs independent lanes; S6: the mapping reads every shard.

Over the wire on the local stack: what the handler logged is what the ESM delivered.
"""
from __future__ import annotations

import time

from streamlab.localstack.esm.event import key_lane
from streamlab.localstack.streams.layout import shard_index

from .esm_helpers import FAIL_ONCE_ON, wait_for


def _keys_in_lanes(lanes: int, wanted_lane: int, count: int, other: bool = False) -> list[str]:
    """Item ids whose records go to `wanted_lane` (or to any other lane with other=True)."""
    out, i = [], 0
    while len(out) < count:
        key = f"k{i}"
        lane = key_lane({"dynamodb": {"Keys": {"id": {"S": key}}}}, lanes)
        if (lane != wanted_lane) if other else (lane == wanted_lane):
            out.append(key)
        i += 1
    return out


def _successful_versions(pipe) -> dict[str, list[int]]:
    """Per item, the versions of its records in the order the handler finished them without error."""
    seen: dict[str, list[int]] = {}
    for inv in pipe.invocations():
        if inv["error"]:
            continue
        for rec in inv["event"]["Records"]:
            image = rec["dynamodb"]["NewImage"]
            seen.setdefault(image["id"]["S"], []).append(int(image["v"]["N"]))
    return seen


def test_E4_a_slow_lane_does_not_hold_the_others(pipeline_factory):
    lanes = 3
    slow = _keys_in_lanes(lanes, 0, 1)[0]
    others = _keys_in_lanes(lanes, key_lane({"dynamodb": {"Keys": {"id": {"S": slow}}}}, lanes), 6, other=True)
    pipe = pipeline_factory(f"if ids == [{slow!r}]: time.sleep(8)")
    pipe.mapping(BatchSize=1, ParallelizationFactor=lanes)
    pipe.put(slow, v=0)
    time.sleep(1.5)  # the slow batch is under way (polls every 250 ms, E1)
    for key in others:
        pipe.put(key, v=0)
    wait_for(lambda: len(pipe.delivered_ids()) >= 7, what="all 7 records")
    finished = {inv["ids"][0]: inv["at"] for inv in pipe.invocations()}
    # In lock-step rounds the others would wait for the slow batch's round to end.
    assert all(finished[key] < finished[slow] for key in others), finished


def test_E4_per_key_order_holds_under_retries_and_bisect(pipeline_factory):
    pipe = pipeline_factory(FAIL_ONCE_ON.format(v=2))  # every key's version 2 fails its first batch
    keys, versions = 8, 5
    pipe.mapping(BatchSize=4, ParallelizationFactor=4, BisectBatchOnFunctionError=True)
    for v in range(versions):
        for k in range(keys):
            pipe.put(f"k{k}", v=v)
    wait_for(lambda: {k: sorted(set(v)) for k, v in _successful_versions(pipe).items()}
             == {f"k{k}": list(range(versions)) for k in range(keys)}, timeout=120, what="every record processed")
    for key, done in _successful_versions(pipe).items():
        # At least once (E1): a record may succeed twice, but a key never goes back to an older
        # version once a newer one succeeded.
        assert done == sorted(done), f"{key} out of order: {done}"
    failed = {(rec["dynamodb"]["NewImage"]["id"]["S"], rec["dynamodb"]["NewImage"]["v"]["N"])
              for inv in pipe.invocations() if inv["error"] for rec in inv["event"]["Records"]}
    assert {(f"k{k}", "2") for k in range(keys)} <= failed, failed  # each key's version 2 failed a batch


def test_S6_mapping_reads_every_shard_in_per_key_order_and_loses_nothing(pipeline_factory):
    pipe = pipeline_factory(shards=4)
    keys, versions = 30, 3
    for v in range(versions):
        for k in range(keys):
            pipe.put(f"k{k}", v=v)
    pipe.mapping(BatchSize=10)
    wait_for(lambda: len(pipe.delivered_ids()) >= keys * versions, what="every record")
    seen = _successful_versions(pipe)
    assert seen == {f"k{k}": list(range(versions)) for k in range(keys)}  # all, once, in order per key
    # A batch comes from one shard; the mapping polled all four.
    shards_of_batches = [{shard_index(r["dynamodb"]["Keys"], 4) for r in inv["event"]["Records"]}
                         for inv in pipe.invocations()]
    assert all(len(s) == 1 for s in shards_of_batches)
    assert set().union(*shards_of_batches) == {0, 1, 2, 3}
