"""The "What we saw" sentences of the notebooks, built from the run's own results.

Every sentence that states a number or a comparison is computed here, and its wording follows
the data: "stayed flat" only when the spread is within FLAT_RATIO (or NOISE_MS), "cut" only when
the number went down, "agree" only when the counts are equal. The notebooks call one function per
"What we saw" cell and show its lines with `show`; the tests feed contrasting results and check
that the wording changes with them.

Inputs are experiment rows (`Experiment.row()`, or the experiments themselves), audits and the
metrics frame: what the notebooks already hold.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

# Response times within this ratio of each other (or within NOISE_MS) are "flat": less than
# that is the noise of one busy machine, not a trend.
FLAT_RATIO = 1.5
NOISE_MS = 2.0
# A lag p99 that changed by less than this fraction is "about the same".
SAME_LAG = 0.15
# The IteratorAge alarm the lesson of 06 uses as its example: a minute behind.
ITERATOR_AGE_ALARM_MS = 60_000
# AWS's defaults for a DynamoDB-stream event source mapping (E2, E4, E5, E6, E8, E9, E10, E11).
AWS_MAPPING_DEFAULTS = {
    "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
    "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
    "FunctionResponseTypes": [], "DestinationConfig": None, "FilterCriteria": None,
}


def show(lines: Iterable[str]) -> None:
    """Show the sentences as a bulleted list (Markdown in a notebook, text elsewhere)."""
    text = "\n".join(f"* {line}" for line in lines)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))


def _row(x: Any) -> dict[str, Any]:
    return x.row() if hasattr(x, "row") else dict(x)


def _ms(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"


def _changed(before: float, after: float) -> str:
    """'cut X from A to B ms' style verb for a lag change, from the numbers."""
    if before and abs(after - before) / before <= SAME_LAG:
        return "left it about the same"
    return "cut it" if after < before else "raised it"


# ---- 04 bursts ---------------------------------------------------------------------------------

def latency_across_rates(steady: Sequence[Any]) -> str:
    """Does the API's response time stay flat as the rate grows? Said only when it does."""
    rows = sorted((_row(r) for r in steady), key=lambda r: r.get("rate req/s") or r.get("sent") or 0)
    p99 = [(r["experiment"], r.get("latency p99 ms")) for r in rows if r.get("latency p99 ms") is not None]
    if len(p99) < 2:
        return "Only one steady rate ran, so there is no trend to read."
    (lo_name, lo), (hi_name, hi) = p99[0], p99[-1]
    values = [v for _, v in p99]
    spread = max(values) / max(min(values), 1e-9)
    names = ", ".join(name for name, _ in p99)
    if spread <= FLAT_RATIO or max(values) - min(values) <= NOISE_MS:
        return (f"The API's response time p99 stayed flat across {names}: {_ms(min(values))}-{_ms(max(values))} ms. "
                "It waits for one DynamoDB write, whatever the rate.")
    trend = "rose" if hi > lo else "fell"
    return (f"The API's response time p99 did not stay flat: it {trend} from {_ms(lo)} ms ({lo_name}) to "
            f"{_ms(hi)} ms ({hi_name}), {spread:.1f}x between the lowest and the highest. On one busy machine the "
            "load generator, the gateway and DynamoDB share the cores, so part of this is the machine.")


def burst_sentence(burst: Any, steady: Sequence[Any] = ()) -> str:
    """Whether the burst went out on time, and what its response and service times were."""
    b = _row(burst)
    late99, late_max = b.get("send lateness p99 ms"), b.get("send lateness max ms")
    times = (f"response time p50 {_ms(b.get('latency p50 ms'))} ms, p99 {_ms(b.get('latency p99 ms'))} ms; "
             f"service time (sent -> answer) p50 {_ms(b.get('service p50 ms'))} ms, p99 {_ms(b.get('service p99 ms'))} ms")
    if b.get("generator-limited"):
        text = (f"The burst of {b['sent']:,} did NOT go out on time: the generator was late, sends p99 "
                f"{_ms(late99)} ms and at most {_ms(late_max)} ms after their intended time (generator-limited). "
                f"Its {times}: the response time counts that wait, the service time is the API's own.")
    else:
        text = (f"The burst of {b['sent']:,} went out on time (sends at most {_ms(late_max)} ms late); its {times}.")
    base = [r.get("latency p99 ms") for r in map(_row, steady) if r.get("latency p99 ms") is not None]
    if base and b.get("latency p99 ms") is not None:
        worst = max(base)
        ratio = b["latency p99 ms"] / max(worst, 1e-9)
        if ratio > FLAT_RATIO:
            text += f" That p99 is {ratio:.1f}x the worst steady run's ({_ms(worst)} ms): the back of the line waited."
        else:
            text += f" That p99 is close to the steady runs' ({_ms(worst)} ms at worst): the API absorbed it."
    return text


