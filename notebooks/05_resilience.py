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
# # 05 · Resilience: poison records, timeouts, partial failures, an outage
#
# **What this notebook teaches:** what the event source mapping does when processing fails, and
# how its settings decide the outcome. The same failures run under different mapping settings;
# after each run the **no-loss audit** accounts for every acknowledged request: processed, handed
# to the on-failure queue, or still pending. Lost must be zero every time.
#
# | setting | what it does (reference §2) |
# |---|---|
# | `MaximumRetryAttempts` | retries of a failing batch; AWS's default −1 retries until the record expires (E5, E7) |
# | `BisectBatchOnFunctionError` | split a failing batch in two and retry the halves, down to single records (E8) |
# | `FunctionResponseTypes: ReportBatchItemFailures` | the function names the records that failed; the mapping retries from the first of them (E9) |
# | `DestinationConfig.OnFailure` | where a batch's metadata goes when the limits are spent (E10) |

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
rate = 50
duration_s = 4.0
poison_every = 50
batch_size = 10
outage_s = 3.0
timeout_s = 2
blocked_look_s = 5
settle_s = 120
seed = 5

# %%
import threading
import time
from pathlib import Path

import pandas as pd
from IPython.display import Image, display

import streamlab
from streamlab import load
from streamlab.aws import guard_burst
from streamlab.experiment import PipelineNames, charts, run_experiment
from streamlab.experiment.failure_lane import FaultWindow
from streamlab.notebook import conclusions
from streamlab.notebook.conclusions import show
from streamlab.notebook.results import record_results
from streamlab.provision import PipelineConfig, deploy

RUN_DIR = Path(run_dir) / "05_resilience"
RUN_DIR.mkdir(parents=True, exist_ok=True)
base = PipelineConfig(stack=stack).with_esm(batch_size=batch_size)
tgt = streamlab.connect(target)
pipeline = deploy(base, target=tgt)
names = PipelineNames.of(pipeline)
poisoned = load.JsonBodies(seed=seed, poison_every=poison_every)
schedule = load.constant(rate=rate, duration=duration_s)
print(f"{len(schedule)} requests per run, every {poison_every}th is poison: "
      f"{len(schedule) // poison_every} poison records per run")


def scenario(name, config, body=poisoned, settle=settle_s):
    """Deploy `config` (the mapping is updated in place), send the same load, audit."""
    deploy(config, target=tgt, log=lambda _: None)
    exp = run_experiment(tgt, pipeline.invoke_url, schedule, RUN_DIR / name, names=names, name=name, guard=guard_burst,
                         body=body, settle_timeout=settle, progress=False)
    print(f"{name}: {exp.obs.audit.verdict}")
    return exp


# %% [markdown]
# ## Poison records, three ways
#
# A poison record fails on every attempt. All three runs below stop retrying after two retries and
# send what they give up on to the on-failure queue; they differ in how much of the batch around
# the poison shares its fate.
#
# 1. **Retry limit only**: the whole batch fails with its poison record, so the innocent records
#    in the same batch go to the on-failure queue too (reported, not lost, but not processed).
# 2. **Bisect**: the failing batch is halved until the poison record is alone; only it is given up.
# 3. **Partial batch responses**: the function reports the poison record's sequence number; the
#    mapping checkpoints before it and retries from there, so earlier records are not redone.

# %%
# The function answers failures by raising unless partial batch responses are on (then both sides must agree).
raising = base.with_processor(partial_failures=False)
runs = [
    scenario("retry limit only", raising.with_esm(maximum_retry_attempts=2, bisect_batch_on_function_error=False,
                                                  report_batch_item_failures=False)),
    scenario("bisect", raising.with_esm(maximum_retry_attempts=2, bisect_batch_on_function_error=True,
                                        report_batch_item_failures=False)),
    scenario("partial batch responses", base.with_esm(maximum_retry_attempts=2, bisect_batch_on_function_error=False,
                                                      report_batch_item_failures=True)),
]
table = pd.DataFrame([e.row() for e in runs]).set_index("experiment")
table[["acknowledged", "processed", "on-failure", "pending", "lost", "max attempts", "lag p99 ms", "audit"]]

# %% [markdown]
# ## AWS's defaults: retry until the record expires
#
# With `MaximumRetryAttempts = -1` (the default) a poison record **blocks its shard**: the mapping
# retries the same batch again and again, and every record behind it waits (E7). Nothing is lost:
# the records are still in the stream and in the table, *pending*. We look after a few seconds,
# then change the mapping to a retry limit with bisect, and the blocked batch drains.

