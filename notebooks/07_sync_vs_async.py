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
# # 07 · Sync versus async: the same work, two designs
#
# **What this notebook teaches:** what the fire-and-forget design buys, measured against the
# obvious alternative. Both designs do *the same work* on every request (sleep `work_ms`, and fail
# at the same `failure_rate`); they differ only in *when* the work happens and *who waits for it*.
#
# ```
# async (fire-and-forget, notebooks 01-06)
#   client ──POST /requests──> API Gateway ──PutItem──> table ──stream──> StreamProcessor: the work, later
#      <──── 202 {"id"} ─────────┘   (stored before any work)               failure: retried, or on-failure queue
#
# sync (for comparison)
#   client ──POST /sync──> API Gateway ──AWS_PROXY──> SyncProcessor: the work, then PutItem
#      <──── 200 {"id"} ──────────────────────────────────┘   failure: raises -> 502, nothing stored
# ```
#
# The claim, to be measured here rather than believed:
# * **async** answers after one DynamoDB write, whatever the work costs, and a failure of the work
#   loses nothing: the request is already stored, the stream retries it.
# * **sync** makes the client wait for the work, and a failure of the work becomes an error the
#   client sees; that request's data is not stored anywhere (lost unless the client retries).
#
# Same open-loop load against both (latency counted from each request's *intended* send time, so a
# slow server cannot hide queueing), then for each design: what clients saw, what the table holds,
# and the no-loss audit.

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
rate = 50
duration = 5
work_ms = 50
failure_rate = 0.1
seed = 7
batch_size = 100
parallelization = 10
settle_s = 60
accept_cost = False

# %%
import time
from pathlib import Path

from IPython.display import Image, display

import streamlab
from streamlab import load
from streamlab.aws import guard_burst
from streamlab.experiment import PipelineNames, charts, compare, run_experiment
from streamlab.load import hdr
from streamlab.load.bodies import encode_body
from streamlab.observe import audit
from streamlab.provision import PipelineConfig, deploy
from streamlab.provision.sync_api import SyncConfig, deploy_sync, teardown_sync
from streamlab.notebook.results import record_results

OUT = Path(run_dir) / "07_sync_vs_async"
OUT.mkdir(parents=True, exist_ok=True)
SCHEDULE = load.constant(rate=rate, duration=duration)
RUN_TAG = f"07-{int(time.time())}"
# The same bodies for both designs; `sleep_ms` is the per-request work switch both processors honour
# (the StreamProcessor has no per-function work setting, so the work travels with the request).
BODIES = {design: compare.TaggedBodies(f"{RUN_TAG}-{design}", sleep_ms=work_ms) for design in ("sync", "async")}
WARMUP = {design: compare.TaggedBodies(f"{RUN_TAG}-{design}-warmup", sleep_ms=work_ms) for design in ("sync", "async")}
# The async side is the suite's pipeline with the failure switch on and its mapping sized for the
# load; the sync side is 07's own.
ASYNC_CONFIG = (PipelineConfig(stack=stack)
                .with_processor(failure_rate=failure_rate, failure_seed=seed)
                .with_esm(batch_size=batch_size, parallelization_factor=parallelization))
SYNC_CONFIG = SyncConfig(stack=stack, failure_rate=failure_rate, failure_seed=seed)
work_per_s = rate * work_ms / 1000
print(f"load: {len(SCHEDULE)} requests, {rate} req/s for {duration} s, each asking for {work_ms} ms of work")
print(f"      = {work_per_s:g} s of work per second: at least {work_per_s:g} invocations busy at any time")
print(f"async mapping: batches of {batch_size}, up to {parallelization} at once")
print(f"failure rate {failure_rate:g} (seed {seed}) in both processors; run tag {RUN_TAG}")

