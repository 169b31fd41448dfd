"""The AWS target is opt-in: nothing touches a real account unless the user said so explicitly.

The local stack is the default. `STREAMLAB_TARGET=aws` alone is not enough (it may be left over in
a shell); the user must also set `STREAMLAB_AWS_OPT_IN=yes` or pass `opt_in=True`.
"""
from __future__ import annotations

# The check itself lives with the Target, so that every way to an AWS target goes through it.
from streamlab.target import OPT_IN_ENV, Target, aws_opted_in, aws_target, require_aws_opt_in

__all__ = ["OPT_IN_ENV", "aws_opted_in", "connect_aws", "require_aws_opt_in"]


def connect_aws(region: str | None = None, *, opt_in: bool | None = None) -> Target:
    """The AWS target, after the opt-in check (what `streamlab.connect()` does for 'aws')."""
    return aws_target(region, opt_in=opt_in)
