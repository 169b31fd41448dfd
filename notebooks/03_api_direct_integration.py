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
# has **no Lambda behind it**: an `AWS` service integration calls DynamoDB `PutItem` with a role,
# a **mapping template** (VTL) turns the HTTP request into the `PutItem` call, and **integration
# responses** turn DynamoDB's answer into ours. We call it, read a request's status back, show bad
# input refused before anything is written, and show a DynamoDB failure reaching the client as a
# 5xx, never as a false "accepted".

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
wait_s = 60
fault_timeout_ms = 1000

# %%
import json
from pathlib import Path

import streamlab
from streamlab import schema
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


# %% [markdown]
# ## The role API Gateway uses
#
# API Gateway calls DynamoDB *as this role*: trusted by `apigateway.amazonaws.com`, allowed to
# `PutItem` and `GetItem` on this one table and nothing else (reference row A1).

# %%
api_role = create_api_role(tgt, config, table_arn=table.arn)
print(json.dumps(api_role.trust_policy, indent=1))
print(json.dumps(api_role.policy, indent=1))

# %% [markdown]
# ## The mapping template
#
# `infra/api/templates/put_request.vtl` is the whole "backend" of `POST /requests`. It builds the
# `PutItem` request: the gateway-made `$context.extendedRequestId` as the item's id (the client
# cannot forge it, unlike `requestId`), the body stored as a string, and `$context.requestTimeEpoch`
# as `accepted_at` (ms): the start of the lag clock. `escapeJavaScript` makes the body safe inside a
# JSON string; the `replaceAll` undoes its one quirk, escaping `'` as `\'`, which is not valid JSON.

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
# The default (empty pattern) answers `202`; `4\d{2}` and `5\d{2}` map DynamoDB errors to our
# `400` and `500`. Without those two patterns a failed `PutItem` would reach the client as `202`:
# a lie that loses data.

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
request_id = reply.json()["id"]

# %%
status_url = f"{post_url}/{request_id}"
first = call("GET", status_url, headers=key)
print(first)
rows = wait_processed(tgt, table.name, [request_id], timeout_s=wait_s)   # raises, saying why, on timeout
last = call("GET", status_url, headers=key)
print(last)
stored = ddb.get_item(TableName=table.name, Key={schema.ID: {"S": request_id}}, ConsistentRead=True)["Item"]
print("stored body:", stored[schema.BODY]["S"])
show([stored_body_sentence(sent_body, stored[schema.BODY]["S"]),
      status_change_sentence(first.json()["status"], last.json()["status"])])

# %% [markdown]
# The `StreamProcessor` that marks it `PROCESSED` is the one `02` attached to the table's stream.
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
}
for name, r in cases.items():
    print(f"{name:22s} -> {r.status} {r.body.decode()[:90]}")
after = count_items()
print(f"items before: {before}, after: {after}")
assert after == before, "a refused request wrote something"

# %% [markdown]
# ## A DynamoDB failure reaches the client as a 5xx
#
# On the local stack we can make DynamoDB hang: `paused()` freezes the MiniStack process while a
# request is in flight. We first shorten the integration timeout to `fault_timeout_ms` (API Gateway
# allows 50 ms to 29 s) and redeploy, so the gateway gives up quickly. The client gets `504`: it
# **knows** its request was not accepted and can retry. (On AWS we cannot freeze DynamoDB, so this
# cell only runs on the local target.)

# %%
fault = None
if tgt.is_local:
    from streamlab.localstack.faults import paused

    apigw.update_integration(restApiId=api.id, resourceId=resource, httpMethod="POST", patchOperations=[
        {"op": "replace", "path": "/timeoutInMillis", "value": str(fault_timeout_ms)}])
    apigw.create_deployment(restApiId=api.id, stageName=api.stage)
    call("POST", post_url, {"warm": True}, headers=key)          # the new deployment is live
    with paused("ministack"):
        fault = call("POST", post_url, {"order": 43}, headers=key)
    print(fault)
    assert 500 <= fault.status < 600, fault
    api = create_api(tgt, config, table_name=table.name, api_role_arn=api_role.arn)   # back to the desired state
    print("restored; changed:", api.changed)

# %%
record_results(RUN_DIR, "03_api_direct_integration", api_id=api.id, post_status=reply.status,
               post_ms=reply.elapsed_ms, lag_ms=float(rows.iloc[0]["lag_ms"]),
               refused={k: r.status for k, r in cases.items()}, written_by_refused=after - before,
               fault_status=fault.status if fault else None)

# %% [markdown]
# ## What we saw
#
# * `POST` answered `202` with a gateway-made id after one DynamoDB write; the body was stored
#   byte-exact, and the stream processed it moments later.
# * Malformed JSON, a non-object body, a wrong content type and an oversized item were all refused
#   with a 4xx, and the item count did not change.
# * When DynamoDB did not answer, the client got a 5xx: no request is acknowledged unless its data
#   is in the table. That is the "nothing lost" half of the claim on the API side.
