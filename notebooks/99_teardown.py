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
# # 99 · Teardown: delete everything, and prove it
#
# **What this notebook teaches:** cleaning up is part of the experiment. `teardown` deletes every
# resource of the stack in the reverse order of `deploy` (API, mapping, function, roles, queue,
# table), then looks for each one again and fails if anything is left. On AWS this is what stops
# the bill.

# %% tags=["parameters"]
target = "local"
run_dir = "../build/run/manual"
stack = "streamlab"
stop_local_stack = False

# %%
from pathlib import Path

import streamlab
from streamlab.provision import PipelineConfig, find_remaining, teardown
from streamlab.notebook.results import record_results

RUN_DIR = Path(run_dir)
RUN_DIR.mkdir(parents=True, exist_ok=True)
config = PipelineConfig(stack=stack)
tgt = streamlab.connect(target)

# %% [markdown]
# ## What exists now

# %%
before = find_remaining(config, target=tgt)
before

# %% [markdown]
# ## Delete it all

# %%
report = teardown(config, target=tgt)

# %% [markdown]
# ## Look again
#
# Every kind of resource is listed again, straight from the services. Empty lists everywhere is
# the proof.

# %%
after = find_remaining(config, target=tgt)
for kind, names in after.items():
    print(f"{kind:10s} {names or 'none left'}")
assert not any(after.values()), after

# %% [markdown]
# The local stack itself keeps running so you can go on experimenting; `streamlab down` (or
# `stop_local_stack = True`) stops every process it started.

# %%
if tgt.is_local and stop_local_stack:
    from streamlab.localstack import stack as local_stack

    print("stopped:", local_stack.down())
record_results(RUN_DIR, "99_teardown", before={k: len(v) for k, v in before.items()},
               deleted=report.deleted, remaining=after, clean=report.clean)

# %% [markdown]
# ## What we saw
#
# * Everything the earlier notebooks created was found, deleted in reverse order, and looked for
#   again: nothing of the stack is left.
