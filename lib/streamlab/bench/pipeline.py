"""`streamlab bench pipeline`: sustained open-loop rates through the whole local pipeline.

For each rate: `seconds` of constant load at the API, then the no-loss audit, the API latency
from intended send time and the processing lag per record. A rate passes with zero lost, every
request settled, zero API errors, nothing dropped and >= 99% of the intended rate sent.
DESIGN's targets: >= 500 req/s for 60 s (stretch 1,000); API p99 <= 50 ms at 200 req/s;
lag p50 <= 300 ms and p99 <= 1 s at 200 req/s.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable

from streamlab import load
from streamlab.experiment import Experiment, PipelineNames, run_experiment

TARGET_RATIO = 0.99


def judge(exp: Experiment, rate: float) -> dict[str, Any]:
    """One rate's figures and whether it passes."""
    s, audit, row = exp.run.summary, exp.obs.audit, exp.row()
    passes = (audit.passed and audit.settled and not s["errors"] and s["dropped"] == 0
              and (s["achieved_rate"] or 0) >= TARGET_RATIO * rate)
    return {
        "rate": rate, "achieved_rate": s["achieved_rate"], "sent": s["sent"], "acknowledged": s["acknowledged"],
        "api_errors": s["errors"], "dropped": s["dropped"], "latency_ms": s["latency_ms"],
        "lag_ms": {"p50": row.get("lag p50 ms"), "p99": row.get("lag p99 ms"), "max": row.get("lag max ms")},
        "audit": audit.verdict, "lost": audit.missing, "pending": audit.pending,
        "generator_limited": s["generator_limited"], "passes": bool(passes),
    }


def measure_rate(target: Any, url: str, names: PipelineNames, rate: float, seconds: float, out: Path,
                 settle_s: float = 120.0) -> dict[str, Any]:
    exp = run_experiment(target, url, load.constant(rate=rate, duration=seconds), out, names=names,
                         name=f"{rate:g} req/s", settle_timeout=settle_s, progress=False)
    return judge(exp, rate)


def run(rates: Iterable[float] = (200, 500, 1000), seconds: float = 60.0, out: Path | None = None,
        settle_s: float = 120.0, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Deploy a `bench` stack on the local stack, measure each rate, tear it down."""
    from streamlab.connect import connect
    from streamlab.provision import PipelineConfig, deploy, teardown

    out = out or Path("build") / "bench" / time.strftime("pipeline-%Y%m%d-%H%M%S")
    target = connect(log=log)
    config = PipelineConfig(stack="bench")
    runs = []
    try:
        pipeline = deploy(config, target=target, log=log)
        names = PipelineNames.of(pipeline)
        for rate in rates:
            log(f"{rate:g} req/s for {seconds:g} s ...")
            runs.append(measure_rate(target, pipeline.invoke_url, names, rate, seconds, out / f"rate-{rate:g}",
                                     settle_s))
            log(f"  {runs[-1]['audit']}; achieved {runs[-1]['achieved_rate']} req/s; "
                f"API p99 {runs[-1]['latency_ms']['p99']} ms; lag p99 {runs[-1]['lag_ms']['p99']} ms")
    finally:
        teardown(config, target=target, log=lambda _: None)
    passing = [r["rate"] for r in runs if r["passes"]]
    at_200 = next((r for r in runs if r["rate"] == 200), None)
    return {
        "bench": "pipeline", "seconds": seconds, "runs": runs, "data": str(out),
        "highest_passing_rate": max(passing, default=None),
        "targets": {"sustained_rate_min": 500, "stretch": 1000, "api_p99_ms_at_200": 50,
                    "lag_p50_ms_at_200": 300, "lag_p99_ms_at_200": 1000},
        "at_200": None if at_200 is None else {"api_p99_ms": at_200["latency_ms"]["p99"],
                                               "lag_p50_ms": at_200["lag_ms"]["p50"],
                                               "lag_p99_ms": at_200["lag_ms"]["p99"]},
    }
