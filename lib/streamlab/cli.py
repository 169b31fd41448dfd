"""`streamlab` command line: up | down | status (more subcommands join as they land)."""
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


def cmd_suite(args: argparse.Namespace) -> int:
    from streamlab.suite import run_suite

    run_suite(profile=args.profile, only=args.only or None, log=_say)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from streamlab.lab import run_lab

    run_lab(port=args.port or 8888)
    return 0


COMMANDS: dict[str, tuple[Callable[[argparse.Namespace], int], str]] = {
    "up": (cmd_up, "start the embedded local stack (reuses a running one)"),
    "down": (cmd_down, "stop every process of the local stack"),
    "status": (cmd_status, "is the local stack running? exit 0 if so"),
    "suite": (cmd_suite, "run every notebook with papermill into build/run/<timestamp>/"),
    "lab": (cmd_lab, "open JupyterLab on notebooks/ (127.0.0.1 only)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
        if name in ("up", "lab"):
            p.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (up: 4566 or STREAMLAB_PORT; lab: 8888)")
        if name == "suite":
            p.add_argument("--profile", default="ci", help="parameter profile from notebooks/profiles.json (ci, full)")
            p.add_argument("only", nargs="*", help="run only notebooks whose names start with these (e.g. 00 01)")
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
