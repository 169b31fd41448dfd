"""MaximumRecordAgeInSeconds (E6) with the CHOSEN RecordAgeExceeded condition (E10). One ~65 s test:
AWS's smallest age limit is 60 s, and both cases share the wait."""
from __future__ import annotations

import time

from .esm_helpers import make_queue, receive_all, wait_for, wait_state


def test_E6_E10_records_older_than_the_limit_are_discarded(pipeline_factory, target):
    failing = pipeline_factory("raise ValueError('boom')")
    url_a, arn_a = make_queue(target, f"{failing.name}-dlq")
    failing.put("p")
    failing.mapping(MaximumRecordAgeInSeconds=60, DestinationConfig={"OnFailure": {"Destination": arn_a}})

    paused = pipeline_factory()
    url_b, arn_b = make_queue(target, f"{paused.name}-dlq")
    paused.put("stale")
    made = paused.mapping(MaximumRecordAgeInSeconds=60, Enabled=False,
                          DestinationConfig={"OnFailure": {"Destination": arn_b}})
    written = time.time()

    # Retried until its age passes 60 s, then dropped (retries are unlimited here).
    (record,) = receive_all(target, url_a, 1, timeout=120)
    assert time.time() - written >= 55
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] >= 2
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    failing.put("next")
    wait_for(lambda: failing.delivered_ids()[-1:] == ["next"], what="the shard going on")

    # Already too old when first read: discarded without an invocation.
    wait_for(lambda: time.time() - written > 62, timeout=30, what="record to age")
    paused.lam.update_event_source_mapping(UUID=made["UUID"], Enabled=True)
    wait_state(paused.lam, made["UUID"], "Enabled")
    (record,) = receive_all(target, url_b, 1)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert paused.invocations() == []
