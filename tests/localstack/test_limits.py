"""The listeners' limits (header/idle timeout, connection cap), upstream timeouts, log rotation,
and large bodies handled off the event loop."""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import stat
import threading
import time

import aiohttp
import pytest
from aiohttp import web

from streamlab.localstack import frontdoor, limits, logrotate, service
from streamlab.localstack.stack import pick_free_port
from streamlab.localstack.state import StackPaths


@contextlib.asynccontextmanager
async def _serving(app: web.Application):
    port = pick_free_port()
    task = asyncio.create_task(service.serve_app(app, port, "test listener"))
    for _ in range(200):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        await asyncio.sleep(0.05)
    try:
        yield port
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _hello_app() -> web.Application:
    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app = web.Application()
    app.router.add_get("/", hello)
    return app


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except asyncio.TimeoutError:
        return False


def test_a_client_that_never_finishes_its_headers_is_disconnected(monkeypatch):
    monkeypatch.setattr(limits, "IDLE_TIMEOUT", 1.0)

    async def scenario() -> tuple[bool, bool]:
        async with _serving(_hello_app()) as port:
            slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)
            slow.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and never the rest
            idle_reader, idle = await asyncio.open_connection("127.0.0.1", port)  # sends nothing at all
            return await _closed_within(slow_reader, 20), await _closed_within(idle_reader, 20)

    assert asyncio.run(scenario()) == (True, True)


def test_connections_beyond_the_cap_are_closed_at_once(monkeypatch):
    monkeypatch.setattr(limits, "MAX_CONNECTIONS", 3)

    async def scenario() -> tuple[list[bool], bool]:
        async with _serving(_hello_app()) as port:
            kept = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
            await asyncio.sleep(0.2)
            extra_reader, _ = await asyncio.open_connection("127.0.0.1", port)
            extra_closed = await _closed_within(extra_reader, 10)
            still_served = []
            for reader, writer in kept:
                writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                still_served.append((await asyncio.wait_for(reader.readline(), 10)).startswith(b"HTTP/1.1 200"))
            return still_served, extra_closed

    assert asyncio.run(scenario()) == ([True, True, True], True)


def test_a_hung_upstream_gets_an_aws_shaped_504(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "UPSTREAM_TIMEOUT", aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=1))
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(16)  # accepts connections, never answers
    paths = StackPaths(tmp_path)
    paths.create()

    async def scenario() -> tuple[int, dict]:
        app = frontdoor.make_app(f"http://127.0.0.1:{hung.getsockname()[1]}", paths)
        async with _serving(app) as port, aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/2015-03-31/functions/", timeout=aiohttp.ClientTimeout(total=30)) as resp:
                return resp.status, json.loads(await resp.read())

    try:
        status, body = asyncio.run(scenario())
    finally:
        hung.close()
    assert status == 504 and body["__type"] == "ServiceUnavailable"


def test_large_work_runs_off_the_event_loop():
    def where(_: object) -> str:
        return threading.current_thread().name

    async def scenario() -> tuple[str, str]:
        small = await limits.run_sized(10, where, None)
        large = await limits.run_sized(limits.OFFLOAD_BYTES + 1, where, None)
        return small, large

    small, large = asyncio.run(scenario())
    assert small == threading.main_thread().name and large != small


def test_load_json_refuses_deep_documents_without_recursing():
    assert limits.load_json(b'{"a": [[1]]}', 3) == {"a": [[1]]}
    for raw, depth in ((b'{"a": [[1]]}', 2), (b"[" * 100_000 + b"]" * 100_000, 32)):
        with pytest.raises(limits.TooDeep):
            limits.load_json(raw, depth)
    # Brackets inside strings count toward the quick bound, never toward the depth; text as str too.
    assert limits.load_json('{"a": "[[[[{{{{"}', 2) == {"a": "[[[[{{{{"}
    with pytest.raises(limits.TooDeep):
        limits.load_json('[[["x"]]]', 2)


def test_logs_are_rotated_once_too_large_keeping_a_few_private_copies(tmp_path):
    log = tmp_path / "ministack.log"
    with open(log, "ab") as writer:  # the service's own descriptor, as spawned (O_APPEND)
        for round_ in range(5):
            writer.write(f"round {round_} ".encode() * 200)
            writer.flush()
            assert logrotate.rotate_if_large(log, max_bytes=1000, backups=3)
        writer.write(b"after")
        writer.flush()
    assert log.read_bytes() == b"after"  # the writer goes on at the start of the emptied file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ministack.log", "ministack.log.1", "ministack.log.2", "ministack.log.3"]
    assert (tmp_path / "ministack.log.1").read_bytes().startswith(b"round 4")
    assert stat.S_IMODE((tmp_path / "ministack.log.1").stat().st_mode) == 0o600
    assert not logrotate.rotate_if_large(log, max_bytes=1000)


def test_a_body_that_never_arrives_in_full_gets_a_408(monkeypatch, tmp_path):
    head = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\nContent-Length: 100\r\n\r\n{"
    monkeypatch.setattr(limits, "BODY_TIMEOUT", 1.0)
    paths = StackPaths(tmp_path)
    paths.create()

    async def scenario() -> bytes:
        app = frontdoor.make_app("http://127.0.0.1:9", paths)
        async with _serving(app) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head)  # and never the other 99 bytes
            return await asyncio.wait_for(reader.readline(), 30)

    assert asyncio.run(scenario()).startswith(b"HTTP/1.1 408")
