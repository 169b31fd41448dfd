"""Figures of a run: the shared-time dashboard, HDR percentile spectra, the lag distribution.

Figures are built with `matplotlib.figure.Figure` (no pyplot state): they render in notebooks,
save headless, and never pile up in a global registry. x is seconds since the run's start.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from streamlab import schema
from streamlab.load import hdr

ERROR_COLOURS = {"http_4xx": "tab:orange", "http_5xx": "tab:red", "timeout": "tab:purple",
                 "connect_error": "tab:brown", "disconnected": "tab:pink", "client_error": "tab:gray",
                 "http_other": "tab:olive", "dropped": "black"}
BURST_SHADE = {"color": "tab:blue", "alpha": 0.08, "lw": 0}


def _shade(ax: Any, windows: Iterable[tuple[float, float]]) -> None:
    for k, (a, b) in enumerate(windows):
        ax.axvspan(a, b, label="burst window" if k == 0 else None, **BURST_SHADE)


def _per_second(seconds: pd.Series, width: float = 1.0, upto: float | None = None) -> pd.Series:
    """Events per second, counted in bins of `width` seconds (index: bin start); bins without
    events are zeros up to `upto` seconds, so silences show as silences."""
    b = np.floor(seconds.dropna().to_numpy(dtype=float) / width + 1e-9).astype(int)
    if len(b) == 0:
        return pd.Series(dtype=float)
    last = max(int(b.max()), int(np.floor((upto or 0) / width + 1e-9)))
    counts = np.bincount(b - min(0, b.min()), minlength=last + 1)
    return pd.Series(counts / width, index=np.round(np.arange(len(counts)) * width, 6))


def _step(ax: Any, counts: pd.Series, width: float = 1.0, **kwargs: Any) -> None:
    """Per-bin values as steps that cover each bin to its end."""
    x = np.append(counts.index.to_numpy(dtype=float), counts.index[-1] + width)
    y = np.append(counts.to_numpy(dtype=float), counts.iloc[-1])
    ax.step(x, y, where="post", **kwargs)


def _rate_bin(df: pd.DataFrame) -> float:
    # 1-s bins hide sub-second bursts in a short run
    span = float(df["intended_s"].max() - df["intended_s"].min()) if len(df) else 0.0
    return 1.0 if span >= 10 else 0.1


def _say_empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="gray")


def _metric_series(metrics: pd.DataFrame | None, name: str, stat: str, start_epoch: float) -> pd.Series:
    if metrics is None or metrics.empty:
        return pd.Series(dtype=float)
    m = metrics[(metrics["metric"] == name) & (metrics["stat"] == stat)]
    if m.empty:
        return pd.Series(dtype=float)
    x = np.array([ts.timestamp() for ts in m["timestamp"]]) - start_epoch
    return pd.Series(m["value"].to_numpy(), index=x).groupby(level=0).sum().sort_index()


def dashboard(run: Any, lag: pd.DataFrame | None = None, metrics: pd.DataFrame | None = None,
              failures: Iterable[Any] | None = None, title: str | None = None) -> Figure:
    """One figure, four panels on a shared time axis: request rate and errors; API latency
    p50/p99/max per second (log); processing lag per record and IteratorAge; function errors,
    retries and on-failure deliveries. Burst windows are shaded."""
    df, s = run.records, run.summary
    start = float(s.get("start_epoch") or 0.0)
    fig = Figure(figsize=(11, 11), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    fig.suptitle(title or f"{s.get('profile', 'run')} {s.get('params', '')}: {s['sent']} sent, "
                 f"{s['ok']} ok, {s['dropped']} dropped")

    ax = axes[0]
    width = _rate_bin(df)
    end = float(np.nanmax(df[["intended_s", "sent_s"]].to_numpy())) if len(df) else 0.0
    sent = _per_second(df["sent_s"].where(df["error"] != "dropped"), width, end)
    scheduled = _per_second(df["intended_s"], width, end)
    _step(ax, scheduled, width, ls="--", color="gray", label="scheduled")
    if not sent.empty:
        _step(ax, sent, width, color="tab:blue", label="sent")
    for cls, colour in ERROR_COLOURS.items():
        mine = _per_second(df.loc[df["error"] == cls, "intended_s"], width, end)
        if not mine.empty:
            _step(ax, mine, width, color=colour, label=cls)
    ax.set_title(f"Request rate and errors by class (per {width:g}-s bin)")
    ax.set_ylabel("requests / s")

    ax = axes[1]
    iv = run.intervals("latency")
    for col, style in (("p50", "-"), ("p99", "-"), ("max", ":")):
        ax.plot(iv["second"] + 0.5, iv[col], style, marker=".", label=f"latency {col}")
    gateway = _metric_series(metrics, "Latency", "p99", start)
    if not gateway.empty:
        ax.plot(gateway.index, gateway.values, "--", marker="s", color="gray", label="API Gateway Latency p99")
    ax.set_yscale("log")
    ax.set_title("API latency from intended send time, per 1-s interval")
    ax.set_ylabel("ms (log)")

    ax = axes[2]
    if lag is not None and not lag.empty:
        done = lag.dropna(subset=["lag_ms"])
        x = done[schema.ACCEPTED_AT] / 1000.0 - start
        ax.plot(x, done["lag_ms"], ".", ms=2, alpha=0.5, color="tab:green", label="lag per record")
    age = _metric_series(metrics, "IteratorAge", "Maximum", start)
    if not age.empty:
        ax.plot(age.index, age.values, "-", marker="o", color="tab:red", label="IteratorAge max")
    if ax.lines:
        ax.set_yscale("log")
    else:
        _say_empty(ax, "no table or metrics data (give the table / function name)")
    ax.set_title("Processing lag (accepted -> processed) and IteratorAge")
    ax.set_ylabel("ms (log)")

    ax = axes[3]
    errors = _metric_series(metrics, "Errors", "Sum", start)
    if not errors.empty:
        ax.bar(errors.index, errors.values, width=0.9, align="edge", color="tab:red", alpha=0.6, label="function errors")
    if lag is not None and not lag.empty and schema.ATTEMPTS in lag:
        retried = lag.assign(retries=(lag[schema.ATTEMPTS].fillna(1) - 1).clip(lower=0))
        per = retried.groupby(np.floor(retried[schema.ACCEPTED_AT] / 1000.0 - start))["retries"].sum()
        if not per.empty:
            _step(ax, per, color="tab:orange", label="retries (attempts - 1)")
    delivered = _metric_series(metrics, "OnFailureDestinationDeliveredEventCount", "Sum", start)
    if not delivered.empty:
        ax.plot(delivered.index, delivered.values, "s", color="black", label="on-failure deliveries")
    failures = list(failures or [])
    if failures:
        ts = [pd.Timestamp(f.timestamp).timestamp() - start for f in failures if f.timestamp]
        ax.plot(ts, [f.batch_size for f in failures if f.timestamp], "x", color="black",
                label="on-failure record (batch size)")
    if not ax.lines and not ax.patches:
        _say_empty(ax, "no errors, retries or on-failure deliveries recorded")
    ax.set_title("Function errors, retries and on-failure deliveries")
    ax.set_ylabel("count")
    ax.set_xlabel("seconds since the run started")

    for ax in axes:
        _shade(ax, run.windows)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize="small", ncols=4)
        ax.grid(True, alpha=0.3)
    # Metric periods start on whole minutes, before the run: show the run, not the minute.
    axes[0].set_xlim(-1.0, _run_end(df, lag, start) + 1.0)
    return fig


def _run_end(df: pd.DataFrame, lag: pd.DataFrame | None, start: float) -> float:
    """Seconds from the start to the last thing the run did: a send, an answer or a processed record."""
    ends = [float(np.nanmax(df[c])) for c in ("intended_s", "done_s") if c in df and df[c].notna().any()]
    if lag is not None and not lag.empty and lag[schema.PROCESSED_AT].notna().any():
        ends.append(float(lag[schema.PROCESSED_AT].max()) / 1000.0 - start)
    return max(ends, default=1.0)


_TICKS = [0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999]


def percentile_spectrum(runs: Mapping[str, Any], metric: str = "latency") -> Figure:
    """Latency by percentile for several runs (LoadResult or HdrHistogram) on one plot; the
    x axis stretches the tail: position = 1 / (1 - percentile)."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for label, run in runs.items():
        hist = run.histogram(metric) if hasattr(run, "histogram") else run
        p, v = hdr.spectrum_ms(hist)
        ax.plot(1.0 / (1.0 - p / 100.0), v, label=f"{label} (n={hist.get_total_count()})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(FixedLocator([1 / (1 - t / 100) for t in _TICKS]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{100 * (1 - 1 / x):g}%"))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    ax.set_xlabel("percentile")
    ax.set_ylabel(f"{metric} (ms, log)")
    ax.set_title(f"HDR percentile spectrum of {metric}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


def lag_distribution(lag: pd.DataFrame, title: str = "Processing lag per record") -> Figure:
    """Histogram (log-spaced bins) and CDF of lag_ms, with p50 and p99 marked."""
    values = lag["lag_ms"].dropna().to_numpy(dtype=float)
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    ax.set_title(f"{title} (n={len(values)})")
    ax.set_xlabel("lag accepted -> processed (ms, log)")
    ax.set_ylabel("records")
    if len(values) == 0:
        ax.text(0.5, 0.5, "no processed records", transform=ax.transAxes, ha="center")
        return fig
    lo, hi = max(values.min(), 0.1), max(values.max(), 1.0)
    bins = np.geomspace(lo, hi * 1.0001, 40) if hi > lo else 10
    ax.hist(np.clip(values, lo, None), bins=bins, color="tab:green", alpha=0.7, label="records")
    ax.set_xscale("log")
    cdf = fig.axes[0].twinx()
    xs = np.sort(values)
    cdf.plot(np.clip(xs, lo, None), np.arange(1, len(xs) + 1) / len(xs), color="black", label="CDF")
    cdf.set_ylabel("fraction of records")
    cdf.set_ylim(0, 1.02)
    for p, style in ((50, "--"), (99, ":")):
        v = float(np.percentile(values, p))
        ax.axvline(max(v, lo), ls=style, color="tab:red", label=f"p{p} = {v:,.0f} ms")
    handles = ax.get_legend_handles_labels()
    h2 = cdf.get_legend_handles_labels()
    ax.legend(handles[0] + h2[0], handles[1] + h2[1], loc="upper left")
    return fig


def lag_overlay(lags: Mapping[str, pd.DataFrame], title: str = "Processing lag by experiment") -> Figure:
    """The lag CDF of several runs on one plot (log x), so settings can be compared record by record."""
    fig = Figure(figsize=(9, 5), layout="constrained")
    ax = fig.subplots()
    for label, lag in lags.items():
        values = np.sort(lag["lag_ms"].dropna().to_numpy(dtype=float)) if lag is not None else np.array([])
        if len(values):
            p99 = float(np.percentile(values, 99))
            ax.plot(np.clip(values, 0.1, None), np.arange(1, len(values) + 1) / len(values),
                    label=f"{label} (n={len(values)}, p99 {p99:,.0f} ms)")
    if not ax.lines:
        _say_empty(ax, "no processed records")
    else:
        ax.set_xscale("log")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=2, fontsize="small")
    ax.set_xlabel("lag accepted -> processed (ms, log)")
    ax.set_ylabel("fraction of records")
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    return fig


