"""Snapshots switch in whole; the journal keeps what was acknowledged and forgets what a snapshot holds."""
from __future__ import annotations

import asyncio
import gc
import http.server
import json
import mmap
import os
import resource
import signal
import threading
import time

import psutil
import pytest

from streamlab.localstack.durable import journal, recovery
from streamlab.localstack.durable.ministack_main import die_with_parent
from streamlab.localstack.durable.snapshot import Snapshot, current_snapshot, read_manifest, write_snapshot
from streamlab.localstack.state import StackPaths

PUT = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Authorization": "AWS4 x", "Content-Type": "application/x-amz-json-1.0"}


@pytest.mark.parametrize("method, path, target, changes", [
    ("POST", "/", "DynamoDB_20120810.PutItem", True),
    ("POST", "/", "DynamoDB_20120810.UpdateItem", True),
    ("POST", "/", "DynamoDB_20120810.GetItem", False),
    ("POST", "/", "DynamoDB_20120810.Query", False),
    ("POST", "/", "DynamoDBStreams_20120810.GetRecords", False),
    ("POST", "/", "AmazonSQS.SendMessage", True),
    ("POST", "/2015-03-31/functions", "", True),
    ("POST", "/2015-03-31/functions/f/invocations", "", False),
    ("GET", "/2015-03-31/functions/f", "", False),
    ("POST", "/_ministack/reset", "", False),
])
def test_what_changes_state(method, path, target, changes):
    assert journal.changes_state(method, path, target) is changes


def test_journal_keeps_replayable_writes_whole_and_names_the_rest(tmp_path):
    paths = StackPaths(tmp_path)
    log = journal.Journal(paths, "frontdoor")
    body = json.dumps({"TableName": "t", "Item": {"id": {"S": "é"}}}).encode()
    update = {**PUT, "X-Amz-Target": "DynamoDB_20120810.UpdateItem"}
    overwrite = json.dumps({"TableName": "t", "Key": {"id": {"S": "a"}}, "UpdateExpression": "SET n = :n",
                            "ExpressionAttributeValues": {":n": {"N": "1"}}}).encode()
    count = json.dumps({"TableName": "t", "Key": {"id": {"S": "a"}}, "UpdateExpression": "ADD n :n",
                        "ExpressionAttributeValues": {":n": {"N": "1"}}}).encode()
    log.record("POST", "/", PUT, body)
    log.record("POST", "/", update, overwrite)
    log.record("POST", "/", update, count)
    log.record("POST", "/", {**PUT, "X-Amz-Target": "DynamoDB_20120810.GetItem"}, None)  # a read: not journalled
    log.record("POST", "/", {**PUT, "X-Amz-Target": "DynamoDB_20120810.TransactWriteItems"}, b"{}")
    log.close()
    put, overwritten, counted, transaction = journal.entries_since(paths, 0.0)
    assert put.replayable and put.body == body.decode() and put.headers == PUT
    assert overwritten.replayable and overwritten.body == overwrite.decode()
    assert counted.operation == "UpdateItem" and counted.body == count.decode() and not counted.replayable
    assert transaction.operation == "TransactWriteItems" and transaction.body is None and not transaction.replayable
    assert journal.wants_body("POST", "DynamoDB_20120810.PutItem")
    assert journal.wants_body("POST", "DynamoDB_20120810.UpdateItem")
    assert not journal.wants_body("POST", "DynamoDB_20120810.TransactWriteItems")


