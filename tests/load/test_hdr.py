"""HDR histograms: merged, never averaged."""
from __future__ import annotations

import numpy as np

from streamlab.load import hdr


def test_percentiles_match_the_recorded_values():
    total, per = hdr.build(np.array([0.1, 0.5, 1.2, 1.9]), np.array([1.0, 3.0, 10.0, 20.0]))
    assert sorted(per) == [0, 1]
    assert per[0].get_total_count() == 2 and per[1].get_total_count() == 2
    pct = hdr.percentiles_ms(total)
    assert abs(pct["max"] - 20.0) < 0.05 and abs(pct["p50"] - 3.0) < 0.01


def test_merge_of_parts_equals_histogram_of_the_whole():
    rng = np.random.default_rng(1)
    t = rng.uniform(0, 5, 2000)
    v = rng.lognormal(1, 1, 2000)
    whole, whole_per = hdr.build(t, v)
    parts = [hdr.encode(*hdr.build(t[k::3], v[k::3])) for k in range(3)]
    merged, merged_per = hdr.merge(parts)
    assert merged.get_total_count() == 2000
    for p in (50, 99, 99.9):
        assert merged.get_value_at_percentile(p) == whole.get_value_at_percentile(p)
    assert {k: h.get_total_count() for k, h in merged_per.items()} == \
        {k: h.get_total_count() for k, h in whole_per.items()}


def test_merged_p99_is_not_the_average_of_interval_p99s():
    # one quiet second with a slow tail, one busy fast second: averaging would be wrong
    t = np.concatenate([np.full(10, 0.5), np.full(1000, 1.5)])
    v = np.concatenate([np.full(10, 500.0), np.full(1000, 1.0)])
    total, per = hdr.build(t, v)
    averaged = np.mean([hdr.percentiles_ms(h)["p99"] for h in per.values()])
    assert hdr.percentiles_ms(total)["p99"] < 2.0 < averaged


def test_nan_values_are_not_recorded():
    total, _ = hdr.build(np.array([0.0, 0.1]), np.array([float("nan"), 2.0]))
    assert total.get_total_count() == 1


def test_spectrum_is_monotone():
    total, _ = hdr.build(np.zeros(100), np.arange(1, 101, dtype=float))
    p, v = hdr.spectrum_ms(total)
    assert len(p) > 5 and np.all(np.diff(v) >= 0) and np.all(np.diff(p) >= 0)


def test_max_is_the_largest_value_not_a_high_percentile():
    values = np.append(np.arange(1.0, 1000.0), 5000.0)  # 1..999 ms and one outlier
    total, _ = hdr.build(np.zeros(len(values)), values)
    pct = hdr.percentiles_ms(total)
    assert abs(pct["max"] - 5000.0) < 5.0 and abs(pct["p99"] - 990.0) < 1.0
    assert hdr.percentiles_ms(hdr.new_histogram()) == {"p50": None, "p90": None, "p99": None, "p99.9": None, "max": None}
