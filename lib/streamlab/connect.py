"""One call for notebooks and the CLI: the target to work on, with the local stack running."""
from __future__ import annotations

from streamlab.localstack import stack
from streamlab.target import Target, TargetName, local_target, target_name_from_env


def connect(target: TargetName | None = None, *, start: bool = True, log=print,
            aws_opt_in: bool | None = None) -> Target:
    """The target named by `target` or STREAMLAB_TARGET (default: the local stack).

    On the local target this starts the embedded stack unless it is already running, and reuses it
    if it is. With `start=False` it only finds a running stack. The AWS target is a real, billed
    account: it also needs STREAMLAB_AWS_OPT_IN=yes (or `aws_opt_in=True`).
    """
    name = target or target_name_from_env()
    if name == "aws":
        from streamlab.aws.optin import connect_aws

        return connect_aws(opt_in=aws_opt_in)
    state = stack.up(log=log) if start else stack.running_state()
    return local_target(state.endpoint_url)
