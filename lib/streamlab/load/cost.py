"""The cost guard: a burst at anything but this machine may be a real, billed AWS API."""
from __future__ import annotations

import math
from urllib.parse import urlparse

from streamlab.errors import CostGuardError

# us-east-1 list prices (aws-semantics.md §5); check before relying on them.
API_PER_MILLION = 3.50
WRITE_UNIT_PER_MILLION = 0.625  # on-demand, 1 KB each
LAMBDA_PER_MILLION = 0.20
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def is_local_url(url: str) -> bool:
    return (urlparse(url).hostname or "") in LOCAL_HOSTS


def estimate_aws_cost(requests: int, body_bytes: int) -> float:
    """US dollars for `requests` through API Gateway -> DynamoDB -> Lambda (item write and the
    processor's update; Lambda duration not included)."""
    write_units = 2 * max(1, math.ceil((body_bytes + 200) / 1024))
    per_request = API_PER_MILLION + write_units * WRITE_UNIT_PER_MILLION + LAMBDA_PER_MILLION
    return requests * per_request / 1_000_000


def check_cost(url: str, requests: int, body_bytes: int, accepted: bool) -> float:
    """Refuse a burst at a non-local URL unless the caller accepted its estimated cost."""
    cost = estimate_aws_cost(requests, body_bytes)
    if not is_local_url(url) and not accepted:
        raise CostGuardError(
            f"{url} is not this machine: {requests} requests may cost about ${cost:.4f} on AWS. "
            "Accept that with --accept-cost (CLI) or accept_cost=True.")
    return cost