# %% [markdown]
# ## Deploy both designs
#
# `deploy` converges the suite's fire-and-forget pipeline (the same one notebooks 01-06 built), here
# with the StreamProcessor's `FAILURE_RATE` switch on, and its event source mapping sized for the
# work: `rate × work_ms` seconds of work arrive every second, and one shard processed one batch at a
# time does at most one second of work per second. So the mapping runs up to `parallelization`
# batches at once (E4), as Lambda runs several sync invocations at once. Everything else is the
# pipeline's default: batches of up to `batch_size`, failed records reported back
# (`ReportBatchItemFailures`, E9) and retried, and after the retry limit sent to the on-failure
# queue (E7, E10). `deploy_sync` adds the synchronous design
# beside it: its own table (`<stack>-sync-requests`, so the audit never mixes the two), a role that may
# only `PutItem` there, the `SyncProcessor` function and a REST API whose `POST /sync` is an `AWS_PROXY`
# integration, plus the `lambda:InvokeFunction` permission for API Gateway.

# %%
tgt = streamlab.connect(target)
pipeline = deploy(ASYNC_CONFIG, target=tgt)
sync_api = deploy_sync(SYNC_CONFIG, target=tgt)

# %% [markdown]
# The two integrations, read back with ordinary API Gateway calls: the async one is a DynamoDB
# `PutItem` (no Lambda in the request path), the sync one hands the whole request to a function.

# %%
apigw = tgt.client("apigateway")
for name, api_id, path in (("async", pipeline.api_id, "/requests"), ("sync", sync_api.api_id, "/sync")):
    resources = apigw.get_resources(restApiId=api_id)["items"]
    resource_id = next(r["id"] for r in resources if r["path"] == path)
    integ = apigw.get_integration(restApiId=api_id, resourceId=resource_id, httpMethod="POST")
    print(f"{name:5s} POST {path:9s} type={integ['type']:9s} uri={integ['uri']}")
lam = tgt.client("lambda")
for fn in (pipeline.function_name, sync_api.function_name):
    env = lam.get_function_configuration(FunctionName=fn)["Environment"]["Variables"]
    print(f"{fn}: " + ", ".join(f"{k}={v}" for k, v in sorted(env.items()) if k != "TABLE_NAME"))


# %% [markdown]
# ## Warm up, then the same open-loop load against each
#
# On AWS every request is billed: each burst shows its estimated cost first and needs
# `accept_cost=True` above the cost cap. One second at the same rate first, so neither design is
# measured while it starts its execution environments (cold starts would only hit the sync design:
# it is the only one with a function in the request path). The sync run goes first, so the async
# design's background processing never overlaps the other run; the async warm-up is processed before
# the async run starts. Each run is a `run_experiment`, as in notebooks 04-05: the load, then the
# audit, lag and metrics, saved with a dashboard under the run folder.

# %%
def warm_up(design, url, headers=None):
    guard_burst(url, rate, len(encode_body(WARMUP[design](0))), confirm=accept_cost)
    warm = load.run_load(url, load.constant(rate=rate, duration=1), body=WARMUP[design], progress=False,
                         headers=headers)
    print(f"warm-up {design}: {warm.summary['ok']} of {warm.summary['sent']} answered 2xx")
    return warm


warm_up("sync", sync_api.invoke_url)
sync_exp = run_experiment(
    tgt, sync_api.invoke_url, SCHEDULE, OUT / "sync", name="sync", body=BODIES["sync"], settle_timeout=10,
    names=PipelineNames(table=sync_api.table_name, api_name=sync_api.api_name, function_name=sync_api.function_name),
    accept_cost=accept_cost, guard=guard_burst, progress=False,
)
print(sync_exp.run)

# %%
warm = warm_up("async", pipeline.invoke_url, pipeline.request_headers)   # the pipeline's API needs its key
print("warm-up processed:", audit(tgt, pipeline.table_name, warm, queue_url=pipeline.queue_url,
                                  settle_timeout=settle_s).verdict)
async_exp = run_experiment(
    tgt, pipeline.invoke_url, SCHEDULE, OUT / "async", name="async", body=BODIES["async"], settle_timeout=settle_s,
    names=PipelineNames.of(pipeline), accept_cost=accept_cost, guard=guard_burst, progress=False,
)
print(async_exp.run)

# %% [markdown]
# ## The audit, and what each table holds of the run
#
# The no-loss audit takes the ids each API acknowledged and checks every one is in its table and
# processed, in the on-failure queue, or still pending (being retried); the async audit waited up to
# `settle_s` seconds for the stream to catch up. Separately, every body carries the run's tag, so we
# also count what each table holds of the run, including requests whose client got an error.

