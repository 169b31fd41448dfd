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
from streamlab.provision import PipelineConfig, deploy
from streamlab.notebook.results import record_results

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
# ## Counts agree with what the client and the table saw

# %%
def total(metric, stat="Sum"):
    m = metrics[(metrics["metric"] == metric) & (metrics["stat"] == stat)]
    return float(m["value"].sum()) if len(m) else None

s, audit = exp.run.summary, exp.obs.audit
checks = pd.DataFrame([
    ("API requests", s["sent"], total("Count")),
    ("API 4xx", sum(v for k, v in s["errors"].items() if k == "http_4xx"), total("4XXError")),
    ("API 5xx", sum(v for k, v in s["errors"].items() if k == "http_5xx"), total("5XXError")),
    ("records processed (table) / invoked (mapping)", audit.processed + audit.on_failure, total("InvokedEventCount")),
    ("records given up (on-failure queue)", audit.on_failure, total("OnFailureDestinationDeliveredEventCount")),
], columns=["what", "client / table / audit", "CloudWatch"])
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
# difference is what the gateway itself adds (mapping template, validation, response mapping).

# %%
def pct(metric, stat):
    m = metrics[(metrics["metric"] == metric) & (metrics["stat"] == stat)]
    return float(m["value"].max()) if len(m) else None

latency = pd.DataFrame({
    "API Gateway Latency": [pct("Latency", "p50"), pct("Latency", "p99")],
    "IntegrationLatency (DynamoDB)": [pct("IntegrationLatency", "p50"), pct("IntegrationLatency", "p99")],
    "client, from intended send": [s["latency_ms"]["p50"], s["latency_ms"]["p99"]],
}, index=["p50 (worst second)", "p99 (worst second)"]).round(2)
latency

# %% [markdown]
# ## The dashboard
#
# All of it on one time axis: requests and errors, API latency, processing lag with `IteratorAge`,
# and function errors, retries and on-failure deliveries.

# %%
board = charts.dashboard(exp.run, exp.obs.items, metrics, exp.obs.failures,
                         title=f"{rate} req/s for {duration_s:g} s, every {poison_every}th request poison")
charts.save_figures(RUN_DIR, {"dashboard": board})
display(Image(RUN_DIR / "dashboard.png"))

# %%
present = sorted(set(metrics["metric"]))
record_results(RUN_DIR.parent, "06_observability", metrics_present=present, complete=metrics.attrs["complete"],
               api_count=total("Count"), sent=s["sent"], invocations=total("Invocations"),
               iterator_age_max_ms=pct("IteratorAge", "Maximum"), audit=audit.as_dict())
print(f"API Count {total('Count'):.0f} for {s['sent']} requests sent; {total('Invocations'):.0f} invocations; "
      f"IteratorAge at most {pct('IteratorAge', 'Maximum'):.0f} ms; errors {total('Errors') or 0:.0f}; "
      f"audit: {audit.verdict}")

# %% [markdown]
# ## What we saw
#
# * The metrics tell the same story as the client and the table: the API counted every request,
#   the mapping invoked every record at least once, and what it gave up on reached the on-failure
#   queue, where the audit found it.
# * `IteratorAge` is the stream's backlog as the function sees it: the number to alarm on for
#   processing lag, since the API's own latency says nothing about it.
# * Nothing here was specific to the local stack: the same calls read the same metrics on AWS.
