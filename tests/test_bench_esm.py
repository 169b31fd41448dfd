"""`streamlab bench esm`: its arithmetic, and a tiny run end to end so the command cannot rot."""
from __future__ import annotations

import pytest

from streamlab import bench_esm


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert bench_esm.percentile(values, 50) == 50.0
    assert bench_esm.percentile(values, 99) == 99.0
    assert bench_esm.percentile(values, 100) == 100.0
    assert bench_esm.percentile([], 50) is None


@pytest.mark.integration  # starts its own stack
def test_tiny_run_processes_every_write_on_both_sides():
    result = bench_esm.run(rate=20, duration=1)
    for side in ("ours", "ministack"):
        # `missing` is intended - errors - processed: it is zero only if every write succeeded too.
        assert result[side]["writes"]["intended"] == 20 and result[side]["writes"]["errors"] == 0, result[side]
        assert result[side]["processed_unique"] == 20 and result[side]["missing"] == 0, result[side]
        assert result[side]["deliveries"] >= 20
        lag = result[side]["lag_ms"]
        assert 0 < lag["p50"] <= lag["p99"] <= lag["max"], lag
    assert result["ours"]["iterator_age"]["samples"] >= 1
