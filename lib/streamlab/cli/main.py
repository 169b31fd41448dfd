"""The `streamlab` command line: one parser built from each command group's table."""
from __future__ import annotations

import argparse
import sys

from streamlab.cli import aws, bench, measure, notebooks, pipeline, stack
from streamlab.cli.base import Command, say
from streamlab.errors import StreamlabError

DESCRIPTION = "streamlab: learn and measure the fire-and-forget API pattern, locally or on AWS."

COMMANDS: dict[str, Command] = {**stack.COMMANDS, **pipeline.COMMANDS, **measure.COMMANDS, **notebooks.COMMANDS}

# `streamlab GROUP KIND`
GROUPS: dict[str, tuple[str, dict[str, Command]]] = {
    "bench": ("benchmarks, each written as JSON", bench.COMMANDS),
    "aws": ("the AWS tooling: template, package, policy, inventory, verified teardown, redaction", aws.COMMANDS),
}


def _add_commands(sub: argparse._SubParsersAction, commands: dict[str, Command]) -> None:
    for name, command in commands.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        p.set_defaults(func=command.run)
        command.add_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlab", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_commands(sub, COMMANDS)
    for group, (help_text, commands) in GROUPS.items():
        p = sub.add_parser(group, help=help_text, description=help_text)
        _add_commands(p.add_subparsers(dest=group, required=True, metavar="KIND"), commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except StreamlabError as exc:
        say(f"streamlab: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
