"""The API's answers during MiniStack's snapshots, told apart from the rest (bench pipeline)."""
from __future__ import annotations

import logging

import pandas as pd

from streamlab.bench.snapshots import SnapshotWindow, snapshot_windows, split_by_snapshots
from streamlab.localstack.durable.ministack_main import SNAPSHOT_LOG_LINE


def test_the_windows_are_read_from_the_lines_the_snapshotter_logs(tmp_path):
    log = tmp_path / "ministack.log"
    handler = logging.FileHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("test.snapshots")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for started_at, written_ms, cpu_ms in ((1000.0, 500.0, 120.5), (1010.0, 2500.0, 300.0), (2000.0, 100.0, 40.0)):
            logger.info(SNAPSHOT_LOG_LINE, 3.2, written_ms, started_at, cpu_ms, 1234)
        logger.info("garbage collection of generation 2 held the process 60 ms (5 freed, 9 frozen)")
    finally:
        logger.removeHandler(handler)
        handler.close()

    assert snapshot_windows(log, since=1005.0, until=1100.0) == [(1010.0, 1012.5, 300.0)]
    assert snapshot_windows(log, since=0.0, until=3000.0) == [
        (1000.0, 1000.5, 120.5), (1010.0, 1012.5, 300.0), (2000.0, 2000.1, 40.0)]
    assert snapshot_windows(tmp_path / "no-such.log", 0.0, 1.0) == []


def test_answers_sent_while_a_snapshot_was_written_are_counted_apart():
    # Run started at epoch 1000; requests every 0.1 s, slow (80 ms) while a snapshot ran from 1002 to 1003.
    sent = [i / 10 for i in range(50)]
    service = [80.0 if 2.0 <= s <= 3.0 else 10.0 for s in sent]
    records = pd.DataFrame({"sent_s": sent, "done_s": [s + ms / 1000 for s, ms in zip(sent, service)],
                            "service_ms": service})
    records.loc[len(records)] = {"sent_s": 4.95, "done_s": float("nan"), "service_ms": float("nan")}  # unanswered

    split = split_by_snapshots(records, 1000.0, [SnapshotWindow(1002.0, 1003.0, 250.0)])

    assert split == {"count": 1, "writing_s": 1.0, "writer_cpu_s": 0.25, "requests_during": 11,
                     "requests_otherwise": 39, "service_p99_ms_during": 80.0, "service_p99_ms_otherwise": 10.0}
    # A log from before the writer's CPU was logged: the windows still count, the CPU is unknown.
    assert split_by_snapshots(records, 1000.0, [SnapshotWindow(1002.0, 1003.0)])["writer_cpu_s"] is None
    assert split_by_snapshots(records, 1000.0, [])["service_p99_ms_during"] is None
