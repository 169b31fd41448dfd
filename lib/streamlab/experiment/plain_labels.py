"""Plain-language labels for figures: what a load profile was, in words, and ms axes a learner reads.

A figure title is read by someone who never saw the code, so it says "200 requests/s for 5 s",
never `constant {'rate': 200.0, ...}`; `looks_like_python` finds such leaks (the tests use it on
every text of every figure). Log-scaled millisecond axes get plain tick labels ("5", "20",
"1,000") instead of matplotlib's default "5×10⁰".
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

from matplotlib.ticker import FuncFormatter, LogLocator


def _n(value: Any) -> str:
    """A number as a person writes it: 200, 0.5, 1,000."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.3g}"


def describe_schedule(profile: str | None, params: Mapping[str, Any] | None) -> str:
    """A load profile in words, e.g. "200 requests/s for 5 s" or "a burst of 300 requests at once"."""
    p = dict(params or {})
    if profile == "constant" and {"rate", "duration"} <= p.keys():
        return f"{_n(p['rate'])} requests/s for {_n(p['duration'])} s"
    if profile == "batches" and {"size", "count", "gap"} <= p.keys():
        if int(p["count"]) == 1:
            return f"a burst of {_n(p['size'])} requests at once"
        return f"{_n(p['count'])} bursts of {_n(p['size'])} requests, {_n(p['gap'])} s apart"
    if profile == "windows" and {"rate", "on", "off", "count"} <= p.keys():
        return (f"{_n(p['rate'])} requests/s in {_n(p['count'])} windows of {_n(p['on'])} s, "
                f"{_n(p['off'])} s apart")
    if profile == "steps" and {"rates", "step"} <= p.keys():
        return f"{' then '.join(_n(r) for r in p['rates'])} requests/s, {_n(p['step'])} s each"
    if profile == "ramp" and {"start_rate", "end_rate", "duration"} <= p.keys():
        return f"from {_n(p['start_rate'])} to {_n(p['end_rate'])} requests/s over {_n(p['duration'])} s"
    words = ", ".join(f"{k.replace('_', ' ')} {_n(v)}" for k, v in p.items())
    return f"{profile or 'load'} ({words})" if words else (profile or "load")


def window_label(profile: str | None) -> str | None:
    """What a schedule's windows are, for shading: only bursts and on/off windows are worth a shade
    (a constant run's one window is the whole run)."""
    return {"batches": "burst", "windows": "sending window"}.get(profile or "")


_PYTHON_LEAKS = [
    re.compile(r"\{\s*['\"]"),               # a dict repr: {'rate': ...
    re.compile(r"\[\s*['\"][^\]]*['\"]\s*,"),  # a list of strings: ['a', 'b']
    re.compile(r"\b(np|numpy)\.\w+\("),      # np.float64(3.0)
    re.compile(r"<[\w.]+ object at 0x"),     # <Foo object at 0x...>
    re.compile(r"\b\w+\((\w+=[^,()]+,?\s*)+\)"),  # Foo(rate=1, duration=2)
    re.compile(r"\bnan\b|\bNone\b"),          # a missing value printed as such
]


def looks_like_python(text: str) -> bool:
    """True when `text` contains a Python repr instead of words."""
    return any(p.search(text) for p in _PYTHON_LEAKS)


def _plain_number(value: float, _pos: Any = None) -> str:
    if value <= 0 or not math.isfinite(value):
        return ""
    return f"{value:,.0f}" if value >= 1 else f"{value:g}"


def _minor_plain(value: float, _pos: Any = None) -> str:
    # Label 2 and 5 between the decades: enough to read a value, never crowded.
    if value <= 0 or not math.isfinite(value):
        return ""
    mantissa = round(value / 10 ** math.floor(math.log10(value)), 6)
    return _plain_number(value) if mantissa in (2.0, 5.0) else ""


def plain_log_ticks(axis: Any) -> None:
    """Plain numbers on a log-scaled axis (`ax.yaxis` or `ax.xaxis`): 1, 2, 5, 10, 20, 50, 100."""
    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(_plain_number))
    axis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
    axis.set_minor_formatter(FuncFormatter(_minor_plain))
