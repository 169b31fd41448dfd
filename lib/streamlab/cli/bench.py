"""`streamlab bench api | esm | load | pipeline`: benchmarks, each written as JSON."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from streamlab.cli.base import Command, say, write_json
from streamlab.errors import ConfigError


def _numbers(text: str, option: str, kind=float) -> list:
    try:
        return [kind(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise ConfigError(f"{option} takes numbers separated by commas, not {text!r}.") from None


def api(args: argparse.Namespace) -> int:
    from streamlab.bench import api as bench_api

    report = bench_api.run(requests=args.requests, concurrency=args.concurrency, item_bytes=args.item_bytes,
                           log=say)
    write_json(json.dumps(report, indent=2), args.out)
    return 0


def esm(args: argparse.Namespace) -> int:
    from streamlab.bench import esm as bench_esm

    report = bench_esm.run(rate=args.rate, duration=args.duration, keys=args.keys, parallelization=args.parallelization)
    write_json(json.dumps(report, indent=2), args.out)
    return 0


def pipeline(args: argparse.Namespace) -> int:
    from streamlab.bench import pipeline as bench_pipeline

    config = bench_pipeline.bench_config(shards=args.shards, parallelization=args.parallelization,
                                         batch_size=args.batch_size, record_concurrency=args.record_concurrency,
                                         batch_writes=not args.per_record_writes)
    if args.find_knee:
        report = bench_pipeline.find_knee(args.start, args.step, args.stop, args.duration, args.data, log=say,
                                          config=config)
    else:
        report = bench_pipeline.run(_numbers(args.rates, "--rates"), args.duration, args.data, log=say, config=config)
    write_json(json.dumps(report, indent=2), args.out)
    return 0


def load(args: argparse.Namespace) -> int:
    from streamlab.bench.load import bench_load

    rates = tuple(_numbers(args.rates, "--rates", int))
    write_json(json.dumps(bench_load(rates, args.seconds, args.workers, log=say), indent=2), args.out)
    return 0


def _add_api(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report to this file")
    p.add_argument("--requests", type=int, default=4000, help="measured requests per path (default 4000)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight per path (default 16)")
    p.add_argument("--item-bytes", type=int, default=256, help="size of the request body (default 256)")


def _add_esm(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate", type=float, default=200.0, help="writes per second (default 200)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument("--keys", type=int, default=50, help="items the writes cycle over, for per-key order (default 50)")
    p.add_argument("--parallelization", type=int, default=1, help="the mappings' ParallelizationFactor 1-10 (default 1)")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON to this file")


def _add_pipeline(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rates", default="200,500,1000", help="comma-separated req/s (default 200,500,1000)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per rate (default 60)")
    p.add_argument("--data", type=Path, default=None, help="folder for each rate's records and figures")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON to this file")
    p.add_argument("--find-knee", action="store_true",
                   help="step the rate from --start by --step up to --stop until it stops keeping up")
    p.add_argument("--start", type=float, default=200.0, help="first rate of --find-knee (default 200)")
    p.add_argument("--step", type=float, default=100.0, help="rate step of --find-knee (default 100)")
    p.add_argument("--stop", type=float, default=1000.0, help="last rate of --find-knee (default 1000)")
    p.add_argument("--shards", type=int, default=None, help="stream shards (default: AWS's sizing, 4 on-demand)")
    p.add_argument("--parallelization", type=int, default=None, help="ParallelizationFactor 1-10")
    p.add_argument("--batch-size", type=int, default=None, help="BatchSize")
    p.add_argument("--record-concurrency", type=int, default=None, help="processor records at once, 1-10")
    p.add_argument("--per-record-writes", action="store_true",
                   help="the processor marks each record with its own UpdateItem (default: one transaction per 100)")


def _add_load(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None, help="also write the JSON to this file")
    p.add_argument("--seconds", type=float, default=10.0, help="seconds per rate (default 10)")
    p.add_argument("--rates", default="500,1000,2000", help="comma-separated req/s (default 500,1000,2000)")
    p.add_argument("--workers", type=int, default=1, help="sender processes (default 1)")


COMMANDS: dict[str, Command] = {
    "api": Command(api, "API path (front door + VTL + PutItem integration) vs raw PutItem", _add_api),
    "esm": Command(esm, "stream lag and IteratorAge: our event source mapping vs MiniStack's own", _add_esm),
    "pipeline": Command(pipeline, "sustained rates through the whole local pipeline, with the no-loss audit",
                        _add_pipeline),
    "load": Command(load, "the load generator's accuracy against a trivial local server", _add_load),
}