OUTCOME_COLOURS = {"processed": "tab:green", "on_failure": "tab:orange", "pending": "tab:gray", "missing": "tab:red"}


def outcome_bars(audits: Mapping[str, Any], title: str = "What happened to every acknowledged request") -> Figure:
    """One stacked bar per experiment: processed, on-failure, pending and lost (from its audit)."""
    fig = Figure(figsize=(9, 0.6 * len(audits) + 2), layout="constrained")
    ax = fig.subplots()
    labels = list(audits)
    left = np.zeros(len(labels))
    for outcome, colour in OUTCOME_COLOURS.items():
        values = np.array([float(getattr(audits[k], outcome)) for k in labels])
        ax.barh(labels, values, left=left, color=colour, label="lost" if outcome == "missing" else outcome.replace("_", "-"))
        left += values
    ax.invert_yaxis()
    ax.set_xlabel("acknowledged requests")
    ax.set_title(title)
    # Below the plot: inside it would hide the end of the bars, where the failures are.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncols=4, fontsize="small")
    ax.grid(True, axis="x", alpha=0.3)
    return fig


def save_figures(run_dir: str | Path, figures: Mapping[str, Figure], dpi: int = 110) -> list[Path]:
    """Save each figure as <run_dir>/<name>.png; returns the paths."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fig in figures.items():
        path = run_dir / f"{name}.png"
        fig.savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def render_run(run: Any, obs: Any = None, run_dir: str | Path | None = None) -> list[Path]:
    """Every figure of a run (dashboard, latency spectrum, lag distribution when there is lag),
    saved as PNG in the run's folder."""
    folder = Path(run_dir or run.run_dir)
    items = getattr(obs, "items", None)
    figures = {
        "dashboard": dashboard(run, items, getattr(obs, "metrics", None), getattr(obs, "failures", None)),
        "latency_spectrum": percentile_spectrum({"latency from intended": run.histogram("latency"),
                                                 "service time": run.histogram("service")}),
    }
    if items is not None and "lag_ms" in items and items["lag_ms"].notna().any():
        figures["lag"] = lag_distribution(items)
    return save_figures(folder, figures)
