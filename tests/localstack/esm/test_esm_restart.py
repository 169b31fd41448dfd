"""Durable checkpoints: killing the ESM process mid-burst loses nothing (bad-input table; E1 at least once)."""
from __future__ import annotations

import json
import os
import signal

import botocore.exceptions
import pytest
from botocore.config import Config

from .esm_helpers import wait_for
from streamlab import cli
from streamlab.localstack import processes, stack
from streamlab.localstack.state import StackPaths, read_state


def test_killed_esm_resumes_from_checkpoint_without_loss(pipeline_factory, stack_home, local_stack):
    pipe = pipeline_factory("time.sleep(0.05)")
    made = pipe.mapping(BatchSize=5)
    written = [f"r{i:03d}" for i in range(60)]
    for item in written[:40]:
        pipe.put(item)
    wait_for(lambda: len(set(pipe.delivered_ids())) >= 10, what="part of the burst delivered")

    paths = StackPaths(stack_home)
    state = read_state(paths)
    esm, ministack = state.processes["esm"], state.processes["ministack"]
    os.kill(esm.pid, signal.SIGKILL)
    assert processes.wait_until_exited(esm, 10)
    checkpoint = json.loads((paths.data / "esm" / "checkpoints" / f"{made['UUID']}.json").read_text())
    assert all(mark["SequenceNumber"] for mark in checkpoint.values())
    for item in written[40:]:
        pipe.put(item)  # written while the ESM is down

    # The state file, not the session's `local_stack` object, is where the new pid is kept.
    assert stack.restart_service("esm", home=stack_home).pid == read_state(paths).processes["esm"].pid
    assert processes.is_alive(ministack)  # MiniStack untouched
    wait_for(lambda: set(pipe.delivered_ids()) >= set(written), timeout=90, what="every record after the restart")
    delivered = pipe.delivered_ids()
    # At least once, in order: duplicates only re-deliver records already seen, nothing skipped.
    assert sorted(set(delivered)) == written
    first_seen = list(dict.fromkeys(delivered))
    assert first_seen == written


def test_E3_latest_position_survives_a_restart_before_any_record(pipeline_factory, stack_home, local_stack, monkeypatch):
    pipe = pipeline_factory()
    pipe.put("old")
    made = pipe.mapping(StartingPosition="LATEST")
    paths = StackPaths(stack_home)
    checkpoint_file = paths.data / "esm" / "checkpoints" / f"{made['UUID']}.json"
    wait_for(checkpoint_file.exists, what="LATEST pinned to a durable position")
    esm = read_state(paths).processes["esm"]
    os.kill(esm.pid, signal.SIGKILL)
    assert processes.wait_until_exited(esm, 10)
    pipe.put("while-down")
    monkeypatch.setenv("STREAMLAB_HOME", str(stack_home))
    assert cli.main(["restart", "esm"]) == 0
    assert read_state(paths).processes["esm"].pid != esm.pid
    wait_for(lambda: pipe.delivered_ids() == ["while-down"], what="record written while the ESM was down")
