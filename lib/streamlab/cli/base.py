"""What every command group shares: the `Command` entry, messages on stderr, common arguments."""
from __future__ import annotations

import argparse
import sys
from typing import Callable, NamedTuple


class Command(NamedTuple):
    """One subcommand: what it runs, its one-line help, and the arguments it takes."""

    run: Callable[[argparse.Namespace], int]
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]


def say(message: str) -> None:
    """Progress and notes go to stderr; stdout carries only the command's result."""
    print(message, file=sys.stderr)


def no_arguments(p: argparse.ArgumentParser) -> None:
    pass


def add_pipeline_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default="streamlab", help="stack name every resource name derives from")
    p.add_argument("--stage", default="dev", help="API stage name (default dev)")


def pipeline_config(args: argparse.Namespace):
    from streamlab.provision import PipelineConfig

    return PipelineConfig(stack=args.stack, stage=args.stage)


def write_json(text: str, out) -> None:
    """Print the JSON result, and also write it to `out` when given."""
    from pathlib import Path

    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
        say(f"written to {path}")
    print(text)
