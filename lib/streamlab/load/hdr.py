"""HDR histograms per 1-s interval and in total. Percentiles are never averaged: histograms of
intervals, runs or worker processes are merged, and percentiles read from the merge."""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
from hdrh.histogram import HdrHistogram

# Microseconds, 1 us .. 1 h, 3 significant digits (0.1% value error).
LOWEST_US = 1
HIGHEST_US = 3_600_000_000
DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9, 100.0)

Encoded = dict[str, dict]  # {"total": str, "intervals": {"<second>": str}}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record_ms(hist: HdrHistogram, values_ms: Iterable[float]) -> None:
    for v in values_ms:
        if v == v:  # NaN: the request never got that far
            hist.record_value(int(min(max(round(v * 1000.0), LOWEST_US), HIGHEST_US)))


def build(interval_s: np.ndarray, values_ms: np.ndarray) -> tuple[HdrHistogram, dict[int, HdrHistogram]]:
    """A total histogram and one per whole second of `interval_s` (the request's intended second)."""
    total = new_histogram()
    per: dict[int, HdrHistogram] = {}
    seconds = np.floor(np.asarray(interval_s, dtype=float)).astype(int)
    values = np.asarray(values_ms, dtype=float)
    for sec in np.unique(seconds):
        h = new_histogram()
        record_ms(h, values[seconds == sec])
        if h.get_total_count():
            per[int(sec)] = h
            total.add(h)
    return total, per


def encode(total: HdrHistogram, per: Mapping[int, HdrHistogram]) -> dict:
    return {
        "total": total.encode().decode(),
        "intervals": {str(k): h.encode().decode() for k, h in sorted(per.items())},
    }


def decode(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded.encode())


def merge(encoded_sets: Iterable[dict]) -> tuple[HdrHistogram, dict[int, HdrHistogram]]:
    """Merge the encoded histograms of several workers (or runs) interval by interval."""
    total = new_histogram()
    per: dict[int, HdrHistogram] = {}
    for enc in encoded_sets:
        total.decode_and_add(enc["total"].encode())
        for key, value in enc["intervals"].items():
            per.setdefault(int(key), new_histogram()).decode_and_add(value.encode())
    return total, per


def percentiles_ms(hist: HdrHistogram, percentiles: Iterable[float] = PERCENTILES) -> dict[str, float | None]:
    """{"p50": ms, ..., "max": ms}; None when the histogram is empty."""
    out: dict[str, float | None] = {}
    empty = hist.get_total_count() == 0
    for p in percentiles:
        key = "max" if p == 100.0 else f"p{p:g}"
        if empty:
            out[key] = None
        elif p == 100.0:
            out[key] = hist.get_max_value() / 1000.0
        else:
            out[key] = hist.get_value_at_percentile(p) / 1000.0
    return out


def spectrum_ms(hist: HdrHistogram, points: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(percentile, value in ms) points of the percentile spectrum, for plotting: percentiles
    spaced evenly in 1 / (1 - p), from 0 up to the last one the count resolves (1 - 1/n)."""
    n = hist.get_total_count()
    if n == 0:
        return np.array([]), np.array([])
    stretch = np.geomspace(1.0, max(float(n), 2.0), points)
    p = 100.0 * (1.0 - 1.0 / stretch)
    v = np.array([hist.get_value_at_percentile(float(x)) for x in p]) / 1000.0
    return p, v
