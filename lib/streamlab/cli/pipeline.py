"""`streamlab deploy | teardown`: the pipeline on the chosen target (local stack or AWS)."""
from __future__ import annotations

import argparse
import json

from streamlab.cli.base import Command, add_pipeline_arguments, pipeline_config, say


def deploy(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import deploy as deploy_pipeline

    pipeline = deploy_pipeline(pipeline_config(args), target=connect(log=say), log=say)
    print(json.dumps(pipeline.to_dict(), indent=2))
    return 0


def teardown(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import teardown as teardown_pipeline

    target = connect(log=say)
    if target.is_local:
        teardown_pipeline(pipeline_config(args), target=target, log=say)
    else:
        # On AWS also sweep anything else carrying the stack's tag, and prove it is gone.
        from streamlab.aws.teardown import verified_teardown

        verified_teardown(pipeline_config(args), target=target, log=say)
    return 0


COMMANDS: dict[str, Command] = {
    "deploy": Command(deploy, "deploy the pipeline (idempotent); prints its names, ARNs and invoke URL as JSON",
                      add_pipeline_arguments),
    "teardown": Command(teardown, "delete every resource of the pipeline and check nothing is left",
                        add_pipeline_arguments),
}
