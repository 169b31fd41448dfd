"""`streamlab` command line: up | down | status | deploy | teardown | bench (more subcommands join as they land)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

from streamlab.errors import StreamlabError
from streamlab.localstack import stack


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_up(args: argparse.Namespace) -> int:
    state = stack.up(port=args.port, log=_say)
    print(state.endpoint_url)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = stack.down()
    _say(f"stopped: {', '.join(stopped)}" if stopped else "the local stack was not running")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    st = stack.status()
    print(st.detail)
    for name, alive in st.processes.items():
        print(f"  {name}: {'running' if alive else 'stopped'}")
    return 0 if st.running else 1


def _pipeline_config(args: argparse.Namespace):
    from streamlab.provision import PipelineConfig

    return PipelineConfig(stack=args.stack, stage=args.stage)


def cmd_deploy(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import deploy

    config = _pipeline_config(args)
    pipeline = deploy(config, target=connect(log=_say), log=_say)
    print(json.dumps(pipeline.to_dict(), indent=2))
    return 0


def cmd_teardown(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import teardown

    config = _pipeline_config(args)
    teardown(config, target=connect(log=_say), log=_say)
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from streamlab import bench_api

    report = bench_api.run(requests=args.requests, concurrency=args.concurrency, item_bytes=args.item_bytes)
    print(bench_api.write(report, args.out))
    if args.out:
        _say(f"written to {args.out}")
    return 0


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="bench", required=True)
    api = kinds.add_parser("api", help="API path (front door + VTL + PutItem integration) vs raw PutItem")
    api.add_argument("--out", type=Path, default=None, help="also write the JSON report to this file")
    api.add_argument("--requests", type=int, default=4000, help="measured requests per path (default 4000)")
    api.add_argument("--concurrency", type=int, default=16, help="requests in flight per path (default 16)")
    api.add_argument("--item-bytes", type=int, default=256, help="size of the request body (default 256)")


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "up": (cmd_up, "start the embedded local stack (reuses a running one)"),
    "down": (cmd_down, "stop every process of the local stack"),
    "status": (cmd_status, "is the local stack running? exit 0 if so"),
    "deploy": (cmd_deploy, "deploy the pipeline (idempotent); prints its names, ARNs and invoke URL as JSON"),
    "teardown": (cmd_teardown, "delete every resource of the pipeline and check nothing is left"),
    "bench": (cmd_bench, "benchmarks written as JSON: `bench api`"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if name == "up":
            p.add_argument("--port", type=int, default=None, help="front door port (default 4566 or STREAMLAB_PORT)")
        if name in ("deploy", "teardown"):
            p.add_argument("--stack", default="streamlab", help="stack name every resource name derives from")
            p.add_argument("--stage", default="dev", help="API stage name (default dev)")
        if name == "bench":
            _bench_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except StreamlabError as exc:
        _say(f"streamlab: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
