"""The dashboard's failure lane: every kind of failure the run produced, each on its own scale.

A failure series only appears when the run produced it (no empty legend entries, no flat line
at zero posing as data); each gets its own thin panel with y from zero, because one
on-failure delivery and sixty retries on one axis hide the delivery. Fault windows (an outage, a
throttle) that the experiment switched on are shaded and labelled across the whole dashboard.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from streamlab import schema

FAULT_SHADE = {"color": "tab:red", "alpha": 0.12, "lw": 0}
# (metric, stat, what a learner reads) in lane order: the failures first, then what followed them.
METRIC_SERIES = (
    ("Errors", "Sum", "function errors (Lambda Errors)"),
    ("FailedInvokeEventCount", "Sum", "records in failed invocations (FailedInvokeEventCount)"),
    ("Throttles", "Sum", "throttled invocations (Throttles)"),
    ("OnFailureDestinationDeliveredEventCount", "Sum", "records sent to the on-failure queue"),
    ("DroppedEventCount", "Sum", "records dropped (too old or out of retries)"),
)
RETRIES = "retries (attempts - 1, by acceptance second)"
NO_FAILURES = "no failures recorded: no function errors, failed invocations, throttles, retries or on-failure records"


@dataclass
class FaultWindow:
    """A stretch of time (epoch seconds) when the experiment made something fail, for shading."""

    label: str
    start: float
    end: float | None = None

    @classmethod
    def starting_now(cls, label: str) -> "FaultWindow":
        return cls(label, time.time())

    def close(self) -> None:
        """The fault is over (call it from whatever ends the fault)."""
        self.end = time.time()

    def span(self, start_epoch: float, run_end: float) -> tuple[float, float]:
        """The window in seconds since the run started; an unclosed one lasts to the run's end."""
        end = self.end - start_epoch if self.end is not None else run_end
        return max(0.0, self.start - start_epoch), max(0.0, end)


def metric_series(metrics: pd.DataFrame | None, name: str, stat: str, start_epoch: float) -> pd.Series:
    """One CloudWatch series as values by seconds since the run started. A period that began
    before the run is drawn at 0: nothing is shown before the run began."""
    if metrics is None or metrics.empty:
        return pd.Series(dtype=float)
    m = metrics[(metrics["metric"] == name) & (metrics["stat"] == stat)]
    if m.empty:
        return pd.Series(dtype=float)
    x = np.array([pd.Timestamp(ts).timestamp() for ts in m["timestamp"]]) - start_epoch
    return pd.Series(m["value"].to_numpy(dtype=float), index=np.maximum(x, 0.0)).groupby(level=0).sum().sort_index()


def retries_per_second(lag: pd.DataFrame | None, start_epoch: float) -> pd.Series:
    """Extra attempts (attempts - 1) summed by the second each record was accepted in."""
    if lag is None or lag.empty or schema.ATTEMPTS not in lag:
        return pd.Series(dtype=float)
    extra = (lag[schema.ATTEMPTS].fillna(1) - 1).clip(lower=0)
    per = extra.groupby(np.floor(lag[schema.ACCEPTED_AT] / 1000.0 - start_epoch)).sum()
    return per.astype(float)


def failure_series(metrics: pd.DataFrame | None, lag: pd.DataFrame | None, failures: Iterable[Any],
                   start_epoch: float) -> dict[str, pd.Series]:
    """Every failure series this run produced (only those with a non-zero value), by label."""
    out: dict[str, pd.Series] = {}
    for name, stat, label in METRIC_SERIES:
        series = metric_series(metrics, name, stat, start_epoch)
        if not series.empty and (series > 0).any():
            out[label] = series
    retries = retries_per_second(lag, start_epoch)
    if not retries.empty and (retries > 0).any():
        out[RETRIES] = retries
    records = [f for f in failures or [] if getattr(f, "timestamp", None)]
    if records and "records sent to the on-failure queue" not in out:
        # Without the ESM metrics the on-failure records themselves say when and how many.
        x = [max(0.0, pd.Timestamp(f.timestamp).timestamp() - start_epoch) for f in records]
        out["records sent to the on-failure queue"] = (
            pd.Series([float(f.batch_size) for f in records], index=np.floor(x)).groupby(level=0).sum())
    return out


def draw_failure_lane(axes: list[Any], series: dict[str, pd.Series]) -> None:
    """One series per axis as bars per second, y from zero with whole-number ticks; a single
    axis says plainly that there were no failures."""
    if not series:
        ax = axes[0]
        ax.text(0.5, 0.5, NO_FAILURES, transform=ax.transAxes, ha="center", va="center", color="gray")
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        return
    colours = ("tab:red", "tab:purple", "tab:brown", "black", "tab:gray", "tab:orange")
    for ax, (label, values), colour in zip(axes, series.items(), colours):
        ax.bar(values.index.to_numpy(dtype=float), values.to_numpy(), width=0.9, align="edge", color=colour,
               alpha=0.75)
        ax.set_title(f"{label}: {values.sum():,.0f} in all", loc="left", fontsize="small")
        ax.set_ylim(0, max(1.0, float(values.max())) * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))


def shade_faults(axes: Iterable[Any], spans: list[tuple[str, float, float]]) -> None:
    """Shade each fault window on every axis; label it once, at the top of the first axis."""
    axes = list(axes)
    for k, (label, a, b) in enumerate(spans):
        for i, ax in enumerate(axes):
            ax.axvspan(a, b, label=label if i == 0 else None, **FAULT_SHADE)
        axes[0].annotate(label, xy=(a, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                         textcoords="offset points", va="top", fontsize="small", color="tab:red")
