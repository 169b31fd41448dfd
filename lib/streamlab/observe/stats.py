"""The one percentile helper for plain samples (HDR histograms have their own, in load.hdr)."""
from __future__ import annotations

import math
from typing import Iterable


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values; None when there are none.

    Nearest rank returns a value that was measured (never an interpolation between two), and
    q=100 is the maximum.
    """
    ordered = sorted(v for v in values if not (isinstance(v, float) and math.isnan(v)))
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
