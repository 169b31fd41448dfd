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
# **What this notebook teaches:** what the event source mapping does when processing fails, how
# its settings decide the outcome, and what the **client** then sees. The same failures run under
# different mapping settings. A batch the mapping gives up on goes to the on-failure queue; the
# **FailureHandler** reads it, finds the requests in the stream and marks them `FAILED` with the
# reason, so `GET /requests/{id}` tells the client. After each run the **audit** accounts for every
# acknowledged request: `PROCESSED`, `FAILED` (with its reason), *stuck* in `ACCEPTED`, or lost.
# Lost must be zero every time; stuck too, once the settings let the pipeline finish. At the end
# a fix is deployed and a **redrive** turns the failed requests `PROCESSED`.
#
# | setting | what it does (reference §2) |
# |---|---|
# | `MaximumRetryAttempts` | retries of a failing batch; AWS's default −1 retries until the record expires (E5, E7) |
# | `BisectBatchOnFunctionError` | split a failing batch in two and retry the halves, down to single records (E8) |
# | `FunctionResponseTypes: ReportBatchItemFailures` | the function names the records that failed; the mapping retries from the first of them (E9) |
# | `DestinationConfig.OnFailure` | where a batch's metadata goes when the limits are spent (E10) |
# | `MaximumRecordAgeInSeconds` | give up records older than this (60 s at least, E6); the reason is `RecordAgeExceeded` |

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
record_age_s = 60
seed = 5

# %%
import json
import threading
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Image, display

import streamlab
from streamlab import load, schema
from streamlab.aws import guard_burst
from streamlab.experiment import PipelineNames, charts, run_experiment, send_experiment
from streamlab.experiment.failure_lane import FaultWindow
from streamlab.load.outcome import wait_for_outcome
from streamlab.notebook import conclusions
from streamlab.notebook.client import call
from streamlab.notebook.conclusions import show
from streamlab.observe import audit as audit_run, redrive
from streamlab.notebook.results import record_results
from streamlab.provision import PipelineConfig, deploy, teardown

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


COLUMNS = {"acknowledged": "acknowledged", "processed": "processed", "on-failure": "failed", "pending": "stuck",
           "lost": "lost", "max attempts": "max attempts", "lag p99 ms": "lag p99 ms", "audit": "audit"}


def scenario(name, config, body=poisoned, settle=settle_s, sched=schedule):
    """Deploy `config` (the mapping is updated in place), send the load, audit; print why requests failed."""
    deploy(config, target=tgt, log=lambda _: None)
    return report(run_experiment(tgt, pipeline.invoke_url, sched, RUN_DIR / name, names=names, name=name,
                                 guard=guard_burst, body=body, settle_timeout=settle, progress=False))


def report(exp):
    reasons = exp.obs.items[schema.FAILURE_REASON].value_counts().to_dict()
    print(f"{exp.name}: {exp.obs.audit.verdict}; FAILED by reason: {reasons or 'none'}")
    return exp


def outcome_table(experiments):
    return pd.DataFrame([e.row() for e in experiments]).set_index("experiment")[list(COLUMNS)].rename(columns=COLUMNS)


# %% [markdown]
# ## Started first, looked at later: a record that must grow old
#
# One scenario below (`MaximumRecordAgeInSeconds`) takes a minute by design: 60 s is the least AWS
# accepts. So we send its requests now, to a second stack of its own (its own table, stream,
# mapping and function), and look at the outcome further down, when the minute has passed; the
# other scenarios run meanwhile. The first request is poison; with unlimited retries it blocks its
# shard until it is too old.

# %%
aged_config = (PipelineConfig(stack=f"{stack}-aged").with_processor(partial_failures=False)
               .with_esm(batch_size=batch_size, maximum_retry_attempts=-1, maximum_record_age_in_seconds=record_age_s,
                         bisect_batch_on_function_error=False, report_batch_item_failures=False))
aged_pipeline = deploy(aged_config, target=tgt, log=lambda _: None)
aged_sent = send_experiment(tgt, aged_pipeline.invoke_url, load.constant(rate=4, duration=1.0), RUN_DIR / "record age",
                            names=PipelineNames.of(aged_pipeline), guard=guard_burst, progress=False,
                            body=lambda seq: {"seq": seq, **({"fail": "poison"} if seq == 0 else {})})
print(f"record age: {aged_sent.run.summary['acknowledged']} requests accepted at {time.strftime('%H:%M:%S')}")

# %% [markdown]
# ## One on-failure message, as it really looks
#
# The mapping sends only **metadata** to the queue (E10): the condition, the attempts, and the
# shard with the first and last sequence numbers of the batch. No request ids, no bodies. We pause
# the FailureHandler's SQS mapping for a moment, send one poison request, and read the message the
# mapping sends; then the FailureHandler gets it (its visibility timeout is 1 s here) and the
# request's `GET` turns `FAILED`, with the reason.

