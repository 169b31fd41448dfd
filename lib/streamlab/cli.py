"""`streamlab` command line: up | down | status | deploy | teardown | burst | report | suite | lab | bench ..."""
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

    target = connect(log=_say)
    pipeline = deploy(_pipeline_config(args), target=target, log=_say)
    if target.is_local:
        stack.clear_recovery_report()
    print(json.dumps(pipeline.to_dict(), indent=2))
    return 0


def cmd_teardown(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import teardown

    target = connect(log=_say)
    if target.is_local:
        teardown(_pipeline_config(args), target=target, log=_say)
    else:
        # On AWS also sweep anything else carrying the stack's tag, and prove it is gone.
        from streamlab.aws.teardown import verified_teardown

        verified_teardown(_pipeline_config(args), target=target, log=_say)
    return 0


def cmd_suite(args: argparse.Namespace) -> int:
    from streamlab.suite import run_suite

    run_suite(profile=args.profile, only=args.only or None, log=_say)
    return 0


def cmd_lab(args: argparse.Namespace) -> int:
    from streamlab.lab import run_lab

    run_lab(port=args.port)
    return 0


def cmd_bench_api(args: argparse.Namespace) -> int:
    from streamlab import bench_api

    report = bench_api.run(requests=args.requests, concurrency=args.concurrency, item_bytes=args.item_bytes)
    print(bench_api.write(report, args.out))
    if args.out:
        _say(f"written to {args.out}")
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    record = stack.restart_service(args.service)
    _say(f"restarted {args.service} (pid {record.pid})")
    return 0


def cmd_bench_esm(args: argparse.Namespace) -> int:
    from streamlab import bench_esm

    text = json.dumps(bench_esm.run(rate=args.rate, duration=args.duration), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def cmd_bench_pipeline(args: argparse.Namespace) -> int:
    from streamlab import bench_pipeline

    rates = [float(r) for r in args.rates.split(",") if r.strip()]
    text = json.dumps(bench_pipeline.run(rates, args.duration, args.data, log=_say), indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def cmd_burst(args: argparse.Namespace) -> int:
    from streamlab.measure_cli import burst

    return burst(args)


def cmd_report(args: argparse.Namespace) -> int:
    from streamlab.measure_cli import report

    return report(args)


def cmd_bench_load(args: argparse.Namespace) -> int:
    from streamlab.measure_cli import bench_load

    return bench_load(args)


def _lazy_arguments(name: str) -> Callable[[argparse.ArgumentParser], None]:
    """Argument adders that live in measure_cli, imported only when the parser is built."""
    def add(p: argparse.ArgumentParser) -> None:
        from streamlab import measure_cli

        getattr(measure_cli, name)(p)

    return add


def _port_arguments(default: int | None, help_text: str) -> Callable[[argparse.ArgumentParser], None]:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--port", type=int, default=default, help=help_text)

    return add


def _pipeline_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default="streamlab", help="stack name every resource name derives from")
    p.add_argument("--stage", default="dev", help="API stage name (default dev)")


def _suite_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default="ci", help="parameter profile from notebooks/profiles.json (ci, full)")
    p.add_argument("only", nargs="*", help="run only notebooks whose names start with these (e.g. 00 01)")


def _bench_api_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report to this file")
    p.add_argument("--requests", type=int, default=4000, help="measured requests per path (default 4000)")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight per path (default 16)")
    p.add_argument("--item-bytes", type=int, default=256, help="size of the request body (default 256)")


def _restart_arguments(p: argparse.ArgumentParser) -> None:
    # Not MiniStack: its data lives in its memory, a restart would lose it.
    p.add_argument("service", choices=[spec.name for spec in stack.SERVICES if spec.name != "ministack"])


def _bench_esm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rate", type=float, default=200.0, help="writes per second (default 200)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    p.add_argument("--out", default=None, help="also write the JSON to this file")


def _bench_pipeline_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rates", default="200,500,1000", help="comma-separated req/s (default 200,500,1000)")
    p.add_argument("--duration", type=float, default=60.0, help="seconds per rate (default 60)")
    p.add_argument("--data", type=Path, default=None, help="folder for each rate's records and figures")
    p.add_argument("--out", default=None, help="also write the JSON to this file")


def _no_arguments(p: argparse.ArgumentParser) -> None:
    pass


Command = tuple[Callable[[argparse.Namespace], int], str, Callable[[argparse.ArgumentParser], None]]

COMMANDS: dict[str, Command] = {
    "up": (cmd_up, "start the embedded local stack (reuses a running one)",
           _port_arguments(None, "front door port on 127.0.0.1 (default 4566 or STREAMLAB_PORT)")),
    "down": (cmd_down, "stop every process of the local stack", _no_arguments),
    "status": (cmd_status, "is the local stack running? exit 0 if so", _no_arguments),
    "restart": (cmd_restart, "restart one service of the running stack (e.g. `restart esm`), leaving the rest",
                _restart_arguments),
    "deploy": (cmd_deploy, "deploy the pipeline (idempotent); prints its names, ARNs and invoke URL as JSON",
               _pipeline_arguments),
    "teardown": (cmd_teardown, "delete every resource of the pipeline and check nothing is left", _pipeline_arguments),
    "burst": (cmd_burst, "send a load profile at a URL, open loop; save data, figures and the audit",
              _lazy_arguments("add_burst_arguments")),
    "report": (cmd_report, "recompute a run's summary, audit and figures from its saved data",
               _lazy_arguments("add_report_arguments")),
    "suite": (cmd_suite, "run every notebook with papermill into build/run/<timestamp>/", _suite_arguments),
    "lab": (cmd_lab, "open JupyterLab on notebooks/ (127.0.0.1 only)",
            _port_arguments(8888, "JupyterLab port on 127.0.0.1 (default 8888)")),
}

# `streamlab bench KIND`: each writes a JSON report.
BENCHES: dict[str, Command] = {
    "api": (cmd_bench_api, "API path (front door + VTL + PutItem integration) vs raw PutItem", _bench_api_arguments),
    "esm": (cmd_bench_esm, "stream lag and IteratorAge: our event source mapping vs MiniStack's own",
            _bench_esm_arguments),
    "pipeline": (cmd_bench_pipeline, "sustained rates through the whole local pipeline, with the no-loss audit",
                 _bench_pipeline_arguments),
    "load": (cmd_bench_load, "the load generator's accuracy against a trivial local server",
             _lazy_arguments("add_bench_load_arguments")),
}


def _add_commands(sub: argparse._SubParsersAction, commands: dict[str, Command]) -> None:
    for name, (func, help_text, add_arguments) in commands.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        add_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="streamlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_commands(sub, COMMANDS)
    bench = sub.add_parser("bench", help="benchmarks, written as JSON")
    _add_commands(bench.add_subparsers(dest="bench", required=True), BENCHES)
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
