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
# # 03 · The API: API Gateway writes straight into DynamoDB
#
# **What this notebook teaches:** the fast half of the pattern. A REST API whose `POST /requests`
# has **no Lambda behind it**: an `AWS` service integration calls DynamoDB `UpdateItem` with a role,
# a **mapping template** (VTL) turns the HTTP request into that call, and **integration
# responses** turn DynamoDB's answer into ours. The API speaks **request-reply**: `202` with a
# `Location` to poll, `GET` with the request's state. We show bad input refused before anything is
# written, a DynamoDB failure reaching the client as a 5xx (never a false "accepted"), a safe
# retry with an `Idempotency-Key`, and back-pressure answered with `429` and `Retry-After`.

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
wait_s = 60
fault_timeout_ms = 1000

# %%
import json
import uuid
from pathlib import Path

import streamlab
from streamlab import schema
from streamlab.load.outcome import status_url as status_url_of, wait_for_outcome
from streamlab.notebook.client import call
from streamlab.notebook.conclusions import show, status_change_sentence, stored_body_sentence
from streamlab.observe import wait_processed
from streamlab.provision import PipelineConfig, create_api, create_api_role, create_table
from streamlab.provision.guard import protect
from streamlab.provision.paths import api_dir
from streamlab.provision.prerequisites import require_stream_processing
from streamlab.notebook.results import record_results

RUN_DIR = Path(run_dir)
RUN_DIR.mkdir(parents=True, exist_ok=True)
config = PipelineConfig(stack=stack)
tgt = streamlab.connect(target)
ddb = tgt.client("dynamodb")
apigw = tgt.client("apigateway")
# Stop at once, naming what to run, if 02's StreamProcessor is not there to process our request.
require_stream_processing(tgt, config)
table = create_table(tgt, config)   # from 01; reused


def count_items() -> int:
    return ddb.scan(TableName=table.name, Select="COUNT", ConsistentRead=True)["Count"]


def copies_of(request_id: str) -> int:
    return ddb.scan(TableName=table.name, Select="COUNT", ConsistentRead=True, FilterExpression="#id = :id",
                    ExpressionAttributeNames={"#id": schema.ID},
                    ExpressionAttributeValues={":id": {"S": request_id}})["Count"]


# %% [markdown]
# ## The role API Gateway uses
#
# API Gateway calls DynamoDB *as this role*: trusted by `apigateway.amazonaws.com`, allowed to
# `UpdateItem` and `GetItem` on this one table and nothing else (reference row A1).

# %%
api_role = create_api_role(tgt, config, table_arn=table.arn)
print(json.dumps(api_role.trust_policy, indent=1))
print(json.dumps(api_role.policy, indent=1))

# %% [markdown]
# ## The mapping template
#
# `infra/api/templates/put_request.vtl` is the whole "backend" of `POST /requests`. It builds one
# conditional `UpdateItem`: the id is the client's `Idempotency-Key` when it sent a valid one, else
# the gateway-made `$context.extendedRequestId` (the client cannot forge it, unlike `requestId`);
# the body is stored as a string and `$context.requestTimeEpoch` as `accepted_at` (ms): the start
# of the lag clock. The condition `attribute_not_exists(id) OR body = :b` stores a request once: a
# repeat with the same key and body changes nothing. `escapeJavaScript` makes the body safe inside
# a JSON string; the `replaceAll` undoes its one quirk, escaping `'` as `\'`, which is not valid JSON.

# %%
print((api_dir() / "templates" / "put_request.vtl").read_text())

# %% [markdown]
# ## Create the API
#
# `create_api` reads `infra/api/api.json` and makes the ordinary API Gateway calls: resources,
# methods with a request validator and a JSON-schema model, the integration, integration and
# method responses, a deployment and a stage with the `tableName` stage variable.