# %%
lam, sqs = tgt.client("lambda"), tgt.client("sqs")
lam.update_event_source_mapping(UUID=pipeline.failure_mapping_uuid, Enabled=False)
try:
    one = call("POST", pipeline.invoke_url, {"fail": "poison", "note": "one on-failure message"},
               headers=pipeline.request_headers).json()["id"]
    message, deadline = None, time.monotonic() + settle_s
    while message is None and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=pipeline.queue_url, WaitTimeSeconds=1, VisibilityTimeout=1)
        message = (got.get("Messages") or [None])[0]
finally:
    lam.update_event_source_mapping(UUID=pipeline.failure_mapping_uuid, Enabled=True)
print(json.dumps(json.loads(message["Body"]), indent=1))
one_outcome = wait_for_outcome(pipeline.invoke_url, one, timeout_s=settle_s, headers=pipeline.request_headers)
print(json.dumps(one_outcome.body, indent=1))


# %% [markdown]
# ## Poison records, three ways
#
# A poison record fails on every attempt. All three runs below stop retrying after two retries and
# send what they give up on to the on-failure queue, where the FailureHandler marks it `FAILED`
# (`RetryAttemptsExhausted`); they differ in how much of the batch around the poison shares its fate.
#
# 1. **Retry limit only**: the whole batch fails with its poison record, so the innocent records
#    in the same batch end `FAILED` too (reported, not lost, but not processed).
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
outcome_table(runs)

# %% [markdown]
# ## AWS's defaults: retry until the record expires
#
# With `MaximumRetryAttempts = -1` (the default) a poison record **blocks its shard**: the mapping
# retries the same batch again and again, and every record behind it waits (E7). Nothing is lost:
# the records are still in the stream and in the table, but *stuck* in `ACCEPTED`: the client's
# `GET` has no outcome to show. We look after a few seconds, then change the mapping to a retry
# limit with bisect, and the blocked batch drains: every request gets its outcome.

# %%
blocked = scenario("defaults: blocked", raising.with_esm(maximum_retry_attempts=-1, bisect_batch_on_function_error=False,
                                                         report_batch_item_failures=False),
                   settle=blocked_look_s)

# %%
# Only the mapping changes: the same function, now with a retry limit and bisect.
deploy(raising.with_esm(maximum_retry_attempts=2, bisect_batch_on_function_error=True,
                        report_batch_item_failures=False), target=tgt, log=lambda _: None)
unblocked = audit_run(tgt, pipeline.table_name, blocked.run, through_api=pipeline.invoke_url,
                      api_headers=pipeline.request_headers, settle_timeout=settle_s)
print("after the fix, as GET shows it:", unblocked.verdict)
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

# %% [markdown]
# ## Too old: `MaximumRecordAgeInSeconds`
#
# Unlimited retries, but records older than `record_age_s` (60 s is the least AWS accepts, E6)
# are given up. The poison blocks its shard until its batch is a minute old; then the batch goes
# to the on-failure queue with the condition `RecordAgeExceeded`. The requests that waited behind
# it are processed next, if they are still younger than the limit: their outcome came a minute
# late, but it came. We sent these requests at the top, to their own stack; now we look at them
# (waiting for the rest of the minute, if it has not passed yet) and take that stack down.

# %%
aged = report(aged_sent.finish(settle_timeout=record_age_s + settle_s))
teardown(aged_config, target=tgt, log=lambda _: None)


# %%
deploy(base, target=tgt, log=lambda _: None)   # back to the defaults of the suite
everything = runs + [aged, timeouts, outage]
summary = outcome_table(everything)
summary

# %% [markdown]
# ## Time to a known outcome
#
# How long after acceptance did each request have an outcome a client could see? For a processed
# request that is `processed_at`, for a failed one `failed_at` (the FailureHandler's mark), each
# minus `accepted_at`. A polling client learns it up to one poll later (`Retry-After: 1`).
# Failures take longer to become known than successes: the retries come first.

# %%
def known_after_s(exp):
    items = exp.obs.items
    known = items[schema.PROCESSED_AT].fillna(items[schema.FAILED_AT])
    return ((known - items[schema.ACCEPTED_AT]) / 1000).dropna()

