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
# # 04 · Bursts: API latency against stream lag
#
# **What this notebook teaches:** the two halves of the pattern respond to load differently. The
# API's latency depends on one DynamoDB write; the processing **lag** depends on how fast the
# event source mapping drains the stream. We send open-loop load at several rates and one sudden
# burst, then turn the mapping's knobs (batch size, batching window, parallelization) and watch
# where the lag grows and why.
#
# Every run is **open loop**: requests leave on a precomputed schedule whether or not earlier ones
# were answered, and latency is measured from the *intended* send time, so a slow API cannot hide
# its slowness by slowing the client down. Every run ends with the **no-loss audit**.

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
rates = [50, 200]
duration_s = 5.0
repeats = 1
burst_size = 300
knob_rate = 100
knob_duration_s = 5.0
work_ms = 10
settle_s = 90
seed = 1
knee_rates = [20, 40, 80, 160]
knee_duration_s = 6.0
knee_work_ms = 10
drain_burst = 200

# %%
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

import streamlab
from streamlab import load, schema
from streamlab.aws import guard_burst
from streamlab.bench.pipeline import judge as judge_rate
from streamlab.experiment import PipelineNames, charts, run_experiment
from streamlab.notebook import conclusions
from streamlab.notebook.conclusions import show
from streamlab.notebook.results import record_results
from streamlab.provision import PipelineConfig, deploy, teardown

RUN_DIR = Path(run_dir) / "04_bursts"
RUN_DIR.mkdir(parents=True, exist_ok=True)
config = PipelineConfig(stack=stack)
tgt = streamlab.connect(target)
pipeline = deploy(config, target=tgt)
names = PipelineNames.of(pipeline)


def experiment(name, schedule, body=None, on=None):
    on = on or pipeline
    exp = run_experiment(tgt, on.invoke_url, schedule, RUN_DIR / name, names=PipelineNames.of(on), name=name,
                         guard=guard_burst, body=body or load.JsonBodies(seed=seed), settle_timeout=settle_s)
    print(f"{name}: {exp.obs.audit.verdict}\n  sends: {exp.run.summary['verdict']}")
    return exp


def warm_up(label, on, work_ms, size=50):
    """A small burst first, so every function instance a setting runs at once has started: on a
    laptop a cold start takes the same cores as everything else, and it is not what we measure."""
    experiment(f"warm-up: {label}", load.batches(size=size, count=1, gap=1.0),
               body=load.JsonBodies(seed=seed, sleep_ms=work_ms), on=on)


# %% [markdown]
# ## Steady rates
#
# The same pipeline at each rate in `rates`, for `duration_s` seconds each, `repeats` times (the
# suite's `lab` profile repeats each rate to show how much a number moves from one run to the next).

# %%
steady = [experiment(f"rate-{r}" if repeats == 1 else f"rate-{r} run {i + 1}", load.constant(rate=r, duration=duration_s))
          for r in rates for i in range(repeats)]
pd.DataFrame([e.row() for e in steady]).set_index("experiment").round(1)

# %% [markdown]
# The latency percentiles of each run, on one plot. The x axis stretches the tail (99%, 99.9%...)
# where the differences between runs live.

# %%
spectrum = charts.percentile_spectrum({e.name: e.run for e in steady})
charts.save_figures(RUN_DIR, {"steady_latency_spectrum": spectrum})
display(Image(RUN_DIR / "steady_latency_spectrum.png"))

# %% [markdown]
# ## A sudden burst
#
# `burst_size` requests at the same instant. The API must absorb them all at once: the last ones
# wait in line, so the tail latency rises. The stream takes the whole burst too, and the mapping
# works through it batch by batch, so lag rises for the records at the back of the line.

# %%
burst = experiment("burst", load.batches(size=burst_size, count=1, gap=1.0))
display(Image(RUN_DIR / "burst" / "dashboard.png"))

# %%
display(Image(RUN_DIR / "burst" / "lag.png"))

# %% [markdown]
# ## The mapping's knobs
#
# Now each record costs the processor `work_ms` of work (the request body's `sleep_ms` switch),
# so at `knob_rate` requests/s one invocation at a time is nearly saturated. A new on-demand table's
# stream has several shards (as on AWS, S7), and each shard has its own invocations, so for this
# part we use a second stack whose table has **one** shard: there one shard's settings decide
# everything. We change one setting at a time, re-deploy (the mapping is updated in place), warm
# the function up with a small burst, and send the same load:
#
# | setting | what it does (reference §2) |
# |---|---|
# | `BatchSize` | most records per invocation (E2) |
# | `MaximumBatchingWindowInSeconds` | wait up to this long to fill a batch (E2): fewer invocations, more lag |
# | `ParallelizationFactor` | batches of one shard processed at once, per-key order kept (E4) |

