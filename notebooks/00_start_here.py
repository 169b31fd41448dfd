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
# # 00 · Start here: the fire-and-forget API
#
# **What this notebook teaches:** the pattern the whole suite is about, the claim we are going to
# test, and where it runs. At the end the local stack is up and answering.
#
# ## The pattern
#
# ```
# client ──POST /requests──> API Gateway ──PutItem──> DynamoDB table ──stream──> StreamProcessor (Lambda)
#    <──── 202 {"id": ...} ────┘                      (the request is stored       (the slow work, later,
#                                                       before anyone works on it)   retried on failure)
# ```
#
# * The API has **no Lambda in the request path**: API Gateway's `AWS` service integration turns the
#   HTTP request into a DynamoDB `PutItem` with a mapping template, and answers as soon as DynamoDB
#   has the item.
# * **DynamoDB Streams** records every change; an **event source mapping** polls the stream and
#   invokes the `StreamProcessor` function with batches of records.
#
# ## The claim
#
# 1. **Fast**: the client waits for one DynamoDB write, not for the processing.
# 2. **Nothing lost**: a request the API acknowledged is already in the table. If processing fails,
#    the stream keeps the record and the mapping retries it (or hands it to an on-failure queue).
#    If the write fails, the client gets an error, not a false "accepted".
#
# The later notebooks measure both halves of the claim, and every experiment ends with a
# **no-loss audit**.
#
# ## Where it runs
#
# By default on an **embedded local stack**, no AWS account needed: MiniStack emulates DynamoDB,
# Lambda, IAM, SQS, CloudWatch and API Gateway's control plane; streamlab adds a front door on
# `127.0.0.1:4566`, its own API Gateway integration executor and (as it lands) its own event source
# mapping, because no emulator gets those right. Set `target = "aws"` (or `STREAMLAB_TARGET=aws`)
# to run the same notebooks against a real account.

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"

# %%
from pathlib import Path

import streamlab
from streamlab.localstack import stack
from streamlab.notebook.results import record_results

RUN_DIR = Path(run_dir)
RUN_DIR.mkdir(parents=True, exist_ok=True)

# %% [markdown]
# ## Bring the stack up
#
# `streamlab.connect()` starts the local stack if it is not running and reuses it if it is. It
# returns a `Target`: the region and endpoint that every boto3 client in the suite uses.

# %%
tgt = streamlab.connect(target)
tgt

# %%
if tgt.is_local:
    st = stack.status()
    print(st.detail)
    for name, alive in st.processes.items():
        print(f"  {name:10s} {'running' if alive else 'stopped'}")
    print("state folder:", st.home)

# %% [markdown]
# ## Health check
#
# One cheap read call to each service the pipeline uses. Every call below is an ordinary boto3
# call; on the local target it goes to the front door, which forwards it to MiniStack.

# %%
checks = {
    "dynamodb": lambda: len(tgt.client("dynamodb").list_tables()["TableNames"]),
    "lambda": lambda: len(tgt.client("lambda").list_functions()["Functions"]),
    "iam": lambda: len(tgt.client("iam").list_roles()["Roles"]),
    "sqs": lambda: len(tgt.client("sqs").list_queues().get("QueueUrls", [])),
    "apigateway": lambda: len(tgt.client("apigateway").get_rest_apis()["items"]),
    "cloudwatch": lambda: len(tgt.client("cloudwatch").list_metrics()["Metrics"]),
}
health = {}
for service, call in checks.items():
    count = call()
    health[service] = "ok"
    print(f"{service:11s} ok   ({count} existing)")

# %%
record_results(RUN_DIR, "00_start_here", target=tgt.name, health=health)

# %% [markdown]
# ## What we saw
#
# * The stack answered every service the pipeline needs, through one endpoint.
# * Next, `01_table_and_stream` creates the table and looks at its stream records.
