"""`streamlab up | down | status | restart`: the embedded local stack's lifecycle."""
from __future__ import annotations

import argparse

from streamlab.cli.base import Command, no_arguments, say


def up(args: argparse.Namespace) -> int:
    from streamlab.localstack import stack

    state = stack.up(port=args.port, log=say)
    print(state.endpoint_url)
    return 0


def down(args: argparse.Namespace) -> int:
    from streamlab.localstack import stack

    stopped = stack.down()
    say(f"stopped: {', '.join(stopped)}" if stopped else "the local stack was not running")
    return 0


def status(args: argparse.Namespace) -> int:
    from streamlab.localstack import stack

    st = stack.status()
    print(st.detail)
    for name, alive in st.processes.items():
        print(f"  {name}: {'running' if alive else 'stopped'}")
    return 0 if st.running else 1


def restart(args: argparse.Namespace) -> int:
    from streamlab.localstack import stack

    record = stack.restart_service(args.service)
    say(f"restarted {args.service} (pid {record.pid})")
    return 0


def _add_port(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=None,
                   help="front door port on 127.0.0.1 (default 4566 or STREAMLAB_PORT)")


def _add_service(p: argparse.ArgumentParser) -> None:
    from streamlab.localstack import stack

    # Not MiniStack: its data lives in its memory, a restart would lose it.
    p.add_argument("service", choices=[spec.name for spec in stack.SERVICES if spec.name != "ministack"])


COMMANDS: dict[str, Command] = {
    "up": Command(up, "start the embedded local stack (reuses a running one)", _add_port),
    "down": Command(down, "stop every process of the local stack", no_arguments),
    "status": Command(status, "is the local stack running? exit 0 if so", no_arguments),
    "restart": Command(restart, "restart one service of the running stack (e.g. `restart esm`), leaving the rest",
                       _add_service),
}