def test_a_recorder_writes_each_body_as_json_would_and_reads_back(tmp_path, monkeypatch):
    paths = StackPaths(tmp_path)
    log = journal.Journal(paths, "frontdoor")
    update = {**PUT, "X-Amz-Target": "DynamoDB_20120810.UpdateItem", "Host": "127.0.0.1:1"}
    bodies = [json.dumps({"Key": {"id": {"S": text}}}, ensure_ascii=False).encode()
              for text in ("a", "é\u2028\U0001f600", 'quote " and \\ slash /', "tab\tnew\nline")]
    monkeypatch.setattr(journal.time, "time", lambda: 1796689318.7071234)
    record = log.recorder("POST", "/", update)
    for body in bodies:
        record(body)
    log.recorder("POST", "/", {**PUT, "X-Amz-Target": "DynamoDB_20120810.GetItem"})(b"{}")  # a read: nothing
    log.close()
    lines = b"".join(p.read_bytes() for p in sorted(journal.journal_folder(paths).glob("*.jsonl"))).decode().splitlines()
    kept = {k: v for k, v in update.items() if k != "Host"}  # the headers a replay sends
    assert lines == [json.dumps({"at": 1796689318.7071234, "operation": "UpdateItem", "path": "/", "headers": kept,
                                 "body": body.decode()}, separators=(",", ":")) for body in bodies]
    assert [entry.body for entry in journal.entries_since(paths, 0.0)] == [body.decode() for body in bodies]


def test_a_line_torn_by_a_kill_is_skipped_and_the_files_are_private(tmp_path):
    paths = StackPaths(tmp_path)
    log = journal.Journal(paths, "frontdoor")
    log.record("POST", "/", PUT, b"{}")
    log.close()
    (segment,) = journal.journal_folder(paths).glob("*.jsonl")
    with open(segment, "a") as fh:
        fh.write('{"at": 1, "operation": "PutI')
    assert [e.operation for e in journal.entries_since(paths, 0.0)] == ["PutItem"]
    assert segment.stat().st_mode & 0o777 == 0o600


def _put_bodies(count: int) -> list[bytes]:
    return [json.dumps({"TableName": "t", "Item": {"id": {"S": f"k{i}-" + "x" * (i * 37 % 300)}}}).encode()
            for i in range(count)]


@pytest.mark.parametrize("fallocate", [True, False], ids=["fallocate", "no-fallocate (macOS)"])
def test_a_journal_line_is_readable_at_once_and_lines_cross_chunks_intact(tmp_path, monkeypatch, fallocate):
    # Recovery reads the journal while the front door is still writing it.
    monkeypatch.setattr(journal, "CHUNK_BYTES", mmap.PAGESIZE)
    if not fallocate:
        monkeypatch.delattr(journal.os, "posix_fallocate")
    paths = StackPaths(tmp_path)
    log = journal.Journal(paths, "frontdoor")
    record = log.recorder("POST", "/", PUT)
    bodies = _put_bodies(60)  # about 12 KB: lines cut across three chunk boundaries
    for body in bodies:
        record(body)
    assert [e.body for e in journal.entries_since(paths, 0.0)] == [b.decode() for b in bodies]
    log.close()
    (segment,) = journal.journal_folder(paths).glob("*.jsonl")
    data = segment.read_bytes()
    assert b"\0" not in data and data.endswith(b"\n")  # a clean close keeps only the lines
    assert len(data.splitlines()) == 60


def test_a_writer_killed_mid_line_loses_nothing_it_copied_and_the_next_one_starts_a_new_line(tmp_path, monkeypatch):
    monkeypatch.setattr(journal.time, "time", lambda: 1000.5)
    paths = StackPaths(tmp_path)
    killed = journal.Journal(paths, "frontdoor")
    first, second, third = _put_bodies(3)
    killed.recorder("POST", "/", PUT)(first)
    file = killed._file
    file.append(b'{"at":1000.5,"operation":"PutI')  # the kill comes mid-copy: no close, no trim
    os.close(file._fd)
    (segment,) = journal.journal_folder(paths).glob("*.jsonl")
    assert segment.stat().st_size == journal.CHUNK_BYTES  # zeros reserved ahead are left behind
    after = journal.Journal(paths, "frontdoor")
    after.recorder("POST", "/", PUT)(second)
    after.recorder("POST", "/", PUT)(third)
    after.close()
    assert [e.body for e in journal.entries_since(paths, 0.0)] == [first.decode(), second.decode(), third.decode()]
    assert b"\0" not in segment.read_bytes()


