"""The shard poller against a scripted stream (pure logic, no stack): iterator expiry (S6), retries (E5),
bisect (E8), partial batch responses (E9), on-failure records (E10), lanes (E4) and record age (E6).

Each run ends when the checkpoint has passed the stream's last record, a sentinel written after
the records in question: once it is passed, nothing more can happen to them.
"""
from __future__ import annotations

import io
import json
import time
from typing import Callable

import botocore.exceptions

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.config import new_mapping
from streamlab.localstack.esm.metrics import Metrics
from streamlab.localstack.esm.shard import POLL_INTERVAL_SECONDS, ShardPoller
from streamlab.localstack.esm.store import Store
from streamlab.localstack.state import StackPaths

from .esm_helpers import run_poller_until

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"
DLQ = {"DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:dlq"}}}
REPORT = {"FunctionResponseTypes": ["ReportBatchItemFailures"]}


def _error(code: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": code}}, "Op")


def poison(*bad: str) -> Callable[[list[str], list[str]], object]:
    """A handler that raises when its batch holds one of `bad`."""
    return lambda ids, seqs: "error" if set(ids) & set(bad) else None


def report(*bad: str) -> Callable[[list[str], list[str]], object]:
    """A handler that reports `bad` records in batchItemFailures (E9)."""
    return lambda ids, seqs: {"batchItemFailures": [{"itemIdentifier": s} for i, s in zip(ids, seqs) if i in bad]}


class ScriptedStream:
    """Plays DynamoDB Streams, Lambda and SQS: iterators are positions; `expire_on` GetRecords calls fail once.

    The function answers from `answers` in turn, or by `respond(ids, seqs)` when given: None or a
    payload for success, "error", "throttle" or "unreachable". On-failure records land in `sent`.
    """

    def __init__(self, count: int, expire_on: set[int] = frozenset(), answers: list | None = None,
                 created: float | None = None, keys: list[str] | None = None,
                 respond: Callable[[list[str], list[str]], object] | None = None, page: int = 1000) -> None:
        created = time.time() if created is None else created
        keys = keys or [f"k{i}" for i in range(count)]
        self.records = [{"eventID": str(i), "eventName": "INSERT", "dynamodb": {
            "SequenceNumber": f"{i + 1:030d}", "Keys": {"id": {"S": keys[i]}}, "ApproximateCreationDateTime": created}}
            for i in range(count)]
        self.expire_on, self.answers, self.respond = expire_on, list(answers or []), respond
        self.gets, self.invoked, self.invoked_at, self.sent, self.page = 0, [], [], [], page
        self.checkpoints: dict = {}  # the poller's, set by _run: what was saved when each batch went out
        self.checkpoint_at_invoke: list[str | None] = []

    async def call(self, service: str, operation: str, **kw):
        if operation == "get_shard_iterator":
            kind, seq = kw["ShardIteratorType"], kw.get("SequenceNumber")
            if kind == "TRIM_HORIZON":
                return {"ShardIterator": "0"}
            index = next(i for i, r in enumerate(self.records) if r["dynamodb"]["SequenceNumber"] == seq)
            return {"ShardIterator": str(index + (1 if kind == "AFTER_SEQUENCE_NUMBER" else 0))}
        if operation == "get_records":
            self.gets += 1
            if self.gets in self.expire_on:
                raise _error("ExpiredIteratorException")
            pos = int(kw["ShardIterator"])
            page = self.records[pos:pos + self.page]
            return {"Records": page, "NextShardIterator": str(pos + len(page))}
        if operation == "invoke":
            event = json.loads(kw["Payload"])
            ids = [r["eventID"] for r in event["Records"]]
            self.invoked.append(ids)
            self.invoked_at.append(time.monotonic())
            self.checkpoint_at_invoke.append(self.checkpoints.get("shard-0", {}).get("SequenceNumber"))
            if self.respond is not None:
                answer = self.respond(ids, [r["dynamodb"]["SequenceNumber"] for r in event["Records"]])
            else:
                answer = self.answers.pop(0) if self.answers else None
            if answer == "error":
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": io.BytesIO(b'{"errorMessage":"x"}')}
            if answer == "throttle":
                raise _error("TooManyRequestsException")
            if answer == "unreachable":
                raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
            return {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(answer).encode())}
        if operation == "get_queue_url":
            return {"QueueUrl": f"http://127.0.0.1:1/000000000000/{kw['QueueName']}"}
        if operation == "send_message":
            self.sent.append(json.loads(kw["MessageBody"]))
            return {}
        raise AssertionError(operation)

    def dropped(self) -> list[tuple[str, str, int, int]]:
        """Each on-failure record as (first id, condition, batch size, invocations)."""
        return [(str(int(r["DDBStreamBatchInfo"]["startSequenceNumber"]) - 1), r["requestContext"]["condition"],
                 r["DDBStreamBatchInfo"]["batchSize"], r["requestContext"]["approximateInvokeCount"]) for r in self.sent]


