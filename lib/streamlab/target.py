"""Which account the pipeline runs in (the embedded local stack or AWS), and boto3 clients for it.

Provisioning code is the same for both targets: only the endpoint and credentials differ.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping
from urllib.parse import urlparse

import boto3
from botocore.config import Config

from streamlab.errors import ConfigError

TargetName = Literal["local", "aws"]

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "000000000000"
# MiniStack accepts any credentials when its AUTH is off; these keep boto3 from
# looking for a real profile.
LOCAL_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# A table tag the local stack reads: how many shards the table's stream has (docs/streams.md).
STREAM_SHARDS_TAG = "streamlab:stream-shards"

OPT_IN_ENV = "STREAMLAB_AWS_OPT_IN"
_YES = frozenset({"yes", "true", "1"})

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=64)


@dataclass(frozen=True)
class Target:
    """An account to provision into and measure: its name, region and (locally) endpoint."""

    name: TargetName
    region: str
    endpoint_url: str | None = None
    _session: Any = field(default=None, repr=False, compare=False)
    # Set by `aws_target` once the user opted in; otherwise the opt-in is checked before any AWS call.
    opted_in: bool = field(default=False, repr=False, compare=False)

    @property
    def is_local(self) -> bool:
        return self.name == "local"

    def session(self) -> boto3.Session:
        if self._session is None:
            if self.is_local:
                session = boto3.Session(region_name=self.region, **LOCAL_CREDENTIALS)
            else:
                if not self.opted_in:  # a Target built by hand: the same opt-in as aws_target()
                    require_aws_opt_in()
                session = boto3.Session(region_name=self.region)
            object.__setattr__(self, "_session", session)
        return self._session

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for `service` pointed at this target."""
        kwargs.setdefault("config", _CLIENT_CONFIG)
        if self.endpoint_url:
            kwargs.setdefault("endpoint_url", self.endpoint_url)
        return self.session().client(service, **kwargs)

    def account_id(self) -> str:
        if self.is_local:
            return LOCAL_ACCOUNT_ID
        return self.client("sts").get_caller_identity()["Account"]


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def is_local_url(url: str) -> bool:
    """True when `url` points at this machine (the local stack, a test server), so nothing is billed."""
    return (urlparse(url).hostname or "") in LOOPBACK_HOSTS


def target_name_from_env() -> TargetName:
    name = os.environ.get("STREAMLAB_TARGET", "local").strip().lower()
    if name not in ("local", "aws"):
        raise ConfigError(
            f"STREAMLAB_TARGET={name!r} is not a target; use 'local' (the embedded stack, default) or 'aws'."
        )
    return name  # type: ignore[return-value]


def local_target(endpoint_url: str) -> Target:
    return Target(name="local", region=LOCAL_REGION, endpoint_url=endpoint_url)


def aws_target(region: str | None = None, *, opt_in: bool | None = None) -> Target:
    """The AWS target: a real, billed account, so only with the opt-in (STREAMLAB_AWS_OPT_IN=yes or
    `opt_in=True`; ConfigError otherwise)."""
    require_aws_opt_in(opt_in=opt_in)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise ConfigError("STREAMLAB_TARGET=aws needs a region: set AWS_REGION (for example us-east-1).")
    return Target(name="aws", region=region, opted_in=True)


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
