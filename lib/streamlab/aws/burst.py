"""The cost guard in front of every burst: on AWS, show what it will cost and refuse above the cap."""
from __future__ import annotations

from typing import Callable

from streamlab.cost import CostEstimate, cost_cap_usd, estimate_cost, guard_cost
from streamlab.errors import ConfigError
from streamlab.provision.config import EsmSettings, ProcessorSettings
from streamlab.target import Target


def guard_burst(
    target: Target,
    requests: int,
    item_bytes: int,
    confirm: bool = False,
    *,
    batch_size: int = EsmSettings.batch_size,
    memory_mb: int = ProcessorSettings.memory_mb,
    cap_usd: float | None = None,
    log: Callable[[str], None] = print,
) -> CostEstimate | None:
    """Call before sending a burst. Local stack: free, returns None. AWS: prints the estimate, then
    raises CostGuardError if it is above the cap (STREAMLAB_COST_CAP_USD, default $1) and not confirmed.
    """
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 0:
        raise ConfigError(f"requests={requests!r} must be a whole number >= 0.")
    if isinstance(item_bytes, bool) or not isinstance(item_bytes, int) or item_bytes < 1:
        raise ConfigError(f"item_bytes={item_bytes!r} must be a whole number >= 1.")
    if target.is_local:
        return None
    estimate = estimate_cost(requests, item_bytes=item_bytes, batch_size=batch_size, memory_mb=memory_mb)
    cap = cost_cap_usd() if cap_usd is None else cap_usd
    log(f"AWS {target.region}: {estimate} (cap ${cap:.2f}{', confirmed' if confirm else ''})")
    guard_cost(estimate, confirmed=confirm, cap_usd=cap)
    return estimate
