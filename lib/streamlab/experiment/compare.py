"""Designs compared under the same load: one outcome per design, a side-by-side table, a chart,
and sentences built from the numbers (so the text says what this run measured, not what we hoped).

Each request body carries the run's tag (`TaggedBodies`), so what a table holds of one run can be
counted whoever was told what: a request the client saw fail may still be stored, and an
acknowledged one may be missing. Both are counted, never assumed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from streamlab import schema
from streamlab.errors import ConfigError
from streamlab.observe.audit import AuditResult


@dataclass(frozen=True)
class TaggedBodies:
    """Body factory: `{"run": <run>, "seq": n}` plus the per-request work switch `sleep_ms`
    (the StreamProcessor and the SyncProcessor both honour it) when it is above zero."""

    run: str
    sleep_ms: float = 0

    def __post_init__(self) -> None:
        if not self.run or '"' in self.run or "\\" in self.run:
            raise ConfigError(f"run tag {self.run!r} must be non-empty, without quotes or backslashes.")
        if self.sleep_ms < 0:
            raise ConfigError(f"sleep_ms must be zero or more, got {self.sleep_ms}.")

    def __call__(self, seq: int) -> dict:
        body: dict[str, Any] = {"run": self.run, "seq": seq}
        if self.sleep_ms:
            body["sleep_ms"] = self.sleep_ms
        return body

    @property
    def marker(self) -> str:
        """Text every body of this run contains (bodies are sent as compact JSON)."""
        return json.dumps({"run": self.run}, separators=(",", ":"))[1:-1]


def body_run(text: str | None) -> str | None:
    """The run tag of a stored body, or None if it has none."""
    try:
        value = json.loads(text or "")
    except ValueError:
        return None
    return value.get("run") if isinstance(value, dict) else None


def run_items(target: Any, table: str, bodies: TaggedBodies) -> list[dict[str, str]]:
    """Every item of `table` whose body belongs to this run: {id, status}. A filtered Scan (the
    whole table is read: fine for a lab table, not for a big one)."""
    client = target.client("dynamodb") if hasattr(target, "client") else target
    kwargs: dict[str, Any] = {
        "TableName": table, "ConsistentRead": True,
        "FilterExpression": "contains(#b, :marker)",
        "ProjectionExpression": "#i, #s, #b",
        "ExpressionAttributeNames": {"#b": schema.BODY, "#i": schema.ID, "#s": schema.STATUS},
        "ExpressionAttributeValues": {":marker": {"S": bodies.marker}},
    }
    found = []
    while True:
        page = client.scan(**kwargs)
        for item in page.get("Items", []):
            if body_run(item.get(schema.BODY, {}).get("S")) == bodies.run:
                found.append({schema.ID: item[schema.ID]["S"], schema.STATUS: item.get(schema.STATUS, {}).get("S", "")})
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass
class Outcome:
    """What one design did with one run: what clients saw, what the table holds, and the audit."""

    design: str
    sent: int
    dropped: int
    latency_ms: dict[str, float | None]
    errors: dict[str, int]
    acknowledged: int
    stored: int
    processed: int
    audit: AuditResult

    @property
    def client_errors(self) -> int:
        return sum(self.errors.values())

    @property
    def not_stored(self) -> int:
        """Requests sent whose data is not in the table: gone unless their client sends them again."""
        return max(0, self.sent - self.stored)

    @property
    def lost(self) -> int:
        """Acknowledged but missing from the table (the audit's count): a promise broken."""
        return self.audit.missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "design": self.design, "sent": self.sent, "dropped": self.dropped,
            "latency_ms": self.latency_ms, "errors": dict(self.errors), "client_errors": self.client_errors,
            "acknowledged": self.acknowledged, "stored": self.stored, "processed": self.processed,
            "not_stored": self.not_stored, "lost": self.lost, "on_failure": self.audit.on_failure,
            "pending": self.audit.pending, "audit_verdict": self.audit.verdict,
        }


def outcome(design: str, run: Any, items: Sequence[dict], audit: AuditResult) -> Outcome:
    """Combine a LoadResult (`run`), the run's items in the design's table and its audit."""
    s = run.summary
    lat = s["latency_ms"]
    return Outcome(
        design=design, sent=int(s["sent"]), dropped=int(s["dropped"]),
        latency_ms={"p50": lat.get("p50"), "p99": lat.get("p99"), "max": lat.get("max")},
        errors={k: int(v) for k, v in s["errors"].items() if v},
        acknowledged=int(s["acknowledged"]), stored=len(items),
        processed=sum(1 for i in items if i.get(schema.STATUS) == schema.PROCESSED), audit=audit,
    )


