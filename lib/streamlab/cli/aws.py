"""`streamlab aws template | package | policy | inventory | teardown | redact`: the AWS tooling."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from streamlab.cli.base import Command, add_pipeline_arguments, pipeline_config, say


def template(args: argparse.Namespace) -> int:
    from streamlab.aws.template import write_template

    print(write_template(args.out))
    return 0


def package(args: argparse.Namespace) -> int:
    from streamlab.aws.package import write_package

    print(f"{args.out} CodeSha256={write_package(args.out)}")
    return 0


def policy(args: argparse.Namespace) -> int:
    from streamlab.aws.permissions import deployer_policy

    print(json.dumps(deployer_policy(region=args.region, account_id=args.account_id, stack=args.stack), indent=2))
    return 0


def inventory(args: argparse.Namespace) -> int:
    from streamlab.aws.inventory import find_stack_resources
    from streamlab.aws.optin import connect_aws

    target = connect_aws()
    config = pipeline_config(args)
    found = find_stack_resources(target, config.stack)
    for r in found:
        print(f"{r.kind}\t{r.name}\t{r.arn}")
    say(f"{len(found)} resource(s) tagged streamlab:stack={config.stack} in {target.region}")
    return 0


def teardown(args: argparse.Namespace) -> int:
    from streamlab.aws.optin import connect_aws
    from streamlab.aws.teardown import verified_teardown

    verified_teardown(pipeline_config(args), target=connect_aws(), log=say)
    return 0


def redact(args: argparse.Namespace) -> int:
    from streamlab.aws.redact import redact_notebook_file

    for path in args.notebooks:
        say(f"{path}: {redact_notebook_file(path)} output(s) redacted")
    return 0


def _add_template(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=None, help="where to write it (default infra/template.yaml)")


def _add_package(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, default=Path("build/stream_processor.zip"),
                   help="where to write the zip (default build/stream_processor.zip)")


def _add_policy(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", required=True, help="the AWS region you deploy to, e.g. us-east-1")
    p.add_argument("--account-id", required=True, help="your 12-digit AWS account id")
    p.add_argument("--stack", default="streamlab", help="stack name every resource name derives from")


def _add_redact(p: argparse.ArgumentParser) -> None:
    p.add_argument("notebooks", nargs="+", help=".ipynb files, scrubbed in place")


COMMANDS: dict[str, Command] = {
    "template": Command(template, "write infra/template.yaml, the pipeline as one CloudFormation template",
                        _add_template),
    "package": Command(package, "write the StreamProcessor's deployment zip (for the template's S3 upload)",
                       _add_package),
    "policy": Command(policy, "print the least-privilege IAM policy a deployer needs, as JSON", _add_policy),
    "inventory": Command(inventory, "list what exists on AWS with the stack's tag", add_pipeline_arguments),
    "teardown": Command(teardown, "delete the stack on AWS, then prove nothing with its tag remains",
                        add_pipeline_arguments),
    "redact": Command(redact, "scrub account ids, keys and endpoints from executed notebooks, in place",
                      _add_redact),
}
