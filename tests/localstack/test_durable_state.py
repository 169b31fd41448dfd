"""Durable local state over the wire: down/up keeps everything; a SIGKILL of MiniStack loses nothing acknowledged.

Each test runs its own stack (it kills processes) in a temporary home on a free port.
"""
from __future__ import annotations

import io
import json
import os
import signal
import threading
import time
import uuid
import zipfile
from typing import Callable, Sized

import urllib.request

import psutil
import pytest

from streamlab.bench.snapshots import snapshot_windows
from streamlab.localstack import processes, stack
from streamlab.localstack.durable import journal
from streamlab.localstack.durable.snapshot import read_manifest
from streamlab.localstack.esm.store import Store
from streamlab.localstack.state import StackPaths
from streamlab.provision import api, roles, table
from streamlab.provision.config import PipelineConfig
from streamlab.provision.protection import ProtectionSettings
from streamlab.target import local_target
from tests.tiers import process_fixture

from .esm.esm_helpers import handler_zip, wait_for, wait_state

ROLE = "arn:aws:iam::000000000000:role/lambda-role"


@process_fixture()
def own_stack(tmp_path, monkeypatch):
    """A stack of its own, snapshotting every second; always taken down."""
    monkeypatch.setenv("STREAMLAB_SNAPSHOT_INTERVAL", "1")
    port = stack.pick_free_port()
    started = []

    def up(**kwargs):
        state = stack.up(port=port, home=tmp_path, **kwargs)
        started.append(state)
        return state

    yield up, tmp_path
    stack.down(home=tmp_path)
    for state in started:  # whatever a kill left behind
        for record in state.processes.values():
            processes.stop(record)


def _pipeline(target, endpoint: str, name: str) -> dict:
    """A table with a stream, a log table, a function logging what it gets, a queue, a mapping."""
    ddb, lam, sqs = target.client("dynamodb"), target.client("lambda"), target.client("sqs")
    for table, key in ((name, "id"), (f"{name}-log", "k")):
        spec = {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}} if table == name else {}
        ddb.create_table(TableName=table, AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": key, "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST", **spec)
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="handler.handler", Timeout=10, Role=ROLE,
                        Code={"ZipFile": handler_zip("pass")},
                        Environment={"Variables": {"LOG_TABLE": f"{name}-log", "LOG_ENDPOINT": endpoint}})
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"].get("State", "Active") == "Active")
    sqs.create_queue(QueueName=f"{name}-q")
    stream_arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    esm = lam.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=name, StartingPosition="TRIM_HORIZON",
                                          BatchSize=50)
    wait_state(lam, esm["UUID"], "Enabled")
    return {"uuid": esm["UUID"], "stream_arn": stream_arn}


def _delivered(target, name: str) -> list[str]:
    items = target.client("dynamodb").scan(TableName=f"{name}-log", ConsistentRead=True)["Items"]
    return [i for item in sorted(items, key=lambda it: float(it["at"]["N"])) for i in json.loads(item["ids"]["S"])]


def _put(target, name: str, ids) -> None:
    ddb = target.client("dynamodb")
    for i in ids:
        ddb.put_item(TableName=name, Item={"id": {"S": i}, "blob": {"B": b"\x00\xff"}})


def _stream_record_count(target, stream_arn: str) -> int:
    streams = target.client("dynamodbstreams")
    count = 0
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            count += len(page["Records"])
            it = page.get("NextShardIterator") if page["Records"] else None
    return count


def _started_pipeline(up) -> tuple:
    """A stack brought up by `up`, with a pipeline of its own: (state, target, name, mapping info)."""
    state = up()
    target = local_target(state.endpoint_url)
    name = f"dur{uuid.uuid4().hex[:8]}"
    return state, target, name, _pipeline(target, state.endpoint_url, name)