# %%
api = create_api(tgt, config, table_name=table.name, api_role_arn=api_role.arn)
post_url = api.invoke_url
print("POST", post_url)
resource = api.resource_ids["/requests"]
integration = apigw.get_integration(restApiId=api.id, resourceId=resource, httpMethod="POST")
{k: integration.get(k) for k in ("type", "httpMethod", "uri", "credentials", "passthroughBehavior", "timeoutInMillis")}

# %% [markdown]
# ### Integration responses
#
# For an `AWS` integration `selectionPattern` is matched against DynamoDB's **HTTP status** (A4).
# The default (empty pattern) answers `202`; `4\d{2}` and `5\d{2}` catch DynamoDB's errors.
# Without those two patterns a failed write would reach the client as `202`: a lie that loses
# data. Every DynamoDB client error is a 400, so the `4\d{2}` template reads the error's type and
# picks the answer (throttled: 429 + `Retry-After`; same key, other body: 422; invalid: 400);
# a DynamoDB 5xx becomes 503 + `Retry-After`. DynamoDB's own error text never reaches the client.

# %%
for status, resp in sorted(integration["integrationResponses"].items()):
    print(f"{status}: selectionPattern={resp.get('selectionPattern', '')!r}")

# %% [markdown]
# ## Only callers with the key
#
# The methods require an API key (`apiKeyRequired`), so the URL alone is not enough to run up a
# bill: `protect` adds the key to a usage plan with a throttle and a daily quota, throttles the
# stage below the account's default (A6), turns on access logs and log retention, and caps the
# processor's concurrency: the same guard rails as `infra/template.yaml`. Every call below sends
# the key as `x-api-key`. (`STREAMLAB_OPEN_API=yes` deploys the API open, without a key.)

# %%
guard = protect(tgt, config, api_id=api.id)
key = {"x-api-key": guard.api_key} if guard.api_key else {}
if key:
    print("API key", guard.api_key_id, "in usage plan", guard.usage_plan_id)
    print("without the key:", call("POST", post_url, {"order": 0}))

# %% [markdown]
# ## Call it

# %%
sent_body = json.dumps({"order": 42, "note": "it's \"quoted\" and has a $dollar"})
reply = call("POST", post_url, sent_body, headers=key)
print(reply)
print("Location:", reply.headers.get("Location"))
request_id = reply.json()["id"]

# %% [markdown]
# ## Request-reply: follow the Location
#
# The `Location` is relative to the POST URL (`requests/<id>`), so it reads the same on AWS and on
# the local stack. `GET` answers the request's state; while it is `ACCEPTED` the answer carries
# `Retry-After: 1`. `wait_for_outcome` polls with backoff and never sooner than `Retry-After` asks.

# %%
status_url = status_url_of(post_url, reply.headers["Location"])
first = call("GET", status_url, headers=key)
print(first, "| Retry-After:", first.headers.get("Retry-After"))
outcome = wait_for_outcome(post_url, reply.headers["Location"], timeout_s=wait_s, headers=key)
last = call("GET", status_url, headers=key)
print(last)
print(f"{outcome.status} after {outcome.polls} GETs; known {outcome.time_to_known_outcome_ms:.0f} ms after acceptance")
rows = wait_processed(tgt, table.name, [request_id], timeout_s=wait_s)   # raises, saying why, on timeout
stored = ddb.get_item(TableName=table.name, Key={schema.ID: {"S": request_id}}, ConsistentRead=True)["Item"]
print("stored body:", stored[schema.BODY]["S"])
print("GET of an unknown id:", call("GET", status_url_of(post_url, "no-such-request"), headers=key))
show([stored_body_sentence(sent_body, stored[schema.BODY]["S"]),
      status_change_sentence(first.json()["status"], last.json()["status"])])