# %%
slow = PipelineConfig(stack=f"{stack}-knee", stream_shards=1).with_processor(record_concurrency=1)
slow_pipeline = deploy(slow, target=tgt, log=lambda _: None)

knobs = {
    "defaults (batch 100)": {},
    "batch size 10": {"batch_size": 10},
    "batching window 1 s": {"maximum_batching_window_in_seconds": 1},
    "parallelization 4": {"parallelization_factor": 4},
}
knob_runs = []
for label, change in knobs.items():
    deploy(slow.with_esm(**change), target=tgt, log=lambda _: None)
    warm_up(label, slow_pipeline, work_ms)
    knob_runs.append(experiment(label, load.constant(rate=knob_rate, duration=knob_duration_s),
                                body=load.JsonBodies(seed=seed, sleep_ms=work_ms), on=slow_pipeline))
deploy(slow, target=tgt, log=lambda _: None)   # back to the defaults
knob_table = pd.DataFrame([e.row() for e in knob_runs]).set_index("experiment")
knob_table[["acknowledged", "latency p99 ms", "lag p50 ms", "lag p99 ms", "lag max ms", "lost", "audit"]].round(1)

# %%
lag_by_knob = charts.lag_overlay({e.name: e.obs.items for e in knob_runs})
charts.save_figures(RUN_DIR, {"lag_by_knob": lag_by_knob})
display(Image(RUN_DIR / "lag_by_knob.png"))

# %% [markdown]
# ## Where the pipeline stops keeping up: the knee
#
# A rate is kept up with when the processing lag stays bounded: lag p99 under 1 s **and** no
# upward trend of the lag over the second half of the run (the slope, in ms of lag per second).
# Zero loss alone is not enough: a pipeline that falls further behind every second still loses
# nothing, it just answers later and later. Above its **drain capacity** (records the processing
# side finishes per second) the lag grows for as long as the load lasts. The verdict is the one
# `streamlab bench pipeline` gives, so it also asks that nothing was lost, the API answered
# without errors and fast enough that the load generator dropped no send, and at least 99% of
# the rate was sent; the table's "why not" column says which of these a rate missed.
#
# To find the knee on a laptop we make each record cost `knee_work_ms` of work and use the
# one-shard stack again: one batch at a time (`ParallelizationFactor` 1) and a processor that
# handles one record at a time. Then we step the rate up until it stops keeping up.

# %%
work = load.JsonBodies(seed=seed, sleep_ms=knee_work_ms)


def keep_up_row(exp, rate):
    """The verdict `streamlab bench pipeline` gives a rate: nothing lost, no API error, no send
    dropped, the rate reached, and the lag bounded with no upward trend."""
    judged = judge_rate(exp, rate)
    return {"experiment": exp.name, "rate": rate, "lost": judged["lost"], "lag p99 ms": judged["lag_p99_ms"],
            "lag slope ms/s": judged["lag_slope_ms_per_s"], "drain capacity rec/s": judged["drain_capacity_rps"],
            "keeps up": judged["passes"], "why not": "; ".join(judged["why_not"])}


knee_runs, knee_rows = [], []
for r in knee_rates:
    knee_runs.append(experiment(f"knee {r}/s", load.constant(rate=r, duration=knee_duration_s), body=work,
                                on=slow_pipeline))
    knee_rows.append(keep_up_row(knee_runs[-1], r))
    if not knee_rows[-1]["keeps up"]:
        break
knee_table = pd.DataFrame(knee_rows).set_index("experiment")
knee_table.round(1)

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(knee_table["rate"], knee_table["lag slope ms/s"], marker="o")
ax.axhline(10, color="grey", linestyle="--", label="no upward trend below this (10 ms/s)")
ax.set_xlabel("offered rate (requests/s)")
ax.set_ylabel("lag slope, second half (ms/s)")
ax.set_title(f"Lag trend against rate ({knee_work_ms} ms of work per record)")
ax.legend()
charts.save_figures(RUN_DIR, {"lag_slope_by_rate": fig})
display(Image(RUN_DIR / "lag_slope_by_rate.png"))

# %% [markdown]
# ### What moves the knee
#
# The knee sits where the offered rate meets the drain capacity. We measure the drain capacity
# directly: with the mapping paused (`Enabled=false`, E13) `drain_burst` requests build a backlog
# in the stream; then the mapping resumes and we count the records finished per second until the
# last one is done (after the same warm-up as above). One knob at a time:
#
# | knob | what it changes |
# |---|---|
# | more **shards** (`stream_shards`, a table setting locally; partitions on AWS) | one poller per shard, all at once (S6, S7) |
# | `ParallelizationFactor` | independent lanes per shard, keyed by item (E4) |
# | processor **record concurrency** | items of one batch at once inside one invocation; one item's records stay in order |
#
# Record concurrency is safe here because each record only updates its own item. Work that spans
# items (a running total, a counter shared by many items) must keep one record at a time, or it
# races with itself.