def knob_sentences(knobs: Sequence[Any], work_ms: float, rate: float,
                   baseline: str = "defaults (batch 100)") -> list[str]:
    """What each mapping setting did to the lag, compared with the baseline run."""
    rows = {r["experiment"]: r for r in map(_row, knobs)}
    base = rows.get(baseline)
    if not base or base.get("lag p99 ms") is None:
        return [f"The baseline run ({baseline}) has no processed records, so the settings cannot be compared."]
    lines = [f"With {_ms(work_ms)} ms of work per record at {_ms(rate)} requests/s, the lag p99 was "
             f"{_ms(base['lag p99 ms'])} ms with {baseline}."]
    for name, r in rows.items():
        if name == baseline or r.get("lag p99 ms") is None:
            continue
        lines.append(f"{name} {_changed(base['lag p99 ms'], r['lag p99 ms'])}: lag p99 {_ms(r['lag p99 ms'])} ms "
                     f"(p50 {_ms(r.get('lag p50 ms'))} ms against {_ms(base.get('lag p50 ms'))} ms).")
    return lines


def loss_sentence(runs: Sequence[Any]) -> str:
    """The audit across runs: lost, and what had not settled."""
    rows = list(map(_row, runs))
    acked = sum(r.get("acknowledged", 0) for r in rows)
    lost = {r["experiment"]: r.get("lost", 0) for r in rows if r.get("lost")}
    pending = {r["experiment"]: r.get("pending", 0) for r in rows if r.get("pending")}
    if lost:
        text = (f"The audit found {sum(lost.values()):,} of {acked:,} acknowledged requests LOST, in "
                + ", ".join(f"{k} ({v})" for k, v in lost.items()) + ".")
    else:
        text = f"The audit found none of the {acked:,} acknowledged requests lost, in all {len(rows)} runs."
    if pending:
        text += (" Not settled: " + ", ".join(f"{k} ({v} still pending)" for k, v in pending.items())
                 + " when the audit stopped waiting; pending is not lost, but it is not processed either.")
    return text


def bursts(steady: Sequence[Any], burst: Any, knobs: Sequence[Any], work_ms: float, knob_rate: float) -> list[str]:
    """Notebook 04's "What we saw"."""
    return [latency_across_rates(steady), burst_sentence(burst, steady),
            *knob_sentences(knobs, work_ms, knob_rate), loss_sentence([*steady, burst, *knobs])]


# ---- 05 resilience -----------------------------------------------------------------------------

def poison_sentences(runs: Mapping[str, Any], poison: int) -> list[str]:
    """How many records each setting gave up, against the number of poison records."""
    lines = []
    for name, run in runs.items():
        r = _row(run)
        gave_up = r.get("on-failure", 0)
        if gave_up == poison:
            what = f"gave up exactly the {poison} poison records; their neighbours were processed"
        elif gave_up > poison:
            what = (f"gave up {gave_up} records for {poison} poison ones: {gave_up - poison} innocent neighbours "
                    "shared their batch's fate (reported in the on-failure queue, not processed)")
        else:
            what = f"gave up {gave_up} records for {poison} poison ones: the rest are processed or still pending"
        lines.append(f"{name}: {what}.")
    return lines


def blocked_sentence(blocked: Any, unblocked: Any, look_s: float) -> str:
    """AWS's default retry-forever: what was stuck behind the poison, and what happened after the fix."""
    b = _row(blocked)
    after = unblocked.as_dict() if hasattr(unblocked, "as_dict") else dict(unblocked)
    waited = b.get("audit waited s", look_s)
    if b.get("pending"):
        head = (f"With AWS's defaults (retry until the record expires) {b['pending']:,} of {b['acknowledged']:,} "
                f"records were still pending after {waited:.0f} s: the poison blocked its shard.")
    else:
        head = (f"With AWS's defaults nothing was pending after {waited:.0f} s: the poison did not block "
                "(it may not have been reached yet).")
    tail = (f" After changing the mapping to a retry limit with bisect: {after['processed']:,} processed, "
            f"{after['on_failure']:,} in the on-failure queue, {after['pending']:,} pending, {after['missing']:,} lost.")
    return head + tail