def test_a_full_disk_is_an_error_for_the_call_not_a_crash(tmp_path, monkeypatch):
    import errno

    monkeypatch.setattr(journal, "CHUNK_BYTES", mmap.PAGESIZE)
    paths = StackPaths(tmp_path)
    log = journal.Journal(paths, "frontdoor")
    record = log.recorder("POST", "/", PUT)
    record(b"{}")

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal.os, "posix_fallocate", no_space)
    with pytest.raises(OSError, match="No space"):
        for body in _put_bodies(40):  # more than the chunk holds: the next one cannot be reserved
            record(body)
    assert journal.entries_since(paths, 0.0)[0].body == "{}"


def test_a_change_answered_just_before_the_snapshot_is_not_named_lost(tmp_path, monkeypatch):
    # Seen in CI: a CreateTable answered 0.4 s before a clean stop's snapshot was reported LOST.
    paths = StackPaths(tmp_path)
    log = journal.Journal(paths, "frontdoor")
    update = {**PUT, "X-Amz-Target": "DynamoDB_20120810.UpdateItem"}
    count = b'{"TableName": "t", "Key": {}, "UpdateExpression": "ADD n :one"}'  # not to be applied twice
    for at, headers in ((999.7, update), (999.8, PUT), (1000.2, update), (1000.3, PUT)):
        monkeypatch.setattr(journal.time, "time", lambda at=at: at)
        log.record("POST", "/", headers, count if headers is update else b"{}")
    log.close()
    replay, unreplayable = journal.after_snapshot(paths, taken_at=1000.0)
    assert [e.at for e in replay] == [999.8, 1000.3]  # twice is harmless, so the overlap is replayed
    assert [e.at for e in unreplayable] == [1000.2]


def _snapshot(taken_at: float, tables: list[str]) -> Snapshot:
    return Snapshot(taken_at=taken_at, clean=False, files={"dynamodb.json": json.dumps(tables)},
                    esm_checkpoints={"u.json": "{}"}, summary={"tables": tables})


@pytest.fixture
def lax_umask():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_only_a_complete_snapshot_becomes_current(tmp_path, lax_umask):
    paths = StackPaths(tmp_path)
    assert current_snapshot(paths) is None
    first = write_snapshot(paths, _snapshot(100.0, ["a"]))
    assert current_snapshot(paths) == first and read_manifest(paths)["summary"]["tables"] == ["a"]
    # A writer killed half-way leaves a folder without a manifest and never switched to.
    torn = first.parent / "snap-200000-1"
    torn.mkdir()
    (torn / "dynamodb.json").write_text("[")
    assert current_snapshot(paths) == first
    second = write_snapshot(paths, _snapshot(300.0, ["a", "b"]))
    assert current_snapshot(paths) == second and not first.exists() and not torn.exists()
    assert json.loads((second / "dynamodb.json").read_text()) == ["a", "b"]
    assert (second / "esm-checkpoints" / "u.json").read_text() == "{}"
    # Every item of every table is in there: private to the user whatever the umask.
    assert {(p.stat().st_mode & 0o777) for p in second.rglob("*")} == {0o600, 0o700}


def test_journal_segments_a_snapshot_holds_are_pruned(tmp_path, monkeypatch):
    paths = StackPaths(tmp_path)
    folder = journal.journal_folder(paths)
    folder.mkdir(parents=True)
    old = folder / f"{10:012d}-frontdoor.jsonl"  # covers [600, 660)
    recent = folder / f"{20:012d}-frontdoor.jsonl"  # covers [1200, 1260)
    for path in (old, recent):
        path.write_text("")
    write_snapshot(paths, _snapshot(1000.0, []))
    journal.prune(paths)
    assert not old.exists() and recent.exists()
    assert os.listdir(folder) == [recent.name]


