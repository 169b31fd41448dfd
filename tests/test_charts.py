"""Charts: the dashboard, percentile spectra and lag distribution, inspected as Figure objects."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import re

from streamlab import load, schema
from streamlab.experiment import charts
from streamlab.experiment.failure_lane import FaultWindow
from streamlab.experiment.plain_labels import looks_like_python
from streamlab.load.generator import ShareResult
from streamlab.load.results import LoadResult, histograms_of, records_frame, summarize
from streamlab.observe.failures import OnFailureRecord

START = 1_800_000_000.0


def make_run(n: int = 300, rate: float = 100.0, slow_from: int = 200, errors: dict[int, str] | None = None):
    """A synthetic run: 100 req/s for 3 s; latency 2 ms, then 40 ms from request `slow_from`."""
    intended = np.arange(n) / rate
    sent = intended + 0.0005
    done = sent + np.where(np.arange(n) >= slow_from, 0.040, 0.002)
    error = ["ok"] * n
    status = np.full(n, 200, dtype=np.int32)
    for k, cls in (errors or {}).items():
        error[k], status[k] = cls, 503
    share = ShareResult(seq=np.arange(n), intended=intended, dispatched=sent.copy(), sent=sent, done=done,
                        status=status, error=error, request_id=[f"id{k}" for k in range(n)], body=["{}"] * n)
    df = records_frame([(0, share)])
    hist = histograms_of(df)
    summary = summarize(df, hist, profile="constant", params={"rate": rate}, start_epoch=START)
    return LoadResult(df, hist, summary, [(0.0, 1.0), (2.0, 2.5)])


def make_lag(n: int = 100) -> pd.DataFrame:
    accepted = START * 1000 + np.arange(n) * 30.0
    return pd.DataFrame({schema.ID: [f"id{k}" for k in range(n)], schema.ACCEPTED_AT: accepted,
                         schema.STATUS: schema.PROCESSED, schema.PROCESSED_AT: accepted + 100 + np.arange(n),
                         schema.ATTEMPTS: [2 if k == 10 else 1 for k in range(n)],
                         "lag_ms": 100.0 + np.arange(n)})


def make_metrics() -> pd.DataFrame:
    ts = [pd.Timestamp(START + s, unit="s", tz="UTC") for s in (0, 1, 2)]
    rows = [{"namespace": "AWS/Lambda", "metric": "IteratorAge", "stat": "Maximum", "timestamp": t, "value": v}
            for t, v in zip(ts, (150.0, 400.0, 250.0))]
    rows += [{"namespace": "AWS/Lambda", "metric": "Errors", "stat": "Sum", "timestamp": ts[1], "value": 3.0},
             {"namespace": "AWS/ApiGateway", "metric": "Latency", "stat": "p99", "timestamp": ts[0], "value": 9.0}]
    return pd.DataFrame(rows)


def lines(ax) -> dict[str, object]:
    return {ln.get_label(): ln for ln in ax.get_lines()}


def test_dashboard_panels_share_time_and_plot_the_input():
    run = make_run(errors={5: "http_5xx", 150: "http_5xx"})
    failures = [OnFailureRecord("RetryAttemptsExhausted", "f", 3, "sh", "1", "2", 7, "arn",
                                pd.Timestamp(START + 2.2, unit="s", tz="UTC").isoformat())]
    fig = charts.dashboard(run, make_lag(), make_metrics(), failures)
    rate, latency, lag, errors, retries, on_failure = fig.axes
    assert [ax.get_title() for ax in fig.axes[:3]] == [
        "Requests per second, scheduled and sent, and errors (counted per 0.1 s)",
        "API response time from the intended send time, and service time (sent -> answer), per second",
        "Processing lag per record (accepted -> processed), and IteratorAge\n(the age of a batch's last record "
        "when it is handed to the function, so before its processing)"]
    assert rate.get_shared_x_axes().joined(rate, on_failure)
    assert on_failure.get_xlabel() == "seconds since the run started"
    # rate panel (a 3-s run: 0.1-s bins): 100 req/s sent throughout; the 5xx class has one
    # request in the bins at 0.0 and 1.5 (10 req/s each); steps repeat the last value to close it
    sent = lines(rate)["sent"]
    assert np.allclose(sent.get_ydata(), 100) and len(sent.get_xdata()) == 31
    errors_5xx = pd.Series(lines(rate)["answered 5xx"].get_ydata()[:-1],
                           index=lines(rate)["answered 5xx"].get_xdata()[:-1])
    assert errors_5xx[errors_5xx > 0].index.tolist() == [0.0, 1.5] and errors_5xx.max() == 10
    assert len(errors_5xx) == 30  # zeros where there were no errors
    # latency panel: log y, p99 line equals the per-interval histograms' p99, service time beside it
    assert latency.get_yscale() == "log" and latency.get_ylabel() == "ms (log)"
    p99 = lines(latency)["response time p99"].get_ydata()
    assert list(p99) == list(run.intervals("latency")["p99"])
    assert p99[2] > 10 * p99[0]  # the slow third second
    assert list(lines(latency)["service time p99"].get_ydata()) == list(run.intervals("service")["p99"])
    assert list(lines(latency)["API Gateway Latency p99"].get_ydata()) == [9.0]
    # lag panel: per-record lag at accepted time, IteratorAge from CloudWatch
    per_record = lines(lag)["lag per record (by acceptance)"]
    assert list(per_record.get_ydata()) == list(make_lag()["lag_ms"])
    assert np.allclose(per_record.get_xdata()[:2], [0.0, 0.03])
    assert list(lines(lag)["IteratorAge max"].get_ydata()) == [150.0, 400.0, 250.0]
    # the failure lane: one panel per failure the run produced, each from zero on its own scale
    assert [ax.get_title(loc="left") for ax in (errors, retries, on_failure)] == [
        "function errors (Lambda Errors): 3 in all", "retries (attempts - 1, by acceptance second): 1 in all",
        "records sent to the on-failure queue: 7 in all"]
    assert [p.get_height() for p in errors.patches] == [3.0]
    assert [p.get_height() for p in on_failure.patches] == [7.0] and on_failure.patches[0].get_x() == 2.0
    assert all(ax.get_ylim()[0] == 0 for ax in (errors, retries, on_failure))
    # a constant run is not a burst: nothing is shaded as one
    assert not any("burst" in label for ax in fig.axes for label in ax.get_legend_handles_labels()[1])


def test_dashboard_without_table_or_metrics_still_draws_and_says_so():
    run = make_run()
    fig = charts.dashboard(run)
    assert len(fig.axes) == 4
    assert list(lines(fig.axes[1])["response time p50"].get_ydata()) == list(run.intervals("latency")["p50"])
    assert "no table or metrics data" in fig.axes[2].texts[0].get_text()
    # no failures: one lane that says so, not an empty axis around zero
    lane = fig.axes[3]
    assert lane.texts[0].get_text().startswith("no failures recorded") and lane.get_ylim() == (0, 1)


def test_percentile_spectrum_overlays_runs_and_stretches_the_tail():
    fast, slow = make_run(slow_from=300), make_run(slow_from=0)
    fig = charts.percentile_spectrum({"fast": fast, "slow": slow})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.get_title() == ("How long requests took, from the typical to the slowest: "
                              "response time (from the intended send time)")
    assert ax.get_xlabel() == "percentile of requests (the slowest ones to the right)"
    got = lines(ax)
    assert set(got) == {"fast (n=300)", "slow (n=300)"}
    assert max(got["slow (n=300)"].get_ydata()) > 10 * max(got["fast (n=300)"].get_ydata())
    fmt = ax.xaxis.get_major_formatter()
    assert (fmt(100.0, 0), fmt(1000.0, 0)) == ("99%", "99.9%")


def test_lag_distribution_marks_percentiles():
    lag = make_lag()
    fig = charts.lag_distribution(lag)
    ax = fig.axes[0]
    assert ax.get_title() == "Processing lag per record (n=100)"
    assert sum(p.get_height() for p in ax.patches) == 100
    labels = ax.get_legend().get_texts()
    texts = [t.get_text() for t in labels]
    assert any(t.startswith("p50 = 150") for t in texts) and any(t.startswith("p99 = 198") for t in texts)
    cdf = fig.axes[1].get_lines()[0]
    assert cdf.get_ydata()[-1] == pytest.approx(1.0)


def test_lag_distribution_of_nothing_says_so():
    fig = charts.lag_distribution(pd.DataFrame({"lag_ms": [np.nan]}))
    assert "no processed records" in [t.get_text() for t in fig.axes[0].texts]


def test_figures_are_saved_as_png_next_to_the_run(tmp_path):
    paths = charts.save_figures(tmp_path, {"dashboard": charts.dashboard(make_run()),
                                           "lag": charts.lag_distribution(make_lag())})
    assert [p.name for p in paths] == ["dashboard.png", "lag.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 10_000 for p in paths)


def test_lag_overlay_draws_one_cdf_per_run_ending_at_one():
    import pandas as pd

    from streamlab.experiment.charts import lag_overlay

    fast = pd.DataFrame({"lag_ms": [10.0, 20.0, 30.0, None]})
    slow = pd.DataFrame({"lag_ms": [100.0, 400.0]})
    fig = lag_overlay({"fast": fast, "slow": slow})
    ax = fig.axes[0]
    assert [line.get_label().split(" (")[0] for line in ax.lines] == ["fast", "slow"]
    assert list(ax.lines[0].get_xdata()) == [10.0, 20.0, 30.0]
    assert ax.lines[0].get_ydata()[-1] == 1.0 and ax.get_xscale() == "log"
    assert "n=3" in ax.lines[0].get_label()


def test_lag_overlay_of_nothing_says_so():
    import pandas as pd

    from streamlab.experiment.charts import lag_overlay

    ax = lag_overlay({"none": pd.DataFrame({"lag_ms": []})}).axes[0]
    assert not ax.lines and any("no processed" in t.get_text() for t in ax.texts)


def test_dashboard_shows_the_run_not_the_minute_its_metrics_start_on():
    early = make_metrics()
    early.loc[0, "timestamp"] = pd.Timestamp(START - 54, unit="s", tz="UTC")  # a 60-s period's start
    fig = charts.dashboard(make_run(), make_lag(), early)
    left, right = fig.axes[0].get_xlim()
    assert left == 0.0
    # the period that began before the run is drawn at the run's start, nothing before it
    age = lines(fig.axes[2])["IteratorAge max"]
    assert list(age.get_xdata()) == [0.0, 1.0, 2.0]
    # the last processed record is 2.97 + 0.199 s after the start
    assert right == pytest.approx(100 * 0.030 - 0.030 + 0.199 + 1.0, abs=0.05)


def test_outcome_bars_stack_each_audit_to_its_acknowledged_count():
    from streamlab.observe.audit import classify

    items = {"a": {schema.STATUS: schema.PROCESSED}, "b": {schema.STATUS: schema.ACCEPTED},
             "c": {schema.STATUS: schema.ACCEPTED}}
    audits = {"clean": classify(["a"], items, set()), "mixed": classify(["a", "b", "c", "gone"], items, {"c"})}
    ax = charts.outcome_bars(audits).axes[0]
    widths = {}
    for bar in ax.patches:
        widths.setdefault(bar.get_y(), []).append(bar.get_width())
    assert sorted(sum(w) for w in widths.values()) == [1.0, 4.0]
    legend = ax.get_legend_handles_labels()[1]
    assert legend == ["processed", "on-failure", "pending", "lost"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["clean", "mixed"]
    # every non-empty part of a bar carries its count
    counts = sorted(t.get_text() for t in ax.texts if t.get_text())
    assert counts == ["1", "1", "1", "1", "1"]  # clean: 1 processed; mixed: 1 each of four outcomes


def timing_line(fig) -> str:
    """The title's second line: whether the sends went out on time."""
    return fig._suptitle.get_text().split("\n")[1]