def _run(stream: ScriptedStream, tmp_path, until: Callable[[ShardPoller], bool] | None = None,
         results: list[str] | None = None, **settings) -> ShardPoller:
    """Run a poller over `stream` until `until(poller)`, by default until the checkpoint passed the last record;
    each LastProcessingResult the poller sets goes to `results`."""
    mapping = new_mapping({"EventSourceArn": ARN, "FunctionName": "f", "StartingPosition": "TRIM_HORIZON",
                           "BatchSize": 2, **settings}, "f", "arn:aws:lambda:us-east-1:000000000000:function:f")
    store = Store(StackPaths(tmp_path))
    poller = ShardPoller(lambda: mapping, "shard-0", stream, store, Metrics(stream), {})
    stream.checkpoints = poller.checkpoints
    if results is not None:
        poller.keep = lambda changed: results.append(changed.last_processing_result)
    if until is None:
        last = stream.records[-1]["dynamodb"]["SequenceNumber"]
        until = lambda p: p.checkpoints.get("shard-0", {}).get("SequenceNumber") == last  # noqa: E731
    return run_poller_until(poller, lambda: until(poller))


def test_S6_expired_iterator_resumes_after_the_buffer_without_duplicates(tmp_path):
    stream = ScriptedStream(6, expire_on={2, 4}, answers=[], page=2)  # small pages: expiry hits mid-stream
    # A batching window keeps records buffered across polls, so expiry strikes with a full buffer.
    _run(stream, tmp_path, lambda _: sum(map(len, stream.invoked)) >= 6, BatchSize=10, MaximumBatchingWindowInSeconds=1)
    assert [i for batch in stream.invoked for i in batch] == [str(i) for i in range(6)]


def test_E5_throttles_and_unreachable_are_retried_without_spending_attempts(tmp_path, monkeypatch):
    monkeypatch.setattr(chosen, "RETRY_INTERVAL_SECONDS", 0.01)
    stream = ScriptedStream(1, expire_on=set(), answers=["throttle", "unreachable", "throttle", "error", None])
    _run(stream, tmp_path, lambda _: len(stream.invoked) >= 5, MaximumRetryAttempts=1)
    # 2 throttles + 1 unreachable + 1 error + 1 success: only the error spent a retry (1 of 1).
    assert stream.invoked == [["0"]] * 5


def test_E5_a_lambda_that_throttles_or_cannot_be_reached_is_not_reported_as_refusing(tmp_path, monkeypatch):
    monkeypatch.setattr(chosen, "RETRY_INTERVAL_SECONDS", 0.01)
    monkeypatch.setattr(chosen, "UNREACHABLE_BACKOFF_MAX_SECONDS", 0.01)
    stream = ScriptedStream(1, expire_on=set(), answers=["unreachable", "throttle", None])
    results: list[str] = []
    _run(stream, tmp_path, lambda _: len(stream.invoked) >= 3, results=results)
    # Transient: the records wait and no PROBLEM is shown (a deleted function would show one).
    assert results == ["OK"], results


