"""`python -m streamlab.aws inventory|teardown|redact`: the AWS safety tools until the `streamlab` CLI has them."""
from __future__ import annotations

import argparse
import sys

from streamlab.errors import StreamlabError


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streamlab.aws", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("inventory", "list what exists with the stack's tag"),
                       ("teardown", "delete the stack, then prove nothing with its tag remains")):
        p = sub.add_parser(name, help=text, description=text)
        p.add_argument("--stack", default="streamlab", help="stack name (the streamlab:stack tag value)")
        p.add_argument("--stage", default="dev", help="API stage name (default dev)")
    p = sub.add_parser("redact", help="scrub account ids, keys and endpoints from notebooks, in place")
    p.add_argument("notebooks", nargs="+", help=".ipynb files")
    args = parser.parse_args(argv)
    try:
        if args.command == "redact":
            from streamlab.aws.redact import redact_notebook_file

            for path in args.notebooks:
                _say(f"{path}: {redact_notebook_file(path)} output(s) redacted")
            return 0
        from streamlab.aws.optin import connect_aws
        from streamlab.provision import PipelineConfig

        target = connect_aws()
        config = PipelineConfig(stack=args.stack, stage=args.stage)
        if args.command == "inventory":
            from streamlab.aws.inventory import find_stack_resources

            found = find_stack_resources(target, config.stack)
            for r in found:
                print(f"{r.kind}\t{r.name}\t{r.arn}")
            _say(f"{len(found)} resource(s) tagged streamlab:stack={config.stack} in {target.region}")
            return 0
        from streamlab.aws.teardown import verified_teardown

        verified_teardown(config, target=target, log=_say)
        return 0
    except StreamlabError as exc:
        _say(f"streamlab: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
