"""One poller per shard: read the stream over the wire, cut batches, invoke, retry, checkpoint.

Cadence (E1): a caught-up shard is polled every 250 ms; while records are buffered the next
batch goes as soon as the previous invocation returns. Settings are read from the live
mapping before every batch, so an update takes effect at the next batch.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import botocore.exceptions

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.destinations import failure_record, send, trimmed_record
from streamlab.localstack.esm.event import (
    MAX_PAYLOAD_BYTES, RecordConversionError, arrival_time, cut_batches, iso_seconds, lambda_record, payload_bytes,
    sequence_number, stand_in_record,
)
from streamlab.localstack.esm.filters import compile_patterns, matches_any
from streamlab.localstack.esm.lanes import LaneRunner, uses_lanes
from streamlab.localstack.esm.mapping import Mapping
from streamlab.localstack.esm.metrics import Metrics
from streamlab.localstack.esm.outcome import classify
from streamlab.localstack.esm.store import Store
from streamlab.localstack.esm.upstream import UNREACHABLE, InvokeResult, Upstream, invoke

log = logging.getLogger("streamlab.esm.shard")

POLL_INTERVAL_SECONDS = 0.25  # E1: 4 polls per second per shard
GET_RECORDS_LIMIT = 1000
STREAM_RETENTION_SECONDS = 24 * 60 * 60  # S5


async def latest_mark(upstream: Upstream, stream_arn: str, shard_id: str) -> dict:
    """LATEST as a durable checkpoint: after the newest record present now.

    A LATEST iterator has no sequence number to save, so a restart before the first batch
    would start at a later LATEST and skip what was written in between. Reading to the end
    once gives the position as a sequence number (or TRIM_HORIZON for an empty shard).
    """
    args = {"StreamArn": stream_arn, "ShardId": shard_id, "ShardIteratorType": "TRIM_HORIZON"}
    iterator = (await upstream.call("dynamodbstreams", "get_shard_iterator", **args))["ShardIterator"]
    last = None
    while iterator:
        page = await upstream.call("dynamodbstreams", "get_records", ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        if page.get("Records"):
            last = page["Records"][-1]["dynamodb"]["SequenceNumber"]
        iterator = page.get("NextShardIterator")
        if len(page.get("Records", [])) < GET_RECORDS_LIMIT:
            break
    if last is None:
        return {"Iterator": "TRIM_HORIZON"}
    return {"SequenceNumber": last, "Iterator": "AFTER_SEQUENCE_NUMBER"}


@dataclass
class Unit:
    """Records retried together, with the invocations they have had."""

    records: list[dict]
    attempts: int = 0
    last_result: InvokeResult | None = None


@dataclass
class ShardPoller:
    mapping: Callable[[], Mapping]
    shard_id: str
    upstream: Upstream
    store: Store
    metrics: Metrics
    checkpoints: dict[str, dict]
    buffer: list[dict] = field(default_factory=list)
    iterator: str | None = None
    last_fetched: str | None = None
    closed: bool = False
    window_state: dict = field(default_factory=dict)
    window_start: int = -1
    _page_was_full: bool = False  # the last GetRecords hit its limit: more is waiting
    keep: Callable[[Mapping], None] = lambda mapping: None  # where a changed mapping goes (the service)
    in_flight: set[asyncio.Task] = field(default_factory=set)  # invocations still running, shared per mapping

    @property
    def uuid(self) -> str:
        return self.mapping().uuid

    @property
    def stream_arn(self) -> str:
        return self.mapping().event_source_arn

    # --- reading the shard -------------------------------------------------------------

    async def _new_iterator(self) -> str | None:
        mark = self.checkpoints.get(self.shard_id)
        if self.last_fetched:
            # A replaced (expired) iterator continues after what is already buffered, not at the
            # checkpoint, or the buffer would hold those records twice.
            mark = {"SequenceNumber": self.last_fetched, "Iterator": "AFTER_SEQUENCE_NUMBER"}
        if mark is None and self.mapping().starting_position == "LATEST":
            return await self._pin_latest()
        args = {"StreamArn": self.stream_arn, "ShardId": self.shard_id}
        if mark and mark.get("SequenceNumber"):
            args.update(ShardIteratorType=mark["Iterator"], SequenceNumber=mark["SequenceNumber"])
        else:
            args["ShardIteratorType"] = mark["Iterator"] if mark else self.mapping().starting_position
        try:
            return (await self.upstream.call("dynamodbstreams", "get_shard_iterator", **args))["ShardIterator"]
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "TrimmedDataAccessException" and mark:
                # The checkpointed record aged out of the stream (24 h): what lay between it and
                # the oldest record left is gone. Say so, then continue at the oldest one.
                await self._report_trimmed(mark)
                args.pop("SequenceNumber")
                args["ShardIteratorType"] = "TRIM_HORIZON"
                return (await self.upstream.call("dynamodbstreams", "get_shard_iterator", **args))["ShardIterator"]
            raise

    async def _pin_latest(self) -> str | None:
        self.checkpoints[self.shard_id] = await latest_mark(self.upstream, self.stream_arn, self.shard_id)
        self.store.save_checkpoints(self.uuid, self.checkpoints)
        return await self._new_iterator()

    async def _fetch(self) -> int:
        """One GetRecords; returns how many records came back."""
        if self.iterator is None:
            self.iterator = await self._new_iterator()
        try:
            resp = await self.upstream.call("dynamodbstreams", "get_records", ShardIterator=self.iterator,
                                            Limit=GET_RECORDS_LIMIT)
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                self.iterator = None
                return 0
            raise
        records = resp.get("Records", [])
        self.iterator = resp.get("NextShardIterator")
        if self.iterator is None:
            self.closed = True
        mapping = self.mapping()
        patterns = compile_patterns(mapping.filter_criteria)
        dims = {"EventSourceMappingUUID": self.uuid}
        count_events = mapping.counts_events
        now = time.time()
        kept = 0
        for raw in records:
            try:
                record = lambda_record(raw, self.stream_arn)
            except RecordConversionError as exc:
                await self._drop_unconvertible(raw, exc, mapping)
                continue
            self.last_fetched = sequence_number(record)
            if matches_any(patterns, record):
                self.buffer.append(record)
                kept += 1
        if count_events and records:
            self.metrics.put("PolledEventCount", len(records), "Count", dims, now)
            if len(records) - kept:
                self.metrics.put("FilteredOutEventCount", len(records) - kept, "Count", dims, now)
        return len(records)

    # --- checkpoints ---------------------------------------------------------------------

    def _checkpoint_at(self, seq: str, how: str) -> None:
        self.checkpoints[self.shard_id] = {"SequenceNumber": seq, "Iterator": how}
        self.store.save_checkpoints(self.uuid, self.checkpoints)

    def _checkpoint_after(self, seq: str) -> None:
        self._checkpoint_at(seq, "AFTER_SEQUENCE_NUMBER")

    # --- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        backoff = chosen.RETRY_INTERVAL_SECONDS
        window_started: float | None = None
        last_poll = 0.0
        while True:
            mapping = self.mapping()
            if uses_lanes(mapping):
                if await self._run_lanes():
                    return
                continue
            now = time.monotonic()
            try:
                room = len(self.buffer) < max(GET_RECORDS_LIMIT, mapping.batch_size * mapping.parallelization_factor)
                if room and not self.closed and (now - last_poll >= POLL_INTERVAL_SECONDS or (
                    len(self.buffer) < mapping.batch_size and self._page_was_full
                )):
                    last_poll = now
                    got = await self._fetch()
                    self._page_was_full = got >= GET_RECORDS_LIMIT
                backoff = chosen.RETRY_INTERVAL_SECONDS
            except (botocore.exceptions.ClientError, *UNREACHABLE) as exc:
                log.warning("%s %s: reading the stream failed (%s); retrying in %.2fs", self.uuid, self.shard_id, exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, chosen.UNREACHABLE_BACKOFF_MAX_SECONDS)
                continue
            if self.buffer:
                window_started = window_started or time.monotonic()
                if self._batch_ready(mapping, window_started):
                    await self._deliver_round(mapping)
                    window_started = time.monotonic() if self.buffer else None
                    if not self.buffer and self.last_fetched:
                        self._checkpoint_after(self.last_fetched)
                    continue
            else:
                if self.last_fetched and self._checkpoint_lags():
                    # Only filtered-out records since the last batch: move past them (E11).
                    self._checkpoint_after(self.last_fetched)
                window = mapping.tumbling_window_in_seconds
                if window and self.window_start != -1 and time.time() >= self.window_start + window:
                    await self._finish_window(mapping)
            if self.closed and not self.buffer:
                return
            await asyncio.sleep(max(0.0, POLL_INTERVAL_SECONDS - (time.monotonic() - last_poll)))


    async def _run_lanes(self) -> bool:
        """E4 with ParallelizationFactor > 1: independent lanes (lanes.py). Returns True when the
        shard is finished, False when the mapping no longer uses lanes (records go back to the buffer)."""
        runner = LaneRunner(self)
        backoff, last_poll = chosen.RETRY_INTERVAL_SECONDS, 0.0
        try:
            while True:
                mapping = self.mapping()
                if not uses_lanes(mapping):
                    self.buffer[:0] = await runner.drain()
                    return False
                limit = max(GET_RECORDS_LIMIT, mapping.batch_size * mapping.parallelization_factor)
                due = time.monotonic() - last_poll >= POLL_INTERVAL_SECONDS or self._page_was_full
                if runner.in_flight() < limit and not self.closed and due:
                    last_poll = time.monotonic()
                    try:
                        self._page_was_full = await self._fetch() >= GET_RECORDS_LIMIT
                        backoff = chosen.RETRY_INTERVAL_SECONDS
                    except (botocore.exceptions.ClientError, *UNREACHABLE) as exc:
                        log.warning("%s %s: reading the stream failed (%s); retrying in %.2fs", self.uuid,
                                    self.shard_id, exc, backoff)
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, chosen.UNREACHABLE_BACKOFF_MAX_SECONDS)
                        continue
                runner.take(self.buffer, mapping.parallelization_factor)
                self.buffer.clear()
                runner.start_ready(mapping)
                runner.raise_failures()
                runner.advance_checkpoint()
                if not runner.in_flight():
                    if self.last_fetched and self._checkpoint_lags():
                        self._checkpoint_after(self.last_fetched)  # only filtered-out records since (E11)
                    if self.closed:
                        return True
                pause = 0.0 if self._page_was_full and runner.in_flight() < limit else \
                    max(0.0, POLL_INTERVAL_SECONDS - (time.monotonic() - last_poll))
                if mapping.maximum_batching_window_in_seconds:
                    pause = min(pause, chosen.RETRY_INTERVAL_SECONDS / 5)
                await runner.wait(pause)
        except BaseException:
            runner.cancel()
            raise

    def _checkpoint_lags(self) -> bool:
        mark = self.checkpoints.get(self.shard_id)
        return not mark or mark.get("SequenceNumber") != self.last_fetched or mark["Iterator"] != "AFTER_SEQUENCE_NUMBER"

    def _batch_ready(self, mapping: Mapping, window_started: float) -> bool:
        window = mapping.maximum_batching_window_in_seconds
        return (
            window == 0
            or len(self.buffer) >= mapping.batch_size * mapping.parallelization_factor
            or time.monotonic() - window_started >= window
            or payload_bytes(self.buffer) >= MAX_PAYLOAD_BYTES
            or self.closed
        )

    async def _deliver_round(self, mapping: Mapping) -> None:
        """One batch per lane, run at once, the checkpoint moved when all are done: rounds keep a
        tumbling window (E12) one sequence of invocations; otherwise lanes.py runs lanes (E4)."""
        head = self.buffer
        if mapping.tumbling_window_in_seconds:
            head = self.buffer[:await self._enter_window(mapping)]
        batches = cut_batches(head, mapping.batch_size, mapping.parallelization_factor)
        taken = sum(len(b) for b in batches)
        last = sequence_number(self.buffer[taken - 1])
        await asyncio.gather(*(self._deliver(batch) for batch in batches))
        del self.buffer[:taken]
        self._checkpoint_after(last)

    async def _deliver(self, records: list[dict]) -> None:
        """Run one batch to its end: success, or dropped after its limits (E5-E10, E14)."""
        units = deque([Unit(records)])
        backoff = chosen.RETRY_INTERVAL_SECONDS
        while units:
            mapping = self.mapping()
            unit = units[0]
            expired = self._expired_prefix(unit.records, mapping)
            if expired:
                await self._drop(Unit(unit.records[:expired], unit.attempts, unit.last_result),
                                 chosen.CONDITION_RECORD_AGE_EXCEEDED, mapping)
                unit.records = unit.records[expired:]
                if not unit.records:
                    units.popleft()
                continue
            result = await self._invoke(unit.records, mapping)
            if result.kind == "too_large" and len(unit.records) >= 2:
                units.popleft()
                units.extendleft(reversed(_halves(unit)))
                continue
            if not result.reached_function:
                # E5: the function never ran, so no attempt is spent; the records wait for the
                # age limit (checked above) or for the cause to go away.
                self._note_refused(mapping, result)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, chosen.UNREACHABLE_BACKOFF_MAX_SECONDS)
                continue
            backoff = chosen.RETRY_INTERVAL_SECONDS
            unit.attempts += 1
            unit.last_result = result
            tumbling = mapping.tumbling_window_in_seconds > 0
            report = mapping.reports_batch_item_failures
            outcome = classify(result, unit.records, report, tumbling)
            self._count_failed(mapping, unit.records, outcome.kind, outcome.retry_from)
            if outcome.kind == "success":
                self._set_result(mapping, "OK")
                units.popleft()
                continue
            self._set_result(mapping, "PROBLEM: Function call failed")
            bisect = mapping.bisect_batch_on_function_error
            if outcome.kind == "partial":
                rest = unit.records[outcome.retry_from:]
                if bisect:
                    units[0] = Unit(rest, 0 if chosen.BISECT_RESETS_RETRY_COUNT else unit.attempts, result)
                else:
                    unit.records = rest
                    if not chosen.PARTIAL_FAILURE_COUNTS_AS_ATTEMPT:
                        unit.attempts -= 1
            elif bisect and len(unit.records) >= chosen.BISECT_MIN_RECORDS:
                fresh = 0 if chosen.BISECT_RESETS_RETRY_COUNT else unit.attempts
                halves = _halves(Unit(unit.records, fresh, result))
                if not chosen.BISECT_FIRST_HALF_FIRST:
                    halves.reverse()
                units.popleft()
                units.extendleft(reversed(halves))
                await asyncio.sleep(chosen.RETRY_INTERVAL_SECONDS)
                continue
            unit = units[0]
            limit = mapping.maximum_retry_attempts
            if limit != -1 and unit.attempts > limit:
                await self._drop(unit, chosen.CONDITION_RETRIES_EXHAUSTED, mapping)
                units.popleft()
                continue
            await asyncio.sleep(chosen.RETRY_INTERVAL_SECONDS)

    def _expired_prefix(self, records: list[dict], mapping: Mapping) -> int:
        """E6: how many leading records are older than MaximumRecordAgeInSeconds."""
        limit = mapping.maximum_record_age_in_seconds
        if limit == -1:
            # E5: "retry until the record expires" - it leaves the stream after 24 h.
            limit = STREAM_RETENTION_SECONDS
        cutoff = time.time() - limit
        count = 0
        while count < len(records) and arrival_time(records[count]) < cutoff:
            count += 1
        return count

    async def _invoke(self, records: list[dict], mapping: Mapping, final: bool = False) -> InvokeResult:
        function = mapping.function_name
        now = time.time()
        event = self._event(records, mapping, final)
        if records:
            self.metrics.put("IteratorAge", max(0.0, (now - arrival_time(records[-1])) * 1000), "Milliseconds",
                             {"FunctionName": function}, now)
        self.metrics.started(function, now)
        call = asyncio.ensure_future(invoke(self.upstream, mapping.function_arn, event))
        self.in_flight.add(call)
        call.add_done_callback(_settled(self.in_flight))
        try:
            # Shielded: stopping the poller must not abandon an invocation the function is still running.
            result = await asyncio.shield(call)
        finally:
            self.metrics.finished(function)
        dims = {"FunctionName": function}
        if result.kind == "throttled":
            self.metrics.put("Throttles", 1, "Count", dims, now)
        elif result.reached_function:
            self.metrics.put("Invocations", 1, "Count", dims, now)
            self.metrics.put("Errors", 1 if result.kind == "function_error" else 0, "Count", dims, now)
            self.metrics.put("Duration", result.duration_ms, "Milliseconds", dims, now)
            if result.kind == "ok" and mapping.tumbling_window_in_seconds and isinstance(result.payload, dict):
                self.window_state = result.payload.get("state") or {}
        if records and self._counts_events(mapping) and (result.reached_function or result.kind == "throttled"):
            self.metrics.put("InvokedEventCount", len(records), "Count", {"EventSourceMappingUUID": self.uuid}, now)
        return result

    def _event(self, records: list[dict], mapping: Mapping, final: bool = False) -> dict:
        window = mapping.tumbling_window_in_seconds
        if not window:
            return {"Records": records}
        # E12: the handler gets its window and the state it returned last within it.
        start = self.window_start
        return {
            "Records": records,
            "window": {"start": iso_seconds(start), "end": iso_seconds(start + window)},
            "state": self.window_state,
            "shardId": self.shard_id,
            "eventSourceARN": self.stream_arn,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": False,
        }

    def _window_of(self, record: dict, window: int) -> int:
        """E12: records belong to the window of their arrival in the stream, aligned to the epoch."""
        return int(arrival_time(record)) // window * window

    async def _enter_window(self, mapping: Mapping) -> int:
        """Close the open window if the buffer's head is past it; returns how many records share the head's window."""
        window = mapping.tumbling_window_in_seconds
        head = self._window_of(self.buffer[0], window)
        if self.window_start not in (-1, head):
            await self._finish_window(mapping)
        if self.window_start != head:
            self.window_start, self.window_state = head, {}
        same = 0
        while same < len(self.buffer) and self._window_of(self.buffer[same], window) == head:
            same += 1
        return same

    async def _finish_window(self, mapping: Mapping) -> None:
        """E12: the final invocation of a window (no records, isFinalInvokeForWindow), retried like a batch."""
        attempts, backoff = 0, chosen.RETRY_INTERVAL_SECONDS
        while True:
            result = await self._invoke([], mapping, final=True)
            if not result.reached_function:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, chosen.UNREACHABLE_BACKOFF_MAX_SECONDS)
                continue
            attempts += 1
            if classify(result, [], False, True).kind == "success":
                break
            limit = mapping.maximum_retry_attempts
            if limit != -1 and attempts > limit:
                log.warning("%s %s: final invocation of window %s failed %d times; giving up", self.uuid,
                            self.shard_id, iso_seconds(self.window_start), attempts)
                break
            await asyncio.sleep(chosen.RETRY_INTERVAL_SECONDS)
        self.window_start, self.window_state = -1, {}

    def _counts_events(self, mapping: Mapping) -> bool:
        return mapping.counts_events

    def _count_failed(self, mapping: Mapping, records: list[dict], kind: str, retry_from: int) -> None:
        if not self._counts_events(mapping) or kind == "success":
            return
        failed = len(records) - retry_from if kind == "partial" else len(records)
        self.metrics.put("FailedInvokeEventCount", failed, "Count", {"EventSourceMappingUUID": self.uuid}, time.time())

    def _set_result(self, mapping: Mapping, result: str) -> None:
        if mapping.last_processing_result != result:
            self.keep(self.mapping().changed(last_processing_result=result))

    def _note_refused(self, mapping: Mapping, result: InvokeResult) -> None:
        """Lambda refused the Invoke (deleted function, payload too large, ...): visible in Get and the log."""
        if result.kind in ("throttled", "unreachable"):
            return
        problem = ("PROBLEM: Function not found" if result.error_code == "ResourceNotFoundException"
                   else f"PROBLEM: Function call failed ({result.error_code or result.status})")
        if mapping.last_processing_result != problem:
            log.error("%s %s: Lambda refused the invocation: %s; retrying until the records pass their age limit",
                      self.uuid, self.shard_id, result.detail)
        self._set_result(mapping, problem)

    async def _drop_unconvertible(self, raw: dict, exc: RecordConversionError, mapping: Mapping) -> None:
        """A record that can never become an event goes to the on-failure destination at once (E7)."""
        record = stand_in_record(raw, self.stream_arn)
        if record is None:
            log.error("%s %s: skipping a stream record without a sequence number: %s", self.uuid, self.shard_id, exc)
            return
        self.last_fetched = sequence_number(record)
        log.error("%s %s: %s", self.uuid, self.shard_id, exc)
        await self._drop(Unit([record]), chosen.CONDITION_UNCONVERTIBLE, mapping)

    async def _report_trimmed(self, mark: dict) -> None:
        """The checkpoint fell out of the stream's retention: log, metric and on-failure record, never silence."""
        mapping = self.mapping()
        log.error("%s %s: checkpoint %s is beyond the stream's 24 h retention; the records after it up to the "
                  "oldest one left were never delivered; resuming at TRIM_HORIZON", self.uuid, self.shard_id, mark)
        self.metrics.put(chosen.TRIMMED_CHECKPOINT_METRIC, 1, "Count", {"EventSourceMappingUUID": self.uuid}, time.time())
        self._set_result(mapping, "PROBLEM: Checkpoint trimmed from the stream")
        destination = mapping.on_failure_destination
        if destination:
            record = trimmed_record(function_arn=mapping.function_arn, shard_id=self.shard_id,
                                    stream_arn=self.stream_arn, after_sequence_number=mark["SequenceNumber"])
            await self._send_failure(destination, record, [], mapping)

    async def _drop(self, unit: Unit, condition: str, mapping: Mapping) -> None:
        """E7/E10: give up on these records; send their metadata to the on-failure destination."""
        destination = mapping.on_failure_destination
        dims = {"EventSourceMappingUUID": self.uuid}
        log.warning("%s %s: dropping %d records (%s) after %d invocations", self.uuid, self.shard_id,
                    len(unit.records), condition, unit.attempts)
        if not destination:
            if self._counts_events(mapping):
                self.metrics.put("DroppedEventCount", len(unit.records), "Count", dims, time.time())
            return
        record = failure_record(
            records=unit.records, condition=condition, function_arn=mapping.function_arn,
            invoke_count=unit.attempts, last_result=unit.last_result, shard_id=self.shard_id,
            stream_arn=self.stream_arn,
        )
        await self._send_failure(destination, record, unit.records, mapping)
        if self._counts_events(mapping):
            self.metrics.put("OnFailureDestinationDeliveredEventCount", len(unit.records), "Count", dims, time.time())

    async def _send_failure(self, destination: str, record: dict, records: list[dict], mapping: Mapping) -> None:
        while True:
            try:
                await send(self.upstream, destination, record, {"Records": records}, self.uuid)
                return
            except Exception as exc:
                # Blocking the shard rather than losing the failure record.
                log.warning("%s: on-failure delivery to %s failed (%s); retrying", self.uuid, destination, exc)
                self.metrics.put("DestinationDeliveryFailures", 1, "Count", {"FunctionName": mapping.function_name},
                                 time.time())
                await asyncio.sleep(chosen.DESTINATION_RETRY_SECONDS)


def _settled(in_flight: set[asyncio.Task]) -> Callable[[asyncio.Task], None]:
    def forget(call: asyncio.Task) -> None:
        in_flight.discard(call)
        if not call.cancelled():
            call.exception()  # retrieved, so an abandoned call's error is not logged as never retrieved
    return forget


def _halves(unit: Unit) -> list[Unit]:
    """The unit split in two, first half first, each keeping the unit's attempts (E8; too-large batches)."""
    half = len(unit.records) // 2
    return [Unit(unit.records[:half], unit.attempts, unit.last_result),
            Unit(unit.records[half:], unit.attempts, unit.last_result)]
