"""The few numbers and the verdict that sum up each notebook of a run, read from the key results
the notebook recorded (`results/<notebook>.json`). Results a notebook did not record are left out,
never guessed, so the summary holds while notebooks gain or rename results."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

PASSED, FAILED, NO_VERDICT = "passed", "FAILED", ""


@dataclass
class Summary:
    """Short facts ("lag p99 320 ms") and a verdict: passed, FAILED, or "" where nothing is judged."""

    facts: list[str] = field(default_factory=list)
    verdict: str = NO_VERDICT
    detail: str = ""


def _num(value: Any, unit: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    text = f"{value:,.0f}" if abs(value) >= 10 or float(value).is_integer() else f"{value:,.1f}"
    return f"{text} {unit}".rstrip()


def _verdict(ok: bool) -> str:
    return PASSED if ok else FAILED


def _experiments(res: Mapping[str, Any]) -> Summary:
    """Notebooks that ran experiments with the no-loss audit (a `rows` table)."""
    rows = res.get("rows") or []
    facts = [f"{len(rows)} experiment{'s' if len(rows) != 1 else ''}"] if rows else []
    for column, label in (("acknowledged", "acknowledged"), ("latency p99 ms", "API p99 up to"),
                          ("lag p99 ms", "lag p99 up to")):
        values = [r[column] for r in rows if isinstance(r.get(column), (int, float))]
        if values:
            total = sum(values) if column == "acknowledged" else max(values)
            facts.append(f"{label} {_num(total, '' if column == 'acknowledged' else 'ms')}")
    if "all_passed" not in res:
        return Summary(facts)
    lost = res.get("lost", 0)
    return Summary(facts, _verdict(bool(res["all_passed"]) and lost == 0), f"lost {_num(lost)}")


def _start_here(res: Mapping[str, Any]) -> Summary:
    health = res.get("health") or {}
    ok = [name for name, state in health.items() if state == "ok"]
    facts = [f"target {res.get('target', '?')}", f"services healthy {len(ok)}/{len(health)}"]
    return Summary(facts, _verdict(bool(health) and len(ok) == len(health)), "every service answered")


def _table_and_stream(res: Mapping[str, Any]) -> Summary:
    return Summary([f"stream events {', '.join(res.get('events', []))}"])


def _stream_processor(res: Mapping[str, Any]) -> Summary:
    facts = [f"{label} {_num(res[key], unit)}" for key, label, unit in
             (("manual_invoke_status", "manual invoke", ""), ("lag_ms", "accepted → processed", "ms")) if key in res]
    return Summary(facts)


def _api_direct(res: Mapping[str, Any]) -> Summary:
    facts = []
    if "post_status" in res:
        facts.append(f"POST {res['post_status']} in {_num(res.get('post_ms', 0), 'ms')}")
    refused = res.get("refused") or {}
    if refused:
        facts.append(f"bad input refused {sum(400 <= s < 500 for s in refused.values())}/{len(refused)}, "
                     f"{_num(res.get('written_by_refused', 0))} written")
    if res.get("fault_status") is not None:
        facts.append(f"fault answered {res['fault_status']}")
    return Summary(facts)


def _observability(res: Mapping[str, Any]) -> Summary:
    facts = []
    if "api_count" in res and "sent" in res:
        facts.append(f"API Count {_num(res['api_count'])} for {_num(res['sent'])} sent")
    if "metrics_present" in res:
        facts.append(f"{len(res['metrics_present'])} metrics read")
    if "iterator_age_max_ms" in res:
        facts.append(f"IteratorAge max {_num(res['iterator_age_max_ms'], 'ms')}")
    audit = res.get("audit") or {}
    if "passed" not in audit:
        return Summary(facts)
    return Summary(facts, _verdict(bool(audit["passed"])), f"lost {_num(audit.get('missing', 0))}")


def _sync_vs_async(res: Mapping[str, Any]) -> Summary:
    facts = []
    for key, label in (("p99_ms", "p99"), ("errors", "client errors"), ("lost", "lost")):
        by_design = res.get(key) or {}
        if {"sync", "async"} <= set(by_design):
            unit = "ms" if key == "p99_ms" else ""
            facts.append(f"{label}: async {_num(by_design['async'], unit)}, sync {_num(by_design['sync'], unit)}")
    if "async_audit_passed" not in res:
        return Summary(facts)
    lost = (res.get("lost") or {}).get("async", 0)
    return Summary(facts, _verdict(bool(res["async_audit_passed"]) and lost == 0), f"async lost {_num(lost)}")


def _teardown(res: Mapping[str, Any]) -> Summary:
    remaining = {kind: names for kind, names in (res.get("remaining") or {}).items() if names}
    deleted = res.get("deleted") or {}
    facts = [f"deleted {sum(len(names) for names in deleted.values())} resources"]
    if "clean" not in res:
        return Summary(facts)
    detail = "nothing left" if not remaining else "left: " + ", ".join(sorted(remaining))
    return Summary(facts, _verdict(bool(res["clean"])), detail)


def _scalars(res: Mapping[str, Any]) -> Summary:
    """A notebook without its own summary: its first few plain values."""
    plain = [(k, v) for k, v in res.items() if isinstance(v, (int, float, str, bool)) and len(str(v)) <= 40]
    return Summary([f"{k} {_num(v)}" for k, v in plain[:4]])


SUMMARIES: dict[str, Callable[[Mapping[str, Any]], Summary]] = {
    "00_start_here": _start_here,
    "01_table_and_stream": _table_and_stream,
    "02_stream_processor": _stream_processor,
    "03_api_direct_integration": _api_direct,
    "04_bursts": _experiments,
    "05_resilience": _experiments,
    "06_observability": _observability,
    "07_sync_vs_async": _sync_vs_async,
    "99_teardown": _teardown,
}


def summarize(stem: str, results: Mapping[str, Any] | None) -> Summary:
    """The summary of one notebook's results (an empty one when it recorded none)."""
    if not results:
        return Summary()
    summarize_one = SUMMARIES.get(stem, _experiments if "rows" in results else _scalars)
    try:
        return summarize_one(results)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # A result of an unexpected shape must not cost the whole report; say so in its row.
        return Summary([f"results not summarised ({type(exc).__name__}: {exc})"])
