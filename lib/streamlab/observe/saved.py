"""What a run observed, saved next to its load data (and read back by `streamlab report`).

  items.csv      the acknowledged ids' items: status, times, attempts, lag_ms
  metrics.csv    CloudWatch series (long format)
  failures.json  on-failure records (batch metadata, ids when mapped)
  audit.json     the audit's counts and verdict
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from streamlab import schema, strict_json
from streamlab.observe.audit import AuditResult, classify
from streamlab.observe.failures import OnFailureRecord

ITEMS_FILE, METRICS_FILE, FAILURES_FILE, AUDIT_FILE = "items.csv", "metrics.csv", "failures.json", "audit.json"


@dataclass
class Observations:
    items: pd.DataFrame | None = None
    metrics: pd.DataFrame | None = None
    failures: list[OnFailureRecord] = field(default_factory=list)
    audit: AuditResult | None = None


def save_observations(run_dir: str | Path, obs: Observations) -> None:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if obs.items is not None:
        obs.items.to_csv(run_dir / ITEMS_FILE, index=False)
    if obs.metrics is not None:
        obs.metrics.to_csv(run_dir / METRICS_FILE, index=False)
    if obs.failures:
        strict_json.write(run_dir / FAILURES_FILE, [f.as_dict() for f in obs.failures])
    if obs.audit is not None:
        strict_json.write(run_dir / AUDIT_FILE, obs.audit.as_dict())


def load_observations(run_dir: str | Path, acknowledged: list[str] | None = None) -> Observations:
    """Read back what was saved; with `acknowledged` ids the audit is recomputed from the saved
    items and on-failure records (the saved verdict is not trusted)."""
    run_dir = Path(run_dir)
    obs = Observations()
    if (run_dir / ITEMS_FILE).exists():
        obs.items = pd.read_csv(run_dir / ITEMS_FILE, dtype={schema.ID: str, schema.STATUS: str})
    if (run_dir / METRICS_FILE).exists():
        m = pd.read_csv(run_dir / METRICS_FILE)
        m["timestamp"] = pd.to_datetime(m["timestamp"], utc=True)
        obs.metrics = m
    if (run_dir / FAILURES_FILE).exists():
        obs.failures = [OnFailureRecord(**d) for d in json.loads((run_dir / FAILURES_FILE).read_text())]
    if acknowledged is not None and obs.items is not None:
        items = {r[schema.ID]: r for r in obs.items.to_dict("records")}
        obs.audit = classify(acknowledged, items, {i for f in obs.failures for i in (f.ids or [])})
        if (run_dir / AUDIT_FILE).exists():
            saved = json.loads((run_dir / AUDIT_FILE).read_text())
            obs.audit.waited_s = saved.get("waited_s", 0.0)
            obs.audit.failure_batches = len(obs.failures)
            obs.audit.unmapped_failure_batches = sum(1 for f in obs.failures if f.ids is None)
    return obs


def observe_run(target, run, table: str, *, queue_url: str | None = None, api_name: str | None = None,
                function_name: str | None = None, esm_uuid: str | None = None, settle_timeout: float = 60.0,
                metrics_wait_s: float = 0.0, period: int = 60) -> Observations:
    """After a load run: the audit (waiting for pending items to settle), the acknowledged
    items with their lag, on-failure records, and the pipeline's metrics when names are given."""
    from datetime import datetime, timedelta, timezone

    from streamlab.observe.audit import audit
    from streamlab.observe.items import get_items, items_frame
    from streamlab.observe.metrics import pipeline_metrics

    result = audit(target, table, run, queue_url=queue_url, settle_timeout=settle_timeout)
    items = items_frame(get_items(target, table, run.acknowledged_ids))
    metrics = None
    if api_name or function_name or esm_uuid:
        # From the start of the metric period the run began in: earlier points belong to other runs.
        start = datetime.fromtimestamp(run.summary["start_epoch"] // period * period, timezone.utc)
        metrics = pipeline_metrics(target, start, datetime.now(timezone.utc) + timedelta(minutes=1),
                                   api_name=api_name, function_name=function_name, esm_uuid=esm_uuid,
                                   period=period, deadline_s=metrics_wait_s)
    return Observations(items=items, metrics=metrics, failures=result.batches, audit=result)
