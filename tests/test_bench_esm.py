"""`streamlab bench esm`: a tiny run end to end so the command cannot rot."""
from __future__ import annotations

import pytest

from streamlab.bench import esm as bench_esm


@pytest.mark.integration  # starts its own stack
def test_tiny_run_processes_every_write_on_both_sides():
    result = bench_esm.run(rate=20, duration=1)
    for side in ("ours", "ministack"):
        assert result[side]["writes"] == {**result[side]["writes"], "intended": 20, "acknowledged": 20, "errors": 0}
        assert result[side]["processed"] == 20 and result[side]["missing"] == 0, result[side]
        lag = result[side]["lag_ms"]
        assert 0 < lag["p50"] <= lag["p99"] <= lag["max"], lag
    assert result["ours"]["iterator_age"]["samples"] >= 1
