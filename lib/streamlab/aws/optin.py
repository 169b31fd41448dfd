"""The AWS target is opt-in: nothing touches a real account unless the user said so explicitly.

The local stack is the default. `STREAMLAB_TARGET=aws` alone is not enough (it may be left over in
a shell); the user must also set `STREAMLAB_AWS_OPT_IN=yes` or pass `opt_in=True`.
"""
from __future__ import annotations

import os
from typing import Mapping

from streamlab.errors import ConfigError
from streamlab.target import Target, aws_target

OPT_IN_ENV = "STREAMLAB_AWS_OPT_IN"
_YES = frozenset({"yes", "true", "1"})


def aws_opted_in(*, opt_in: bool | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """True when the caller passed opt_in=True, or (opt_in not given) STREAMLAB_AWS_OPT_IN=yes."""
    if opt_in is not None:
        return bool(opt_in)
    env = os.environ if environ is None else environ
    return env.get(OPT_IN_ENV, "").strip().lower() in _YES


def require_aws_opt_in(*, opt_in: bool | None = None, environ: Mapping[str, str] | None = None) -> None:
    """Raise ConfigError unless the user opted in to working on a real AWS account."""
    if aws_opted_in(opt_in=opt_in, environ=environ):
        return
    raise ConfigError(
        "STREAMLAB_TARGET=aws works on your real AWS account and costs money. To go ahead, set "
        f"{OPT_IN_ENV}=yes (or pass opt_in=True); to stay on the free local stack, unset STREAMLAB_TARGET. "
        "See docs/aws.md."
    )


def connect_aws(region: str | None = None, *, opt_in: bool | None = None) -> Target:
    """The AWS target, after the opt-in check (what `streamlab.connect()` does for 'aws')."""
    return aws_target(region, opt_in=opt_in)
