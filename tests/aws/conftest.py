"""Offline AWS fixtures: a Target whose clients are botocore Stubbers, with the network unreachable.

The send itself is replaced by an assertion so nothing can reach AWS even if a stub were missing.
"""
from __future__ import annotations

import time

import pytest
from botocore.httpsession import URLLib3Session

from .stubbed import REGION, Script, StubbedTarget


@pytest.fixture
def offline(monkeypatch):
    """Dummy credentials, no metadata service, no shared config, no network, no waiting."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIAOFFLINEDUMMY0000", "AWS_SECRET_ACCESS_KEY": "offline-dummy-secret",
        "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    def no_network(self, request):
        raise AssertionError(f"an AWS call tried to reach the network: {request.method} {request.url}")

    monkeypatch.setattr(URLLib3Session, "send", no_network)
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)  # waiters and polls run at once; count them
    return sleeps


@pytest.fixture
def aws(offline):
    """The script of expected AWS calls; at the end, every scripted call must have been made."""
    script = Script(REGION)
    yield script
    script.verify()


@pytest.fixture
def aws_target(aws) -> StubbedTarget:
    return StubbedTarget(name="aws", region=REGION, script=aws)