# %%
blocked = scenario("defaults: blocked", raising.with_esm(maximum_retry_attempts=-1, bisect_batch_on_function_error=False,
                                                         report_batch_item_failures=False),
                   settle=blocked_look_s)

# %%
# Only the mapping changes: the same function, now with a retry limit and bisect.
deploy(raising.with_esm(maximum_retry_attempts=2, bisect_batch_on_function_error=True,
                        report_batch_item_failures=False), target=tgt, log=lambda _: None)
from streamlab.observe import audit as audit_run

unblocked = audit_run(tgt, pipeline.table_name, blocked.run, queue_url=pipeline.queue_url, settle_timeout=settle_s)
print("after the fix:", unblocked.verdict)
unblocked


# %% [markdown]
# ## A timeout
#
# One request asks the processor to sleep longer than its timeout (`timeout_s`). A timeout counts
# as a function error (E5): the batch is retried, bisected, and the slow record alone is given up.

# %%
def slow_body(seq):
    return {"seq": seq, "sleep_ms": (timeout_s + 1) * 1000} if seq == 7 else {"seq": seq}

timeouts = scenario("timeout", base.with_esm(maximum_retry_attempts=1, bisect_batch_on_function_error=True)
                    .with_processor(timeout_seconds=timeout_s), body=slow_body)

# %% [markdown]
# ## A processor outage
#
# For `outage_s` seconds every processing attempt fails (the function's `FAILURE_RATE` is 1). With
# unlimited retries the mapping keeps trying; when the processor recovers, everything is processed.
# The cost of an outage is **lag**, not data.

# %%
outage_config = base.with_esm(maximum_retry_attempts=-1, bisect_batch_on_function_error=False)
deploy(outage_config.with_processor(failure_rate=1.0), target=tgt, log=lambda _: None)
# The window is shaded on the dashboard: from now until the working function is back.
outage_window = FaultWindow.starting_now("processor outage")
recover = threading.Timer(outage_s, lambda: (deploy(outage_config, target=tgt, log=lambda _: None),
                                             outage_window.close()))
recover.start()
outage = run_experiment(tgt, pipeline.invoke_url, schedule, RUN_DIR / "outage", names=names, name="outage", guard=guard_burst,
                        body=load.JsonBodies(seed=seed), settle_timeout=settle_s, progress=False,
                        faults=[outage_window])
recover.join()
print("outage:", outage.obs.audit.verdict)
display(Image(RUN_DIR / "outage" / "dashboard.png"))

# %%
deploy(base, target=tgt, log=lambda _: None)   # back to the defaults of the suite
everything = runs + [timeouts, outage]
summary = pd.DataFrame([e.row() for e in everything]).set_index("experiment")
summary[["acknowledged", "processed", "on-failure", "pending", "lost", "max attempts", "lag p99 ms", "audit"]]

# %%
# Every run, the blocked one too: once as the audit found it, once after the fix.
outcomes = charts.outcome_bars({**{e.name: e.obs.audit for e in runs},
                                f"defaults: blocked (after {blocked_look_s:g} s)": blocked.obs.audit,
                                "defaults: after the fix": unblocked,
                                **{e.name: e.obs.audit for e in (timeouts, outage)}})
charts.save_figures(RUN_DIR, {"outcomes": outcomes})
display(Image(RUN_DIR / "outcomes.png"))

# %%
record_results(RUN_DIR.parent, "05_resilience", rows=summary.reset_index().to_dict("records"),
               blocked_pending=blocked.obs.audit.pending, unblocked=unblocked.as_dict(),
               lost=int(summary["lost"].sum()) + unblocked.missing,
               all_passed=all(e.passed for e in everything) and unblocked.passed)

# %% [markdown]
# ## What we saw
#
# Every sentence below is computed from this run (the counts change with the parameters). Why
# they come out this way: without bisect or partial batch responses a failing batch fails whole,
# so its innocent records share the poison's fate; with AWS's default of retrying until the record
# expires, a poison record holds back everything behind it in its shard (E7); a timeout counts as
# a function error (E5). Pending is not lost, and it is not processed either.

# %%
show(conclusions.resilience({e.name: e for e in runs}, poison=len(schedule) // poison_every, blocked=blocked,
                            unblocked=unblocked, look_s=blocked_look_s, timeouts=timeouts, outage=outage,
                            outage_s=outage_s))
