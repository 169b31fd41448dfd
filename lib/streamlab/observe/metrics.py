"""CloudWatch metrics of the pipeline (GetMetricData), polled until the data is in.

CloudWatch publishes with a delay (about a minute on AWS; the local stack's publishers flush
every few seconds), so `get_metrics` polls until every series has points, or an `until`
condition holds, or the deadline passes; it never pretends an empty series is zero.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import pandas as pd

from streamlab.errors import ConfigError


@dataclass(frozen=True)
class MetricSpec:
    namespace: str
    name: str
    stat: str
    dimension: str  # ApiName | FunctionName | EventSourceMappingUUID

    @property
    def query_id(self) -> str:
        # GetMetricData ids: ^[a-z][a-zA-Z0-9_]*$, unique per request
        return "m_" + re.sub(r"[^a-zA-Z0-9]", "_", f"{self.dimension}_{self.name}_{self.stat}").lower()


API_METRICS = [
    MetricSpec("AWS/ApiGateway", "Count", "Sum", "ApiName"),
    MetricSpec("AWS/ApiGateway", "4XXError", "Sum", "ApiName"),
    MetricSpec("AWS/ApiGateway", "5XXError", "Sum", "ApiName"),
    *[MetricSpec("AWS/ApiGateway", m, s, "ApiName")
      for m in ("Latency", "IntegrationLatency") for s in ("p50", "p99", "Maximum")],
]
FUNCTION_METRICS = [
    *[MetricSpec("AWS/Lambda", m, "Sum", "FunctionName") for m in ("Invocations", "Errors", "Throttles")],
    MetricSpec("AWS/Lambda", "Duration", "p50", "FunctionName"),
    MetricSpec("AWS/Lambda", "Duration", "Maximum", "FunctionName"),
    MetricSpec("AWS/Lambda", "IteratorAge", "Maximum", "FunctionName"),
]
ESM_METRICS = [  # M3: opt-in (MetricsConfig EventCount)
    MetricSpec("AWS/Lambda", m, "Sum", "EventSourceMappingUUID")
    for m in ("PolledEventCount", "FilteredOutEventCount", "InvokedEventCount", "FailedInvokeEventCount",
              "DroppedEventCount", "OnFailureDestinationDeliveredEventCount")
]


def pipeline_queries(api_name: str | None = None, function_name: str | None = None,
                     esm_uuid: str | None = None, period: int = 60) -> list[dict]:
    """MetricDataQueries for the parts of the pipeline that are named."""
    if period < 1:
        raise ConfigError(f"period must be at least 1 second, got {period}.")
    values = {"ApiName": api_name, "FunctionName": function_name, "EventSourceMappingUUID": esm_uuid}
    queries = []
    for spec in API_METRICS + FUNCTION_METRICS + ESM_METRICS:
        value = values[spec.dimension]
        if value:
            queries.append({
                "Id": spec.query_id,
                "Label": f"{spec.namespace}/{spec.name} {spec.stat}",
                "MetricStat": {"Metric": {"Namespace": spec.namespace, "MetricName": spec.name,
                                          "Dimensions": [{"Name": spec.dimension, "Value": value}]},
                               "Period": period, "Stat": spec.stat},
                "ReturnData": True,
            })
    if not queries:
        raise ConfigError("name at least one of api_name, function_name, esm_uuid to query metrics for.")
    return queries


def results_frame(queries: list[dict], results: list[dict]) -> pd.DataFrame:
    """GetMetricData results as one long table: namespace, metric, stat, timestamp, value."""
    by_id = {q["Id"]: q for q in queries}
    rows = []
    for r in results:
        stat = by_id[r["Id"]]["MetricStat"]
        for ts, value in zip(r.get("Timestamps", []), r.get("Values", [])):
            rows.append({"namespace": stat["Metric"]["Namespace"], "metric": stat["Metric"]["MetricName"],
                         "stat": stat["Stat"], "timestamp": pd.Timestamp(ts).tz_convert("UTC"), "value": float(value)})
    df = pd.DataFrame(rows, columns=["namespace", "metric", "stat", "timestamp", "value"])
    return df.sort_values(["metric", "stat", "timestamp"]).reset_index(drop=True)


def _fetch(cloudwatch: Any, queries: list[dict], start: datetime, end: datetime) -> list[dict]:
    merged: dict[str, dict] = {}
    for i in range(0, len(queries), 500):  # GetMetricData takes 500 queries a call
        kwargs = {"MetricDataQueries": queries[i:i + 500], "StartTime": start, "EndTime": end}
        while True:
            page = cloudwatch.get_metric_data(**kwargs)
            for r in page.get("MetricDataResults", []):
                m = merged.setdefault(r["Id"], {"Id": r["Id"], "Timestamps": [], "Values": []})
                m["Timestamps"] += r.get("Timestamps", [])
                m["Values"] += r.get("Values", [])
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    return list(merged.values())


def every_series_has_data(queries: list[dict]) -> Callable[[pd.DataFrame], bool]:
    wanted = {(q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"]) for q in queries}
    return lambda df: wanted <= set(zip(df["metric"], df["stat"]))


def get_metrics(target_or_client: Any, queries: list[dict], start: datetime, end: datetime | None = None, *,
                until: Callable[[pd.DataFrame], bool] | None = None, deadline_s: float = 0.0,
                poll_s: float = 5.0) -> pd.DataFrame:
    """Query CloudWatch; with `deadline_s` > 0, poll until `until(df)` (default: every series has
    points). The frame's attrs["complete"] says whether the condition was met."""
    cloudwatch = target_or_client.client("cloudwatch") if hasattr(target_or_client, "client") else target_or_client
    until = until or every_series_has_data(queries)
    give_up = time.monotonic() + deadline_s
    while True:
        stop = end or datetime.now(timezone.utc)
        df = results_frame(queries, _fetch(cloudwatch, queries, start, stop))
        done = until(df)
        if done or time.monotonic() >= give_up:
            df.attrs["complete"] = bool(done)
            return df
        time.sleep(poll_s)


def pipeline_metrics(target: Any, start: datetime, end: datetime | None = None, *, api_name: str | None = None,
                     function_name: str | None = None, esm_uuid: str | None = None, period: int = 60,
                     deadline_s: float = 0.0, poll_s: float = 5.0,
                     until: Callable[[pd.DataFrame], bool] | None = None) -> pd.DataFrame:
    """The pipeline's metrics (see API_METRICS, FUNCTION_METRICS, ESM_METRICS) for a time window."""
    queries = pipeline_queries(api_name, function_name, esm_uuid, period)
    return get_metrics(target, queries, start, end, until=until, deadline_s=deadline_s, poll_s=poll_s)


def has_series(*names: str) -> Callable[[pd.DataFrame], bool]:
    """An `until` condition: every named metric has at least one point."""
    return lambda df: set(names) <= set(df["metric"])