def test_what_is_alive_at_a_snapshot_is_out_of_the_collectors_reach(caplog):
    # Full collections over MiniStack's million objects held its event loop for 1.0-1.35 s.
    from streamlab.localstack.durable.ministack_main import freeze_survivors, log_long_collections

    state = [{"record": n} for n in range(1000)]
    note = log_long_collections(threshold_s=0.0)
    try:
        freeze_survivors()
        assert not any(o is state for o in gc.get_objects())
        assert gc.get_freeze_count() >= len(state)
        with caplog.at_level("INFO", logger="streamlab.snapshot"):
            gc.collect()
        assert "garbage collection of generation 2 held the process" in caplog.text
    finally:
        gc.unfreeze()
        gc.callbacks.remove(note)


def test_state_made_between_snapshots_is_frozen_within_the_freeze_interval():
    # Frozen only at snapshots, ten seconds of new state made full collections hold the loop 50-85 ms.
    from streamlab.localstack.durable.ministack_main import keep_frozen

    async def serve_a_while() -> None:
        freezer = asyncio.create_task(keep_frozen(interval=0.05))
        await asyncio.sleep(0.01)
        made.extend({"record": n} for n in range(1000))
        await asyncio.sleep(0.2)
        freezer.cancel()

    made: list[dict] = []
    try:
        asyncio.run(serve_a_while())
        assert not any(o is made for o in gc.get_objects())
    finally:
        gc.unfreeze()


def test_the_final_snapshot_waits_for_the_one_being_written_and_nothing_follows_it(tmp_path, monkeypatch):
    # An abandoned writer switched `current` to its folder after the final snapshot, whose clean-up
    # then deleted it: the next boot found no snapshot and started empty (seen once in CI).
    from streamlab.localstack.durable.ministack_main import Snapshotter

    events: list[tuple[str, bool]] = []

    async def write(self, clean: bool) -> tuple[float, resource.struct_rusage]:
        events.append(("start", clean))
        await asyncio.sleep(0.2)
        events.append(("end", clean))
        return 0.0, resource.getrusage(resource.RUSAGE_SELF)

    monkeypatch.setattr(Snapshotter, "_fork_and_wait", write)

    async def serve_then_stop() -> None:
        snapshotter = Snapshotter(StackPaths(tmp_path), None, None, None, interval=0.01)
        snapshotter.dirty = True
        snapshotter._ticker = asyncio.create_task(snapshotter._every_interval())
        while not events:  # a periodic snapshot is being written
            await asyncio.sleep(0.005)
        snapshotter.dirty = True
        await snapshotter.stop()
        await asyncio.sleep(0.1)  # a ticker still running would snapshot again here

    asyncio.run(serve_then_stop())
    assert events == [("start", False), ("end", False), ("start", True), ("end", True)]