def test_clean_down_up_keeps_every_resource_item_and_stream_position(own_stack):
    up, home = own_stack
    state, target, name, made = _started_pipeline(up)
    _put(target, name, [f"a{i}" for i in range(20)])
    wait_for(lambda: len(_delivered(target, name)) >= 20, what="20 records delivered")
    records = _stream_record_count(target, made["stream_arn"])

    stack.down(home=home)
    checkpoints = Store(StackPaths(home)).load_checkpoints(made["uuid"])  # where the ESM stopped
    # Every snapshot logged what its writer used (the last is the final one, taken at down).
    windows = snapshot_windows(StackPaths(home).logs / "ministack.log", 0.0, float("inf"))
    assert windows and all(w.writer_cpu_ms is not None and w.writer_cpu_ms > 0 for w in windows)
    state = up()
    target = local_target(state.endpoint_url)

    lam = target.client("lambda")
    assert target.client("dynamodb").scan(TableName=name, Select="COUNT")["Count"] == 20
    assert _stream_record_count(target, made["stream_arn"]) == records
    assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
    assert target.client("sqs").get_queue_url(QueueName=f"{name}-q")["QueueUrl"]
    assert lam.get_event_source_mapping(UUID=made["uuid"])["State"] == "Enabled"
    assert Store(StackPaths(home)).load_checkpoints(made["uuid"]) == checkpoints
    # The mapping goes on from where it was: the new record only, nothing delivered twice.
    _put(target, name, ["after"])
    wait_for(lambda: "after" in _delivered(target, name), what="the record written after up")
    assert sorted(_delivered(target, name)) == sorted([f"a{i}" for i in range(20)] + ["after"])


def _snapshot_after_now(home, change) -> None:
    """Make `change`, then wait for the snapshot that holds it (and everything before it)."""
    time.sleep(journal.OVERLAP_SECONDS + 0.1)
    after = time.time()
    change()
    wait_for(lambda: (read_manifest(StackPaths(home)) or {}).get("taken_at", 0) > after,
             what="a snapshot after the pipeline was made")


def _kill_ministack_mid_load(state, home, first: Callable[[], object], send: Callable[[int], None],
                             acknowledged: Sized) -> None:
    """After a snapshot that holds `first`'s change, send(0), send(1), ... from a thread until one
    fails; SIGKILL MiniStack once 150 are `acknowledged`, and wait for the thread to stop."""
    _snapshot_after_now(home, first)

    def load():
        for n in range(100_000):
            try:
                send(n)
            except Exception:
                return

    writer = threading.Thread(target=load)
    writer.start()
    wait_for(lambda: len(acknowledged) >= 150, what="load under way")
    os.kill(state.processes["ministack"].pid, signal.SIGKILL)
    writer.join(timeout=60)
    assert not writer.is_alive()


def test_sigkill_of_ministack_mid_load_loses_nothing_acknowledged(own_stack):
    up, home = own_stack
    state, target, name, made = _started_pipeline(up)
    acked: list[str] = []
    ddb = target.client("dynamodb")

    def put(n: int) -> None:
        ddb.put_item(TableName=name, Item={"id": {"S": f"k{n}"}})
        acked.append(f"k{n}")

    # A snapshot that holds the whole pipeline (control-plane calls are not replayed), then load.
    _kill_ministack_mid_load(state, home, lambda: _put(target, name, ["first"]), put, acked)

    status = stack.status(home=home)
    assert not status.running and "streamlab up" in status.detail
    said: list[str] = []
    state = up(log=said.append)
    assert any("Nothing acknowledged was lost" in line for line in said), "\n".join(said)
    target = local_target(state.endpoint_url)
    ddb = target.client("dynamodb")
    missing = [i for i in acked if "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": i}})]
    assert missing == [], f"{len(missing)} of {len(acked)} acknowledged items lost"
    # The ESM re-attaches: every acknowledged record reaches the function (duplicates allowed).
    wait_for(lambda: set(acked) <= set(_delivered(target, name)), timeout=180, what="every acked record delivered")
    assert stack.status(home=home).running


