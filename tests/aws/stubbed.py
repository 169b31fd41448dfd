"""Offline AWS for tests: stubbed clients per service and a Target that hands them out.

`Stubber` answers every call before it is sent, checks its parameters against `expected_params`
and the service model, and fails on any call not scripted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.stub import Stubber

from streamlab.target import Target

REGION = "us-east-1"
ACCOUNT = "123456789012"


class Script:
    """Per-service scripts of expected calls: one stubbed client per service, created on first use."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.clients: dict[str, Any] = {}
        self.stubbers: dict[str, Stubber] = {}
        self.calls: list[tuple[str, str, dict]] = []  # every scripted (service, operation, params)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            session = boto3.session.Session(
                aws_access_key_id="AKIAOFFLINEDUMMY0000", aws_secret_access_key="offline-dummy-secret",
                region_name=self.region,
            )
            client = session.client(service, config=Config(retries={"max_attempts": 1}))
            stubber = Stubber(client)
            stubber.activate()
            self.clients[service], self.stubbers[service] = client, stubber
        return self.clients[service]

    def stub(self, service: str) -> Stubber:
        self.client(service)
        return self.stubbers[service]

    def ok(self, service: str, operation: str, response: dict | None = None, **params: Any) -> None:
        """Expect `operation` with exactly `params`; answer `response`."""
        self.calls.append((service, operation, params))
        self.stub(service).add_response(operation, response or {}, params)

    def error(self, service: str, operation: str, code: str, status: int = 400, **params: Any) -> None:
        """Expect `operation` with exactly `params`; answer an AWS error `code`."""
        self.calls.append((service, operation, params))
        self.stub(service).add_client_error(
            operation, service_error_code=code, service_message=f"stubbed {code}", http_status_code=status,
            expected_params=params,
        )

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


@dataclass(frozen=True)
class StubbedTarget(Target):
    """An AWS target (`name="aws"`) whose `client()` returns the script's stubbed clients."""

    script: Any = field(default=None, repr=False, compare=False)

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.script.client(service)
