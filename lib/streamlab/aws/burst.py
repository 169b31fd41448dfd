"""The cost guard in front of every burst: on AWS, show what it will cost and refuse above the cap."""
from __future__ import annotations

from typing import Callable
from urllib.parse import urlparse

from streamlab.aws.optin import OPT_IN_ENV, aws_opted_in
from streamlab.aws.cost import CostEstimate, cost_cap_usd, estimate_cost, guard_cost
from streamlab.errors import ConfigError, CostGuardError
from streamlab.provision.config import EsmSettings, ProcessorSettings
from streamlab.target import Target, is_local_url


def guard_burst(
    target: Target | str,
    requests: int,
    item_bytes: int,
    confirm: bool = False,
    *,
    batch_size: int = EsmSettings.batch_size,
    memory_mb: int = ProcessorSettings.memory_mb,
    cap_usd: float | None = None,
    log: Callable[[str], None] = print,
) -> CostEstimate | None:
    """Call before sending a burst at `target` (a Target, or the URL the requests go to).

    Local: free, returns None. AWS: prints the estimate, then raises CostGuardError if it is above
    the cap (STREAMLAB_COST_CAP_USD, default $1) and not confirmed. A bare URL that is not this
    machine may be a billed API whoever set it up, so it also needs the AWS opt-in or `confirm`.
    """
    if isinstance(requests, bool) or not isinstance(requests, int) or requests < 0:
        raise ConfigError(f"requests={requests!r} must be a whole number >= 0.")
    if isinstance(item_bytes, bool) or not isinstance(item_bytes, int) or item_bytes < 1:
        raise ConfigError(f"item_bytes={item_bytes!r} must be a whole number >= 1.")
    if target.is_local if isinstance(target, Target) else is_local_url(target):
        return None
    estimate = estimate_cost(requests, item_bytes=item_bytes, batch_size=batch_size, memory_mb=memory_mb)
    cap = cost_cap_usd() if cap_usd is None else cap_usd
    where = f"AWS {target.region}" if isinstance(target, Target) else urlparse(target).hostname
    log(f"{where}: {estimate} (cap ${cap:.2f}{', confirmed' if confirm else ''})")
    if not isinstance(target, Target) and not (confirm or aws_opted_in()):
        raise CostGuardError(
            f"{target} is not this machine: AWS may bill these requests ({estimate}). Opt in with "
            f"{OPT_IN_ENV}=yes or confirm the burst (confirm=True; --accept-cost on the CLI)."
        )
    guard_cost(estimate, confirmed=confirm, cap_usd=cap)
    return estimate
