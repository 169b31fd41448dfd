"""The keep-alive backend client (backend_pool.py) and dynamodb.call over it, case by case, against a
loopback server that plays one scripted action per request, on asyncio's loop and on uvloop."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

import pytest
import uvloop

from streamlab.localstack.apiexec import backend_pool, dynamodb
from streamlab.localstack.apiexec.backend_pool import BackendConnectionError, BackendPool
from streamlab.localstack.durable.journal import Journal, entries_since
from streamlab.localstack.state import StackPaths

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
Action = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]  # True: hang up after it


def answer(data: bytes) -> Action:
    async def act(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        await writer.drain()
        return False
    return act


def answer_in_pieces(data: bytes, size: int = 1) -> Action:
    async def act(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        for start in range(0, len(data), size):
            writer.write(data[start:start + size])
            await writer.drain()
            await asyncio.sleep(0)
        return False
    return act


def answer_after(seconds: float, data: bytes) -> Action:
    async def act(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(seconds)
        writer.write(data)
        return False
    return act


async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    return True


def answer_then_hang_up(data: bytes) -> Action:
    async def act(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        await answer(data)(reader, writer)
        return True
    return act


async def post_twice(*actions: Action) -> tuple[backend_pool.RawResponse, backend_pool.RawResponse, Backend]:
    """Two posts through one pool to a backend playing `actions`."""
    backend = Backend(*actions)
    pool = BackendPool(await backend.start())
    first = await pool.post("/", b"a", {})
    second = await pool.post("/", b"b", {})
    await backend.stop()
    return first, second, backend


class Backend:
    """Reads requests on any connection and plays the next action for each; `served` lists
    (connection number, request) in order."""

    def __init__(self, *actions: Action) -> None:
        self.actions = list(actions)
        self.served: list[tuple[int, bytes]] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.sleep(0.01)  # the handlers see their ends closed and return

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        self.writers.append(writer)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                self.served.append((number, request))
                if not self.actions or await self.actions.pop(0)(reader, writer):
                    return
        except ConnectionError:
            pass  # the client closed it mid-answer
        finally:
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request) -> Callable[[Awaitable[Any]], Any]:
    return asyncio.run if request.param == "asyncio" else uvloop.run


async def _settle() -> None:
    await asyncio.sleep(0.05)  # both ends have seen a close by then


def test_a_kept_connection_needs_no_event_loop_lookup(run, loop_lookups):
    counter = loop_lookups(backend_pool)

    async def scenario() -> list[int]:
        backend = Backend(*[answer(OK)] * 20)
        pool = BackendPool(await backend.start())
        statuses = [(await pool.post("/", b"x", {})).status for _ in range(20)]
        await backend.stop()
        return statuses

    assert run(scenario()) == [200] * 20
    assert counter.lookups == 1  # for the first connection only


def test_a_stale_kept_alive_connection_is_retried_once_on_a_new_one(run):
    _, second, backend = run(post_twice(answer(OK), hang_up, answer(OK)))  # the 2nd request finds the connection closing
    assert second.status == 200
    assert [(n, r[-1:]) for n, r in backend.served] == [(1, b"a"), (1, b"b"), (2, b"b")]


def test_a_new_connection_the_backend_closes_is_an_error_without_retry(run):
    async def main():
        backend = Backend(hang_up, answer(OK))
        pool = BackendPool(await backend.start())
        with pytest.raises(BackendConnectionError, match="closed a new connection"):
            await pool.post("/", b"a", {})
        await backend.stop()
        return backend

    assert len(run(main()).served) == 1


def test_the_retry_on_a_new_connection_is_the_only_one(run):
    async def main():
        backend = Backend(answer(OK), hang_up, hang_up, answer(OK))
        pool = BackendPool(await backend.start())
        await pool.post("/", b"a", {})
        with pytest.raises(BackendConnectionError, match="closed a new connection"):
            await pool.post("/", b"b", {})
        await backend.stop()
        return backend

    assert [n for n, _ in run(main()).served] == [1, 1, 2]


def test_a_connection_the_backend_closed_while_idle_is_not_written_into(run):
    async def main():
        backend = Backend(answer(OK), answer_then_hang_up(OK), answer(OK))
        pool = BackendPool(await backend.start())
        await pool.post("/", b"a", {})
        await pool.post("/", b"b", {})  # answered, then the backend hangs up while the connection idles
        await _settle()
        third = await pool.post("/", b"c", {})
        await backend.stop()
        return third, backend

    third, backend = run(main())
    assert third.status == 200
    assert [n for n, _ in backend.served] == [1, 1, 2]


def test_a_timeout_closes_the_connection_and_a_late_answer_is_never_read(run):
    async def main():
        late = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate"
        backend = Backend(answer(OK), answer_after(0.3, late), answer(OK))
        pool = BackendPool(await backend.start())
        await pool.post("/", b"a", {}, timeout_s=5)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await pool.post("/", b"b", {}, timeout_s=0.1)
        waited = time.monotonic() - started
        third = await pool.post("/", b"c", {}, timeout_s=5)
        await backend.stop()
        return waited, third, backend

    waited, third, backend = run(main())
    assert 0.09 <= waited < 2.5  # this call's deadline, not the earlier call's 5 s
    assert third.body == b"{}"
    assert [n for n, _ in backend.served] == [1, 1, 2]


def test_a_later_deadline_outlives_an_earlier_shorter_one_on_the_same_connection(run):
    async def main():
        backend = Backend(answer(OK), answer_after(0.3, OK))
        pool = BackendPool(await backend.start())
        await pool.post("/", b"a", {}, timeout_s=0.1)  # arms the connection's timer 0.1 s ahead
        return await pool.post("/", b"b", {}, timeout_s=2), backend

    second, backend = run(main())
    assert second.status == 200 and backend.connections == 1


def test_a_timeout_while_connecting_is_a_timeout(monkeypatch):
    async def main():
        async def never(*args: Any, **kwargs: Any) -> None:
            await asyncio.sleep(10)
        monkeypatch.setattr(asyncio.get_running_loop(), "create_connection", never)  # not on uvloop's loop
        with pytest.raises(TimeoutError):
            await BackendPool("http://127.0.0.1:9").post("/", b"", {}, timeout_s=0.05)

    asyncio.run(main())


def test_a_cancelled_call_closes_its_connection(run):
    async def main():
        seen_closed = asyncio.Event()

        async def wait_for_the_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
            await reader.read()
            seen_closed.set()
            return True

        backend = Backend(wait_for_the_close, answer(OK))
        pool = BackendPool(await backend.start())
        task = asyncio.create_task(pool.post("/", b"a", {}))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(seen_closed.wait(), 1)  # closed at once, not left open
        second = await pool.post("/", b"b", {})
        await backend.stop()
        return second, backend

    second, backend = run(main())
    assert second.body == b"{}" and [n for n, _ in backend.served] == [1, 2]


def test_chunked_and_sized_bodies_arriving_byte_by_byte(run):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
               b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n")
    sized = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello"

    first, second, backend = run(post_twice(answer_in_pieces(chunked), answer_in_pieces(sized)))
    assert (first.status, first.headers["x-a"], first.body) == (200, "1", b"abc0123456789abcdef")
    assert (second.status, second.body) == (201, b"hello")
    assert backend.connections == 1


def test_a_large_body_in_many_pieces(run):
    body = bytes(range(256)) * 4096  # 1 MiB
    sized = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def main():
        backend = Backend(answer_in_pieces(sized, 16 * 1024))
        pool = BackendPool(await backend.start())
        response = await pool.post("/", b"a", {})
        await backend.stop()
        return response

    assert run(main()).body == body


def test_headers_too_large_are_an_error_and_close_the_connection(run, monkeypatch):
    monkeypatch.setattr(backend_pool, "MAX_HEADER_BYTES", 1024)

    async def main():
        huge = b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"b" * 2000 + b"\r\n"  # never ends its head
        backend = Backend(answer(huge), answer(OK))
        pool = BackendPool(await backend.start())
        with pytest.raises(BackendConnectionError, match="too large"):
            await pool.post("/", b"a", {})
        second = await pool.post("/", b"b", {})
        await backend.stop()
        return second, backend

    second, backend = run(main())
    assert second.body == b"{}" and [n for n, _ in backend.served] == [1, 2]


@pytest.mark.parametrize("answer_bytes", [
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    OK + b"HTTP/1.1 200 OK\r\n",  # more than was asked for: out of step
], ids=["connection-close", "http-1.0", "extra-bytes"])
def test_answers_that_end_the_connection_are_not_reused(run, answer_bytes):
    first, second, backend = run(post_twice(answer(answer_bytes), answer(OK)))
    assert first.body == b"{}" and second.body == b"{}"
    assert [n for n, _ in backend.served] == [1, 2]


def test_bytes_arriving_on_an_idle_connection_close_it(run):
    _, second, backend = run(post_twice(answer(OK + b"surprise"), answer(OK)))
    assert second.body == b"{}" and [n for n, _ in backend.served] == [1, 2]


def test_at_most_max_idle_connections_are_kept(run, monkeypatch):
    monkeypatch.setattr(backend_pool, "MAX_IDLE", 2)

    async def main():
        backend = Backend(*[answer_after(0.05, OK)] * 4, *[answer(OK)] * 4)
        pool = BackendPool(await backend.start())
        await asyncio.gather(*(pool.post("/", b"a", {}) for _ in range(4)))
        idle = len(pool._idle)
        await asyncio.gather(*(pool.post("/", b"b", {}) for _ in range(4)))
        await backend.stop()
        return idle, backend

    idle, backend = run(main())
    assert idle == 2 and backend.connections == 6


@pytest.mark.parametrize("bad", [
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXY0\r\n\r\n",
], ids=["content-length", "chunk-size", "chunk-end"])
def test_a_malformed_body_is_a_connection_error(run, bad):
    async def main():
        backend = Backend(answer(bad))
        pool = BackendPool(await backend.start())
        with pytest.raises(BackendConnectionError):
            await pool.post("/", b"a", {})
        await backend.stop()

    run(main())


def test_requests_carry_the_headers_and_the_body_length(run):
    async def main():
        backend = Backend(answer(OK), answer(OK), answer(OK))
        pool = BackendPool(await backend.start())
        for body, target in ((b'{"x":1}', "A"), (b"{}", "B"), (b"", "A")):
            await pool.post("/", body, {"X-Amz-Target": target})
        await backend.stop()
        return [request for _, request in backend.served]

    first, second, third = run(main())
    assert first.startswith(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:") and first.endswith(b'\r\n\r\n{"x":1}')
    assert b"X-Amz-Target: A\r\n" in first and b"Content-Length: 7\r\n" in first
    assert b"X-Amz-Target: B\r\n" in second and b"Content-Length: 2\r\n" in second and second.endswith(b"\r\n\r\n{}")
    assert b"X-Amz-Target: A\r\n" in third and b"Content-Length: 0\r\n" in third


def _call(pool: BackendPool, journal: Journal, timeout_s: float = 5) -> Awaitable[dynamodb.BackendResponse]:
    return dynamodb.call(None, "http://unused", region="us-east-1", action="PutItem", access_key="000000000000",
                         body=b"{}", timeout_s=timeout_s, pool=pool, journal=journal)  # type: ignore[arg-type]


def test_dynamodb_call_journals_only_successes_and_maps_errors(run, tmp_path):
    async def main():
        bad = b"HTTP/1.1 400 Bad\r\nContent-Length: 2\r\n\r\n{}"
        backend = Backend(answer(OK), answer(bad), answer_after(0.3, OK), hang_up)
        url = await backend.start()
        pool, journal = BackendPool(url), Journal(StackPaths(tmp_path), "frontdoor")
        statuses = [(await _call(pool, journal)).status, (await _call(pool, journal)).status]
        with pytest.raises(dynamodb.BackendTimeout):
            await _call(pool, journal, timeout_s=0.05)
        with pytest.raises(dynamodb.BackendUnreachable, match="closed a new connection"):
            await _call(pool, journal)
        await backend.stop()
        await backend.server.wait_closed()
        with pytest.raises(dynamodb.BackendUnreachable):
            await _call(BackendPool(url), journal)  # nothing listens there now
        return statuses, journal

    statuses, journal = run(main())
    journal.close()
    assert statuses == [200, 400]
    entries = entries_since(StackPaths(tmp_path), 0.0)
    assert [(e.operation, e.path, e.body) for e in entries] == [("PutItem", "/", "{}")]
