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
from streamlab.experiment.failure_lane import FaultWindow, draw_failure_lane, failure_series, metric_series, shade_faults
from streamlab.load import hdr
from streamlab.experiment.plain_labels import describe_schedule, plain_log_ticks, window_label

ERROR_COLOURS = {"http_4xx": "tab:orange", "http_5xx": "tab:red", "timeout": "tab:purple",
                 "connect_error": "tab:brown", "disconnected": "tab:pink", "client_error": "tab:gray",
                 "http_other": "tab:olive", "dropped": "black"}
ERROR_WORDS = {"http_4xx": "answered 4xx", "http_5xx": "answered 5xx", "timeout": "timed out",
               "connect_error": "could not connect", "disconnected": "connection dropped",
               "client_error": "client error", "http_other": "other status", "dropped": "dropped (not sent)"}
BURST_SHADE = {"color": "tab:blue", "alpha": 0.08, "lw": 0}


def _shade(ax: Any, windows: Iterable[tuple[float, float]], label: str | None) -> None:
    """Shade the windows; `label` names them in the legend (None: no legend entry)."""
    for k, (a, b) in enumerate(windows):
        ax.axvspan(a, b, label=label if k == 0 else None, **BURST_SHADE)


def _legend_outside(ax: Any) -> None:
    """The legend right of the plot, where it never covers data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0.0)


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


def dashboard(run: Any, lag: pd.DataFrame | None = None, metrics: pd.DataFrame | None = None,
              failures: Iterable[Any] | None = None, title: str | None = None,
              faults: Iterable[FaultWindow] = ()) -> Figure:
    """One figure on a shared time axis: request rate and errors (with whether the sends went out
    on time); API response time and service time per second (log); processing lag per record and
    IteratorAge; then the failure lane, one small panel per kind of failure the run produced.
    Bursts and fault windows are shaded."""
    df, s = run.records, run.summary
    start = float(s.get("start_epoch") or 0.0)
    end = _run_end(df, lag, start)
    lane = failure_series(metrics, lag, failures or [], start)
    rows = max(1, len(lane))
    fig = Figure(figsize=(12, 9 + 1.3 * rows), layout="constrained")
    axes = list(fig.subplots(3 + rows, 1, sharex=True, height_ratios=[3, 3, 3] + [1.2] * rows))
    # The second line says whether the sends went out on time: it decides how to read the rest.
    fig.suptitle(f"{title or default_title(s)}\n{send_timing_line(s)}", fontsize="large")

    ax = axes[0]
    width = _rate_bin(df)
    last = float(np.nanmax(df[["intended_s", "sent_s"]].to_numpy())) if len(df) else 0.0
    sent = _per_second(df["sent_s"].where(df["error"] != "dropped"), width, last)
    scheduled = _per_second(df["intended_s"], width, last)
    _step(ax, scheduled, width, ls="--", color="gray", label="scheduled")
    if not sent.empty:
        _step(ax, sent, width, color="tab:blue", label="sent")
    for cls, colour in ERROR_COLOURS.items():
        mine = _per_second(df.loc[df["error"] == cls, "intended_s"], width, last)
        if not mine.empty:
            _step(ax, mine, width, color=colour, label=ERROR_WORDS.get(cls, cls))
    ax.set_title(f"Requests per second, scheduled and sent, and errors (counted per {width:g} s)")
    ax.set_ylabel("requests / s")
    ax.set_ylim(bottom=0)

    ax = axes[1]
    iv, service = run.intervals("latency"), run.intervals("service")
    for col, style in (("p50", "-"), ("p99", "-"), ("max", ":")):
        ax.plot(iv["second"] + 0.5, iv[col], style, marker=".", label=f"response time {col}")
    if len(service):
        ax.plot(service["second"] + 0.5, service["p99"], "--", marker="x", color="tab:cyan", label="service time p99")
    gateway = metric_series(metrics, "Latency", "p99", start)
    if not gateway.empty:
        ax.plot(gateway.index, gateway.values, "--", marker="s", color="gray", label="API Gateway Latency p99")
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_title("API response time from the intended send time, and service time (sent -> answer), per second")
    ax.set_ylabel("ms (log)")

    ax = axes[2]
    if lag is not None and not lag.empty:
        done = lag.dropna(subset=["lag_ms"])
        x = done[schema.ACCEPTED_AT] / 1000.0 - start
        ax.plot(x, done["lag_ms"], ".", ms=2, alpha=0.5, color="tab:green", label="lag per record (by acceptance)")
    age = metric_series(metrics, "IteratorAge", "Maximum", start)
    if not age.empty:
        ax.plot(age.index, age.values, "-", marker="o", color="tab:red", label="IteratorAge max")
    if ax.lines:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    else:
        _say_empty(ax, "no table or metrics data (give the table / function name)")
    ax.set_title("Processing lag per record (accepted -> processed), and IteratorAge\n(the age of a batch's "
                 "last record when it is handed to the function, so before its processing)", fontsize="medium")
    ax.set_ylabel("ms (log)")

    draw_failure_lane(axes[3:], lane)
    axes[-1].set_xlabel("seconds since the run started")

    shade = window_label(s.get("profile"))
    for ax in axes:
        if shade:
            _shade(ax, run.windows, shade if ax is axes[0] else None)
        ax.grid(True, alpha=0.3)
    spans = [f.span(start, end) for f in faults]
    # The measured length, not the intended one: a fault ends when whatever ends it has finished.
    shade_faults(axes, [(f"{f.label} ({b - a:.1f} s)", a, b) for f, (a, b) in zip(faults, spans)])
    for ax in axes[:3]:
        _legend_outside(ax)
    # Metric periods start on whole minutes, before the run: show the run, not the minute.
    axes[0].set_xlim(0.0, end + 1.0)
    return fig


def default_title(s: dict[str, Any]) -> str:
    """A run's title in words: what was sent, and what came back."""
    return (f"{describe_schedule(s.get('profile'), s.get('params'))}: {s['sent']:,} sent, "
            f"{s['ok']:,} answered 2xx, {s['dropped']:,} dropped")