def test_E5_default_retries_end_when_the_record_leaves_the_stream(tmp_path):
    stream = ScriptedStream(2, expire_on=set(), answers=[], created=time.time() - 24 * 3600 - 5)
    poller = _run(stream, tmp_path, lambda _: stream.gets > 3)
    assert stream.invoked == []  # both records are past the 24 h retention: dropped, never invoked
    assert poller.checkpoints["shard-0"]["SequenceNumber"] == stream.records[-1]["dynamodb"]["SequenceNumber"]


def _fast_retries(monkeypatch) -> None:
    monkeypatch.setattr(chosen, "RETRY_INTERVAL_SECONDS", 0.01)


def test_E2_batches_follow_batch_size_and_the_checkpoint_passes_the_last_record(tmp_path):
    stream = ScriptedStream(5)
    poller = _run(stream, tmp_path, BatchSize=2)
    assert stream.invoked == [["0", "1"], ["2", "3"], ["4"]]
    # The checkpoint moves past a batch only when it is done, never past records still buffered
    # (a restart would skip them).
    assert stream.checkpoint_at_invoke == [None, f"{2:030d}", f"{4:030d}"]
    assert poller.checkpoints["shard-0"] == {"SequenceNumber": f"{5:030d}", "Iterator": "AFTER_SEQUENCE_NUMBER"}


