"""The one percentile helper: nearest rank, a measured value, None for no samples."""
from __future__ import annotations

import math

from streamlab.observe.stats import percentile


def test_percentile_is_nearest_rank_of_unsorted_values():
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile(values, 0) == 1.0


def test_small_samples_round_up_to_a_measured_value():
    assert percentile([10.0, 20.0, 30.0], 50) == 20.0
    assert percentile([10.0, 20.0], 99) == 20.0
    assert percentile([10.0, 20.0], 50) == 10.0


def test_no_samples_and_nan_samples_give_none():
    assert percentile([], 50) is None
    assert percentile([math.nan], 50) is None
    assert percentile([math.nan, 5.0], 50) == 5.0