def outage_sentence(outage: Any, outage_s: float) -> str:
    r = _row(outage)
    done = r.get("processed", 0) == r.get("acknowledged", 0)
    outcome = ("every acknowledged request was processed afterwards" if done else
               f"{r.get('processed', 0):,} of {r.get('acknowledged', 0):,} were processed, "
               f"{r.get('pending', 0):,} still pending when the audit stopped")
    return (f"The {outage_s:g} s processor outage cost lag, p99 {_ms(r.get('lag p99 ms'))} ms, max "
            f"{_ms(r.get('lag max ms'))} ms (up to {r.get('max attempts') or '-'} attempts per record); {outcome}.")


def timeout_sentence(timeouts: Any) -> str:
    r = _row(timeouts)
    return (f"The record that slept past the function's timeout was handled like any function error: "
            f"{r.get('on-failure', 0)} record(s) given up, {r.get('processed', 0):,} processed.")


def resilience(poison_runs: Mapping[str, Any], poison: int, blocked: Any, unblocked: Any, look_s: float,
               timeouts: Any, outage: Any, outage_s: float) -> list[str]:
    """Notebook 05's "What we saw"."""
    everything = [*poison_runs.values(), timeouts, outage]
    return [*poison_sentences(poison_runs, poison), blocked_sentence(blocked, unblocked, look_s),
            timeout_sentence(timeouts), outage_sentence(outage, outage_s), loss_sentence(everything)]


# ---- 06 observability --------------------------------------------------------------------------

def metric_total(metrics: pd.DataFrame, name: str, stat: str = "Sum") -> float | None:
    m = metrics[(metrics["metric"] == name) & (metrics["stat"] == stat)]
    return float(m["value"].sum()) if len(m) else None


def metric_peak(metrics: pd.DataFrame, name: str, stat: str) -> float | None:
    m = metrics[(metrics["metric"] == name) & (metrics["stat"] == stat)]
    return float(m["value"].max()) if len(m) else None


def count_check(what: str, seen: float | None, counted: float | None, at_least: bool = False) -> dict[str, Any]:
    """One comparison of a client/table count with CloudWatch's, and what the difference means."""
    if counted is None:
        verdict = "no CloudWatch data (not published, or not yet arrived)"
    elif counted == seen:
        verdict = "agrees"
    elif at_least and counted > (seen or 0):
        verdict = "more in CloudWatch, as expected: retries and bisected halves are counted again"
    elif counted < (seen or 0):
        verdict = f"CloudWatch is missing {seen - counted:,.0f}: the metrics had not all arrived (wait longer)"
    else:
        verdict = f"CloudWatch counted {counted - seen:,.0f} more"
    return {"what": what, "client / table / audit": seen, "CloudWatch": counted, "verdict": verdict}


def count_checks(summary: Mapping[str, Any], audit: Any, metrics: pd.DataFrame) -> pd.DataFrame:
    """What the client and the audit counted next to CloudWatch's counts, each with its verdict."""
    errors = summary.get("errors", {})
    rows = [
        count_check("API requests", summary["sent"], metric_total(metrics, "Count")),
        count_check("API 4xx", errors.get("http_4xx", 0), metric_total(metrics, "4XXError")),
        count_check("API 5xx", errors.get("http_5xx", 0), metric_total(metrics, "5XXError")),
        count_check("records invoked (retries count again)", audit.processed + audit.on_failure,
                    metric_total(metrics, "InvokedEventCount"), at_least=True),
        count_check("records given up (on-failure queue)", audit.on_failure,
                    metric_total(metrics, "OnFailureDestinationDeliveredEventCount")),
    ]
    return pd.DataFrame(rows).set_index("what")


def counts_heading(checks: pd.DataFrame) -> str:
    """A heading that says what the count comparison found, not what we hoped."""
    bad = [what for what, v in checks["verdict"].items() if not (v == "agrees" or v.startswith("more in CloudWatch, as"))]
    if not bad:
        return "The counts agree: CloudWatch saw what the client and the table saw."
    return "The counts do not all agree: " + "; ".join(f"{w}: {checks.loc[w, 'verdict']}" for w in bad) + "."


def gateway_overhead_sentence(metrics: pd.DataFrame) -> str:
    latency, integration = metric_peak(metrics, "Latency", "p50"), metric_peak(metrics, "IntegrationLatency", "p50")
    if latency is None or integration is None:
        return "API Gateway's Latency and IntegrationLatency were not both published, so its overhead is unknown here."
    if abs(latency - integration) < 0.05:
        return (f"Latency equals IntegrationLatency here (p50 {_ms(latency)} ms): the local stack does not time "
                "the gateway's own work, so this run cannot show the gateway's overhead (an emulator artifact). "
                "On AWS, Latency - IntegrationLatency is that overhead (A8).")
    return (f"The gateway added {_ms(latency - integration)} ms at p50 on top of the DynamoDB call "
            f"(Latency {_ms(latency)} ms, IntegrationLatency {_ms(integration)} ms, worst second).")


