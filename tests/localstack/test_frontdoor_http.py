"""The front door's lean lane: which heads it takes, how it answers, and what it hands to aiohttp.

In-process: a `LeanServer` on a free port with a recording executor, and a plain aiohttp
server for the connections it hands over. The lanes against a real stack: apiexec/test_lanes.py.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from streamlab.localstack import frontdoor_http, limits
from streamlab.localstack.apiexec import gateway
from streamlab.localstack.apiexec.invocation import Invocation
from streamlab.localstack.frontdoor_http import LeanServer, encode_answer, read_head
from streamlab.localstack.proxy import Answer
from streamlab.localstack.stack import pick_free_port

INVOKE = "/restapis/abc123/dev/_user_request_/requests"
PLAIN = f"POST {INVOKE} HTTP/1.1\r\nHost: 127.0.0.1:4566\r\nContent-Type: application/json\r\nContent-Length: 2"


def test_an_ordinary_invocation_head_is_read_as_sent():
    invocation = read_head((PLAIN + "\r\nX-Api-Key:  k1 \r\nX-Two: a\r\nx-two: b").encode(), "127.0.0.9")
    assert invocation is not None
    assert (invocation.method, invocation.raw_path, invocation.host, invocation.source_ip) == (
        "POST", INVOKE, "127.0.0.1:4566", "127.0.0.9")
    assert invocation.headers["x-api-key"] == "k1"
    assert invocation.headers.getall("X-Two") == ["a", "b"]


def test_the_query_is_decoded_as_aiohttp_decodes_it():
    target = INVOKE + "?a=1+2&b=%C3%A9&a=3&empty=&c=%2B"
    invocation = read_head(PLAIN.replace(INVOKE, target).encode(), "127.0.0.1")
    assert invocation is not None and invocation.raw_path_only == INVOKE
    assert list(invocation.query.items()) == [("a", "1 2"), ("b", "é"), ("a", "3"), ("empty", ""), ("c", "+")]
    assert list(invocation.query.items()) == list(make_mocked_request("POST", target).query.items())


@pytest.mark.parametrize("change", [
    ("HTTP/1.1\r\n", "HTTP/1.0\r\n"),                        # HTTP/1.0: aiohttp's keep-alive rules
    ("POST ", "HEAD "),                                        # no body in the answer
    ("POST ", "post "),
    (f"POST {INVOKE}", f"POST http://127.0.0.1{INVOKE}"),      # absolute form
    (INVOKE, INVOKE + "/../../../_ministack/reset"),           # dot segments
    (INVOKE, INVOKE.replace("/requests", "//requests")),
    (INVOKE, INVOKE + "#frag"),
    (INVOKE, "/restapis/abc123/deployments"),                  # the control plane
    (INVOKE, "/_streamlab/health"),
    ("Content-Length: 2", "Content-Length: 2\r\nContent-Length: 2"),
    ("Content-Length: 2", "Content-Length: +2"),
    ("Content-Length: 2", f"Content-Length: {frontdoor_http.LEAN_MAX_BODY + 1}"),
    ("Content-Length: 2", "Transfer-Encoding: chunked"),
    ("Content-Length: 2", "Content-Length: 2\r\nExpect: 100-continue"),
    ("Content-Length: 2", "Content-Length: 2\r\nUpgrade: websocket"),
    ("Content-Length: 2", "Content-Length: 2\r\n X-Folded: on"),    # obs-fold
    ("Content-Length: 2", "Content-Length: 2\r\nX-Bad : v"),       # space before the colon
    ("Content-Length: 2", "Content-Length: 2\r\nNo colon"),
    ("Content-Length: 2", "Content-Length: 2\r\nX-Nul: a\x00b"),
    ("Content-Length: 2", "Content-Length: 2\r\nX-Name: caf\u00e9"),  # not ASCII
    ("Host: 127.0.0.1:4566\r\n", ""),
    ("Host: 127.0.0.1:4566", "Host: 127.0.0.1:4566\r\nHost: localhost"),
])
def test_anything_unusual_is_left_to_aiohttp(change):
    assert read_head(PLAIN.encode(), "127.0.0.1") is not None
    assert read_head(PLAIN.replace(*change).encode("utf-8"), "127.0.0.1") is None


def test_an_answer_is_written_with_the_headers_aiohttp_adds():
    answer = Answer(202, b'{"id":"x"}', "application/json")
    answer.headers["x-amzn-RequestId"] = "r-1"
    head, _, body = encode_answer(answer, keep_alive=True).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 202 Accepted"
    assert body == b'{"id":"x"}'
    fields = dict(line.split(": ", 1) for line in lines[1:])
    assert fields["Content-Length"] == "10" and fields["Content-Type"] == "application/json"
    assert fields["x-amzn-RequestId"] == "r-1" and fields["Date"].endswith(" GMT")
    assert "Connection" not in fields
    assert b"\r\nConnection: close\r\n" in encode_answer(answer, keep_alive=False)


class _Recorder:
    """The executor's seat: answers 202 with the body it got, or waits when told to."""

    def __init__(self) -> None:
        self.seen: list[tuple[Invocation, gateway.GatewayError | None]] = []
        self.hold: asyncio.Event | None = None

    async def invoke(self, invocation: Invocation, refusal: gateway.GatewayError | None = None) -> Answer:
        self.seen.append((invocation, refusal))
        if self.hold is not None:
            await self.hold.wait()
        if refusal is not None:
            return Answer(refusal.status, refusal.body(), "application/json")
        return Answer(202, b"lean:" + invocation.body, "text/plain")


