"""Stage and method throttling as API Gateway enforces it: a token bucket per method.

`throttlingRateLimit` (tokens per second) and `throttlingBurstLimit` (bucket size) come from the
stage's `methodSettings`, set with the ordinary UpdateStage calls: `*/*` is the default of every
method of the stage, `{resource path}/{VERB}` overrides it for one method. A request finding the
bucket empty is answered 429 `TooManyRequestsException` before anything else runs (A6).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

DEFAULT_KEY = "*/*"


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens added per second
    burst: int   # bucket size


def method_limits(method_settings: Mapping[str, Mapping[str, Any]] | None) -> dict[str, Limit]:
    """{"*/*" or "/path/VERB": Limit} for the settings that name a rate or a burst."""
    limits = {}
    for key, settings in (method_settings or {}).items():
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if rate is None and burst is None:
            continue
        name = key.replace("~1", "/")
        if name != DEFAULT_KEY and not name.startswith("/"):
            name = "/" + name
        rate = float(rate) if rate is not None else math.inf
        # Without a burst limit the bucket holds one second of the rate (at least one request).
        limits[name] = Limit(rate=rate, burst=int(burst) if burst is not None else max(1, math.ceil(min(rate, 1e9))))
    return limits


def limit_for(limits: Mapping[str, Limit], resource_path: str, verb: str) -> Limit | None:
    return limits.get(f"{resource_path}/{verb}") or limits.get(DEFAULT_KEY)


class TokenBuckets:
    """One bucket per (api, stage, method); `take` says how long to wait when it is empty."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._buckets: dict[tuple[str, ...], list[float]] = {}  # key -> [tokens, last refill, rate, burst]

    def take(self, key: tuple[str, ...], limit: Limit) -> float:
        """0.0 if a token was taken, else the seconds until the next one (inf: burst 0 admits nothing)."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None or bucket[2] != limit.rate or bucket[3] != limit.burst:
            bucket = self._buckets[key] = [float(limit.burst), now, limit.rate, limit.burst]
        refill = (now - bucket[1]) * limit.rate if math.isfinite(limit.rate) else math.inf
        tokens = min(float(limit.burst), bucket[0] + refill)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        if limit.rate <= 0 or limit.burst < 1:
            return math.inf
        return (1.0 - tokens) / limit.rate
