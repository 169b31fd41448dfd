"""Faults on a stack of its own (A6, A7): a hung MiniStack gives 504, a dead one 500 — never a false 2xx."""
from __future__ import annotations

import os
import signal
import time

import pytest

from streamlab.localstack import processes, stack
from tests.localstack.apiexec import sample_api
from streamlab.target import local_target
from tests.tiers import process_fixture

pytestmark = pytest.mark.integration


@process_fixture(scope="module")
def own_stack(tmp_path_factory):
    home = tmp_path_factory.mktemp("apiexec-faults")
    try:
        yield stack.up_on_free_port(home=home)
    finally:
        stack.down(home=home)


def test_a6_a7_hung_then_dead_ministack(own_stack, invoke):
    target = local_target(own_stack.endpoint_url)
    patterns = sample_api.define(target, timeout_ms=1000, with_get=False)
    bare = sample_api.define(target, error_patterns=False, with_get=False)
    for api in (patterns, bare):
        assert invoke("POST", api.url + "/requests", "{}").status == 202  # definitions now cached

    ministack = own_stack.processes["ministack"]
    os.kill(ministack.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        reply = invoke("POST", patterns.url + "/requests", "{}")
        assert (reply.status, reply.json()) == (504, {"message": "Endpoint request timed out"})
        assert time.monotonic() - started < 20  # the integration's 1 s timeout, not the client's
    finally:
        os.kill(ministack.pid, signal.SIGCONT)

    assert processes.stop(ministack)
    for api in (patterns, bare):
        reply = invoke("POST", api.url + "/requests", "{}")
        assert (reply.status, reply.json()) == (500, {"message": "Internal server error"}), api
    # Nothing cached for this stage: the definition cannot be read either, still a 5xx.
    cold = invoke("POST", f"{own_stack.endpoint_url}/restapis/{patterns.api_id}/other/_user_request_/requests", "{}")
    assert cold.status == 500