# %% [markdown]
# The `StreamProcessor` that marks it `PROCESSED` is the one `02` attached to the table's stream.
# The time to that known outcome includes the client's polling, as it does for any client.
#
# ## Bad input is refused, and nothing is written
#
# The request validator checks the body against the model before DynamoDB is called (A5); the
# `NEVER` passthrough behaviour refuses content types without a template (A3); DynamoDB refuses an
# item over 400 KB (A6) and the `4\d{2}` pattern makes that our `400`.

# %%
before = count_items()
cases = {
    "malformed JSON": call("POST", post_url, '{"order": 42,', headers=key),
    "body is not an object": call("POST", post_url, "[1, 2, 3]", headers=key),
    "text/plain": call("POST", post_url, "order=42", content_type="text/plain", headers=key),
    "item over 400 KB": call("POST", post_url, {"blob": "x" * 450_000}, headers=key),
    "Idempotency-Key too long": call("POST", post_url, {"order": 42}, headers={**key, "Idempotency-Key": "k" * 65}),
    "Idempotency-Key with a space": call("POST", post_url, {"order": 42}, headers={**key, "Idempotency-Key": "my key"}),
}
for name, r in cases.items():
    print(f"{name:28s} -> {r.status} {r.body.decode()[:90]}")
after = count_items()
print(f"items before: {before}, after: {after}")
assert after == before, "a refused request wrote something"

# %% [markdown]
# ## A DynamoDB failure reaches the client as a 5xx
#
# On the local stack we can make DynamoDB hang: `paused()` freezes the MiniStack process while a
# request is in flight. We first shorten the integration timeout to `fault_timeout_ms` (API Gateway
# allows 50 ms to 29 s) and redeploy, so the gateway gives up quickly. The client gets `504`: it
# knows its request was **not acknowledged**, but not whether the write happened (DynamoDB may
# still store it once it answers). So it retries **with the same `Idempotency-Key`**: whatever
# happened to the first attempt, exactly one item exists afterwards. (On AWS we cannot freeze
# DynamoDB, so this cell only runs on the local target.)

# %%
fault = retried = None
retry_copies = None
if tgt.is_local:
    from streamlab.localstack.faults import paused

    apigw.update_integration(restApiId=api.id, resourceId=resource, httpMethod="POST", patchOperations=[
        {"op": "replace", "path": "/timeoutInMillis", "value": str(fault_timeout_ms)}])
    apigw.create_deployment(restApiId=api.id, stageName=api.stage)
    call("POST", post_url, {"warm": True}, headers=key)          # the new deployment is live
    idem = f"order-43-{uuid.uuid4().hex[:8]}"
    with paused("ministack"):
        fault = call("POST", post_url, {"order": 43}, headers={**key, "Idempotency-Key": idem})
    print(fault)
    assert 500 <= fault.status < 600, fault
    retried = call("POST", post_url, {"order": 43}, headers={**key, "Idempotency-Key": idem})
    print("retry with the same key:", retried)
    retry_copies = copies_of(idem)
    print(f"items with id {idem}: {retry_copies}")
    assert retried.status == 202 and retried.json()["id"] == idem and retry_copies == 1
    api = create_api(tgt, config, table_name=table.name, api_role_arn=api_role.arn)   # back to the desired state
    print("restored; changed:", api.changed)

# %% [markdown]
# ## The same key with a different body
#
# A client bug, or two different requests given one key: the first request stands, the answer
# says so (422) and points at it. The stored request is never replaced.

# %%
idem = f"order-44-{uuid.uuid4().hex[:8]}"
original = call("POST", post_url, {"order": 44}, headers={**key, "Idempotency-Key": idem})
repeat = call("POST", post_url, {"order": 44}, headers={**key, "Idempotency-Key": idem})
conflict = call("POST", post_url, {"order": 45}, headers={**key, "Idempotency-Key": idem})
for name, r in (("first", original), ("same body again", repeat), ("another body", conflict)):
    print(f"{name:16s} -> {r}")
assert (original.status, repeat.status, conflict.status) == (202, 202, 422) and copies_of(idem) == 1

