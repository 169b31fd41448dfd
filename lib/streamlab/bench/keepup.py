"""Does the pipeline keep up at a rate? The pass criteria of `bench pipeline` and its knee search.

A rate passes only when nothing is lost, the API answered every request without error, and the
processing side keeps up: lag p99 <= 1 s over the run and no upward lag trend over its second
half. A pipeline whose lag grows every second falls further behind for as long as the load
lasts, however short the run; the trend says so before the p99 does.

- lag slope: least-squares slope of each record's lag against its acceptance time, over the
  records accepted in the run's second half, in ms of lag per s of run. An upward trend is a
  slope over 10 ms/s that also adds at least 100 ms of lag over that half.
- drain capacity: records the processor finished per second while it had work, i.e. processed
  records / (last completion - first acceptance). When the pipeline keeps up this is the offered
  rate (capacity is at least that); when it falls behind it is what the processing side can do.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from streamlab.errors import ConfigError

LAG_P99_LIMIT_MS = 1000.0
# CHOSEN: a slope under 10 ms/s is noise on a shared machine (30 s of it add 0.3 s of lag, still
# within the p99 limit); above it the backlog grows for as long as the load lasts.
LAG_SLOPE_LIMIT_MS_PER_S = 10.0
# CHOSEN: and it must add at least this much lag over the second half, so a few seconds of noise
# in a short run (14 ms/s over 3 s is 42 ms) is not called a trend.
LAG_GROWTH_FLOOR_MS = 100.0
MIN_RECORDS_FOR_TREND = 20


@dataclass(frozen=True)
class KeepUp:
    """How the processing side did at one rate."""

    lag_p99_ms: float | None
    lag_slope_ms_per_s: float | None
    drain_capacity_rps: float | None
    keeps_up: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"lag_p99_ms": self.lag_p99_ms, "lag_slope_ms_per_s": self.lag_slope_ms_per_s,
                "drain_capacity_rps": self.drain_capacity_rps, "keeps_up": self.keeps_up,
                "why_not": list(self.reasons)}


def lag_slope(accepted_ms: Sequence[float], lag_ms: Sequence[float]) -> float | None:
    """ms of lag per second of run over the second half of the acceptance times (None: too few records)."""
    fit = _second_half_fit(accepted_ms, lag_ms)
    return None if fit is None else fit[0]


def _second_half_fit(accepted_ms: Sequence[float], lag_ms: Sequence[float]) -> tuple[float, float] | None:
    """(slope in ms/s, length of the second half in s) of lag against acceptance time."""
    accepted, lag = np.asarray(accepted_ms, dtype=float), np.asarray(lag_ms, dtype=float)
    keep = ~(np.isnan(accepted) | np.isnan(lag))
    accepted, lag = accepted[keep], lag[keep]
    if len(accepted) < MIN_RECORDS_FOR_TREND:
        return None
    middle = (accepted.min() + accepted.max()) / 2
    half = accepted >= middle
    if half.sum() < MIN_RECORDS_FOR_TREND // 2 or np.ptp(accepted[half]) == 0:
        return None
    slope_per_ms = np.polyfit(accepted[half], lag[half], 1)[0]
    return float(slope_per_ms * 1000), float(np.ptp(accepted[half]) / 1000)


def drain_capacity(accepted_ms: Sequence[float], processed_ms: Sequence[float]) -> float | None:
    """Processed records per second from the first acceptance to the last completion."""
    accepted, processed = np.asarray(accepted_ms, dtype=float), np.asarray(processed_ms, dtype=float)
    done = ~np.isnan(processed)
    if done.sum() < 2:
        return None
    span_s = (np.nanmax(processed) - np.nanmin(accepted)) / 1000
    return float(done.sum() / span_s) if span_s > 0 else None


def judge_keep_up(accepted_ms: Sequence[float], processed_ms: Sequence[float]) -> KeepUp:
    """The keep-up verdict from each record's acceptance and completion time (ms; NaN = not processed)."""
    accepted, processed = np.asarray(accepted_ms, dtype=float), np.asarray(processed_ms, dtype=float)
    lag = processed - accepted
    done = lag[~np.isnan(lag)]
    p99 = float(np.percentile(done, 99)) if len(done) else None
    fit = _second_half_fit(accepted, lag)
    slope = None if fit is None else fit[0]
    reasons = []
    if p99 is None:
        reasons.append("no record was processed")
    elif p99 > LAG_P99_LIMIT_MS:
        reasons.append(f"lag p99 {p99:.0f} ms > {LAG_P99_LIMIT_MS:.0f} ms")
    if fit is not None and slope > LAG_SLOPE_LIMIT_MS_PER_S and slope * fit[1] > LAG_GROWTH_FLOOR_MS:
        reasons.append(f"lag grows {slope:.0f} ms per s over the second half (limit {LAG_SLOPE_LIMIT_MS_PER_S:.0f}), "
                       f"{slope * fit[1]:.0f} ms in {fit[1]:.0f} s")
    if len(done) < len(lag):
        reasons.append(f"{len(lag) - len(done)} records not processed")
    return KeepUp(p99, slope, drain_capacity(accepted, processed), not reasons, tuple(reasons))


def knee_rates(start: float, step: float, stop: float) -> list[float]:
    """The rates a knee search tries, in order: start, start + step, ... up to stop."""
    if start <= 0 or step <= 0 or stop < start:
        raise ConfigError(f"--find-knee needs 0 < start <= stop and step > 0, not start={start:g} "
                          f"step={step:g} stop={stop:g}")
    count = int((stop - start) // step) + 1
    return [start + i * step for i in range(count)]


def knee(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The highest rate that passed before the first that did not, from runs in rising rate order."""
    last_pass, first_fail = None, None
    for run in runs:
        if run["passes"]:
            last_pass = run["rate"]
        else:
            first_fail = run
            break
    return {
        "highest_keeping_up": last_pass,
        "first_failing": None if first_fail is None else first_fail["rate"],
        "why": None if first_fail is None else first_fail.get("why_not"),
        "drain_capacity_rps_at_failure": None if first_fail is None else first_fail.get("drain_capacity_rps"),
    }
