"""One call for notebooks and the CLI: the target to work on, with the local stack running."""
from __future__ import annotations

from streamlab.localstack import stack
from streamlab.target import Target, TargetName, aws_target, local_target, target_name_from_env


def connect(target: TargetName | None = None, *, start: bool = True, log=print) -> Target:
    """The target named by `target` or STREAMLAB_TARGET (default: the local stack).

    On the local target this starts the embedded stack unless it is already running, and reuses it
    if it is. With `start=False` it only finds a running stack.
    """
    name = target or target_name_from_env()
    if name == "aws":
        return aws_target()
    state = stack.up(log=log) if start else stack.running_state()
    return local_target(state.endpoint_url)