def drawn(fig):
    """The figure laid out and drawn, as saving it would (ticks and legend positions are final)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig


def all_texts(fig) -> list[str]:
    """Every piece of text a reader sees on a figure: titles, labels, legends, annotations."""
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [ax.get_title(loc=w) for w in ("left", "center", "right")]
        texts += [ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
        texts += ax.get_legend_handles_labels()[1]
    return [t for t in texts if t]


@pytest.mark.parametrize("schedule, words", [
    (load.constant(rate=200, duration=5), "200 requests/s for 5 s"),
    (load.batches(size=300, count=1, gap=1.0), "a burst of 300 requests at once"),
    (load.windows(rate=50, on=1, off=2, count=3), "50 requests/s in 3 windows of 1 s, 2 s apart"),
    (load.steps([100, 200], 2), "100 then 200 requests/s, 2 s each"),
    (load.ramp(10, 100, 4), "from 10 to 100 requests/s over 4 s"),
])
def test_figure_titles_are_words_not_python_reprs(schedule, words):
    run = make_run()
    run.summary.update(profile=schedule.name, params=schedule.params)
    fig = charts.dashboard(run, make_lag(), make_metrics())
    assert fig._suptitle.get_text().startswith(words + ": 300 sent")
    texts = all_texts(fig) + all_texts(charts.percentile_spectrum({"run": run})) + all_texts(
        charts.lag_distribution(make_lag()))
    leaks = [t for t in texts if looks_like_python(t)]
    assert not leaks


def test_the_repr_detector_catches_what_used_to_leak():
    assert looks_like_python("constant {'rate': 200.0, 'duration': 5.0}: 1000 sent")
    assert looks_like_python("p99 np.float64(3.5) ms") and looks_like_python("lag nan ms")
    assert not looks_like_python("200 requests/s for 5 s: 1,000 sent, 1,000 answered 2xx (n=1,000)")


def test_ms_ticks_are_plain_numbers_never_scientific():
    fig = drawn(charts.dashboard(make_run(), make_lag(), make_metrics()))
    for ax in fig.axes[1:3]:
        labels = [t.get_text() for t in ax.get_yticklabels(which="both") if t.get_text()]
        assert labels and all(re.fullmatch(r"[0-9][0-9,.]*", t) for t in labels), labels


def test_legends_sit_outside_the_plotting_area():
    fig = drawn(charts.dashboard(make_run(), make_lag(), make_metrics()))
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes[:3]:
        legend = ax.get_legend()
        assert legend is not None
        assert legend.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1


def test_a_burst_is_shaded_as_one_and_the_generator_verdict_is_shown():
    run = make_run()
    run.summary.update(profile="batches", params={"size": 300, "count": 1, "gap": 1.0},
                       generator_limited=True, send_lateness_ms={"p50": 120.0, "p99": 290.0, "max": 310.0})
    fig = charts.dashboard(run)
    assert "burst" in fig.axes[0].get_legend_handles_labels()[1]
    line = timing_line(fig)
    assert line == ("GENERATOR-LIMITED: sends p50 120 / p99 290 / max 310 ms late (limit p99 10 ms); "
                    "response times include that wait")
    assert timing_line(charts.dashboard(make_run())).startswith("sends on time: p99 0.5 ms late")


def test_fault_windows_are_shaded_and_labelled_on_every_panel():
    outage = FaultWindow("processor outage", START + 0.5, START + 1.5)
    fig = charts.dashboard(make_run(), make_lag(), make_metrics(), faults=[outage])
    for ax in fig.axes:
        spans = [p for p in ax.patches if p.get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:red")
                 and p.get_alpha() == 0.12]
        assert len(spans) == 1
        assert spans[0].get_x() == pytest.approx(0.5) and spans[0].get_width() == pytest.approx(1.0)
    assert "processor outage (1.0 s)" in fig.axes[0].get_legend_handles_labels()[1]
    assert "processor outage (1.0 s)" in [t.get_text() for t in fig.axes[0].texts]


def test_failure_lane_draws_only_the_series_the_run_produced():
    metrics = make_metrics()
    ts = metrics["timestamp"].iloc[1]
    zero = {"namespace": "AWS/Lambda", "stat": "Sum", "timestamp": ts, "value": 0.0}
    metrics = pd.concat([metrics, pd.DataFrame([
        {**zero, "metric": "Throttles"},  # zero: not a series worth a panel
        {**zero, "metric": "FailedInvokeEventCount", "value": 60.0},
        {**zero, "metric": "OnFailureDestinationDeliveredEventCount", "value": 1.0}])], ignore_index=True)
    lag = make_lag().assign(**{schema.ATTEMPTS: 1})
    fig = charts.dashboard(make_run(), lag, metrics)
    titles = [ax.get_title(loc="left") for ax in fig.axes[3:]]
    assert titles == ["function errors (Lambda Errors): 3 in all",
                      "records in failed invocations (FailedInvokeEventCount): 60 in all",
                      "records sent to the on-failure queue: 1 in all"]
    # one delivery is not flattened by sixty failed records: each panel has its own scale
    assert fig.axes[5].get_ylim()[1] < 2 and fig.axes[4].get_ylim()[1] > 60