# %% [markdown]
# ## Back-pressure: 429 with Retry-After
#
# **Stage throttling**: API Gateway's token bucket per method, set with the ordinary `UpdateStage`
# call (`throttlingRateLimit` tokens per second, `throttlingBurstLimit` the bucket). We allow a
# burst of 2 and send 5 at once. **DynamoDB throttling**: on the local stack a switch makes the
# executor answer a share of the API's writes as DynamoDB does when throttled; the integration
# response turns that into 429 with `Retry-After`, and nothing is written.

# %%
limits = {"burstLimit": "2", "rateLimit": "0.01"}
stage_default = apigw.get_stage(restApiId=api.id, stageName=api.stage).get("methodSettings", {}).get("*/*", {})
restore = {"burstLimit": str(stage_default.get("throttlingBurstLimit", 5000)),
           "rateLimit": str(stage_default.get("throttlingRateLimit", 10000))}
apigw.update_stage(restApiId=api.id, stageName=api.stage, patchOperations=[
    {"op": "replace", "path": f"/*/*/throttling/{k}", "value": v} for k, v in limits.items()])
stage_burst = [call("GET", status_url, headers=key) for _ in range(5)]
print("stage throttling:", [r.status for r in stage_burst])
print("  the 429:", stage_burst[-1], "| Retry-After:", stage_burst[-1].headers.get("Retry-After"))
apigw.update_stage(restApiId=api.id, stageName=api.stage, patchOperations=[
    {"op": "replace", "path": f"/*/*/throttling/{k}", "value": v}
    for k, v in restore.items()])   # the guard rails' stage throttle again
if tgt.is_local:
    assert [r.status for r in stage_burst].count(429) >= 1

throttled = []
if tgt.is_local:
    from streamlab.localstack.faults import throttle_dynamodb

    items_before = count_items()
    with throttle_dynamodb(share=0.5, seconds=30):
        throttled = [call("POST", post_url, {"n": i}, headers=key) for i in range(6)]
    print("DynamoDB throttling:", [r.status for r in throttled])
    refused = [r for r in throttled if r.status == 429]
    print("  a 429:", refused[0], "| Retry-After:", refused[0].headers.get("Retry-After"))
    print(f"  written: {count_items() - items_before} of {len(throttled)} (the 202s)")
    assert len(refused) == 3 and count_items() - items_before == 3
    assert all("ProvisionedThroughput" not in r.body.decode() for r in refused)

# %%
record_results(RUN_DIR, "03_api_direct_integration", api_id=api.id, post_status=reply.status,
               post_ms=reply.elapsed_ms, lag_ms=float(rows.iloc[0]["lag_ms"]),
               location=reply.headers.get("Location"), time_to_known_outcome_ms=outcome.time_to_known_outcome_ms,
               refused={k: r.status for k, r in cases.items()}, written_by_refused=after - before,
               fault_status=fault.status if fault else None, retry_status=retried.status if retried else None,
               retry_copies=retry_copies, conflict_status=conflict.status,
               stage_throttle=[r.status for r in stage_burst], dynamodb_throttle=[r.status for r in throttled])

# %% [markdown]
# ## What we saw
#
# * `POST` answered `202` with an id and a `Location` after one DynamoDB write; the body was stored
#   byte-exact, the stream processed it moments later, and `GET` on the `Location` said so.
# * Malformed JSON, a non-object body, a wrong content type and an oversized item were all refused
#   with a 4xx, and the item count did not change.
# * When DynamoDB did not answer, the client got a 5xx: no request is acknowledged unless its data
#   is in the table. That is the "nothing lost" half of the claim on the API side. Retried with the
#   same `Idempotency-Key`, it was stored exactly once.
# * The same key with another body was refused (422); the first request stood.
# * Throttling, by the stage or by DynamoDB, is an answer the client can act on: 429 with
#   `Retry-After`, never DynamoDB's own error text.
