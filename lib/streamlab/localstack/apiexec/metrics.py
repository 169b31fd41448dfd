"""AWS/ApiGateway metrics (A8), aggregated in memory per second and flushed in the background.

The request path only adds numbers to a dict; the shared publisher (`localstack.cloudwatch`)
sends the finished seconds to the stack's CloudWatch (MiniStack PutMetricData). Counts go as
statistic sets; latencies as whole-millisecond Values/Counts so percentiles can be asked for.
"""
from __future__ import annotations

import json
import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import aiohttp

from streamlab.localstack.apiexec.upstream import json_rpc_headers
from streamlab.localstack.cloudwatch import SecondsPublisher

log = logging.getLogger("streamlab.apiexec.metrics")

NAMESPACE = "AWS/ApiGateway"
MAX_VALUES_PER_DATUM = 150  # CloudWatch's limit on Values per MetricDatum
PUT_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass
class _Second:
    count: int = 0
    errors_4xx: int = 0
    errors_5xx: int = 0
    latency: Counter[int] = field(default_factory=Counter)
    integration_latency: Counter[int] = field(default_factory=Counter)


class Metrics(SecondsPublisher):
    namespace = NAMESPACE

    def __init__(self, http: aiohttp.ClientSession, upstream: str, region: str = "us-east-1"):
        super().__init__(self._put)
        self._http = http
        self._upstream = upstream
        self._region = region
        self._buckets: dict[tuple[int, str, str], _Second] = defaultdict(_Second)

    def record(self, api_name: str, stage: str, status: int, latency_ms: float,
               integration_latency_ms: float | None) -> None:
        bucket = self._buckets[(int(time.time()), api_name, stage)]
        bucket.count += 1
        bucket.errors_4xx += 400 <= status < 500
        bucket.errors_5xx += status >= 500
        bucket.latency[round(latency_ms)] += 1
        if integration_latency_ms is not None:
            bucket.integration_latency[round(integration_latency_ms)] += 1
        self.ensure_running()

    def collect(self, before_second: int | None) -> list[dict]:
        ready = [k for k in self._buckets if before_second is None or k[0] < before_second]
        return [datum for key in ready for datum in _data(key, self._buckets.pop(key))]

    async def _put(self, namespace: str, data: list[dict]) -> None:
        body = json.dumps({"Namespace": namespace, "MetricData": data})
        headers = json_rpc_headers("GraniteServiceVersion20100801.PutMetricData", "monitoring", self._region)
        async with self._http.post(self._upstream + "/", data=body, headers=headers, timeout=PUT_TIMEOUT) as resp:
            if resp.status >= 300:
                log.warning("PutMetricData answered %s: %s", resp.status, (await resp.read())[:200])


def _data(key: tuple[int, str, str], second: _Second) -> list[dict]:
    ts, api_name, stage = key
    out = []
    for dims in ([{"Name": "ApiName", "Value": api_name}],
                 [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": stage}]):
        for name, total in (("Count", second.count), ("4XXError", second.errors_4xx), ("5XXError", second.errors_5xx)):
            # 4XXError/5XXError are 0/1 per request, so Average is the error rate, as on AWS.
            out.append({"MetricName": name, "Dimensions": dims, "Timestamp": ts, "Unit": "Count",
                        "StatisticValues": {"SampleCount": second.count, "Sum": total,
                                            "Minimum": float(total == second.count) if name != "Count" else 1.0,
                                            "Maximum": float(total > 0) if name != "Count" else 1.0}})
        for name, values in (("Latency", second.latency), ("IntegrationLatency", second.integration_latency)):
            items = sorted(values.items())
            for start in range(0, len(items), MAX_VALUES_PER_DATUM):
                chunk = items[start:start + MAX_VALUES_PER_DATUM]
                out.append({"MetricName": name, "Dimensions": dims, "Timestamp": ts, "Unit": "Milliseconds",
                            "Values": [float(v) for v, _ in chunk], "Counts": [float(c) for _, c in chunk]})
    return out
