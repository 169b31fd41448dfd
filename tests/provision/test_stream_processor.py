"""The StreamProcessor (infra/functions/stream_processor), invoked directly with AWS-shaped stream events.

The function runs in MiniStack's warm workers; no mapping exists here, so each test decides
exactly which records it delivers and how often.
"""
from __future__ import annotations

import importlib.util
import json
import time
import uuid

import pytest

from streamlab import schema
from streamlab.provision import PipelineConfig, function, queue, roles, table, teardown
from streamlab.provision.paths import function_dir


def _load_handler_module():
    spec = importlib.util.spec_from_file_location("stream_processor_handler", function_dir() / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_draw_is_reproducible_and_spread_over_0_1():
    draw = _load_handler_module().draw
    values = [draw("7", f"id-{i}", 1) for i in range(4000)]
    assert values == [draw("7", f"id-{i}", 1) for i in range(4000)]
    assert all(0.0 <= v < 1.0 for v in values)
    assert 0.45 < sum(v < 0.5 for v in values) / len(values) < 0.55
    assert draw("7", "a", 1) != draw("8", "a", 1) != draw("7", "a", 2)


@pytest.fixture(scope="module")
def deployed(target, new_stack_name):
    """Table, queue, role and function of one stack; no mapping, no API."""
    cfg = PipelineConfig(stack=new_stack_name())
    try:
        t = table.create_table(target, cfg)
        q = queue.create_queue(target, cfg)
        role = roles.create_processor_role(target, cfg, table_arn=t.arn, stream_arn=t.stream_arn, queue_arn=q.arn)
        yield cfg, t, role.arn
    finally:
        teardown(cfg, target=target, log=lambda _: None)


class Processor:
    def __init__(self, target, deployed, **settings):
        self.config, self.table, role_arn = deployed
        self.config = self.config.with_processor(**settings)
        function.create_function(target, self.config, role_arn=role_arn)
        self.ddb = target.client("dynamodb")
        self.lam = target.client("lambda")
        self._seq = int(time.time() * 1000) * 1000

    def accept(self, body: dict | str) -> dict:
        """Write a request item the way the API template does; returns it in DynamoDB JSON."""
        item = {
            schema.ID: {"S": uuid.uuid4().hex},
            schema.BODY: {"S": body if isinstance(body, str) else json.dumps(body)},
            schema.ACCEPTED_AT: {"N": str(int(time.time() * 1000))},
            schema.STATUS: {"S": schema.ACCEPTED},
        }
        self.ddb.put_item(TableName=self.table.name, Item=item)
        return item

    def record(self, item: dict, event_name: str = "INSERT") -> dict:
        """One stream record as Lambda delivers it (S1, S2; S3: whole epoch seconds)."""
        self._seq += 1
        change = {
            "ApproximateCreationDateTime": float(int(time.time())),
            "Keys": {schema.ID: item[schema.ID]},
            "SequenceNumber": str(self._seq).rjust(21, "0"),
            "SizeBytes": len(json.dumps(item)),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if event_name != "REMOVE":
            change["NewImage"] = item
        if event_name != "INSERT":
            change["OldImage"] = item
        return {
            "eventID": uuid.uuid4().hex, "eventName": event_name, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": change,
            "eventSourceARN": self.table.stream_arn,
        }

    def invoke(self, *records: dict) -> tuple[str | None, dict]:
        out = self.lam.invoke(FunctionName=self.config.function_name, Payload=json.dumps({"Records": list(records)}))
        return out.get("FunctionError"), json.loads(out["Payload"].read() or b"null")

    def item(self, item: dict) -> dict | None:
        got = self.ddb.get_item(TableName=self.table.name, Key={schema.ID: item[schema.ID]}, ConsistentRead=True)
        return got.get("Item")


def test_insert_is_marked_processed_with_lag_readable_S1_S3(target, deployed):
    proc = Processor(target, deployed)
    item = proc.accept({"hello": "world"})
    error, payload = proc.invoke(proc.record(item))
    assert error is None and payload == {"batchItemFailures": []}
    stored = proc.item(item)
    assert stored[schema.STATUS]["S"] == schema.PROCESSED
    assert stored[schema.ATTEMPTS]["N"] == "1"
    assert int(stored[schema.PROCESSED_AT]["N"]) >= int(stored[schema.ACCEPTED_AT]["N"])
    assert stored[schema.BODY] == item[schema.BODY]
    assert function.describe_log_group(target, proc.config) is not None  # where the function's output goes


def test_duplicate_delivery_counts_attempts_and_keeps_first_completion_E1(target, deployed):
    proc = Processor(target, deployed)
    item = proc.accept({})
    record = proc.record(item)
    proc.invoke(record)
    first = proc.item(item)[schema.PROCESSED_AT]
    assert proc.invoke(record)[0] is None
    stored = proc.item(item)
    assert stored[schema.ATTEMPTS]["N"] == "2" and stored[schema.PROCESSED_AT] == first


def test_modify_and_remove_are_skipped_and_gone_items_are_not_recreated(target, deployed):
    proc = Processor(target, deployed)
    item = proc.accept({})
    ghost = {**item, schema.ID: {"S": "never-written-" + uuid.uuid4().hex}}
    error, payload = proc.invoke(proc.record(item, "MODIFY"), proc.record(item, "REMOVE"), proc.record(ghost))
    assert error is None and payload == {"batchItemFailures": []}
    assert proc.item(item)[schema.STATUS]["S"] == schema.ACCEPTED
    assert proc.item(ghost) is None


def test_poison_raises_when_partial_failures_are_off(target, deployed):
    proc = Processor(target, deployed, partial_failures=False)
    good, poison = proc.accept({}), proc.accept({"fail": "poison"})
    error, payload = proc.invoke(proc.record(good), proc.record(poison))
    assert error and "poison" in payload["errorMessage"]
    assert proc.item(poison)[schema.STATUS]["S"] == schema.ACCEPTED
    assert proc.item(poison)[schema.ATTEMPTS]["N"] == "1"  # the failed attempt is visible
    # a poison record fails on every attempt
    assert proc.invoke(proc.record(poison))[0]
    assert proc.item(poison)[schema.ATTEMPTS]["N"] == "2"


def test_poison_is_reported_as_a_batch_item_failure_E9(target, deployed):
    proc = Processor(target, deployed, partial_failures=True)
    poison, good = proc.accept({"fail": "poison"}), proc.accept({"n": 1})
    poison_record = proc.record(poison)
    error, payload = proc.invoke(poison_record, proc.record(good))
    assert error is None
    assert payload == {"batchItemFailures": [{"itemIdentifier": poison_record["dynamodb"]["SequenceNumber"]}]}
    assert proc.item(good)[schema.STATUS]["S"] == schema.PROCESSED
    assert proc.item(poison)[schema.STATUS]["S"] == schema.ACCEPTED


def test_fail_once_fails_the_first_attempt_only(target, deployed):
    proc = Processor(target, deployed, partial_failures=False)
    item = proc.accept({"fail": "once"})
    record = proc.record(item)
    assert proc.invoke(record)[0]
    assert proc.invoke(record)[0] is None
    stored = proc.item(item)
    assert stored[schema.STATUS]["S"] == schema.PROCESSED and stored[schema.ATTEMPTS]["N"] == "2"


def test_unknown_fail_switch_is_an_error_naming_the_choices(target, deployed):
    proc = Processor(target, deployed, partial_failures=False)
    error, payload = proc.invoke(proc.record(proc.accept({"fail": "sometimes"})))
    assert error and "'poison', 'once' or a number" in payload["errorMessage"]


def test_sleep_past_the_timeout_is_a_function_error_E5(target, deployed):
    proc = Processor(target, deployed, timeout_seconds=1, partial_failures=False)
    item = proc.accept({"sleep_ms": 2500})
    error, payload = proc.invoke(proc.record(item))
    assert error and "timed out" in json.dumps(payload).lower()
    assert proc.item(item)[schema.STATUS]["S"] == schema.ACCEPTED


def test_failure_rate_fails_the_drawn_records_reproducibly(target, deployed):
    draw = _load_handler_module().draw
    proc = Processor(target, deployed, failure_rate=0.5, failure_seed=11, partial_failures=True)
    items = [proc.accept({"i": i}) for i in range(20)]
    records = [proc.record(i) for i in items]
    error, payload = proc.invoke(*records)
    assert error is None
    failed = {f["itemIdentifier"] for f in payload["batchItemFailures"]}
    expected = {r["dynamodb"]["SequenceNumber"] for r, i in zip(records, items) if draw("11", i[schema.ID]["S"], 1) < 0.5}
    assert failed == expected and 0 < len(failed) < len(items)
    for record, item in zip(records, items):
        status = proc.item(item)[schema.STATUS]["S"]
        assert status == (schema.ACCEPTED if record["dynamodb"]["SequenceNumber"] in failed else schema.PROCESSED)


def test_failure_rate_one_fails_every_record(target, deployed):
    proc = Processor(target, deployed, failure_rate=1.0, partial_failures=False)
    item = proc.accept({})
    error, payload = proc.invoke(proc.record(item))
    assert error and "FAILURE_RATE" in payload["errorMessage"]
    assert proc.item(item)[schema.STATUS]["S"] == schema.ACCEPTED


def test_record_concurrency_processes_items_at_once(target, deployed):
    proc = Processor(target, deployed, record_concurrency=8, partial_failures=True)
    items = [proc.accept({"sleep_ms": 400}) for _ in range(8)]
    error, payload = proc.invoke(*[proc.record(i) for i in items])
    assert error is None and payload == {"batchItemFailures": []}
    done = [int(proc.item(i)[schema.PROCESSED_AT]["N"]) for i in items]
    # One after another the completions would be >= 7 x 400 ms apart; at once they overlap.
    assert max(done) - min(done) < 7 * 400


def test_record_concurrency_keeps_one_items_records_in_order(target, deployed):
    """After an item's record fails, its later record is not tried in the same invocation."""
    proc = Processor(target, deployed, record_concurrency=4, partial_failures=True)
    item, other = proc.accept({"fail": "poison"}), proc.accept({})
    first = proc.record(item)
    later = proc.record({**item, schema.BODY: {"S": "{}"}})  # the same item, changed again
    error, payload = proc.invoke(first, proc.record(other), later)
    assert error is None
    assert payload["batchItemFailures"] == [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in (first, later)]
    assert proc.item(item)[schema.STATUS]["S"] == schema.ACCEPTED and proc.item(item)[schema.ATTEMPTS]["N"] == "1"
    assert proc.item(other)[schema.STATUS]["S"] == schema.PROCESSED


def test_batch_writes_mark_plain_records_together_and_keep_every_outcome(target, deployed):
    proc = Processor(target, deployed, batch_writes=True, partial_failures=True)
    plain = [proc.accept({"n": i}) for i in range(3)]
    poison = proc.accept({"fail": "poison"})
    ghost = {**plain[0], schema.ID: {"S": "never-written-" + uuid.uuid4().hex}}
    records = [proc.record(i) for i in plain] + [proc.record(poison)]
    error, payload = proc.invoke(*records)
    assert error is None
    assert payload == {"batchItemFailures": [{"itemIdentifier": records[-1]["dynamodb"]["SequenceNumber"]}]}
    for item in plain:
        stored = proc.item(item)
        assert stored[schema.STATUS]["S"] == schema.PROCESSED and stored[schema.ATTEMPTS]["N"] == "1"
    assert proc.item(poison)[schema.STATUS]["S"] == schema.ACCEPTED
    # A gone item in the transaction: the chunk falls back to one item at a time, nothing re-created.
    again = proc.accept({})
    error, payload = proc.invoke(proc.record(ghost), proc.record(again))
    assert error is None and payload == {"batchItemFailures": []}
    assert proc.item(ghost) is None and proc.item(again)[schema.STATUS]["S"] == schema.PROCESSED
