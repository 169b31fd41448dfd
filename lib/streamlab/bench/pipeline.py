"""`streamlab bench pipeline`: sustained open-loop rates through the whole local pipeline.

For each rate: `seconds` of constant load at the API, then the no-loss audit, the API latency
from intended send time and the processing lag per record. A rate passes with zero lost, every
request settled, zero API errors, nothing dropped, >= 99% of the intended rate sent, and a
pipeline that keeps up (bench/keepup.py: lag p99 <= 1 s, no upward lag trend over the second
half; the slope and the drain capacity are reported). `find_knee` steps the rate up until a rate
fails and reports the knee. Each rate also splits the API's service time into answers sent while
MiniStack wrote a snapshot and the rest (bench/snapshots.py).
DESIGN's targets: keeps up at 500 req/s for 60 s (stretch 700); API p99 <= 50 ms at 200 req/s
and <= 100 ms at 500 req/s while the pipeline runs; lag p50 <= 300 ms and p99 <= 1 s at 200 req/s.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Iterable

from streamlab import load, schema
from streamlab.bench.cpu import CpuMeter, per_request_ms
from streamlab.bench.keepup import judge_keep_up, knee, knee_rates
from streamlab.bench.snapshots import snapshot_windows, split_by_snapshots
from streamlab.experiment import Experiment, PipelineNames, run_experiment

TARGET_RATIO = 0.99
WARMUP_SECONDS = 10.0


def judge(exp: Experiment, rate: float) -> dict[str, Any]:
    """One rate's figures and whether it passes; `why_not` says every reason it does not."""
    s, audit, row = exp.run.summary, exp.obs.audit, exp.row()
    items = exp.obs.items
    kept = judge_keep_up(items[schema.ACCEPTED_AT], items[schema.PROCESSED_AT])
    reasons = [*failures(rate, s, audit), *kept.reasons]
    return {
        "rate": rate, "achieved_rate": s["achieved_rate"], "sent": s["sent"], "acknowledged": s["acknowledged"],
        "api_errors": s["errors"], "dropped": s["dropped"], "latency_ms": s["latency_ms"],
        "lag_ms": {"p50": row.get("lag p50 ms"), "p99": row.get("lag p99 ms"), "max": row.get("lag max ms")},
        "audit": audit.verdict, "lost": audit.missing, "pending": audit.pending,
        "generator_limited": s["generator_limited"], **kept.to_dict(), "why_not": reasons, "passes": not reasons,
    }


def failures(rate: float, summary: dict[str, Any], audit: Any) -> list[str]:
    """Why a rate fails on the API's side of the pipeline (`keepup` judges the processing side)."""
    reasons = []
    if not audit.passed or not audit.settled:
        reasons.append(audit.verdict)
    if summary["errors"]:
        reasons.append(f"API errors: {summary['errors']}")
    if summary["dropped"]:
        reasons.append(f"{summary['dropped']} sends dropped at the load generator's in-flight cap "
                       f"({summary.get('max_in_flight')}): the API answered too slowly for this rate")
    achieved = summary["achieved_rate"] or 0
    if achieved < TARGET_RATIO * rate:
        reasons.append(f"{achieved:g} req/s sent, under {TARGET_RATIO:.0%} of {rate:g}")
    return reasons


def measure_rate(target: Any, url: str, names: PipelineNames, rate: float, seconds: float, out: Path,
                 settle_s: float = 120.0, stack_state: Any = None) -> dict[str, Any]:
    """One rate through the pipeline, judged; with `stack_state` (the local stack serving `target`)
    also the CPU each of its processes spent per acknowledged request."""
    meter = CpuMeter(stack_state) if stack_state is not None else None
    if meter:
        meter.start()
    exp = run_experiment(target, url, load.constant(rate=rate, duration=seconds), out, names=names,
                         name=f"{rate:g} req/s", settle_timeout=settle_s, progress=False)
    result = judge(exp, rate)
    if meter:
        # Load, processing of the backlog and the audit's reads: CPU per acknowledged request.
        result["cpu_ms_per_request"] = per_request_ms(meter.stop(), result["acknowledged"] or 0)
    if stack_state is not None and "ministack" in stack_state.processes:
        start, wall = exp.run.summary["start_epoch"], exp.run.summary["wall_s"]
        windows = snapshot_windows(Path(stack_state.processes["ministack"].log), start, start + wall)
        result["snapshots"] = split_by_snapshots(exp.run.records, start, windows)
    return result


