"""Delivery: event shape, cadence, batching, starting position, filters, parallelization (S1-S3, E1-E4, E11, E13)."""
from __future__ import annotations

import time

from .esm_helpers import wait_for, wait_state


def test_E1_S1_S3_records_arrive_in_order_in_lambda_shape(pipeline_factory):
    pipe = pipeline_factory()
    pipe.mapping()
    for i in range(5):
        pipe.put(f"r{i}", n=i)
    ids = wait_for(lambda: len(pipe.delivered_ids()) >= 5 and pipe.delivered_ids(), what="5 records")
    assert ids == [f"r{i}" for i in range(5)]
    record = pipe.invocations()[0]["event"]["Records"][0]
    assert record["eventSourceARN"] == pipe.stream_arn
    assert (record["eventName"], record["eventSource"], record["awsRegion"]) == ("INSERT", "aws:dynamodb", "us-east-1")
    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, float) and created == int(created) and abs(created - time.time()) < 300
    assert record["dynamodb"]["Keys"] == {"id": {"S": "r0"}}
    assert record["dynamodb"]["NewImage"] == {"id": {"S": "r0"}, "n": {"N": "0"}}
    assert "OldImage" not in record["dynamodb"]
    assert 21 <= len(record["dynamodb"]["SequenceNumber"]) <= 40
    assert record["dynamodb"]["SizeBytes"] > 0 and record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_E1_invocations_are_synchronous_one_at_a_time_per_shard(pipeline_factory):
    pipe = pipeline_factory("time.sleep(0.3)")
    pipe.mapping(BatchSize=1)
    for i in range(4):
        pipe.put(f"r{i}")
    invs = wait_for(lambda: len(pipe.invocations()) >= 4 and pipe.invocations(), what="4 invocations")
    # Each invocation starts only after the previous one returned.
    assert all(b["t0"] >= a["at"] for a, b in zip(invs, invs[1:])), [(i["t0"], i["at"]) for i in invs]


def test_E2_batch_size_caps_each_invocation(pipeline_factory):
    pipe = pipeline_factory()
    for i in range(7):
        pipe.put(f"r{i}")
    pipe.mapping(BatchSize=3)
    wait_for(lambda: len(pipe.delivered_ids()) >= 7, what="7 records")
    sizes = [len(inv["ids"]) for inv in pipe.invocations()]
    assert max(sizes) <= 3 and sum(sizes) == 7 and sizes[0] == 3


def test_E2_batching_window_gathers_records(pipeline_factory):
    pipe = pipeline_factory()
    pipe.mapping(BatchSize=100, MaximumBatchingWindowInSeconds=4)
    for i in range(3):
        pipe.put(f"r{i}")
    wait_for(lambda: len(pipe.delivered_ids()) >= 3, what="3 records")
    assert [inv["ids"] for inv in pipe.invocations()] == [["r0", "r1", "r2"]]


def test_E3_latest_skips_earlier_records_trim_horizon_reads_them(pipeline_factory):
    pipe = pipeline_factory()
    pipe.put("before")
    made = pipe.lam.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName=pipe.function,
                                                StartingPosition="LATEST")
    pipe.mappings.append(made["UUID"])
    pipe.put("after")  # at once: LATEST was fixed when Create answered (CHOSEN, see chosen.py)
    wait_for(lambda: "after" in pipe.delivered_ids(), what="record written after the mapping")
    assert pipe.delivered_ids() == ["after"]

    other = pipeline_factory()
    other.put("before")
    other.mapping(StartingPosition="TRIM_HORIZON")
    wait_for(lambda: other.delivered_ids() == ["before"], what="older record from TRIM_HORIZON")


def test_E11_filter_criteria_skip_unmatched_records_for_good(pipeline_factory):
    pipe = pipeline_factory()
    pattern = '{"dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}, "eventName": ["INSERT"]}'
    pipe.mapping(FilterCriteria={"Filters": [{"Pattern": pattern}]})
    pipe.put("a", kind="keep")
    pipe.put("b", kind="drop")
    pipe.put("c", kind="keep")
    pipe.put("a", kind="keep", extra="modify")  # MODIFY: filtered out by eventName
    pipe.put("d", kind="drop")
    wait_for(lambda: pipe.delivered_ids() == ["a", "c"], what="only matching records")
    pipe.put("z", kind="keep")  # the sentinel must pass the filter to be seen
    wait_for(lambda: pipe.delivered_ids()[-1:] == ["z"], what="the sentinel record")
    assert pipe.delivered_ids() == ["a", "c", "z"]


def test_E11_filters_are_ORed_and_support_prefix(pipeline_factory):
    pipe = pipeline_factory()
    pipe.mapping(FilterCriteria={"Filters": [
        {"Pattern": '{"dynamodb": {"Keys": {"id": {"S": [{"prefix": "x-"}]}}}}'},
        {"Pattern": '{"dynamodb": {"NewImage": {"kind": {"S": ["keep"]}}}}'},
    ]})
    for item_id, kind in (("x-1", "no"), ("y-1", "keep"), ("y-2", "no"), ("x-2", "no")):
        pipe.put(item_id, kind=kind)
    wait_for(lambda: pipe.delivered_ids() == ["x-1", "y-1", "x-2"], what="records matching either filter")


def test_E4_parallelization_keeps_per_key_order(pipeline_factory):
    pipe = pipeline_factory("time.sleep(0.3)")
    for round_ in range(4):
        for key in range(6):
            pipe.put(f"k{key}", v=round_)
    pipe.mapping(BatchSize=2, ParallelizationFactor=3)
    wait_for(lambda: len(pipe.delivered_ids()) >= 24, what="24 records")
    seen: dict[str, list[int]] = {}
    for inv in pipe.invocations():
        for rec in inv["event"]["Records"]:
            image = rec["dynamodb"]["NewImage"]
            seen.setdefault(image["id"]["S"], []).append(int(image["v"]["N"]))
    assert seen == {f"k{k}": [0, 1, 2, 3] for k in range(6)}
    # Lanes ran at once: some invocations overlapped in time.
    invs = pipe.invocations()
    assert any(a["t0"] < b["at"] and b["t0"] < a["at"] for i, a in enumerate(invs) for b in invs[i + 1:])


def test_E13_disable_pauses_and_enable_resumes_from_checkpoint(pipeline_factory):
    pipe = pipeline_factory()
    made = pipe.mapping()
    pipe.put("r0")
    wait_for(lambda: pipe.delivered_ids() == ["r0"], what="first record")
    pipe.lam.update_event_source_mapping(UUID=made["UUID"], Enabled=False)
    wait_state(pipe.lam, made["UUID"], "Disabled")
    pipe.put("r1")
    pipe.put("r2")
    enabled_at = time.time()
    pipe.lam.update_event_source_mapping(UUID=made["UUID"], Enabled=True)
    wait_for(lambda: pipe.delivered_ids() == ["r0", "r1", "r2"], what="records written while disabled")
    # Nothing was delivered while disabled: every invocation with r1 or r2 began after Enabled=True.
    later = [inv for inv in pipe.invocations() if {"r1", "r2"} & set(inv["ids"])]
    assert later and min(inv["t0"] for inv in later) >= enabled_at