def alarm_lessons(metrics: pd.DataFrame, audit: Any) -> list[str]:
    """Which alarm would have caught this run's failures, from its own numbers."""
    errors = metric_total(metrics, "Errors") or 0.0
    failed = metric_total(metrics, "FailedInvokeEventCount")
    age = metric_peak(metrics, "IteratorAge", "Maximum")
    given_up = audit.on_failure
    lines = []
    if given_up and not errors:
        lines.append(f"An alarm on Lambda `Errors` would have stayed silent: Errors summed to 0 while {given_up} "
                     "records were given up. With partial batch responses (E9) the function reports failed records "
                     "instead of raising, and Lambda counts that as a success (M1).")
    elif errors:
        lines.append(f"An alarm on Lambda `Errors` would have fired ({errors:,.0f} errors): the function raised.")
    else:
        lines.append("Nothing failed in this run, so no failure alarm would have fired.")
    if failed is not None:
        lines.append(f"`FailedInvokeEventCount` counted {failed:,.0f} records in failed or partly failed invocations "
                     "(M3): it sees partial failures that `Errors` misses; it needs the mapping's metrics turned on.")
    lines.append(f"The on-failure queue received {given_up} record(s): its depth (`ApproximateNumberOfMessagesVisible`) "
                 "is the alarm for data that was given up, whatever the function returned.")
    if age is not None:
        fired = "would have fired" if age >= ITERATOR_AGE_ALARM_MS else "would not have fired"
        lines.append(f"`IteratorAge` peaked at {_ms(age)} ms: an alarm at {ITERATOR_AGE_ALARM_MS / 1000:.0f} s "
                     f"{fired}. It catches a stream falling behind (a blocked shard, an outage), not single failed "
                     "records.")
    return lines


def period_sentence(period: int, is_local: bool) -> str:
    where = "the local stack publishes a point every second" if is_local else "that is CloudWatch's standard resolution"
    return (f"The metrics were read at a {period}-s period ({where}). On AWS, Lambda and API Gateway publish per "
            "minute: a run of a few seconds is one or two points, and an alarm evaluates whole minutes, so it "
            "reacts a minute or more after the failure.")


def observability(summary: Mapping[str, Any], audit: Any, metrics: pd.DataFrame, period: int,
                  is_local: bool) -> list[str]:
    """Notebook 06's "What we saw"."""
    return [counts_heading(count_checks(summary, audit, metrics)), gateway_overhead_sentence(metrics),
            *alarm_lessons(metrics, audit), period_sentence(period, is_local)]


# ---- 02 and 03 ---------------------------------------------------------------------------------

def _setting(key: str, value: Any) -> Any:
    """A mapping setting as a reader compares it: empty is none, a destination is its ARN."""
    if key == "DestinationConfig":
        value = (value or {}).get("OnFailure", {}).get("Destination")
    elif key == "FilterCriteria":
        value = len((value or {}).get("Filters", [])) or None
    return None if value in (None, [], {}) else value


def mapping_vs_aws_defaults(mapping: Mapping[str, Any]) -> pd.DataFrame:
    """The mapping's settings beside AWS's defaults, and whether each is the default."""
    rows = []
    for key, default in AWS_MAPPING_DEFAULTS.items():
        value, default = _setting(key, mapping.get(key)), _setting(key, default)
        rows.append({"setting": key, "this mapping": "none" if value is None else str(value),
                     "AWS default": "none" if default is None else str(default),
                     "is AWS's default": "yes" if value == default else "no"})
    return pd.DataFrame(rows).set_index("setting")


def status_change_sentence(before: str, after: str) -> str:
    """What happened to a request's status while we waited, in words that match it."""
    if before == after == "PROCESSED":
        return "The status was already `PROCESSED` at the first GET: the stream had delivered it by then."
    if before == after:
        return f"The status stayed `{after}` while we waited."
    return f"The status went from `{before}` to `{after}` once the stream delivered it to the StreamProcessor."


def stored_body_sentence(sent: str, stored: str) -> str:
    """Whether the table holds the body byte for byte as it was sent."""
    if sent == stored:
        return f"The body is stored exactly as sent ({len(sent.encode())} bytes, quotes, apostrophe and `$` included)."
    return f"The body was NOT stored as sent: sent {sent!r}, stored {stored!r}."
