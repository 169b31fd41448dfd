"""AWS/Lambda metrics of our invocations (M1-M3), aggregated per second and flushed in the background.

The poller reports every metric; those MiniStack already records for each Invoke are dropped
here (EMITTED_BY_MINISTACK), so CloudWatch holds each exactly once.

One datum per (metric, dimensions, second) with StatisticValues, StorageResolution 1, so
CloudWatch answers Sum, SampleCount, Minimum, Maximum and Average like AWS does.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone

from streamlab.localstack.cloudwatch import SecondsPublisher
from streamlab.localstack.esm.upstream import Upstream

NAMESPACE = "AWS/Lambda"
# MiniStack 1.5.33 already records these for every Invoke API call, ours included
# (lambda_svc._emit_lambda_metrics); emitting them too would double every count.
EMITTED_BY_MINISTACK = frozenset({"Invocations", "Errors", "Duration", "Throttles"})


class Metrics(SecondsPublisher):
    namespace = NAMESPACE

    def __init__(self, upstream: Upstream) -> None:
        super().__init__(self._put)
        self.upstream = upstream
        # (name, unit, dims, second) -> [count, sum, min, max]
        self._cells: dict[tuple, list[float]] = {}
        self._in_flight: dict[str, int] = {}

    def put(self, name: str, value: float, unit: str, dims: dict[str, str], at: float) -> None:
        if name in EMITTED_BY_MINISTACK:
            return
        key = (name, unit, tuple(sorted(dims.items())), int(math.floor(at)))
        cell = self._cells.get(key)
        if cell is None:
            self._cells[key] = [1, value, value, value]
        else:
            cell[0] += 1
            cell[1] += value
            cell[2] = min(cell[2], value)
            cell[3] = max(cell[3], value)

    def started(self, function_name: str, at: float) -> None:
        """An invocation began: ConcurrentExecutions is the peak in-flight count per second."""
        self._in_flight[function_name] = self._in_flight.get(function_name, 0) + 1
        self.put("ConcurrentExecutions", self._in_flight[function_name], "Count", {"FunctionName": function_name}, at)

    def finished(self, function_name: str) -> None:
        self._in_flight[function_name] = max(0, self._in_flight.get(function_name, 1) - 1)

    def collect(self, before_second: int | None) -> list[dict]:
        data = []
        for key in list(self._cells):
            name, unit, dims, second = key
            if before_second is not None and second >= before_second:
                continue
            count, total, low, high = self._cells.pop(key)
            data.append({
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                "Timestamp": datetime.fromtimestamp(second, timezone.utc),
                "StatisticValues": {"SampleCount": count, "Sum": total, "Minimum": low, "Maximum": high},
                "Unit": unit,
                "StorageResolution": 1,
            })
        return data

    async def _put(self, namespace: str, data: list[dict]) -> None:
        await self.upstream.call("cloudwatch", "put_metric_data", Namespace=namespace, MetricData=data)
