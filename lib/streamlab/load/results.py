"""A load run's records, histograms and summary; saved to and read back from a run folder.

Files in the run folder:
  requests.csv     one row per scheduled request (dropped ones too)
  histograms.json  encoded HDR histograms (latency, service, lag), total and per 1-s interval
  run.json         the summary plus the schedule's burst windows
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from hdrh.histogram import HdrHistogram

from streamlab import strict_json
from streamlab.errors import ConfigError
from streamlab.load import hdr
from streamlab.load.generator import ERROR_CLASSES, OK, ShareResult

REQUESTS_FILE = "requests.csv"
HISTOGRAMS_FILE = "histograms.json"
RUN_FILE = "run.json"
METRICS = ("latency", "service", "lag")  # the histogrammed columns, in ms

# Send lateness = sent - intended: how late a request's headers went out. When its p99 passes
# LATE_MS the run is *generator-limited*: the schedule was not kept, so a response time counted
# from the intended time includes a wait the target never saw (the service time, sent -> answer,
# is the target's own). The lateness splits into the event loop's own (dispatched - intended: too
# much to send for one process) and the wait for a free connection (sent - dispatched).
LATE_MS = 10.0


def records_frame(shares: Iterable[tuple[int, ShareResult]]) -> pd.DataFrame:
    """One row per scheduled request, sorted by intended time; times in seconds since the start,
    latency_ms = done - intended, service_ms = done - sent, lag_ms = sent - intended."""
    frames = []
    for worker, s in shares:
        frames.append(pd.DataFrame({
            "seq": s.seq, "worker": worker, "intended_s": s.intended, "dispatched_s": s.dispatched,
            "sent_s": s.sent, "done_s": s.done, "status": s.status, "error": s.error,
            "request_id": s.request_id, "body": s.body,
        }))
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[
        "seq", "worker", "intended_s", "dispatched_s", "sent_s", "done_s", "status", "error", "request_id", "body"])
    df = df.sort_values(["intended_s", "seq"], kind="stable").reset_index(drop=True)
    return add_derived(df)


def add_derived(df: pd.DataFrame) -> pd.DataFrame:
    df["latency_ms"] = (df["done_s"] - df["intended_s"]) * 1000.0
    df["service_ms"] = (df["done_s"] - df["sent_s"]) * 1000.0
    df["lag_ms"] = (df["sent_s"] - df["intended_s"]) * 1000.0
    df["dispatch_lag_ms"] = (df["dispatched_s"] - df["intended_s"]) * 1000.0
    return df


def histograms_of(df: pd.DataFrame) -> dict[str, dict]:
    """Encoded histograms of latency, service time and lag, per intended second and in total."""
    out = {}
    for name in METRICS:
        total, per = hdr.build(df["intended_s"].to_numpy(), df[f"{name}_ms"].to_numpy())
        out[name] = hdr.encode(total, per)
    return out


def merge_histograms(parts: Iterable[dict[str, dict]]) -> dict[str, dict]:
    parts = list(parts)
    out = {}
    for name in METRICS:
        total, per = hdr.merge(p[name] for p in parts)
        out[name] = hdr.encode(total, per)
    return out


@dataclass
class LoadResult:
    """Records (DataFrame), encoded HDR histograms and the summary of one load run."""

    records: pd.DataFrame
    histograms: dict[str, dict]
    summary: dict[str, Any]
    windows: list[tuple[float, float]] = field(default_factory=list)
    run_dir: Path | None = None

    def histogram(self, metric: str = "latency") -> HdrHistogram:
        return hdr.decode(self.histograms[metric]["total"])

    def intervals(self, metric: str = "latency") -> pd.DataFrame:
        """Per 1-s interval: count and p50/p90/p99/p99.9/max in ms (each from its own histogram)."""
        rows = []
        for key, enc in self.histograms[metric]["intervals"].items():
            h = hdr.decode(enc)
            rows.append({"second": int(key), "count": h.get_total_count(), **hdr.percentiles_ms(h)})
        return pd.DataFrame(rows).sort_values("second").reset_index(drop=True) if rows else pd.DataFrame(
            columns=["second", "count", "p50", "p90", "p99", "p99.9", "max"])

    @property
    def acknowledged_ids(self) -> list[str]:
        """Ids the API acknowledged: 2xx answers that carried an id."""
        ok = self.records[(self.records["error"] == OK) & (self.records["request_id"] != "")]
        return ok["request_id"].tolist()

    def save(self, run_dir: str | Path) -> Path:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        cols = [c for c in self.records.columns if not c.endswith("_ms")]
        self.records[cols].to_csv(run_dir / REQUESTS_FILE, index=False)
        (run_dir / HISTOGRAMS_FILE).write_text(json.dumps(self.histograms))
        strict_json.write(run_dir / RUN_FILE, {"summary": self.summary, "windows": [list(w) for w in self.windows]})
        self.run_dir = run_dir
        return run_dir

    def __str__(self) -> str:
        return format_summary(self.summary)

    def _repr_html_(self) -> str:
        return "<pre>" + format_summary(self.summary).replace("&", "&amp;").replace("<", "&lt;") + "</pre>"


def load_run(run_dir: str | Path) -> LoadResult:
    """Read a saved run back; the summary is recomputed from the records (not trusted from disk)."""
    run_dir = Path(run_dir)
    path = run_dir / REQUESTS_FILE
    if not path.exists():
        raise ConfigError(f"{run_dir} holds no {REQUESTS_FILE}; give the folder a `streamlab burst --out` wrote.")
    df = pd.read_csv(path, keep_default_na=False, na_values={c: [""] for c in
                     ("intended_s", "dispatched_s", "sent_s", "done_s")},
                     dtype={"request_id": str, "body": str, "error": str})
    df = add_derived(df)
    meta = json.loads((run_dir / RUN_FILE).read_text()) if (run_dir / RUN_FILE).exists() else {}
    saved = meta.get("summary", {})
    histograms = histograms_of(df)
    summary = summarize(df, histograms, **{k: saved[k] for k in _SETTINGS if k in saved})
    return LoadResult(df, histograms, summary, [tuple(w) for w in meta.get("windows", [])], run_dir)


_SETTINGS = ("url", "profile", "params", "workers", "pool_size", "max_in_flight", "timeout",
             "late_ms", "start_epoch", "wall_s", "warmed_connections")


def _rates(df: pd.DataFrame) -> tuple[float, float]:
    """(intended, achieved) rate in req/s: sends over their span plus one mean gap."""
    times = np.sort(df["intended_s"].to_numpy())
    n = len(times)
    if n == 0:
        return 0.0, 0.0
    span = float(times[-1] - times[0])
    gap = span / (n - 1) if n > 1 else 0.0
    if span + gap <= 0:
        return math.inf, math.inf  # one instant burst has no rate
    sent = df["dispatched_s"].dropna()
    if sent.empty:
        return n / (span + gap), 0.0
    achieved_span = max(float(sent.max()) - float(times[0]) + gap, span + gap)
    return n / (span + gap), len(sent) / achieved_span


def _p(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    return round(float(np.percentile(values, q)), 3) if len(values) else None


def summarize(df: pd.DataFrame, histograms: dict[str, dict], *, late_ms: float = LATE_MS,
              **settings: Any) -> dict[str, Any]:
    """Counts, rates and percentiles of a run; percentiles come from the merged histograms."""
    counts = df["error"].value_counts().to_dict()
    scheduled = len(df)
    dropped = int(counts.get("dropped", 0))
    sent = scheduled - dropped
    intended_rate, achieved_rate = _rates(df)
    lat = {m: hdr.percentiles_ms(hdr.decode(histograms[m]["total"])) for m in METRICS}
    lateness = {"p50": _p(df["lag_ms"], 50), "p99": _p(df["lag_ms"], 99), "max": _p(df["lag_ms"], 100)}
    generator_limited = bool(lateness["p99"] is not None and lateness["p99"] > late_ms)
    ok = int(counts.get(OK, 0))
    acknowledged = int(((df["error"] == OK) & (df["request_id"] != "")).sum())
    summary: dict[str, Any] = {
        **settings,
        "late_ms": late_ms,
        "scheduled": scheduled,
        "sent": sent,
        "dropped": dropped,
        "ok": ok,
        "acknowledged": acknowledged,
        "errors": {c: int(counts[c]) for c in ERROR_CLASSES if c not in (OK, "dropped") and counts.get(c)},
        "late_sends": int((df["lag_ms"] > late_ms).sum()),
        "intended_rate": round(intended_rate, 2) if math.isfinite(intended_rate) else None,
        "achieved_rate": round(achieved_rate, 2) if math.isfinite(achieved_rate) else None,
        "latency_ms": lat["latency"],
        "service_ms": lat["service"],
        "lag_ms": lat["lag"],
        "send_lateness_ms": lateness,
        "dispatch_lag_p99_ms": _p(df["dispatch_lag_ms"], 99),
        "connection_wait_p99_ms": _p(df["sent_s"].sub(df["dispatched_s"]).mul(1000.0), 99),
        "generator_limited": generator_limited,
    }
    summary["verdict"] = verdict(summary)
    return summary


def verdict(s: dict[str, Any]) -> str:
    """Whether the sends went out on time and, if not, by how much and why (see LATE_MS)."""
    late = s.get("send_lateness_ms") or {}
    if late.get("p99") is None:
        text = "nothing was sent"
    elif s.get("generator_limited"):
        cause = ("the event loop itself was late (too much to send for one process: use more workers or a lower rate)"
                 if (s.get("dispatch_lag_p99_ms") or 0) > s["late_ms"] else
                 f"requests waited for a free connection (pool of {s.get('pool_size', '?')}: the target answered "
                 "too slowly for this rate, or the pool is too small)")
        text = (f"GENERATOR-LIMITED: sends went out late, p50 {late['p50']:,.1f} ms, p99 {late['p99']:,.1f} ms, "
                f"max {late['max']:,.1f} ms (threshold p99 {s['late_ms']:g} ms), so response times from the "
                f"intended time include a wait the API never saw; the service time (sent -> answer) is the "
                f"API's own. Cause: {cause}")
    else:
        text = (f"on time: sends went out p99 {late['p99']:,.1f} ms, max {late['max']:,.1f} ms late "
                f"(threshold p99 {s['late_ms']:g} ms)")
    if s.get("dropped"):
        text += (f"; {s['dropped']} sends dropped at the in-flight cap ({s.get('max_in_flight')}): "
                 "the target could not keep up with the schedule")
    return text


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def format_summary(s: dict[str, Any]) -> str:
    """A plain-text table of a summary (CLI and notebooks)."""
    lines = [
        f"profile          {s.get('profile', '?')} {s.get('params', '')}",
        f"requests         scheduled {s['scheduled']}, sent {s['sent']}, dropped {s['dropped']}, "
        f"ok {s['ok']}, acknowledged {s['acknowledged']}",
        f"errors           {', '.join(f'{k} {v}' for k, v in s['errors'].items()) or 'none'}",
        f"rate (req/s)     intended {_fmt(s['intended_rate'])}, achieved {_fmt(s['achieved_rate'])}",
        f"late sends       {s['late_sends']} (more than {s['late_ms']:g} ms after the intended time)",
    ]
    for name, key in (("response (ms)", "latency_ms"), ("service (ms)", "service_ms"),
                      ("send lateness", "lag_ms")):
        pct = s[key]
        lines.append(f"{name:<17}" + ", ".join(f"{k} {_fmt(v)}" for k, v in pct.items()))
    lines.append(f"verdict          {s['verdict']}")
    return "\n".join(lines)
