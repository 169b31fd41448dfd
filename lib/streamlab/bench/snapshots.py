"""Which of a run's API answers came while MiniStack was writing a snapshot, and how slow they were.

A snapshot's writer is a fork of MiniStack that serialises the whole state; on a small machine its
CPU and the copy-on-write faults it causes slow MiniStack down while it runs. `bench pipeline`
reports the API's service time during those windows and outside them, so a p99 held up by
snapshots says so, and the writers' own CPU. Both come from the snapshot lines of
`logs/ministack.log` (the CPU from the writer's resource usage, as MiniStack logs it).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from streamlab.observe.stats import percentile

_LINE = re.compile(r"snapshot: event loop held [\d.]+ ms, written in ([\d.]+) ms \(started at ([\d.]+)\)"
                   r"(?:; writer CPU ([\d.]+) ms)?")


class SnapshotWindow(NamedTuple):
    start: float  # epoch seconds
    end: float
    writer_cpu_ms: float | None = None  # None in logs written before the writer's CPU was logged


def snapshot_windows(log: Path, since: float, until: float) -> list[SnapshotWindow]:
    """Every snapshot written between `since` and `until`: when, and the writer's CPU."""
    try:
        text = log.read_text(errors="replace")
    except FileNotFoundError:
        return []
    windows = []
    for m in _LINE.finditer(text):
        start = float(m.group(2))
        end = start + float(m.group(1)) / 1000
        if end >= since and start <= until:
            windows.append(SnapshotWindow(start, end, float(m.group(3)) if m.group(3) else None))
    return windows


def split_by_snapshots(records: pd.DataFrame, start_epoch: float,
                       windows: list[SnapshotWindow]) -> dict[str, Any]:
    """Service time (sent -> answer) of the answered requests sent during a snapshot and otherwise."""
    answered = records.dropna(subset=["done_s"])
    sent = answered["sent_s"] + start_epoch
    during = pd.Series(False, index=answered.index)
    for window in windows:
        during |= (sent >= window.start) & (sent <= window.end)

    def p99(mask: pd.Series) -> float | None:
        value = percentile(answered.loc[mask, "service_ms"], 99)
        return None if value is None else round(value, 1)

    return {
        "count": len(windows),
        "writing_s": round(sum(w.end - w.start for w in windows), 2),
        "writer_cpu_s": (round(sum(w.writer_cpu_ms for w in windows) / 1000, 3)
                         if all(w.writer_cpu_ms is not None for w in windows) else None),
        "requests_during": int(during.sum()),
        "requests_otherwise": int((~during).sum()),
        "service_p99_ms_during": p99(during),
        "service_p99_ms_otherwise": p99(~during),
    }
