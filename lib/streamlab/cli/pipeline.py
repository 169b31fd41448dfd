"""`streamlab deploy | teardown`: the pipeline on the chosen target (local stack or AWS)."""
from __future__ import annotations

import argparse
import json

from streamlab.cli.base import Command, add_pipeline_arguments, pipeline_config, say


def deploy(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import deploy as deploy_pipeline

    config = pipeline_config(args)  # a bad name is refused before any stack is started or called
    target = connect(log=say)
    pipeline = deploy_pipeline(config, target=target, log=say)
    if target.is_local:
        from streamlab.localstack.stack import clear_recovery_report

        clear_recovery_report()  # a crash recovery's losses are recreated now
    print(json.dumps(pipeline.to_dict(), indent=2))
    return 0


def teardown(args: argparse.Namespace) -> int:
    from streamlab.connect import connect
    from streamlab.provision import teardown as teardown_pipeline

    config = pipeline_config(args)
    target = connect(log=say)
    if target.is_local:
        teardown_pipeline(config, target=target, log=say)
    else:
        # On AWS also sweep anything else carrying the stack's tag, and prove it is gone.
        from streamlab.aws.teardown import verified_teardown

        verified_teardown(config, target=target, log=say)
    return 0


COMMANDS: dict[str, Command] = {
    "deploy": Command(deploy, "deploy the pipeline (idempotent); prints its names, ARNs and invoke URL as JSON",
                      add_pipeline_arguments),
    "teardown": Command(teardown, "delete every resource of the pipeline and check nothing is left",
                        add_pipeline_arguments),
}