def send_timing_line(s: dict[str, Any]) -> str:
    """One line on whether the generator kept its schedule (the verdict's first sentence)."""
    late = s.get("send_lateness_ms") or {}
    if late.get("p99") is None:
        return "nothing was sent"
    if s.get("generator_limited"):
        ms = lambda v: f"{v:,.1f}" if v < 100 else f"{v:,.0f}"  # noqa: E731 - 10.4 must not read as 10
        return (f"GENERATOR-LIMITED: sends p50 {ms(late['p50'])} / p99 {ms(late['p99'])} / max {ms(late['max'])} ms "
                f"late (limit p99 {s['late_ms']:g} ms); response times include that wait")
    return f"sends on time: p99 {late['p99']:,.1f} ms late, max {late['max']:,.1f} ms"


def _run_end(df: pd.DataFrame, lag: pd.DataFrame | None, start: float) -> float:
    """Seconds from the start to the last thing the run did: a send, an answer or a processed record."""
    ends = [float(np.nanmax(df[c])) for c in ("intended_s", "done_s") if c in df and df[c].notna().any()]
    if lag is not None and not lag.empty and lag[schema.PROCESSED_AT].notna().any():
        ends.append(float(lag[schema.PROCESSED_AT].max()) / 1000.0 - start)
    return max(ends, default=1.0)


_TICKS = [0.0, 50.0, 90.0, 99.0, 99.9, 99.99, 99.999]


METRIC_WORDS = {"latency": "response time (from the intended send time)", "service": "service time (sent -> answer)",
                "lag": "send lateness (intended -> sent)"}


def percentile_spectrum(runs: Mapping[str, Any], metric: str = "latency") -> Figure:
    """Latency by percentile for several runs (LoadResult or HdrHistogram) on one plot; the
    x axis stretches the tail: position = 1 / (1 - percentile)."""
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.subplots()
    for label, run in runs.items():
        hist = run.histogram(metric) if hasattr(run, "histogram") else run
        p, v = hdr.spectrum_ms(hist)
        ax.plot(1.0 / (1.0 - p / 100.0), v, label=f"{label} (n={hist.get_total_count():,})")
    ax.set_xscale("log")
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.xaxis.set_major_locator(FixedLocator([1 / (1 - t / 100) for t in _TICKS]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{100 * (1 - 1 / x):g}%"))
    ax.xaxis.set_minor_locator(FixedLocator([]))
    words = METRIC_WORDS.get(metric, metric)
    ax.set_xlabel("percentile of requests (the slowest ones to the right)")
    ax.set_ylabel(f"{words.split(' (')[0]} (ms, log)")
    ax.set_title(f"How long requests took, from the typical to the slowest: {words}")
    ax.grid(True, which="both", alpha=0.3)
    _legend_outside(ax)
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
    plain_log_ticks(ax.xaxis)
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
    ax.legend(handles[0] + h2[0], handles[1] + h2[1], loc="upper left", bbox_to_anchor=(1.12, 1.0), fontsize="small")
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
        plain_log_ticks(ax.xaxis)
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
        bars = ax.barh(labels, values, left=left, color=colour,
                       label="lost" if outcome == "missing" else outcome.replace("_", "-"))
        # The count on each part of a bar; a zero has no part to label.
        ax.bar_label(bars, labels=[f"{v:,.0f}" if v else "" for v in values], label_type="center", fontsize="small")
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


def render_run(run: Any, obs: Any = None, run_dir: str | Path | None = None, *,
               faults: Iterable[FaultWindow] = ()) -> list[Path]:
    """Every figure of a run (dashboard, latency spectrum, lag distribution when there is lag),
    saved as PNG in the run's folder."""
    folder = Path(run_dir or run.run_dir)
    items = getattr(obs, "items", None)
    figures = {
        "dashboard": dashboard(run, items, getattr(obs, "metrics", None), getattr(obs, "failures", None),
                               faults=faults),
        "latency_spectrum": percentile_spectrum({"response time, from the intended send time": run.histogram("latency"),
                                                 "service time, from the actual send": run.histogram("service")}),
    }
    if items is not None and "lag_ms" in items and items["lag_ms"].notna().any():
        figures["lag"] = lag_distribution(items)
    return save_figures(folder, figures)
