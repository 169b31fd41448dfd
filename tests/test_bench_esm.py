"""`streamlab bench esm`: its arithmetic, and a tiny run end to end so the command cannot rot."""
from __future__ import annotations

from streamlab.bench import esm as bench_esm


def test_tiny_run_processes_every_write_on_both_sides():
    result = bench_esm.run(rate=20, duration=1)
    for side in ("ours", "ministack"):
        assert result[side]["writes"] == {**result[side]["writes"], "intended": 20, "acknowledged": 20, "errors": 0}
        assert result[side]["processed"] == 20 and result[side]["missing"] == 0, result[side]
        assert result[side]["lag_ms"]["p50"] is not None
    assert result["ours"]["iterator_age"]["samples"] >= 1
