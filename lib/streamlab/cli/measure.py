"""`streamlab burst | report`: send a load profile at an API and audit it; recompute a saved run."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from streamlab import strict_json
from streamlab.cli.base import Command, say
from streamlab.errors import ConfigError


def _workers(value: str) -> int | str:
    if value == "auto":
        return value
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--workers takes a whole number or 'auto', not {value!r}") from None


def add_burst_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", required=True, help="where to POST (the API's invoke URL)")
    p.add_argument("--rate", type=float, required=True, help="requests per second")
    p.add_argument("--duration", type=float, required=True, help="seconds")
    p.add_argument("--profile", default="constant",
                   help="constant | batches:size=N,gap=S[,count=K] | windows:on=S,off=S[,count=K] | "
                        "steps:rates=R1/R2/.. | ramp[:from=R0][,to=R1]  (default constant)")
    p.add_argument("--out", type=Path, default=None, help="run folder (default build/bursts/burst-<time>)")
    p.add_argument("--workers", type=_workers, default="auto", help="sender processes, or auto (default)")
    p.add_argument("--body-size", type=int, default=128, help="bytes of each JSON body (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the body padding")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    p.add_argument("--max-in-flight", type=int, default=None, help="outstanding requests before sends are dropped")
    p.add_argument("--table", default=None, help="the request table: audit the run against it")
    p.add_argument("--queue-url", default=None, help="the ESM's on-failure SQS queue (drained by the audit)")
    p.add_argument("--settle", type=float, default=60.0, help="seconds to wait for pending items (default 60)")
    p.add_argument("--api-name", default=None, help="API Gateway ApiName for metrics")
    p.add_argument("--function-name", default=None, help="the StreamProcessor's name for metrics")
    p.add_argument("--esm-uuid", default=None, help="the event source mapping's UUID for metrics")
    p.add_argument("--metrics-wait", type=float, default=0.0, help="seconds to poll CloudWatch for data")
    p.add_argument("--period", type=int, default=60, help="metric period in seconds (default 60)")
    p.add_argument("--accept-cost", action="store_true", help="allow a burst at a non-local URL (AWS bills it)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=Path, help="a folder `streamlab burst` wrote")


def _print_run(run, obs) -> None:
    from streamlab.load import format_summary

    print(format_summary(run.summary))
    if obs is not None and obs.audit is not None:
        print("audit            " + str(obs.audit).replace("\n", "\n                 "))


def burst(args: argparse.Namespace) -> int:
    from streamlab import load
    from streamlab.aws import guard_burst
    from streamlab.experiment import PipelineNames, run_experiment

    names = PipelineNames(args.table, args.queue_url, args.api_name, args.function_name, args.esm_uuid)
    if not args.table and (args.queue_url or args.api_name or args.function_name or args.esm_uuid):
        raise ConfigError("--queue-url and the metric names need --table (the audit reads the table).")
    target = None
    if args.table:
        from streamlab.connect import connect

        target = connect(log=say)
    schedule = load.parse_profile(args.profile, args.rate, args.duration)
    out = args.out or Path("build") / "bursts" / time.strftime("burst-%Y%m%d-%H%M%S")
    exp = run_experiment(target, args.url, schedule, out, names=names,
                         body=load.JsonBodies(args.body_size, args.seed), settle_timeout=args.settle,
                         metrics_wait_s=args.metrics_wait, period=args.period, accept_cost=args.accept_cost,
                         guard=guard_burst,
                         progress=not args.no_progress, workers=args.workers, timeout=args.timeout,
                         max_in_flight=args.max_in_flight)
    _print_run(exp.run, exp.obs)
    say(f"saved in {out}")
    # Without --table there is no audit: the burst only measured the API, and that is not a failure.
    return 0 if exp.passed or not exp.audited else 1


def report(args: argparse.Namespace) -> int:
    from streamlab import load
    from streamlab.experiment import charts
    from streamlab.observe import load_observations

    run = load.load_run(args.run_dir)
    obs = load_observations(args.run_dir, run.acknowledged_ids)
    strict_json.write(args.run_dir / "summary.json", run.summary)
    paths = charts.render_run(run, obs, args.run_dir)
    _print_run(run, obs)
    say("figures: " + ", ".join(p.name for p in paths))
    return 1 if obs.audit is not None and not obs.audit.passed else 0


COMMANDS: dict[str, Command] = {
    "burst": Command(burst, "send a load profile at a URL, open loop; save data, figures and the audit",
                     add_burst_arguments),
    "report": Command(report, "recompute a run's summary, audit and figures from its saved data",
                      add_report_arguments),
}