def test_sigkill_of_ministack_mid_api_load_loses_no_accepted_request(own_stack):
    """The API's write is a conditional UpdateItem: every request it answered 202 is there after the crash."""
    up, home = own_stack
    state = up()
    target = local_target(state.endpoint_url)
    config = PipelineConfig(stack=f"dur{uuid.uuid4().hex[:8]}", protection=ProtectionSettings(api_key_required=False))
    table_arn = table.create_table(target, config).arn
    role_arn = roles.create_api_role(target, config, table_arn=table_arn).arn
    invoke_url = api.create_api(target, config, table_name=config.table_name, api_role_arn=role_arn).invoke_url
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    accepted: dict[str, str] = {}

    def post(n: int) -> None:
        body = json.dumps({"n": n, "text": "é \"q\" $x"})
        request = urllib.request.Request(invoke_url, data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        with direct.open(request, timeout=10) as answer:
            assert answer.status == 202
            accepted[json.loads(answer.read())["id"]] = body

    _kill_ministack_mid_load(state, home, lambda: post(-1), post, accepted)

    said: list[str] = []
    state = up(log=said.append)
    assert any("Nothing acknowledged was lost" in line for line in said), "\n".join(said)
    assert any(line.startswith("replaying ") for line in said), "\n".join(said)  # said before the replay starts
    ddb = local_target(state.endpoint_url).client("dynamodb")
    stored = {}
    for request_id in accepted:
        item = ddb.get_item(TableName=config.table_name, Key={"id": {"S": request_id}}, ConsistentRead=True)
        stored[request_id] = item.get("Item", {}).get("body", {}).get("S")
    assert stored == accepted


def test_what_cannot_be_replayed_is_named_and_status_is_not_healthy_until_deploy(own_stack, monkeypatch):
    up, home = own_stack
    monkeypatch.setenv("STREAMLAB_SNAPSHOT_INTERVAL", "3600")  # only the snapshot of the clean stop
    state = up()
    target = local_target(state.endpoint_url)
    name = f"dur{uuid.uuid4().hex[:8]}"
    ddb = target.client("dynamodb")
    ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName=name, Item={"id": {"S": "x"}, "n": {"N": "1"}})
    stack.down(home=home)  # a clean stop: the snapshot holds the table and x
    state = up()
    ddb = local_target(state.endpoint_url).client("dynamodb")
    # Acknowledged but not replayable (an ADD applied twice would be wrong), and killed at once.
    ddb.update_item(TableName=name, Key={"id": {"S": "x"}}, UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "y"}})
    os.kill(state.processes["ministack"].pid, signal.SIGKILL)

    said: list[str] = []
    state = up(log=said.append)
    text = "\n".join(said)
    assert "LOST (1)" in text and "UpdateItem" in text and "streamlab deploy" in text, text
    ddb = local_target(state.endpoint_url).client("dynamodb")
    assert "Item" in ddb.get_item(TableName=name, Key={"id": {"S": "y"}})  # the put was replayed
    status = stack.status(home=home)
    assert not status.running and "UpdateItem" in status.detail and "streamlab deploy" in status.detail
    assert len(status.losses) == 1
    stack.clear_recovery_report(home=home)
    assert stack.status(home=home).running


def test_stop_signals_the_workers_a_killed_ministack_left_behind(own_stack):
    up, home = own_stack
    state = up()
    target = local_target(state.endpoint_url)
    lam = target.client("lambda")
    name = f"dur{uuid.uuid4().hex[:8]}"
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("handler.py", "import time\ndef handler(event, context):\n    time.sleep(event['sleep'])\n")
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="handler.handler", Timeout=60, Role=ROLE,
                        Code={"ZipFile": code.getvalue()})
    wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"].get("State", "Active") == "Active")
    lam.invoke(FunctionName=name, Payload=b'{"sleep": 0}')  # a warm worker stays under MiniStack
    record = state.processes["ministack"]
    workers = psutil.Process(record.pid).children(recursive=True)
    assert workers, "MiniStack started no worker"
    # A worker busy in an invocation does not notice its parent's death until the call returns.
    busy = threading.Thread(target=lambda: _ignore_errors(lambda: lam.invoke(FunctionName=name, Payload=b'{"sleep": 45}')))
    busy.start()
    time.sleep(1.0)
    os.kill(record.pid, signal.SIGKILL)
    wait_for(lambda: not processes.is_alive(record), what="MiniStack gone")
    assert any(w.is_running() for w in workers)

    assert processes.stop(record, timeout=5) is False  # it was not running...
    _, alive = psutil.wait_procs(workers, timeout=3)
    assert alive == []  # ...but what it left behind was stopped
    busy.join(timeout=60)


def _ignore_errors(call) -> None:
    try:
        call()
    except Exception:
        pass