def test_E5_E7_retries_then_drops_the_batch_and_goes_on(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(3, respond=poison("0"))
    _run(stream, tmp_path, BatchSize=2, MaximumRetryAttempts=2, **DLQ)
    assert stream.invoked == [["0", "1"]] * 3 + [["2"]]  # first try + 2 retries, then the shard goes on
    assert stream.dropped() == [("0", "RetryAttemptsExhausted", 2, 3)]
    assert stream.sent[0]["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST",
                                                 "functionError": "Unhandled"}


def test_E5_no_retries_means_one_attempt(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(2, respond=poison("0"))
    _run(stream, tmp_path, BatchSize=1, MaximumRetryAttempts=0, **DLQ)
    assert stream.invoked == [["0"], ["1"]]
    assert stream.dropped() == [("0", "RetryAttemptsExhausted", 1, 1)]


def test_E8_bisect_runs_the_first_half_first_each_half_with_fresh_retries(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(6, respond=poison("2"))
    _run(stream, tmp_path, BatchSize=5, BisectBatchOnFunctionError=True, MaximumRetryAttempts=1, **DLQ)
    # 5 records split 2 + 3, then 1 + 2, down to the poison record alone, which gets its own
    # first try + 1 retry (fresh count: splitting spent none); everything else is delivered in order.
    assert stream.invoked == [["0", "1", "2", "3", "4"], ["0", "1"], ["2", "3", "4"], ["2"], ["2"], ["3", "4"], ["5"]]
    assert stream.dropped() == [("2", "RetryAttemptsExhausted", 1, 2)]


def test_E8_bisect_without_retries_still_splits_down_to_the_poison_record(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(4, respond=poison("1"))
    _run(stream, tmp_path, BatchSize=3, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0, **DLQ)
    assert stream.invoked == [["0", "1", "2"], ["0"], ["1", "2"], ["1"], ["2"], ["3"]]
    assert stream.dropped() == [("1", "RetryAttemptsExhausted", 1, 1)]


def test_E8_without_bisect_the_whole_batch_is_dropped(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(4, respond=poison("1"))
    _run(stream, tmp_path, BatchSize=3, MaximumRetryAttempts=0, **DLQ)
    assert stream.invoked == [["0", "1", "2"], ["3"]]
    assert stream.dropped() == [("0", "RetryAttemptsExhausted", 3, 1)]


def test_E9_partial_failure_retries_from_the_lowest_reported_record(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(5, respond=report("2", "3"))
    _run(stream, tmp_path, BatchSize=4, MaximumRetryAttempts=1, **REPORT, **DLQ)
    # CHOSEN: a partial failure spends an attempt of the records retried.
    assert stream.invoked == [["0", "1", "2", "3"], ["2", "3"], ["4"]]
    assert stream.dropped() == [("2", "RetryAttemptsExhausted", 2, 2)]


def test_E9_partial_failure_with_bisect_splits_at_the_reported_record(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(4, respond=report("1"))
    _run(stream, tmp_path, BatchSize=3, BisectBatchOnFunctionError=True, MaximumRetryAttempts=0, **REPORT, **DLQ)
    assert stream.invoked == [["0", "1", "2"], ["1", "2"], ["1"], ["2"], ["3"]]
    assert stream.dropped() == [("1", "RetryAttemptsExhausted", 1, 1)]


def test_E9_reports_are_ignored_unless_enabled(tmp_path, monkeypatch):
    _fast_retries(monkeypatch)
    stream = ScriptedStream(3, respond=report("1"))
    _run(stream, tmp_path, BatchSize=2, MaximumRetryAttempts=0, **DLQ)
    assert stream.invoked == [["0", "1"], ["2"]]
    assert stream.sent == []


def test_E4_lanes_deliver_every_record_once_and_keep_each_key_in_order(tmp_path):
    # keys a, b, c hash to lanes 2, 1, 0 of 3 (see test_esm_units.LANE_OF_3)
    keys = ["a", "b", "c", "a", "b", "c", "a", "c", "c"]
    stream = ScriptedStream(len(keys), keys=keys)
    _run(stream, tmp_path, BatchSize=2, ParallelizationFactor=3, MaximumBatchingWindowInSeconds=1)
    assert sorted(stream.invoked, key=lambda b: int(b[0])) == [["0", "3"], ["1", "4"], ["2", "5"], ["6"], ["7", "8"]]
    # Whatever lane finished first, the checkpoint never passed a record still being delivered.
    for batch, mark in zip(stream.invoked, stream.checkpoint_at_invoke):
        assert mark is None or int(mark) <= int(batch[0]), (batch, mark)


def test_E6_records_past_the_age_limit_are_dropped_without_an_invocation(tmp_path):
    stream = ScriptedStream(3, created=time.time() - 120)
    _run(stream, tmp_path, BatchSize=2, MaximumRecordAgeInSeconds=60, **DLQ)
    assert stream.invoked == []
    assert stream.dropped() == [("0", "RecordAgeExceeded", 2, 0), ("2", "RecordAgeExceeded", 1, 0)]
    assert stream.sent[0]["responseContext"] == {"statusCode": 0, "executedVersion": "$LATEST"}


def test_E6_young_records_are_not_dropped(tmp_path):
    stream = ScriptedStream(2, created=time.time() - 30)
    _run(stream, tmp_path, BatchSize=2, MaximumRecordAgeInSeconds=60, **DLQ)
    assert (stream.invoked, stream.sent) == ([["0", "1"]], [])


def test_E11_filtered_out_records_are_skipped_and_passed_by_the_checkpoint(tmp_path):
    stream = ScriptedStream(4, keys=["keep", "drop", "keep", "drop"])
    pattern = json.dumps({"dynamodb": {"Keys": {"id": {"S": ["keep"]}}}})
    poller = _run(stream, tmp_path, BatchSize=10, FilterCriteria={"Filters": [{"Pattern": pattern}]})
    assert stream.invoked == [["0", "2"]]
    assert poller.checkpoints["shard-0"]["SequenceNumber"] == f"{4:030d}"


def test_E1_E14_a_retry_waits_for_the_next_poll_tick(tmp_path):
    assert chosen.RETRY_INTERVAL_SECONDS == POLL_INTERVAL_SECONDS == 0.25  # E1: 4 polls a second; E14 CHOSEN
    stream = ScriptedStream(2, respond=poison("0"))
    _run(stream, tmp_path, BatchSize=1, MaximumRetryAttempts=1, **DLQ)
    assert stream.invoked == [["0"], ["0"], ["1"]]
    assert stream.invoked_at[1] - stream.invoked_at[0] >= chosen.RETRY_INTERVAL_SECONDS  # a lower bound: never flaky


def _written_after_the_mapping_starts(stream: ScriptedStream, first_new: int) -> Callable[[ShardPoller], bool]:
    """An `until` that appends the stream's records from `first_new` on once LATEST is pinned, and
    ends when the last of them has been delivered."""
    later = stream.records[first_new:]
    del stream.records[first_new:]
    last = later[-1]["eventID"]

    def until(poller: ShardPoller) -> bool:
        if later and "shard-0" in poller.checkpoints:
            stream.records.extend(later)
            later.clear()
        return any(last in batch for batch in stream.invoked)
    return until


def test_E3_latest_starts_after_the_records_present_when_the_mapping_starts(tmp_path):
    stream = ScriptedStream(5)
    _run(stream, tmp_path, _written_after_the_mapping_starts(stream, 3), StartingPosition="LATEST", BatchSize=10)
    assert stream.invoked == [["3", "4"]]


def test_E3_latest_on_an_empty_shard_delivers_everything_written_later(tmp_path):
    stream = ScriptedStream(2)
    _run(stream, tmp_path, _written_after_the_mapping_starts(stream, 0), StartingPosition="LATEST", BatchSize=10)
    assert stream.invoked == [["0", "1"]]


def _metric_sums(poller: ShardPoller) -> dict[str, float]:
    sums: dict[str, float] = {}
    for datum in poller.metrics.collect(None):
        sums[datum["MetricName"]] = sums.get(datum["MetricName"], 0) + datum["StatisticValues"]["Sum"]
    return sums


def _counted_run(tmp_path, **settings) -> tuple[ScriptedStream, dict[str, float]]:
    """Records 0-4, record 2 filtered out, record 3 reported failed; no retries."""
    stream = ScriptedStream(5, keys=["keep", "keep", "drop", "keep", "keep"], respond=report("3"))
    pattern = json.dumps({"dynamodb": {"Keys": {"id": {"S": ["keep"]}}}})
    poller = _run(stream, tmp_path, BatchSize=10, MaximumRetryAttempts=0, MetricsConfig={"Metrics": ["EventCount"]},
                  FilterCriteria={"Filters": [{"Pattern": pattern}]}, **REPORT, **settings)
    return stream, _metric_sums(poller)


def test_M3_event_counts_of_a_partial_failure_sent_on(tmp_path):
    stream, sums = _counted_run(tmp_path, **DLQ)
    assert stream.invoked == [["0", "1", "3", "4"]]
    assert {k: sums.get(k) for k in ("PolledEventCount", "FilteredOutEventCount", "InvokedEventCount",
                                     "FailedInvokeEventCount", "OnFailureDestinationDeliveredEventCount",
                                     "DroppedEventCount")} == {
        "PolledEventCount": 5, "FilteredOutEventCount": 1, "InvokedEventCount": 4, "FailedInvokeEventCount": 2,
        "OnFailureDestinationDeliveredEventCount": 2, "DroppedEventCount": None}
    assert "Invocations" not in sums  # MiniStack counts each Invoke itself (M1)


def test_M3_records_dropped_without_a_destination_are_counted_as_dropped(tmp_path):
    _, sums = _counted_run(tmp_path)
    assert (sums.get("DroppedEventCount"), sums.get("OnFailureDestinationDeliveredEventCount")) == (2, None)


def test_M2_one_iterator_age_sample_per_invocation(tmp_path):
    stream = ScriptedStream(3, created=time.time() - 5)
    poller = _run(stream, tmp_path, BatchSize=2)
    ages = [d for d in poller.metrics.collect(None) if d["MetricName"] == "IteratorAge"]
    assert sum(d["StatisticValues"]["SampleCount"] for d in ages) == len(stream.invoked) == 2
    assert all(5_000 <= d["StatisticValues"]["Minimum"] for d in ages)  # the records were 5 s old or more
