"""`streamlab reconcile | redrive | fault`: requests stuck in ACCEPTED, re-processing, the throttling switch."""
from __future__ import annotations

import argparse
import json

from streamlab.cli.base import Command, say


def add_reconcile_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default="streamlab", help="stack name every resource name derives from")
    p.add_argument("--older-than", type=float, default=60.0, metavar="SECONDS",
                   help="list requests ACCEPTED for longer than this (default 60)")
    p.add_argument("--redrive", action="store_true", help="re-process the stuck requests with the StreamProcessor")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def add_redrive_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stack", default="streamlab", help="stack name every resource name derives from")
    p.add_argument("ids", nargs="+", help="request ids to re-process (FAILED or stuck ACCEPTED ones)")


def add_fault_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="fault", required=True)
    t = sub.add_parser("throttle", help="throttle a share of the API's DynamoDB writes for a while (local stack)")
    t.add_argument("--share", type=float, required=True, help="0..1 of the API's writes (0 turns it off)")
    t.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")


def reconcile(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.observe.reconcile import reconcile as find_and_redrive
    from streamlab.provision import PipelineConfig

    config = PipelineConfig(stack=args.stack)
    report = find_and_redrive(connect(log=say), table=config.table_name, function_name=config.function_name,
                       older_than_s=args.older_than, redrive_stuck=args.redrive)
    if args.json:
        print(json.dumps({"stuck": [s.__dict__ for s in report.stuck],
                          "redrive": report.redrive.__dict__ if report.redrive else None}, indent=2))
    else:
        print(report)
    return 0 if not report.stuck or (report.redrive and not report.redrive.failed) else 1


def redrive(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.observe.reconcile import redrive as redrive_requests
    from streamlab.provision import PipelineConfig

    config = PipelineConfig(stack=args.stack)
    result = redrive_requests(connect(log=say), args.ids, table=config.table_name, function_name=config.function_name)
    print(result)
    return 1 if result.failed else 0


def fault(args: argparse.Namespace) -> int:
    from streamlab.localstack import stack
    from streamlab.localstack.state import StackPaths, default_home
    from streamlab.localstack.throttle_switch import write_setting

    stack.running_state()
    setting = write_setting(StackPaths(default_home()), args.share, args.seconds if args.share else 0.0)
    print(f"throttling {setting.share:.0%} of the API's DynamoDB writes for {max(args.seconds, 0):g} s"
          if setting.share else "DynamoDB throttling off")
    return 0


COMMANDS: dict[str, Command] = {
    "reconcile": Command(reconcile, "list requests stuck in ACCEPTED longer than a threshold; --redrive re-processes them",
                         add_reconcile_arguments),
    "redrive": Command(redrive, "re-process chosen FAILED requests (after a fix)", add_redrive_arguments),
    "fault": Command(fault, "inject a fault into the local stack (throttle a share of the API's DynamoDB writes)",
                     add_fault_arguments),
}