def run(rates: Iterable[float] = (200, 500, 1000), seconds: float = 60.0, out: Path | None = None,
        settle_s: float = 120.0, log: Callable[[str], None] = print, stop_at_failure: bool = False,
        config: Any = None, warmup_s: float = WARMUP_SECONDS) -> dict[str, Any]:
    """Deploy a `bench` stack on the local stack, warm it up, measure each rate, tear it down.

    `stop_at_failure`: stop after the first rate that does not pass (the knee search).
    `warmup_s`: seconds of load at the first rate before measuring, not judged: on the local stack
    the function's instances start as processes on the same cores as the API (on AWS they start
    elsewhere), and those cold starts are not the steady state a rate is judged on."""
    from streamlab.connect import connect
    from streamlab.localstack import stack
    from streamlab.provision import deploy, teardown

    out = out or Path("build") / "bench" / time.strftime("pipeline-%Y%m%d-%H%M%S")
    target = connect(log=log)
    config = config or bench_config()
    runs = []
    try:
        pipeline = deploy(config, target=target, log=log)
        names = PipelineNames.of(pipeline)
        rates = list(rates)
        if warmup_s > 0 and rates:
            log(f"warm-up: {rates[0]:g} req/s for {warmup_s:g} s (not judged) ...")
            run_experiment(target, pipeline.invoke_url, load.constant(rate=rates[0], duration=warmup_s), out / "warmup",
                           names=names, name="warm-up", settle_timeout=settle_s, progress=False)
        for rate in rates:
            log(f"{rate:g} req/s for {seconds:g} s ...")
            runs.append(measure_rate(target, pipeline.invoke_url, names, rate, seconds, out / f"rate-{rate:g}",
                                     settle_s, stack_state=stack.running_state()))
            last = runs[-1]
            log(f"  {last['audit']}; achieved {last['achieved_rate']} req/s; API p99 {last['latency_ms']['p99']} ms; "
                f"lag p99 {last['lag_ms']['p99']} ms, slope {last['lag_slope_ms_per_s']} ms/s, "
                f"drain {last['drain_capacity_rps']} rec/s -> "
                + ("passes" if last["passes"] else "fails: " + "; ".join(last["why_not"])))
            if stop_at_failure and not last["passes"]:
                break
    finally:
        teardown(config, target=target, log=lambda _: None)
    return {**summarize(runs, seconds, out, settings=_settings(config)), "warmup_s": warmup_s}


# The bench's own choices, separate from the suite's and from AWS's ESM defaults: enough
# parallelism for 500 req/s on the 2-core machine (measured in the README's table).
BENCH_PARALLELIZATION = 2
BENCH_RECORD_CONCURRENCY = 4
BENCH_BATCH_WRITES = True


def bench_config(shards: int | None = None, parallelization: int | None = None, batch_size: int | None = None,
                 record_concurrency: int | None = None, batch_writes: bool = BENCH_BATCH_WRITES) -> Any:
    """The pipeline `bench pipeline` deploys; None keeps the bench's choice for that knob."""
    from streamlab.provision import PipelineConfig

    config = PipelineConfig(stack="bench", stream_shards=shards)
    config = config.with_esm(parallelization_factor=parallelization or BENCH_PARALLELIZATION,
                             **({"batch_size": batch_size} if batch_size else {}))
    return config.with_processor(record_concurrency=record_concurrency or BENCH_RECORD_CONCURRENCY,
                                 batch_writes=batch_writes)


def find_knee(start: float = 200, step: float = 100, stop: float = 1000, seconds: float = 60.0,
              out: Path | None = None, log: Callable[[str], None] = print, config: Any = None) -> dict[str, Any]:
    """Step the rate up from `start` until the pipeline stops keeping up; the report carries the knee."""
    report = run(knee_rates(start, step, stop), seconds, out, log=log, stop_at_failure=True, config=config)
    report["knee"] = knee(report["runs"])
    return report


def summarize(runs: list[dict[str, Any]], seconds: float, out: Path, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The bench JSON: every run, the highest rate that passed, and the figures the targets name."""
    passing = [r["rate"] for r in runs if r["passes"]]

    def at(rate: float) -> dict | None:
        r = next((r for r in runs if r["rate"] == rate), None)
        return None if r is None else {
            "api_p99_ms": r["latency_ms"]["p99"], "lag_p50_ms": r["lag_ms"]["p50"], "lag_p99_ms": r["lag_ms"]["p99"],
            "lag_slope_ms_per_s": r["lag_slope_ms_per_s"], "drain_capacity_rps": r["drain_capacity_rps"],
            "keeps_up": r["keeps_up"], "passes": r["passes"], "snapshots": r.get("snapshots")}

    return {
        "bench": "pipeline", "seconds": seconds, "runs": runs, "data": str(out), "settings": settings,
        "highest_passing_rate": max(passing, default=None),
        "targets": {"sustained_rate_min": 500, "stretch": 700, "api_p99_ms_at_200": 50, "api_p99_ms_at_500": 100,
                    "lag_p50_ms_at_200": 300, "lag_p99_ms_at_200": 1000, "lag_p99_ms_max": 1000,
                    "lag_slope_ms_per_s_max": 10},
        "at_200": at(200), "at_500": at(500),
    }


def _settings(config: Any) -> dict[str, Any]:
    """The knobs that move the knee, as the bench deployed them."""
    return {"stream_shards": config.stream_shards or "AWS sizing (4 for on-demand)",
            "batch_size": config.esm.batch_size, "parallelization_factor": config.esm.parallelization_factor,
            "batching_window_s": config.esm.maximum_batching_window_in_seconds,
            "record_concurrency": config.processor.record_concurrency,
            "batch_writes": config.processor.batch_writes}