@contextlib.asynccontextmanager
async def _lean_server(executor: _Recorder) -> AsyncIterator[tuple[int, LeanServer]]:
    async def by_aiohttp(request: web.BaseRequest) -> web.Response:
        return web.Response(status=200, body=b"aiohttp:" + await request.read())

    aiohttp_server = web.Server(by_aiohttp)
    server = LeanServer(executor, aiohttp_server)  # type: ignore[arg-type]
    port = pick_free_port()
    await server.start(port)
    try:
        yield port, server
    finally:
        await server.close(timeout=1)
        await aiohttp_server.shutdown(1)


def _request(body: bytes, path: str = INVOKE, extra: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    return int(head.split(b" ")[1]), await asyncio.wait_for(reader.readexactly(length), 10)


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bool:
    try:
        return await asyncio.wait_for(reader.read(), seconds) == b""
    except asyncio.TimeoutError:
        return False


def test_pipelined_requests_split_anywhere_are_answered_in_order():
    async def scenario() -> list[tuple[int, bytes]]:
        async with _lean_server(_Recorder()) as (port, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            stream = b"".join(_request(f"body-{i}".encode()) for i in range(5))
            for cut in range(0, len(stream), 7):  # heads and bodies cut at every odd place
                writer.write(stream[cut:cut + 7])
                await writer.drain()
                await asyncio.sleep(0)
            answers = [await _read_answer(reader) for _ in range(5)]
            writer.close()
            return answers

    assert asyncio.run(scenario()) == [(202, f"lean:body-{i}".encode()) for i in range(5)]


def test_the_lane_looks_up_its_event_loop_once_not_per_request(loop_lookups):
    counter = loop_lookups(frontdoor_http)

    async def scenario() -> list[tuple[int, bytes]]:
        async with _lean_server(_Recorder()) as (port, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            answers = []
            for i in range(20):
                writer.write(_request(f"b{i}".encode()))
                answers.append(await _read_answer(reader))
            writer.close()
            return answers

    assert asyncio.run(scenario()) == [(202, f"lean:b{i}".encode()) for i in range(20)]
    assert counter.lookups <= 1  # when the listener starts


def test_the_first_unusual_request_hands_the_connection_and_what_follows_to_aiohttp():
    async def scenario() -> tuple[list[tuple[int, bytes]], int, int]:
        executor = _Recorder()
        async with _lean_server(executor) as (port, server):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(b"one"))
            first = await _read_answer(reader)
            lanes_before = (len(server.connections), len(server.aiohttp_server.connections))
            # A chunked body, then an ordinary invocation, in one write: both now go to aiohttp.
            writer.write(f"POST {INVOKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "3\r\ntwo\r\n0\r\n\r\n".encode() + _request(b"three"))
            rest = [await _read_answer(reader) for _ in range(2)]
            lanes_after = (len(server.connections), len(server.aiohttp_server.connections))
            writer.close()
            return [first, *rest], lanes_before, lanes_after, len(executor.seen)

    answers, before, after, executed = asyncio.run(scenario())
    assert answers == [(202, b"lean:one"), (200, b"aiohttp:two"), (200, b"aiohttp:three")]
    assert (before, after, executed) == ((1, 0), (0, 1), 1)


def test_connection_close_is_honoured_after_the_answer():
    async def scenario() -> tuple[tuple[int, bytes], bool]:
        async with _lean_server(_Recorder()) as (port, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(b"x", extra="Connection: close\r\n"))
            return await _read_answer(reader), await _closed_within(reader, 10)

    assert asyncio.run(scenario()) == ((202, b"lean:x"), True)


def test_a_head_that_never_ends_and_an_idle_connection_are_closed(monkeypatch):
    monkeypatch.setattr(limits, "IDLE_TIMEOUT", 0.5)

    async def scenario() -> tuple[bool, bool, bool]:
        async with _lean_server(_Recorder()) as (port, _):
            slow_reader, slow = await asyncio.open_connection("127.0.0.1", port)
            slow.write(f"POST {INVOKE} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
            idle_reader, _ = await asyncio.open_connection("127.0.0.1", port)
            served_reader, served = await asyncio.open_connection("127.0.0.1", port)
            served.write(_request(b"x"))
            await _read_answer(served_reader)  # then idle after its answer
            return (await _closed_within(slow_reader, 10), await _closed_within(idle_reader, 10),
                    await _closed_within(served_reader, 10))

    assert asyncio.run(scenario()) == (True, True, True)


def test_a_body_that_never_arrives_in_full_is_answered_408_and_the_connection_closed(monkeypatch):
    monkeypatch.setattr(limits, "BODY_TIMEOUT", 0.5)

    async def scenario() -> tuple[tuple[int, bytes], bool, gateway.GatewayError | None]:
        executor = _Recorder()
        async with _lean_server(executor) as (port, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(b"0123456789")[:-5])  # and never the other five bytes
            answer = await _read_answer(reader)
            return answer, await _closed_within(reader, 10), executor.seen[0][1]

    answer, closed, refusal = asyncio.run(scenario())
    assert answer[0] == 408 and closed and refusal == gateway.REQUEST_TIMEOUT


def test_connections_on_either_lane_count_against_the_cap(monkeypatch):
    monkeypatch.setattr(limits, "MAX_CONNECTIONS", 2)

    async def scenario() -> tuple[bool, tuple[int, bytes], tuple[int, bytes]]:
        async with _lean_server(_Recorder()) as (port, _):
            lean_reader, lean = await asyncio.open_connection("127.0.0.1", port)
            handed_reader, handed = await asyncio.open_connection("127.0.0.1", port)
            handed.write(_request(b"h", path="/_streamlab/health"))
            handed_answer = await _read_answer(handed_reader)
            extra_reader, _ = await asyncio.open_connection("127.0.0.1", port)
            extra_closed = await _closed_within(extra_reader, 10)
            lean.write(_request(b"l"))
            return extra_closed, await _read_answer(lean_reader), handed_answer

    assert asyncio.run(scenario()) == (True, (202, b"lean:l"), (200, b"aiohttp:h"))


def test_closing_lets_an_answer_in_progress_finish():
    async def scenario() -> tuple[int, bytes]:
        executor = _Recorder()
        executor.hold = asyncio.Event()
        async with _lean_server(executor) as (port, server):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(b"slow"))
            while not executor.seen:
                await asyncio.sleep(0.01)
            closing = asyncio.create_task(server.close(timeout=10))
            await asyncio.sleep(0.1)
            executor.hold.set()
            answer = await _read_answer(reader)
            await closing
            return answer

    assert asyncio.run(scenario()) == (202, b"lean:slow")
