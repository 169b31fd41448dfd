"""`streamlab` command line: up | down | status | burst | report | bench (more subcommands join as they land)."""
from __future__ import annotations

import argparse
import sys
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


def cmd_burst(args: argparse.Namespace) -> int:
    from streamlab.measure_cli import burst

    return burst(args)


def cmd_report(args: argparse.Namespace) -> int:
    from streamlab.measure_cli import report

    return report(args)


def cmd_bench(args: argparse.Namespace) -> int:
    return args.bench_func(args)


def cmd_bench_load(args: argparse.Namespace) -> int:
    from streamlab.measure_cli import bench_load

    return bench_load(args)


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "up": (cmd_up, "start the embedded local stack (reuses a running one)"),
    "down": (cmd_down, "stop every process of the local stack"),
    "status": (cmd_status, "is the local stack running? exit 0 if so"),
    "burst": (cmd_burst, "send a load profile at a URL, open loop; save data, figures and the audit"),
    "report": (cmd_report, "recompute a run's summary, audit and figures from its saved data"),
    "bench": (cmd_bench, "benchmarks, written as JSON (see `streamlab bench -h`)"),
}

# `streamlab bench NAME`: each benchmark is (function, help, add_arguments).
BENCHES: dict[str, tuple[Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None]]] = {}


def _add_bench_load_args(p: argparse.ArgumentParser) -> None:
    from streamlab.measure_cli import add_bench_load_arguments

    add_bench_load_arguments(p)


BENCHES["load"] = (cmd_bench_load, "the load generator's accuracy against a trivial local server", _add_bench_load_args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if name == "up":
            p.add_argument("--port", type=int, default=None, help="front door port (default 4566 or STREAMLAB_PORT)")
        elif name in ("burst", "report"):
            from streamlab import measure_cli

            (measure_cli.add_burst_arguments if name == "burst" else measure_cli.add_report_arguments)(p)
        elif name == "bench":
            benches = p.add_subparsers(dest="bench", required=True)
            for bench_name, (bench_func, bench_help, add_args) in BENCHES.items():
                b = benches.add_parser(bench_name, help=bench_help)
                b.set_defaults(bench_func=bench_func)
                add_args(b)
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