@pytest.mark.integration  # forks processes
def test_a_snapshot_writer_dies_with_the_ministack_that_forked_it():
    read_end, write_end = os.pipe()
    ministack = os.fork()
    if ministack == 0:  # stands in for MiniStack: forks a writer as the snapshotter does, then waits
        parent = os.getpid()
        writer = os.fork()
        if writer == 0:
            die_with_parent(parent)
            time.sleep(30)  # a writer still at work
            os._exit(0)
        os.write(write_end, str(writer).encode())
        time.sleep(30)
        os._exit(0)
    writer = int(os.read(read_end, 32))
    try:
        os.kill(ministack, signal.SIGKILL)
        os.waitpid(ministack, 0)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if psutil.Process(writer).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the writer outlived the process that forked it")
    finally:
        try:
            os.kill(writer, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(read_end)
        os.close(write_end)


def test_the_snapshot_writer_reads_the_stores_as_they_are_and_writes_what_a_copy_would(tmp_path):
    # The forked writer is itself the copy: deep-copying every item there was most of its work,
    # and at 500 req/s its CPU showed in the API's p99 at every snapshot.
    import importlib

    from streamlab.localstack.durable.ministack_main import Snapshotter

    ddb = importlib.import_module("ministack.services.dynamodb")
    app = importlib.import_module("ministack.app")
    persistence = importlib.import_module("ministack.core.persistence")
    table = f"snap-{os.getpid()}-{time.monotonic_ns()}"
    for target, body in (("CreateTable", {"TableName": table, "BillingMode": "PAY_PER_REQUEST",
                                          "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                                          "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}),
                         ("PutItem", {"TableName": table, "Item": {"id": {"S": "a"}, "n": {"N": "1"}}})):
        status, _, _ = asyncio.run(ddb.handle_request("POST", "/", {"x-amz-target": f"DynamoDB_20120810.{target}"},
                                                      json.dumps(body).encode(), {}))
        assert status == 200
    live = next(t for (_, _, name), t in ddb._tables.all_items() if name == table)

    services = {name: importlib.import_module(f"ministack.services.{name}")  # loaded, so they are saved
                for name in ("cloudwatch", "cloudwatch_logs", "apigateway_v1")}

    snapshotter = Snapshotter(StackPaths(tmp_path), app, persistence, None)
    captured = snapshotter._capture()

    written = next(t for (_, _, name), t in captured["states"]["dynamodb"]["tables"].all_items() if name == table)
    assert written["items"] is live["items"]
    # Every service's stores, also where `get_state` imports `copy` itself (API Gateway).
    states = captured["states"]
    for key, store in (("cloudwatch", "_metrics"), ("cloudwatch_logs", "_log_records"), ("apigateway_v1", "_rest_apis")):
        assert states[key][store.lstrip("_")] is getattr(services[key], store), key
    # MiniStack copies again once the capture is done.
    again = next(t for (_, _, name), t in ddb.get_state()["tables"].all_items() if name == table)
    assert again["items"] == live["items"] and again["items"] is not live["items"]
    assert (json.dumps(ddb.get_state(), default=persistence._json_default, sort_keys=True)
            == json.dumps(captured["states"]["dynamodb"], default=persistence._json_default, sort_keys=True))
    # Encoded by durable/encode.py, the file loads back as what MiniStack's own json would have written.
    written_file = snapshotter._serialise(captured, False, {}).files["dynamodb.json"]
    assert isinstance(written_file, bytes)
    hook = persistence._json_object_hook
    assert (json.loads(written_file, object_hook=hook)["payload"]["tables"]._data
            == json.loads(json.dumps(captured["states"]["dynamodb"], default=persistence._json_default),
                          object_hook=hook)["tables"]._data)


class _ClosesAfterEachAnswer(http.server.BaseHTTPRequestHandler):
    """Answers as HTTP/1.1 (the client keeps the connection) but closes it after every answer."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append(body)
        status, answer = {b"ok": (200, b"{}"), b"held": (400, b'{"__type": "x#ConditionalCheckFailedException"}')}.get(
            body, (400, b'{"__type": "x#ValidationException"}'))
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def closing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ClosesAfterEachAnswer)
    server.got = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _entry(body: str) -> journal.Entry:
    return journal.Entry(at=1.0, operation="PutItem", path="/", headers={"Content-Type": "application/json"}, body=body)


def test_a_replay_survives_a_connection_the_server_closed_and_sends_each_write_once(closing_server):
    replayer = recovery._Replayer(f"http://127.0.0.1:{closing_server.server_address[1]}")
    answers = [replayer.send(_entry(body)) for body in ("ok", "ok", "held", "bad")]
    replayer.close()
    assert answers[:3] == ["", "", ""]  # ConditionalCheckFailed: the snapshot holds it
    assert answers[3].startswith("HTTP 400") and "ValidationException" in answers[3]
    assert closing_server.got == [b"ok", b"ok", b"held", b"bad"]


def test_a_replay_nobody_answers_says_why():
    closed = http.server.HTTPServer(("127.0.0.1", 0), _ClosesAfterEachAnswer)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    replayer = recovery._Replayer(f"http://127.0.0.1:{port}")
    assert "refused" in replayer.send(_entry("ok")).lower()
