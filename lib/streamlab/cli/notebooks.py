"""`streamlab suite | lab`: the notebooks, executed with papermill or opened in JupyterLab."""
from __future__ import annotations

import argparse
from pathlib import Path

from streamlab.cli.base import Command, say


def suite(args: argparse.Namespace) -> int:
    from streamlab.notebook.suite import run_suite

    run_suite(profile=args.profile, only=args.only or None, log=say, junit=args.junit)
    return 0


def lab(args: argparse.Namespace) -> int:
    from streamlab.notebook.lab import run_lab

    return run_lab(port=args.port)


def _add_suite(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="ci",
                   help="parameter profile from notebooks/profiles.json: ci (short, the default), "
                        "lab (longer runs and repeats, steadier numbers) or full (each notebook's own defaults)")
    p.add_argument("--junit", type=Path, default=None, metavar="PATH",
                   help="also write a JUnit XML file there: one test case per notebook, for CI")
    p.add_argument("only", nargs="*", help="run only notebooks whose names start with these (e.g. 00 01)")


def _add_lab(p: argparse.ArgumentParser) -> None:
    p.add_argument("--port", type=int, default=8888, help="JupyterLab port on 127.0.0.1 (default 8888)")


COMMANDS: dict[str, Command] = {
    "suite": Command(suite, "run every notebook with papermill into build/run/<timestamp>/", _add_suite),
    "lab": Command(lab, "open JupyterLab on the notebooks (127.0.0.1 only; outputs are never saved into them)",
                   _add_lab),
}
