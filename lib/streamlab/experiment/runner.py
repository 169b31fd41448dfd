"""One experiment: send a load profile at the API, observe what the pipeline did, audit, chart.

The notebooks and `streamlab burst` both run experiments through `run_experiment`; a scenario that
takes long by design is sent with `send_experiment` and finished later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from streamlab import load
from streamlab.errors import CostGuardError
from streamlab.experiment import charts
from streamlab.experiment.failure_lane import FaultWindow
from streamlab.load.bodies import encode_body
from streamlab.observe import Observations, observe_run, save_observations
from streamlab.provision.protection import API_KEY_HEADER
from streamlab.target import is_local_url

# Called before anything is sent: (url, requests, item_bytes, confirm); raises to refuse the burst.
BurstGuard = Callable[..., object]


def refuse_remote(url: str, requests: int, item_bytes: int, confirm: bool = False) -> None:
    """The guard when none is given: this machine only, since a remote URL may be a billed API."""
    if not is_local_url(url):
        raise CostGuardError(
            f"{url} is not this machine, and AWS may bill these {requests} requests. Pass the cost guard: "
            "run_experiment(..., guard=streamlab.aws.guard_burst), which shows the estimate and applies the cap."
        )


@dataclass(frozen=True)
class PipelineNames:
    """Where an experiment reads its results: the table, the on-failure queue, the metric dimensions."""

    table: str | None = None
    queue_url: str | None = None
    api_name: str | None = None
    function_name: str | None = None
    esm_uuid: str | None = None
    api_key: str | None = None  # sent as x-api-key: a deployed API requires it unless it was opened

    @classmethod
    def of(cls, pipeline: Any) -> "PipelineNames":
        return cls(pipeline.table_name, pipeline.queue_url, pipeline.api_name, pipeline.function_name,
                   pipeline.mapping_uuid, getattr(pipeline, "api_key", None) or None)

    @property
    def request_headers(self) -> dict[str, str]:
        return {API_KEY_HEADER: self.api_key} if self.api_key else {}


@dataclass
class Experiment:
    name: str
    run: load.LoadResult
    obs: Observations | None
    figures: list[Path] = field(default_factory=list)

    @property
    def audited(self) -> bool:
        return self.obs is not None and self.obs.audit is not None

    @property
    def passed(self) -> bool:
        """The no-loss audit ran and lost nothing (an experiment without an audit proves nothing)."""
        return self.audited and self.obs.audit.passed  # type: ignore[union-attr]

    def row(self) -> dict[str, Any]:
        """The experiment in one table row: load, API latency, processing lag and the audit."""
        s = self.run.summary
        row: dict[str, Any] = {
            "experiment": self.name, "rate req/s": s.get("intended_rate"), "sent": s["sent"],
            "acknowledged": s["acknowledged"],
            "api errors": sum(s["errors"].values()), "dropped": s["dropped"],
            "latency p50 ms": s["latency_ms"].get("p50"), "latency p99 ms": s["latency_ms"].get("p99"),
            "latency max ms": s["latency_ms"].get("max"),
            "service p50 ms": s["service_ms"].get("p50"), "service p99 ms": s["service_ms"].get("p99"),
            "send lateness p99 ms": (s.get("send_lateness_ms") or {}).get("p99"),
            "send lateness max ms": (s.get("send_lateness_ms") or {}).get("max"),
            "generator-limited": bool(s.get("generator_limited")),
        }
        items = getattr(self.obs, "items", None)
        lag = items["lag_ms"].dropna() if items is not None and "lag_ms" in items else None
        if lag is not None and len(lag):
            row.update({"lag p50 ms": float(np.percentile(lag, 50)), "lag p99 ms": float(np.percentile(lag, 99)),
                        "lag max ms": float(lag.max()),
                        "max attempts": int(items["attempts"].max()) if items["attempts"].notna().any() else None})
        audit = getattr(self.obs, "audit", None)
        if audit is not None:
            row.update({"processed": audit.processed, "on-failure": audit.on_failure, "pending": audit.pending,
                        "lost": audit.missing, "audit waited s": round(audit.waited_s, 1),
                        "audit": ("FAIL" if not audit.passed else "PASS" if audit.settled else "NOT SETTLED")})
        return row


def run_experiment(
    target: Any,
    url: str,
    schedule: load.Schedule,
    out: str | Path,
    *,
    settle_timeout: float = 60.0,
    metrics_wait_s: float = 0.0,
    period: int | None = None,
    faults: Sequence[FaultWindow] = (),
    **send_options: Any,
) -> Experiment:
    """Send `schedule` at `url`, then (with a table) audit, read lag and metrics; save data and figures in `out`.

    `send_options` are those of `send_experiment` (names, name, body, the cost guard, progress,
    load options). `period`: the metric period in seconds; by default 1 on the local stack (it
    publishes per second) and 60 on AWS (the standard resolution of the Lambda and API Gateway
    metrics). `faults`: windows when the caller made something fail (shaded on the dashboard); a
    window still open when the run starts may be closed during it.
    """
    return send_experiment(target, url, schedule, out, **send_options).finish(
        settle_timeout=settle_timeout, metrics_wait_s=metrics_wait_s, period=period, faults=faults)


@dataclass
class SentExperiment:
    """An experiment whose load is sent and whose outcomes are still coming: `finish()` observes it.

    For a scenario that takes long by design (a record that must grow a minute old): send it,
    do other work meanwhile, and finish it later.
    """

    target: Any
    run: load.LoadResult
    out: Path
    names: PipelineNames
    name: str

    def finish(self, *, settle_timeout: float = 60.0, metrics_wait_s: float = 0.0, period: int | None = None,
               faults: Sequence[FaultWindow] = ()) -> Experiment:
        """With a table: audit (waiting up to `settle_timeout` for outcomes), read lag and metrics;
        then save the data and figures (arguments as for `run_experiment`)."""
        if period is None:
            period = 1 if getattr(self.target, "is_local", False) else 60
        obs = None
        if self.names.table:
            obs = observe_run(self.target, self.run, self.names.table, api_name=self.names.api_name,
                              function_name=self.names.function_name, esm_uuid=self.names.esm_uuid,
                              settle_timeout=settle_timeout, metrics_wait_s=metrics_wait_s, period=period)
            save_observations(self.out, obs)
        figures = charts.render_run(self.run, obs, self.out, faults=faults)
        return Experiment(self.name, self.run, obs, figures)


def send_experiment(
    target: Any,
    url: str,
    schedule: load.Schedule,
    out: str | Path,
    *,
    names: PipelineNames = PipelineNames(),
    name: str | None = None,
    body: load.BodyFactory | None = None,
    accept_cost: bool = False,
    guard: BurstGuard | None = None,
    progress: bool = True,
    **load_options: Any,
) -> SentExperiment:
    """The first half of `run_experiment`: the guard, then the load; returns before the outcomes are in.

    `guard` sees the burst before it is sent (`streamlab.aws.guard_burst` for AWS, with
    `accept_cost` as its confirmation); without one, only URLs on this machine are allowed.
    """
    body = body or load.JsonBodies()
    (guard or refuse_remote)(url, len(schedule), len(encode_body(body(0))), confirm=accept_cost)
    if names.api_key:
        load_options["headers"] = {**names.request_headers, **(load_options.get("headers") or {})}
    run = load.run_load(url, schedule, body=body, progress=progress, out=out, **load_options)
    return SentExperiment(target, run, Path(out), names, name or Path(out).name)
