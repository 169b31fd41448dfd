# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: streamlab (.venv)
#     language: python
#     name: streamlab
# ---

# %% [markdown]
# # 06 · Observability: the pipeline's own metrics
#
# **What this notebook teaches:** how to watch this pipeline in production, where you cannot read
# every item. API Gateway, Lambda and the event source mapping publish metrics to CloudWatch; we
# read them with one `GetMetricData` call, the same way on the local stack and on AWS, and set them
# next to what the client and the table saw.
#
# | metric | namespace | what it tells (reference) |
# |---|---|---|
# | `Count`, `4XXError`, `5XXError` | AWS/ApiGateway | requests and errors the API answered (A8) |
# | `Latency`, `IntegrationLatency` | AWS/ApiGateway | whole request vs the DynamoDB call; the difference is the gateway's own overhead (A8) |
# | `Invocations`, `Errors`, `Duration` | AWS/Lambda | the processor's work and failures (M1) |
# | `IteratorAge` | AWS/Lambda | age of the last record of a batch when it reached the function: the stream's backlog (M2) |
# | `PolledEventCount` ... `OnFailureDestinationDeliveredEventCount` | AWS/Lambda, per mapping | what the mapping read, filtered, invoked, failed, dropped, delivered (M3) |

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
rate = 100
duration_s = 8.0
poison_every = 200
metrics_wait_s = 60
settle_s = 90
seed = 6

# %%
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

import streamlab
from streamlab import load
from streamlab.aws import guard_burst
from streamlab.experiment import PipelineNames, charts, run_experiment
from streamlab.observe import has_series, pipeline_metrics
from streamlab.notebook import conclusions
from streamlab.notebook.conclusions import metric_peak, metric_total, show
from streamlab.notebook.results import record_results
from streamlab.provision import PipelineConfig, deploy

RUN_DIR = Path(run_dir) / "06_observability"
RUN_DIR.mkdir(parents=True, exist_ok=True)
config = PipelineConfig(stack=stack)
tgt = streamlab.connect(target)
pipeline = deploy(config, target=tgt)
names = PipelineNames.of(pipeline)
period = 1 if tgt.is_local else 60   # the local stack publishes per second; AWS per minute

# %% [markdown]
# ## A run to observe
#
# Steady load with an occasional poison record, so the failure metrics have something to show.

# %%
exp = run_experiment(tgt, pipeline.invoke_url, load.constant(rate=rate, duration=duration_s), RUN_DIR / "run",
                     names=names, name="observed", body=load.JsonBodies(seed=seed, poison_every=poison_every),
                     settle_timeout=settle_s, guard=guard_burst, progress=False)
exp.obs.audit

# %% [markdown]
# ## Read the metrics
#
# Metrics arrive with a delay (about a minute on AWS, a second or two locally), so we poll until the
# series we need have points, within `metrics_wait_s`.

# %%
# From the start of the period the run began in: earlier points belong to earlier runs.
start = datetime.fromtimestamp(exp.run.summary["start_epoch"] // period * period, timezone.utc)
metrics = pipeline_metrics(tgt, start, datetime.now(timezone.utc) + timedelta(minutes=1),
                           api_name=names.api_name, function_name=names.function_name, esm_uuid=names.esm_uuid,
                           period=period, deadline_s=metrics_wait_s, poll_s=2,
                           until=has_series("Count", "IntegrationLatency", "Invocations", "IteratorAge",
                                            "PolledEventCount"))
print("all wanted series present:", metrics.attrs["complete"])
metrics.groupby(["namespace", "metric", "stat"])["value"].agg(["count", "sum", "max"]).round(1)


# %% [markdown]
# ## CloudWatch's counts next to what the client and the table saw
#
# Each row says whether the two agree, and if not, what the difference means.

# %%
s, audit = exp.run.summary, exp.obs.audit
checks = conclusions.count_checks(s, audit, metrics)
print(conclusions.counts_heading(checks))
checks


# %% [markdown]
# `InvokedEventCount` counts every record each time it is handed to the function, so retries and
# bisected halves count again: it is at least the number of records processed. `PolledEventCount`
# also includes the processor's own `MODIFY` records, which the mapping's filter drops
# (`FilteredOutEventCount`) before invoking.

# %% [markdown]
# ## Where the API's time goes
#
# `Latency` is the whole request inside API Gateway; `IntegrationLatency` is the DynamoDB call. The
# difference is what the gateway itself adds (mapping template, validation, response mapping) on
# AWS (A8). An emulator may not time the gateway's own work: the line below says whether this run can
# show it.

# %%
latency = pd.DataFrame({
    "API Gateway Latency": [metric_peak(metrics, "Latency", "p50"), metric_peak(metrics, "Latency", "p99")],
    "IntegrationLatency (DynamoDB)": [metric_peak(metrics, "IntegrationLatency", "p50"),
                                      metric_peak(metrics, "IntegrationLatency", "p99")],
    "client, from intended send": [s["latency_ms"]["p50"], s["latency_ms"]["p99"]],
}, index=["p50 (worst second)", "p99 (worst second)"]).round(2)
print(conclusions.gateway_overhead_sentence(metrics))
latency

# %% [markdown]
# ## The dashboard
#
# All of it on one time axis: requests and errors, API response and service time, processing lag
# with `IteratorAge`, and the failure lane: one small panel for each kind of failure this run
# produced (function errors, records in failed invocations, retries, on-failure deliveries), each
# on its own scale from zero.

# %%
board = charts.dashboard(exp.run, exp.obs.items, metrics, exp.obs.failures,
                         title=f"{rate} req/s for {duration_s:g} s, every {poison_every}th request poison")
charts.save_figures(RUN_DIR, {"dashboard": board})
display(Image(RUN_DIR / "dashboard.png"))

# %% [markdown]
# ## Which alarm catches which failure
#
# | alarm on | catches | misses |
# |---|---|---|
# | Lambda `Errors` (M1) | a function that raises or times out | records reported back as failed with partial batch responses (E9): the invocation succeeded |
# | `FailedInvokeEventCount` (M3, opt-in per mapping) | every record of a failed or partly failed invocation | records never handed to the function |
# | on-failure queue depth (`ApproximateNumberOfMessagesVisible`) | data the mapping gave up on (E7, E10) | failures still being retried |
# | `IteratorAge` (M2) | a stream falling behind: a blocked shard, an outage, too little throughput | a single failed record that was given up quickly |
#
# ## Metric periods: 1 second here, 60 seconds on AWS
#
# The local stack publishes a point every second, so a run of a few seconds is a line of points.
# On AWS, Lambda and API Gateway publish per minute (the standard resolution): the same run is one
# or two points, and an alarm evaluates whole minutes, so it reacts a minute or more after a failure.

# %%
present = sorted(set(metrics["metric"]))
record_results(RUN_DIR.parent, "06_observability", metrics_present=present, complete=metrics.attrs["complete"],
               api_count=metric_total(metrics, "Count"), sent=s["sent"],
               invocations=metric_total(metrics, "Invocations"),
               iterator_age_max_ms=metric_peak(metrics, "IteratorAge", "Maximum"), audit=audit.as_dict())

# %% [markdown]
# ## What we saw
#
# Every sentence below is computed from this run's metrics and audit: which counts agreed, what
# the gateway's overhead shows here, and which alarm would have caught this run's failures.
# Nothing in how they were read is specific to the local stack: the same calls read the same
# metrics on AWS.

# %%
show(conclusions.observability(s, audit, metrics, period=period, is_local=tgt.is_local))
