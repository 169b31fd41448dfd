"""`streamlab` command line: up | down | status (more subcommands join as they land)."""
from __future__ import annotations

import argparse
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


def cmd_restart(args: argparse.Namespace) -> int:
    record = stack.restart_service(args.service)
    _say(f"restarted {args.service} (pid {record.pid})")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from streamlab import bench_esm

    result = bench_esm.run(rate=args.rate, duration=args.duration)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "up": (cmd_up, "start the embedded local stack (reuses a running one)"),
    "down": (cmd_down, "stop every process of the local stack"),
    "status": (cmd_status, "is the local stack running? exit 0 if so"),
    "restart": (cmd_restart, "restart one service of the running stack (e.g. `restart esm`), leaving the rest"),
    "bench": (cmd_bench, "benchmarks, JSON on stdout: `bench esm` (stream lag, ours vs MiniStack's mapping)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if name == "up":
            p.add_argument("--port", type=int, default=None, help="front door port (default 4566 or STREAMLAB_PORT)")
        if name == "restart":
            # Not MiniStack: its data lives in its memory, a restart would lose it.
            p.add_argument("service", choices=[spec.name for spec in stack.SERVICES if spec.name != "ministack"])
        if name == "bench":
            p.add_argument("what", choices=["esm"])
            p.add_argument("--rate", type=float, default=200.0, help="writes per second (default 200)")
            p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
            p.add_argument("--out", default=None, help="also write the JSON to this file")
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