known = {e.name: known_after_s(e) for e in everything}
fig, ax = plt.subplots(figsize=(9, 4))
ax.boxplot(list(known.values()), showfliers=True)
ax.set_xticks(range(1, len(known) + 1), list(known))
ax.set_yscale("log")
ax.set_ylabel("seconds from acceptance to a known outcome")
ax.tick_params(axis="x", rotation=20)
fig.tight_layout()
# Every run, the blocked one too: once as the audit found it, once after the fix.
outcomes = charts.outcome_bars({**{e.name: e.obs.audit for e in runs},
                                f"defaults: blocked (after {blocked_look_s:g} s)": blocked.obs.audit,
                                "defaults: after the fix": unblocked,
                                **{e.name: e.obs.audit for e in (aged, timeouts, outage)}})
charts.save_figures(RUN_DIR, {"outcomes": outcomes, "time_to_known_outcome": fig})
display(Image(RUN_DIR / "outcomes.png"))
pd.DataFrame({name: {"p50 s": v.quantile(0.5), "p99 s": v.quantile(0.99), "max s": v.max()} for name, v in known.items()}).T

# %% [markdown]
# ## The fix, and a redrive
#
# The poison requests failed because of their own switch (`{"fail": "poison"}`). We deploy "the
# fix" (the processor now ignores that switch) and **redrive** every request of this stack that
# ended `FAILED` (the record-age scenario's stack is gone by now):
# `redrive(ids)` invokes the StreamProcessor with each request's record rebuilt from the table,
# as the stream delivered it. `PROCESSED` overwrites `FAILED`; a `PROCESSED` request is never
# touched again. The audit, through `GET`, then finds every request processed.

# %%
failed_ids = [i for e in everything if e is not aged for i in e.obs.audit.on_failure_ids] + [one]
deploy(base.with_processor(request_failures=False), target=tgt, log=lambda _: None)
redriven = redrive(tgt, failed_ids, table=pipeline.table_name, function_name=pipeline.function_name)
print(redriven)
after_redrive = audit_run(tgt, pipeline.table_name, failed_ids, through_api=pipeline.invoke_url,
                          api_headers=pipeline.request_headers, settle_timeout=settle_s)
print("the redriven requests, as GET shows them:", after_redrive.verdict)
deploy(base, target=tgt, log=lambda _: None)   # the suite's defaults again

# %%
reasons = {e.name: e.obs.items[schema.FAILURE_REASON].value_counts().to_dict() for e in everything}
record_results(RUN_DIR.parent, "05_resilience",
               rows=pd.DataFrame([e.row() for e in everything]).to_dict("records"),
               blocked_pending=blocked.obs.audit.pending, unblocked=unblocked.as_dict(),
               lost=int(summary["lost"].sum()) + unblocked.missing, stuck=int(summary["stuck"].sum()),
               reasons=reasons, one_message_condition=json.loads(message["Body"])["requestContext"]["condition"],
               one_outcome=one_outcome.as_dict(),
               known_after_s={k: {"p50": float(v.quantile(0.5)), "max": float(v.max())} for k, v in known.items()},
               redrive={"requested": len(failed_ids), "processed": len(redriven.processed),
                        "failed": len(redriven.failed), "skipped": len(redriven.skipped)},
               after_redrive=after_redrive.as_dict(),
               all_passed=all(e.passed for e in everything) and unblocked.passed and after_redrive.passed)
for e in everything:
    a = e.obs.audit
    print(f"{e.name:25s} processed {a.processed:4d}, FAILED {a.failed:3d} {reasons[e.name] or ''}, "
          f"stuck {a.pending:3d}, lost {a.missing}")
print(f"defaults: {blocked.obs.audit.pending} requests were stuck behind the poison; after the fix "
      f"{unblocked.pending} stuck, {unblocked.failed} FAILED, {unblocked.missing} lost.")
print(f"redrive after the fix: {len(redriven.processed)} of {len(failed_ids)} FAILED requests now PROCESSED "
      f"({after_redrive.processed} as GET shows them), {len(redriven.failed)} failed again.")

# %% [markdown]
# ## What we saw
#
# Every sentence below is computed from this run (the counts change with the parameters). Why
# they come out this way: without bisect or partial batch responses a failing batch fails whole,
# so its innocent records share the poison's fate; with AWS's default of retrying until the record
# expires, a poison record holds back everything behind it in its shard (E7); a timeout counts as
# a function error (E5). Stuck is not lost, and it is not an outcome either: the fix gives every
# request one. Every given-up request showed `FAILED` and why (`RetryAttemptsExhausted`,
# `RecordAgeExceeded`) through `GET`, and a redrive after the fix turned those of this stack
# `PROCESSED` (the counts are printed above the conclusions).

# %%
show(conclusions.resilience({e.name: e for e in runs}, poison=len(schedule) // poison_every, blocked=blocked,
                            unblocked=unblocked, look_s=blocked_look_s, timeouts=timeouts, outage=outage,
                            outage_s=outage_s))
