"""Calls to MiniStack over the wire (boto3 in worker threads) and how their outcomes are classified.

The ESM talks to MiniStack directly on its internal port, never through the front door.
"""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

import boto3
import botocore.exceptions
from botocore.config import Config

from streamlab.target import LOCAL_CREDENTIALS, LOCAL_REGION

# No SDK retries: throttles and connection failures are the poller's to handle (E5), and a
# retried Invoke would run the function twice. The read timeout outlasts Lambda's 900 s cap.
_CONFIG = Config(
    retries={"total_max_attempts": 1}, read_timeout=960, connect_timeout=5, max_pool_connections=64,
    tcp_keepalive=True,
)

UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectionClosedError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectTimeoutError,
)


class Upstream:
    """boto3 clients for MiniStack, shared by every poller (boto3 clients are thread-safe)."""

    def __init__(self, url: str) -> None:
        self.url = url
        # The sharded stream view (localstack/streams); set by the ESM service once its loop runs.
        self.streams: Any = None
        session = boto3.Session(region_name=LOCAL_REGION, **LOCAL_CREDENTIALS)
        self._clients = {
            name: session.client(name, endpoint_url=url, config=_CONFIG)
            for name in ("dynamodbstreams", "lambda", "sqs", "sns", "cloudwatch", "s3")
        }

    def client(self, name: str) -> Any:
        return self._clients[name]

    async def call(self, service: str, operation: str, **kwargs: Any) -> dict:
        if service == "dynamodbstreams" and self.streams is not None:
            return await self.streams.call(operation, **kwargs)
        method: Callable[..., dict] = getattr(self._clients[service], operation)
        return await asyncio.to_thread(method, **kwargs)


THROTTLE_CODES = frozenset({"TooManyRequestsException", "ThrottlingException"})
TOO_LARGE_CODES = frozenset({"RequestTooLargeException", "RequestEntityTooLargeException"})


def invoke_error_kind(code: str, status: int) -> str:
    """How an Invoke that Lambda refused is handled (E5, E7).

    `throttled` (429) and `unreachable` (5xx) are transient. Any other 4xx - the function was
    deleted, the payload is too large, access denied - is `rejected`: the function never ran,
    so like every error before invocation it spends no retry attempt, and the records wait for
    the age limit (or a fix) instead of being retried as if Lambda were merely down.
    """
    if code in THROTTLE_CODES or status == 429:
        return "throttled"
    if code in TOO_LARGE_CODES or status == 413:
        return "too_large"
    if 400 <= status < 500:
        return "rejected"
    return "unreachable"


@dataclass(frozen=True)
class InvokeResult:
    """One synchronous invocation: `kind` is ok | function_error | throttled | unreachable | rejected | too_large."""

    kind: str
    payload: Any = None
    status: int = 0
    function_error: str | None = None
    executed_version: str = "$LATEST"
    request_id: str = ""
    duration_ms: float = 0.0
    detail: str = ""
    error_code: str = ""

    @property
    def reached_function(self) -> bool:
        """False when the function never ran (E5: such attempts are not counted)."""
        return self.kind in ("ok", "function_error")


async def invoke(upstream: Upstream, function_arn: str, event: dict) -> InvokeResult:
    """Invoke RequestResponse; a timeout is a function error (MiniStack answers 200 + X-Amz-Function-Error)."""
    body = json.dumps(event).encode()
    started = time.monotonic()
    try:
        resp = await upstream.call(
            "lambda", "invoke", FunctionName=function_arn, InvocationType="RequestResponse", Payload=body,
        )
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return InvokeResult(kind=invoke_error_kind(code, status), status=status, error_code=code,
                            detail=f"{code}: {exc}", duration_ms=(time.monotonic() - started) * 1000)
    except UNREACHABLE as exc:
        return InvokeResult(kind="unreachable", detail=str(exc), duration_ms=(time.monotonic() - started) * 1000)
    duration = (time.monotonic() - started) * 1000
    raw = resp["Payload"].read()
    try:
        payload = json.loads(raw) if raw else None
    except ValueError:
        payload = raw.decode("utf-8", "replace")
    meta = resp.get("ResponseMetadata", {})
    return InvokeResult(
        kind="function_error" if resp.get("FunctionError") else "ok",
        payload=payload,
        status=resp.get("StatusCode", 200),
        function_error=resp.get("FunctionError"),
        executed_version=resp.get("ExecutedVersion", "$LATEST"),
        request_id=meta.get("RequestId", ""),
        duration_ms=duration,
    )

