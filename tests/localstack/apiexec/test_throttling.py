"""Stage and method throttling (A6): methodSettings read as AWS stores them, token buckets on a fake clock."""
from __future__ import annotations

import math

from streamlab.localstack.apiexec.throttling import Limit, TokenBuckets, limit_for, method_limits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_method_settings_as_update_stage_leaves_them():
    limits = method_limits({
        "*/*": {"throttlingRateLimit": 5.0, "throttlingBurstLimit": 2, "metricsEnabled": False},
        "/requests/POST": {"throttlingRateLimit": 1.0, "throttlingBurstLimit": 1},
        "~1requests~1{id}/GET": {"throttlingRateLimit": 50.0},
        "/other/GET": {"metricsEnabled": True},
    })
    assert limits == {"*/*": Limit(5.0, 2), "/requests/POST": Limit(1.0, 1), "/requests/{id}/GET": Limit(50.0, 50)}
    assert limit_for(limits, "/requests", "POST") == Limit(1.0, 1)      # the method's own setting wins
    assert limit_for(limits, "/requests", "DELETE") == Limit(5.0, 2)    # else the stage default
    assert limit_for({}, "/requests", "POST") is None


def test_a_bucket_admits_the_burst_then_the_rate_and_says_how_long_to_wait():
    clock = Clock()
    buckets = TokenBuckets(clock)
    limit, key = Limit(rate=2.0, burst=3), ("api", "dev", "/requests", "POST")
    assert [buckets.take(key, limit) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take(key, limit) == 0.5          # one token every 0.5 s
    clock.now += 0.5
    assert buckets.take(key, limit) == 0.0 and buckets.take(key, limit) > 0
    clock.now += 100                                 # refills only up to the burst
    assert [buckets.take(key, limit) for _ in range(4)].count(0.0) == 3
    assert buckets.take(("api", "dev", "/requests", "GET"), limit) == 0.0  # one bucket per method


def test_burst_zero_admits_nothing_and_a_changed_limit_starts_a_fresh_bucket():
    clock = Clock()
    buckets = TokenBuckets(clock)
    key = ("api", "dev", "/r", "GET")
    assert math.isinf(buckets.take(key, Limit(rate=10.0, burst=0)))
    assert buckets.take(key, Limit(rate=10.0, burst=1)) == 0.0
