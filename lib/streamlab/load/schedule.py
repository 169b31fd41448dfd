"""Load profiles as precomputed schedules of intended send times (pure: no clock, no I/O).

A `Schedule` is what an open-loop generator obeys: request i goes out at `times[i]` seconds
after the start whatever happened to earlier requests. `windows` marks the bursts (for shading
charts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from streamlab.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """Intended send times (seconds from the start, non-decreasing) and the burst windows."""

    name: str
    times: np.ndarray
    windows: tuple[tuple[float, float], ...] = ()
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.times)

    @property
    def duration(self) -> float:
        """Seconds from the start to the end of the last window or the last send."""
        ends = [w[1] for w in self.windows]
        if len(self.times):
            ends.append(float(self.times[-1]))
        return max(ends, default=0.0)

    @property
    def peak_rate(self) -> float:
        """The highest number of sends intended in any 1-s window."""
        return float(self.peak_count(1.0))

    def peak_count(self, window: float) -> int:
        """The most sends intended within any `window` seconds (sizes the connection pool)."""
        if len(self.times) == 0:
            return 0
        # requests in [t, t+window) for every t that is a send time
        ends = np.searchsorted(self.times, self.times + window - 1e-9, side="left")
        return int((ends - np.arange(len(self.times))).max())

    def split(self, parts: int) -> list[np.ndarray]:
        """Indices dealt round-robin into `parts` shares, so every share keeps the profile's shape."""
        return [np.arange(k, len(self.times), parts) for k in range(parts)]


def _positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def _non_negative(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ConfigError(f"{name} must be zero or more, got {value!r}.")
    return float(value)


def _whole(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}.")
    return value


def _even(rate: float, duration: float, start: float = 0.0) -> np.ndarray:
    count = int(math.floor(rate * duration + 1e-9))
    return start + np.arange(count, dtype=float) / rate


def constant(rate: float, duration: float) -> Schedule:
    """`rate` requests per second, evenly spaced, for `duration` seconds."""
    rate, duration = _positive("rate", rate), _positive("duration", duration)
    return Schedule("constant", _even(rate, duration), ((0.0, duration),), {"rate": rate, "duration": duration})


def batches(size: int, count: int, gap: float) -> Schedule:
    """`count` bursts of `size` requests sent all at once, `gap` seconds apart."""
    size, count, gap = _whole("size", size), _whole("count", count), _positive("gap", gap)
    starts = np.arange(count, dtype=float) * gap
    # A burst of simultaneous sends still takes a moment; shade 100 ms so it is visible.
    windows = tuple((float(s), float(s) + min(0.1, gap)) for s in starts)
    return Schedule("batches", np.repeat(starts, size), windows, {"size": size, "count": count, "gap": gap})


def windows(rate: float, on: float, off: float, count: int) -> Schedule:
    """`count` windows of `rate` req/s lasting `on` seconds, separated by `off` idle seconds."""
    rate, on = _positive("rate", rate), _positive("on", on)
    off, count = _non_negative("off", off), _whole("count", count)
    spans = [(k * (on + off), k * (on + off) + on) for k in range(count)]
    times = np.concatenate([_even(rate, on, start) for start, _ in spans])
    return Schedule("windows", times, tuple(spans), {"rate": rate, "on": on, "off": off, "count": count})


def steps(rates: Sequence[float], step: float) -> Schedule:
    """One step of `step` seconds per rate in `rates`, back to back (a staircase)."""
    if not rates:
        raise ConfigError("steps needs at least one rate, for example rates=100/200/400.")
    step = _positive("step", step)
    rates = [_positive("rate", r) for r in rates]
    times = np.concatenate([_even(r, step, k * step) for k, r in enumerate(rates)])
    spans = tuple((k * step, (k + 1) * step) for k in range(len(rates)))
    return Schedule("steps", times, spans, {"rates": rates, "step": step})


def ramp(start_rate: float, end_rate: float, duration: float) -> Schedule:
    """The rate changes linearly from `start_rate` to `end_rate` over `duration` seconds.

    Request i goes at the t where the integral of the rate reaches i:
    r0*t + (r1-r0)*t^2/(2D) = i.
    """
    r0, r1 = _non_negative("start_rate", start_rate), _non_negative("end_rate", end_rate)
    duration = _positive("duration", duration)
    if r0 == 0 and r1 == 0:
        raise ConfigError("a ramp from 0 to 0 req/s sends nothing; give a positive start or end rate.")
    total = (r0 + r1) / 2 * duration
    i = np.arange(int(math.floor(total + 1e-9)), dtype=float)
    slope = (r1 - r0) / duration
    if abs(slope) < 1e-12:
        times = i / r0
    else:
        times = (-r0 + np.sqrt(np.maximum(r0 * r0 + 2 * slope * i, 0.0))) / slope
    return Schedule("ramp", times, ((0.0, duration),), {"start_rate": r0, "end_rate": r1, "duration": duration})


PROFILES = ("constant", "batches", "windows", "steps", "ramp")


def parse_profile(spec: str, rate: float, duration: float) -> Schedule:
    """A schedule from a command-line spec; `rate` and `duration` fill what the spec leaves out.

    constant                         rate for duration
    batches:size=200,gap=2[,count=5] count defaults to duration/gap
    windows:on=1,off=2[,count=3]     rate during each window; count defaults to fill duration
    steps:rates=100/200/400          each step lasts duration/len(rates)
    ramp[:from=0][,to=1000]          from defaults to 0, to to rate
    """
    name, _, rest = spec.strip().partition(":")
    opts: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise ConfigError(f"profile option {part!r} in {spec!r} needs key=value, for example size=100.")
        opts[key.strip()] = value.strip()

    def number(key: str, default: float | None = None) -> float:
        if key not in opts:
            if default is None:
                raise ConfigError(f"profile {name!r} needs {key}=..., for example {name}:{key}=1.")
            return default
        value = opts.pop(key)
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"profile option {key}={value!r} is not a number.") from None

    if name == "constant":
        schedule = constant(rate, duration)
    elif name == "batches":
        gap = number("gap")
        schedule = batches(int(number("size", rate)), int(number("count", max(1, round(duration / gap)))), gap)
    elif name == "windows":
        on, off = number("on"), number("off")
        schedule = windows(number("rate", rate), on, off, int(number("count", max(1, round(duration / (on + off))))))
    elif name == "steps":
        raw = opts.pop("rates", "")
        try:
            rates = [float(r) for r in raw.split("/") if r]
        except ValueError:
            raise ConfigError(f"steps rates={raw!r} must be numbers separated by '/', for example 100/200.") from None
        schedule = steps(rates, duration / max(1, len(rates)))
    elif name == "ramp":
        schedule = ramp(number("from", 0.0), number("to", rate), duration)
    else:
        raise ConfigError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}.")
    if opts:
        raise ConfigError(f"profile {name!r} does not take {', '.join(sorted(opts))}.")
    return schedule