# %%
import time

from streamlab.observe import wait_processed

lam = tgt.client("lambda")


def set_enabled(on, enabled, timeout_s=60):
    lam.update_event_source_mapping(UUID=on.mapping_uuid, Enabled=enabled)
    deadline = time.monotonic() + timeout_s
    while lam.get_event_source_mapping(UUID=on.mapping_uuid)["State"] != ("Enabled" if enabled else "Disabled"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"mapping {on.mapping_uuid} did not settle in {timeout_s} s")
        time.sleep(0.2)


def measure_drain(label, cfg):
    on = deploy(cfg, target=tgt, log=lambda _: None)
    warm_up(label, on, knee_work_ms)
    set_enabled(on, False)
    backlog = load.run_load(on.invoke_url, load.batches(size=drain_burst, count=1, gap=1.0), body=work,
                            progress=False, headers=on.request_headers)   # the API needs its key
    resumed_ms = time.time() * 1000
    set_enabled(on, True)
    items = wait_processed(tgt, on.table_name, backlog.acknowledged_ids, timeout_s=settle_s)
    done = items[schema.PROCESSED_AT].dropna()
    return {"knob": label, "backlog": len(backlog.acknowledged_ids), "processed": len(done),
            "lost": len(backlog.acknowledged_ids) - len(done),
            "drain capacity rec/s": len(done) / max(1e-3, (done.max() - resumed_ms) / 1000)}


four_shards = PipelineConfig(stack=f"{stack}-knee4", stream_shards=4).with_processor(record_concurrency=1)
drain_setups = {
    "1 shard, PF 1, 1 record at a time": slow,
    "4 shards": four_shards,
    "ParallelizationFactor 4": slow.with_esm(parallelization_factor=4),
    "record concurrency 4": slow.with_processor(record_concurrency=4),
}
drain_rows = [measure_drain(label, cfg) for label, cfg in drain_setups.items()]
for cfg in (slow, four_shards):
    teardown(cfg, target=tgt, log=lambda _: None)
drain_table = pd.DataFrame(drain_rows).set_index("knob")
drain_table[["backlog", "processed", "drain capacity rec/s"]].round(1)

# %%
drain = drain_table["drain capacity rec/s"]
base_label = "1 shard, PF 1, 1 record at a time"
best_label = drain.drop(base_label).idxmax()
passing = knee_table[knee_table["keeps up"]]
failing = knee_table[~knee_table["keeps up"]]
if len(failing):
    kept = f"kept up at {passing['rate'].max()} req/s and" if len(passing) else "did not keep up even at the first rate:"
    print(f"One shard, one batch and one record at a time {kept} stopped keeping up at {failing['rate'].min()} "
          f"req/s: {failing['why not'].iloc[0]}. Its measured drain capacity is {drain[base_label]:.0f} records/s.")
else:
    print(f"One shard, one batch and one record at a time kept up at every rate tried, up to {knee_table['rate'].max()} "
          f"req/s; its measured drain capacity is {drain[base_label]:.0f} records/s.")
for label in drain.index.drop(base_label):
    print(f"{label}: drain capacity {drain[label]:.0f} records/s, {drain[label] / drain[base_label]:.1f}x the baseline.")
print(f"The knob that moved the knee most: {best_label}, from about {drain[base_label]:.0f} to about "
      f"{drain[best_label]:.0f} records/s.")

# %%
all_runs = steady + [burst] + knob_runs + knee_runs
rows = pd.DataFrame([e.row() for e in all_runs]).set_index("experiment")
record_results(RUN_DIR.parent, "04_bursts", rows=rows.reset_index().to_dict("records"),
               all_passed=all(e.passed for e in all_runs), lost=int(rows["lost"].sum()),
               knee=knee_table.reset_index().to_dict("records"), drain=drain_table.reset_index().to_dict("records"))

# %% [markdown]
# ## What we saw
#
# Every sentence below is computed from this run's numbers (they change when the parameters do).
# Why they come out this way: the API waits for one DynamoDB write, so only the machine and the
# line in front of a request can slow it; the lag is set by the mapping (its polling cadence of
# 4 polls/s, the records per invocation, the invocations of one shard at once). A batching window
# can add up to its own length to the lag; parallelization helps when the processor is the
# bottleneck. Past the knee the lag slope turns positive: the pipeline falls further behind every
# second while still losing nothing; more shards, more lanes per shard and a processor that
# handles independent items at once each raise the drain capacity, and the knee moves with it
# (which one moved it most, and by how much, is printed above from this run). "Send lateness" is
# how late the generator itself sent a request: when it passes 10 ms the run is marked
# generator-limited, and its response times include that wait.

# %%
show(conclusions.bursts(steady, burst, knob_runs, work_ms=work_ms, knob_rate=knob_rate))
