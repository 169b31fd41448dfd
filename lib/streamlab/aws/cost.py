"""What a burst costs on AWS, estimated before it is sent, and the guard that refuses expensive ones.

Prices are us-east-1 list prices from docs/aws-semantics.md §5; check them before
relying on the figure.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

from streamlab.errors import CostGuardError

USD_PER_MILLION_API_REQUESTS = 3.50
USD_PER_MILLION_WRITE_UNITS = 0.625
USD_PER_MILLION_LAMBDA_REQUESTS = 0.20
USD_PER_LAMBDA_GB_SECOND = 0.0000166667
WRITE_UNIT_BYTES = 1024
DEFAULT_CAP_USD = 1.00


@dataclass(frozen=True)
class CostEstimate:
    requests: int
    api_usd: float
    dynamodb_usd: float
    lambda_usd: float

    @property
    def total_usd(self) -> float:
        return self.api_usd + self.dynamodb_usd + self.lambda_usd

    def __str__(self) -> str:
        return (
            f"estimated AWS cost for {self.requests:,} requests: ${self.total_usd:.4f} "
            f"(API ${self.api_usd:.4f}, DynamoDB ${self.dynamodb_usd:.4f}, Lambda ${self.lambda_usd:.4f})"
        )


def estimate_cost(
    requests: int,
    item_bytes: int = 512,
    batch_size: int = 100,
    invocation_ms: float = 200.0,
    memory_mb: int = 128,
) -> CostEstimate:
    """The API call, the PutItem and the processor's UpdateItem per request; one invocation per batch."""
    write_units = 2 * requests * max(1, math.ceil(item_bytes / WRITE_UNIT_BYTES))
    invocations = math.ceil(requests / max(1, batch_size))
    gb_seconds = invocations * (invocation_ms / 1000) * (memory_mb / 1024)
    return CostEstimate(
        requests=requests,
        api_usd=requests / 1e6 * USD_PER_MILLION_API_REQUESTS,
        dynamodb_usd=write_units / 1e6 * USD_PER_MILLION_WRITE_UNITS,
        lambda_usd=invocations / 1e6 * USD_PER_MILLION_LAMBDA_REQUESTS + gb_seconds * USD_PER_LAMBDA_GB_SECOND,
    )


def cost_cap_usd() -> float:
    return float(os.environ.get("STREAMLAB_COST_CAP_USD") or DEFAULT_CAP_USD)


def guard_cost(estimate: CostEstimate, *, confirmed: bool = False, cap_usd: float | None = None) -> None:
    """Refuse a burst above the cap unless the caller confirmed it."""
    cap = cost_cap_usd() if cap_usd is None else cap_usd
    if estimate.total_usd > cap and not confirmed:
        raise CostGuardError(
            f"{estimate}, above the cap of ${cap:.2f}. Lower the request count, raise the cap with "
            f"STREAMLAB_COST_CAP_USD, or confirm it (confirm=True; --accept-cost on the CLI) to send it anyway."
        )