# %%
sync_exp.obs.audit

# %%
async_exp.obs.audit

# %%
outcomes = [
    compare.outcome("sync", sync_exp.run, compare.run_items(tgt, sync_api.table_name, BODIES["sync"]),
                    sync_exp.obs.audit),
    compare.outcome("async", async_exp.run, compare.run_items(tgt, pipeline.table_name, BODIES["async"]),
                    async_exp.obs.audit),
]
table = compare.outcomes_frame(outcomes)
table.to_csv(OUT / "outcomes.csv")
table

# %% [markdown]
# ## Charts
#
# Latency by percentile for both runs on one plot, and, for the async design, the time until the
# work was actually done (accepted -> processed, per record): async moves the work off the client's
# path, it does not make the work faster. Then what happened to the requests of each run.
#
# On the local stack a Lambda invocation through API Gateway costs tens of milliseconds more than on
# AWS (MiniStack hands each call to a local worker process), and one 2-core machine runs the load
# generator, the gateway and every function: the sync latencies here are higher than AWS would give
# for the same work. What does not depend on the machine: a sync answer cannot come before its work
# is done, and a failed work is a failed request.

# %%
work_done = hdr.new_histogram()
hdr.record_ms(work_done, async_exp.obs.items["lag_ms"].dropna())
spectra = {"sync: answer (200 after the work)": sync_exp.run, "async: answer (202)": async_exp.run}
if work_done.get_total_count():
    spectra["async: work done (accepted -> processed)"] = work_done
bars = compare.outcomes_chart(outcomes, title=f"{len(SCHEDULE)} requests each, failure rate {failure_rate:g}")
saved = charts.save_figures(OUT, {"latency_spectrum": charts.percentile_spectrum(spectra), "outcomes": bars})
for path in saved:
    display(Image(path))
print("each run's dashboard:", OUT / "sync" / "dashboard.png", "and", OUT / "async" / "dashboard.png")

# %% [markdown]
# ## Key results

# %%
by = {o.design: o for o in outcomes}
results = {
    "target": tgt.name, "rate": rate, "duration": duration, "work_ms": work_ms, "failure_rate": failure_rate,
    "sent": {d: o.sent for d, o in by.items()},
    "p50_ms": {d: o.latency_ms["p50"] for d, o in by.items()},
    "p99_ms": {d: o.latency_ms["p99"] for d, o in by.items()},
    "max_ms": {d: o.latency_ms["max"] for d, o in by.items()},
    "errors": {d: o.client_errors for d, o in by.items()},
    "errors_by_class": {d: o.errors for d, o in by.items()},
    "stored": {d: o.stored for d, o in by.items()},
    "processed": {d: o.processed for d, o in by.items()},
    "not_stored": {d: o.not_stored for d, o in by.items()},
    "lost": {d: o.lost for d, o in by.items()},
    "async_work_done_ms": hdr.percentiles_ms(work_done) if work_done.get_total_count() else None,
    "async_audit_verdict": async_exp.obs.audit.verdict,
    "async_audit_passed": async_exp.obs.audit.passed,
    "async_audit_settled": async_exp.obs.audit.settled,
    "sync_audit_verdict": sync_exp.obs.audit.verdict,
}
record_results(run_dir, "07_sync_vs_async", **results)
results

# %% [markdown]
# ## Clean up
#
# The synchronous API is this notebook's own: delete it and prove nothing of it is left. The
# fire-and-forget pipeline stays for the next notebooks, back to the suite's default settings
# (`99_teardown` removes it).

# %%
teardown_sync(SYNC_CONFIG, target=tgt)
pipeline = deploy(PipelineConfig(stack=stack), target=tgt)

# %% [markdown]
# ## What we saw
#
# The sentences below are built from this run's numbers (they change when the parameters do).

# %%
for line in compare.describe(outcomes):
    print("*", line)
if work_done.get_total_count():
    done = hdr.percentiles_ms(work_done)
    print(f"* async: the work itself was done p50 {done['p50']:,.0f} ms, p99 {done['p99']:,.0f} ms after the request "
          f"was accepted ({work_done.get_total_count()} processed records), while its clients had their answer "
          f"after p50 {by['async'].latency_ms['p50']:,.1f} ms.")
