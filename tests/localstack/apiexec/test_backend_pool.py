"""The API executor's keep-alive backend client (backend_pool.py), against a small loopback server."""
from __future__ import annotations

import asyncio

import pytest

from streamlab.localstack.apiexec.backend_pool import BackendConnectionError, BackendPool


async def _serve(answers: list[bytes], close_after_each: bool = False):
    """A server that reads one request at a time and writes the next canned answer."""
    seen: list[bytes] = []
    connections = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            seen.append(head + await reader.readexactly(length))
            writer.write(answers.pop(0))
            await writer.drain()
            if close_after_each:
                break
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen, connections


def test_posts_reuse_one_connection_and_read_both_body_framings():
    async def main():
        answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\n{}",
                   b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"]
        server, url, seen, connections = await _serve(answers)
        pool = BackendPool(url)
        first = await pool.post("/", b'{"x":1}', {"X-Amz-Target": "DynamoDB_20120810.PutItem"})
        second = await pool.post("/", b"{}", {})
        pool.close()
        server.close()
        return first, second, seen, connections

    first, second, seen, connections = asyncio.run(main())
    assert (first.status, first.headers["x-a"], first.body) == (200, "1", b"{}")
    assert (second.status, second.body) == (400, b"abcde")
    assert len(connections) == 1  # kept alive
    assert seen[0].startswith(b"POST / HTTP/1.1\r\n") and b"X-Amz-Target: DynamoDB_20120810.PutItem" in seen[0]
    assert seen[0].endswith(b'\r\n\r\n{"x":1}')


def test_a_connection_the_backend_closed_while_idle_is_replaced():
    async def main():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        server, url, seen, connections = await _serve([ok, ok], close_after_each=True)
        pool = BackendPool(url)
        await pool.post("/", b"a", {})
        await asyncio.sleep(0.05)  # the server has closed the kept-alive connection by now
        again = await pool.post("/", b"b", {})
        server.close()
        return again, connections

    again, connections = asyncio.run(main())
    assert again.status == 200 and len(connections) == 2


def test_when_every_idle_connection_went_stale_the_retry_uses_a_new_one():
    async def main():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        server, url, seen, connections = await _serve([ok] * 4, close_after_each=True)
        pool = BackendPool(url)
        await asyncio.gather(pool.post("/", b"a", {}), pool.post("/", b"b", {}))  # two kept-alive connections
        await asyncio.sleep(0.05)  # the server closed both
        again = await pool.post("/", b"c", {})
        server.close()
        return again, connections

    again, connections = asyncio.run(main())
    assert again.status == 200 and len(connections) == 3


def test_connections_idle_too_long_are_not_reused(monkeypatch):
    from streamlab.localstack.apiexec import backend_pool

    async def main():
        ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        server, url, seen, connections = await _serve([ok, ok])
        pool = BackendPool(url)
        await pool.post("/", b"a", {})
        monkeypatch.setattr(backend_pool, "MAX_IDLE_S", 0.0)
        await pool.post("/", b"b", {})
        server.close()
        return connections

    assert len(asyncio.run(main())) == 2


def test_a_backend_that_is_not_there_is_a_connection_error():
    async def main():
        server, url, _, _ = await _serve([])
        server.close()
        await server.wait_closed()
        with pytest.raises((OSError, BackendConnectionError)):
            await BackendPool(url).post("/", b"", {})
        answers = [b"garbage\r\n\r\n"]
        server, url, _, _ = await _serve(answers)
        with pytest.raises(BackendConnectionError, match="not an HTTP"):
            await BackendPool(url).post("/", b"", {})
        server.close()

    asyncio.run(main())
