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
# # 01 · The table and its stream
#
# **What this notebook teaches:** the request table is the pipeline's source of truth, and its
# **DynamoDB stream** is how work reaches the processor. We create the table, write to it, and read
# the raw stream records that the event source mapping will later hand to the `StreamProcessor`:
# what an `INSERT`, a `MODIFY` and a `REMOVE` look like, and what the view type decides.

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"

# %%
import json
import time
from pathlib import Path

import streamlab
from streamlab.provision import PipelineConfig, create_table
from streamlab.notebook.results import record_results

RUN_DIR = Path(run_dir)
RUN_DIR.mkdir(parents=True, exist_ok=True)
config = PipelineConfig(stack=stack)
tgt = streamlab.connect(target)
ddb = tgt.client("dynamodb")
streams = tgt.client("dynamodbstreams")
config.table_name

# %% [markdown]
# ## Create the table
#
# One string key, `id`; on-demand capacity; a stream with view type `NEW_AND_OLD_IMAGES`.
# `create_table` is idempotent: run it again and it finds the table instead of failing.

# %%
table = create_table(tgt, config)
print("created now:", table.created, "| status:", table.status)
print("table ARN:  ", table.arn)
print("stream ARN: ", table.stream_arn)
table.response["StreamSpecification"]

# %% [markdown]
# ### View types
#
# | view type | what a record carries |
# |---|---|
# | `KEYS_ONLY` | only the key attributes |
# | `NEW_IMAGE` | the item as it is after the change |
# | `OLD_IMAGE` | the item as it was before the change |
# | `NEW_AND_OLD_IMAGES` | both: what we use, so the processor and the audit can see everything |
#
# The view type is fixed once the stream exists (reference row S4). Every record has `Keys`; an
# `INSERT` has no `OldImage` and a `REMOVE` has no `NewImage` (S2).

# %% [markdown]
# ## Three changes to one item
#
# We insert a demo item, change it, and delete it. Then we write the same value twice: a write that
# changes nothing emits **no** record (S5).

# %%
demo_id = f"demo-{int(time.time() * 1000)}"
key = {"id": {"S": demo_id}}
ddb.put_item(TableName=table.name, Item={**key, "status": {"S": "DEMO"}, "note": {"S": "first version"}})
ddb.update_item(TableName=table.name, Key=key, UpdateExpression="SET note = :n",
                ExpressionAttributeValues={":n": {"S": "second version"}})
ddb.update_item(TableName=table.name, Key=key, UpdateExpression="SET note = :n",   # same value again
                ExpressionAttributeValues={":n": {"S": "second version"}})
ddb.delete_item(TableName=table.name, Key=key)
demo_id

# %% [markdown]
# ## Read the stream ourselves
#
# This is what the event source mapping does for us later: find the shards, get an iterator at
# `TRIM_HORIZON` (the oldest record kept; records live 24 h), and call `GetRecords` until a page
# comes back empty. Nothing else writes to this table now, so that is as far as the shard goes;
# GetRecords may also answer an empty page *before* records further on, so a consumer that runs
# for good (the event source mapping) keeps polling with the next iterator instead of stopping.

# %%
description = streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]
print("stream status:", description["StreamStatus"], "| view type:", description["StreamViewType"])
for shard in description["Shards"]:
    rng = shard["SequenceNumberRange"]
    print(f"shard {shard['ShardId']}: from {rng['StartingSequenceNumber']}",
          "(open)" if "EndingSequenceNumber" not in rng else f"to {rng['EndingSequenceNumber']}")


# %%
def read_stream(stream_arn: str) -> list[dict]:
    records = []
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            records.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records

ours = [r for r in read_stream(table.stream_arn) if r["dynamodb"]["Keys"]["id"]["S"] == demo_id]
for r in ours:
    d = r["dynamodb"]
    print(f"{r['eventName']:7s} seq={d['SequenceNumber']}  NewImage={'NewImage' in d}  OldImage={'OldImage' in d}")

# %% [markdown]
# ### One record in full
#
# The `MODIFY` record carries both images, so a consumer can see exactly what changed.

# %%
modify = next(r for r in ours if r["eventName"] == "MODIFY")
print(json.dumps(modify, indent=2, default=str))

# %%
events = [r["eventName"] for r in ours]
assert events == ["INSERT", "MODIFY", "REMOVE"], events
record_results(RUN_DIR, "01_table_and_stream", table=table.name, events=events,
               insert_has_old_image="OldImage" in ours[0]["dynamodb"],
               remove_has_new_image="NewImage" in ours[-1]["dynamodb"])

# %% [markdown]
# ## What we saw
#
# * Four writes gave **three** records, `INSERT`, `MODIFY` and `REMOVE`, in the order they were
#   made. The repeated update changed nothing, so it left no record.
# * The `INSERT` had no `OldImage` and the `REMOVE` had no `NewImage`; the `MODIFY` had both.
# * Each change appears once in the stream, ordered per item. The event source mapping in
#   `02_stream_processor` reads these same records and invokes the function with them.
