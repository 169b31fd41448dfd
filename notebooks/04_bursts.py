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
burst_size = 300
knob_rate = 100
knob_duration_s = 5.0
work_ms = 10
settle_s = 90
seed = 1

# %%
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

import streamlab
from streamlab import load
from streamlab.aws import guard_burst
from streamlab.experiment import PipelineNames, charts, run_experiment
from streamlab.notebook import conclusions
from streamlab.notebook.conclusions import show
from streamlab.notebook.results import record_results
from streamlab.provision import PipelineConfig, deploy

RUN_DIR = Path(run_dir) / "04_bursts"
RUN_DIR.mkdir(parents=True, exist_ok=True)
config = PipelineConfig(stack=stack)
tgt = streamlab.connect(target)
pipeline = deploy(config, target=tgt)
names = PipelineNames.of(pipeline)


def experiment(name, schedule, body=None):
    exp = run_experiment(tgt, pipeline.invoke_url, schedule, RUN_DIR / name, names=names, name=name, guard=guard_burst,
                         body=body or load.JsonBodies(seed=seed), settle_timeout=settle_s)
    print(f"{name}: {exp.obs.audit.verdict}\n  sends: {exp.run.summary['verdict']}")
    return exp


# %% [markdown]
# ## Steady rates
#
# The same pipeline at each rate in `rates`, for `duration_s` seconds each.

# %%
steady = [experiment(f"rate-{r}", load.constant(rate=r, duration=duration_s)) for r in rates]
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
# so at `knob_rate` requests/s one invocation at a time is nearly saturated. We change one setting
# at a time, re-deploy (the mapping is updated in place), and send the same load:
#
# | setting | what it does (reference §2) |
# |---|---|
# | `BatchSize` | most records per invocation (E2) |
# | `MaximumBatchingWindowInSeconds` | wait up to this long to fill a batch (E2): fewer invocations, more lag |
# | `ParallelizationFactor` | batches of one shard processed at once, per-key order kept (E4) |

# %%
knobs = {
    "defaults (batch 100)": {},
    "batch size 10": {"batch_size": 10},
    "batching window 1 s": {"maximum_batching_window_in_seconds": 1},
    "parallelization 4": {"parallelization_factor": 4},
}
knob_runs = []
for label, change in knobs.items():
    deploy(config.with_esm(**change), target=tgt, log=lambda _: None)
    knob_runs.append(experiment(label, load.constant(rate=knob_rate, duration=knob_duration_s),
                                body=load.JsonBodies(seed=seed, sleep_ms=work_ms)))
deploy(config, target=tgt, log=lambda _: None)   # back to the defaults
knob_table = pd.DataFrame([e.row() for e in knob_runs]).set_index("experiment")
knob_table[["acknowledged", "latency p99 ms", "lag p50 ms", "lag p99 ms", "lag max ms", "lost", "audit"]].round(1)

# %%
lag_by_knob = charts.lag_overlay({e.name: e.obs.items for e in knob_runs})
charts.save_figures(RUN_DIR, {"lag_by_knob": lag_by_knob})
display(Image(RUN_DIR / "lag_by_knob.png"))

# %%
all_runs = steady + [burst] + knob_runs
rows = pd.DataFrame([e.row() for e in all_runs]).set_index("experiment")
record_results(RUN_DIR.parent, "04_bursts", rows=rows.reset_index().to_dict("records"),
               all_passed=all(e.passed for e in all_runs), lost=int(rows["lost"].sum()))

# %% [markdown]
# ## What we saw
#
# Every sentence below is computed from this run's numbers (they change when the parameters do).
# Why they come out this way: the API waits for one DynamoDB write, so only the machine and the
# line in front of a request can slow it; the lag is set by the mapping (its polling cadence of
# 4 polls/s, the records per invocation, the invocations of one shard at once). A batching window
# can add up to its own length to the lag; parallelization helps when the processor is the
# bottleneck. "Send lateness" is how late the generator itself sent a request: when it passes
# 10 ms the run is marked generator-limited, and its response times include that wait.

# %%
show(conclusions.bursts(steady, burst, knob_runs, work_ms=work_ms, knob_rate=knob_rate))