ROWS = [
    ("sent", "requests sent"),
    ("p50", "latency p50 (ms, from intended send)"),
    ("p99", "latency p99 (ms)"),
    ("max", "latency max (ms)"),
    ("client_errors", "errors seen by clients"),
    ("error_classes", "  by class"),
    ("acknowledged", "acknowledged (2xx with an id)"),
    ("stored", "stored in the table"),
    ("processed", "processed"),
    ("on_failure", "in the on-failure queue"),
    ("pending", "still pending (retrying)"),
    ("not_stored", "sent but not stored (gone unless retried)"),
    ("lost", "lost: acknowledged but missing (audit)"),
    ("verdict", "audit verdict"),
]


def outcomes_frame(outcomes: Iterable[Outcome]) -> pd.DataFrame:
    """The designs side by side: one column per design, one row per measure."""
    columns = {}
    for o in outcomes:
        values = {
            "sent": o.sent, **{k: _ms(v) for k, v in o.latency_ms.items()},
            "client_errors": o.client_errors,
            "error_classes": ", ".join(f"{k} {v}" for k, v in sorted(o.errors.items())) or "none",
            "acknowledged": o.acknowledged, "stored": o.stored, "processed": o.processed,
            "on_failure": o.audit.on_failure, "pending": o.audit.pending, "not_stored": o.not_stored,
            "lost": o.lost, "verdict": o.audit.verdict,
        }
        columns[o.design] = [values[key] for key, _ in ROWS]
    return pd.DataFrame(columns, index=[label for _, label in ROWS])


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


BARS = [("acknowledged", "acknowledged", "tab:green"), ("client_errors", "client errors", "tab:red"),
        ("stored", "stored", "tab:blue"), ("processed", "processed", "tab:cyan"),
        ("not_stored", "sent, not stored", "tab:orange"), ("lost", "lost (audit)", "black")]


def outcomes_chart(outcomes: Sequence[Outcome], title: str = "What happened to the requests") -> Figure:
    """Grouped bars per design: acknowledged, client errors, stored, processed, not stored, lost."""
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(len(outcomes))
    width = 0.8 / len(BARS)
    for k, (attr, label, colour) in enumerate(BARS):
        values = [getattr(o, attr) for o in outcomes]
        bars = ax.bar(x + (k - (len(BARS) - 1) / 2) * width, values, width, label=label, color=colour)
        ax.bar_label(bars, fontsize=8)
    ax.set_xticks(x, [f"{o.design}\n(sent {o.sent})" for o in outcomes])
    ax.set_ylabel("requests")
    ax.set_title(title)
    ax.legend(ncols=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    return fig


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "-"


def describe(outcomes: Sequence[Outcome]) -> list[str]:
    """Sentences that state what the numbers show, one design after another, then the contrast."""
    lines = []
    for o in outcomes:
        lat = o.latency_ms
        lines.append(
            f"{o.design}: {o.sent} requests sent; latency from the intended send time p50 {_ms(lat['p50'])} ms, "
            f"p99 {_ms(lat['p99'])} ms, max {_ms(lat['max'])} ms."
        )
        if o.client_errors:
            classes = ", ".join(f"{v} {k}" for k, v in sorted(o.errors.items()))
            lines.append(f"{o.design}: {o.client_errors} requests ({_pct(o.client_errors, o.sent)}) got an error "
                         f"({classes}).")
        else:
            lines.append(f"{o.design}: no client saw an error.")
        held = (f"{o.design}: {o.stored} of {o.sent} requests are in the table ({o.processed} processed, "
                f"{o.audit.on_failure} in the on-failure queue, {o.audit.pending} still pending)")
        if o.not_stored:
            held += f"; {o.not_stored} were not stored, so their data is gone unless the client sends them again"
        lines.append(held + ".")
        lines.append(f"{o.design}: audit {o.audit.verdict}.")
    if len(outcomes) == 2:
        a, b = outcomes
        pa, pb = a.latency_ms.get("p99"), b.latency_ms.get("p99")
        if pa and pb:
            faster, slower = (a, b) if pa <= pb else (b, a)
            ratio = max(pa, pb) / min(pa, pb)
            lines.append(f"At p99 {faster.design} answered {ratio:.1f}x faster than {slower.design} "
                         f"({_ms(min(pa, pb))} ms against {_ms(max(pa, pb))} ms).")
        if a.not_stored != b.not_stored:
            more, fewer = (a, b) if a.not_stored > b.not_stored else (b, a)
            lines.append(f"{more.design} left {more.not_stored - fewer.not_stored} more requests unstored than "
                         f"{fewer.design} ({more.not_stored} against {fewer.not_stored}).")
        else:
            lines.append(f"Both designs left {a.not_stored} requests unstored.")
    return lines
