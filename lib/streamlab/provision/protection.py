"""How a deployed pipeline is protected against abuse and runaway cost.

One set of numbers for `infra/template.yaml` and `streamlab deploy`, so both deploy the same
guard rails: an API key with a usage plan (throttle and daily quota), a stage throttle below
the account's default (10,000 rps, burst 5,000 - A6), access logs, log retention, an
encrypted on-failure queue and a cap on the processor's concurrency.

The API needs its key by default. `STREAMLAB_OPEN_API=yes` (or the template parameter
`ApiAccess=open`) is the explicit switch to let anyone with the URL call it.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

API_KEY_HEADER = "x-api-key"
OPEN_API_ENV = "STREAMLAB_OPEN_API"

# $context variables of an access log line (JSON, one object per request).
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp", "apiKeyId": "$context.identity.apiKeyId",
    "requestTime": "$context.requestTimeEpoch", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status",
    "responseLength": "$context.responseLength", "integrationLatency": "$context.integrationLatency",
    "latency": "$context.responseLatency", "error": "$context.error.message",
}, separators=(",", ":"))


@dataclass(frozen=True)
class ProtectionSettings:
    """Guard rails of a deployed pipeline (defaults hold the local benchmarks' 1,000 req/s)."""

    api_key_required: bool = True
    # Stage and usage-plan throttle: steady requests per second and burst.
    rate_limit: float = 1000.0
    burst_limit: int = 2000
    # Requests per day per key: about $3.50 of REST API calls at us-east-1 prices.
    quota_per_day: int = 1_000_000
    log_retention_days: int = 14
    # At most this many StreamProcessor invocations at once: the lab's largest mapping is
    # ParallelizationFactor 10 x 4 shards (notebook 07). AWS keeps 100 of the account's limit
    # unreserved, so the account needs a limit of at least 150 (docs/aws.md).
    reserved_concurrency: int = 50

    @classmethod
    def from_env(cls) -> "ProtectionSettings":
        """The defaults, with the API opened only when STREAMLAB_OPEN_API=yes says so."""
        return cls(api_key_required=os.environ.get(OPEN_API_ENV, "").lower() != "yes")


def api_key_name(stack: str) -> str:
    return f"{stack}-key"


def usage_plan_name(stack: str) -> str:
    return f"{stack}-usage-plan"


def access_log_group_name(stack: str) -> str:
    return f"/aws/apigateway/{stack}-access"
