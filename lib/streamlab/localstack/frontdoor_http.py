"""The front door's connections: ordinary REST API invocations on a lean lane, the rest on aiohttp.

Under load most of the front door's requests are API invocations, and aiohttp's request and
response machinery took about a fifth of the front door's CPU per invocation (0.09 of 0.49 ms,
measured by serving the same executor behind a bare protocol). So every connection starts on
the lean lane: `LeanConnection` reads each request's head itself and, when it is an ordinary
invocation, runs the guard's checks and the executor and writes the answer. Ordinary means:
HTTP/1.1, a method other than HEAD, an origin-form path that names a REST API without dot
segments or doubled slashes, one Host, a body sized by Content-Length up to `LEAN_MAX_BODY`, no
Transfer-Encoding, Expect or Upgrade, and nothing in the head outside printable ASCII.

The first request that is anything else hands the connection, with every byte not yet consumed,
to aiohttp for the rest of its life. So aiohttp still answers what is unusual (the control plane,
chunked or large bodies, 100-continue, HTTP/1.0, malformed heads) as it always did, and the lean
lane only parses what it can parse exactly. Both lanes call the same `Executor.invoke` and write
the same `Answer`, so an API answers alike on either.

The lean lane keeps the listener's limits (`limits`): a head must arrive within IDLE_TIMEOUT of
the connection opening or of the last answer, a body within BODY_TIMEOUT (then 408), and
connections beyond MAX_CONNECTIONS, on either lane, are closed at once.
"""
from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from streamlab.localstack import guard, limits
from streamlab.localstack.apiexec import gateway
from streamlab.localstack.apiexec.invocation import Invocation
from streamlab.localstack.awserror import AwsError
from streamlab.localstack.proxy import Answer

if TYPE_CHECKING:
    from streamlab.localstack.apiexec.service import Executor

log = logging.getLogger("streamlab.frontdoor")

LEAN_MAX_HEAD = 8 * 1024
LEAN_MAX_BODY = limits.OFFLOAD_BYTES  # larger bodies go to aiohttp, which validates them off the event loop
# Reading stops while this much of a pipelining client's next requests waits in the buffer.
_PAUSE_READING_BYTES = 256 * 1024
_HEAD_END = b"\r\n\r\n"
# Header lines: a token, a colon, a value of visible ASCII, spaces and tabs (no obs-fold, no
# space before the colon); the value without the spaces and tabs around it.
_FIELDS = re.compile(r"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e]*\r\n)*")
_FIELD = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[\t ]*((?:[\x21-\x7e]+(?:[\t ]+[\x21-\x7e]+)*)?)[\t ]*\r\n")
_METHOD = re.compile(r"[A-Z]+")
_TARGET = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$|\?)|//")
_REASONS = {status.value: status.phrase for status in HTTPStatus}


class LeanServer:
    """The front door's listener: a `LeanConnection` per connection, `aiohttp_server` for the rest."""

    def __init__(self, executor: Executor, aiohttp_server: web.Server) -> None:
        self.executor = executor
        self.aiohttp_server = aiohttp_server
        self.connections: set[LeanConnection] = set()
        self._listener: asyncio.base_events.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def start(self, port: int) -> None:
        self.loop = loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: LeanConnection(self), "127.0.0.1", port, backlog=1024, reuse_address=True)

    def open_connections(self) -> int:
        return len(self.connections) + len(self.aiohttp_server.connections)

    async def close(self, timeout: float = 10.0) -> None:
        """Stop accepting, let answers in progress finish (up to `timeout`), close the lean connections."""
        if self._listener is not None:
            self._listener.close()
        busy = [c.task for c in self.connections if c.task is not None]
        if busy:
            await asyncio.wait(busy, timeout=timeout)
        for connection in list(self.connections):
            connection.close()


class LeanConnection(asyncio.Protocol):
    """One client connection while its requests are ordinary invocations (see the module docstring)."""

    def __init__(self, server: LeanServer) -> None:
        self.server = server
        # Kept, not asked for per request: Python 3.11's get_running_loop makes a getpid call each time.
        self.loop = server.loop or asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.task: asyncio.Task[None] | None = None
        self.source_ip = "127.0.0.1"
        self._timer: asyncio.TimerHandle | None = None
        self._waiting_body: Invocation | None = None
        self._reading_paused = False
        self._writing_paused = False

    # -- asyncio.Protocol ------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server.connections.add(self)
        if self.server.open_connections() > limits.MAX_CONNECTIONS:
            self.close()
            return
        peer = transport.get_extra_info("peername")
        if peer:
            self.source_ip = peer[0]
        self._arm(limits.IDLE_TIMEOUT)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _PAUSE_READING_BYTES and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]
        if self.task is None:
            self._advance()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._disarm()
        self.transport = None  # an answer still being made is dropped

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        if self.task is None:
            self._advance()

    def close(self) -> None:
        self._disarm()
        if self.transport is not None:
            self.transport.close()

    # -- requests -------------------------------------------------------------------------------

    def _advance(self) -> None:
        """Start on the next request in the buffer if it is complete (or hand the connection over)."""
        if self.transport is None or self._writing_paused:
            return
        if self._waiting_body is not None:
            self._take_body(self._waiting_body)
            return
        end = self.buffer.find(_HEAD_END, 0, LEAN_MAX_HEAD + len(_HEAD_END))
        if end < 0:
            if len(self.buffer) > LEAN_MAX_HEAD or b"\n\n" in self.buffer:
                self._hand_to_aiohttp()
            return
        invocation = read_head(bytes(self.buffer[:end]), self.source_ip)
        if invocation is None:
            self._hand_to_aiohttp()
            return
        del self.buffer[:end + len(_HEAD_END)]
        self._take_body(invocation)

    def _take_body(self, invocation: Invocation) -> None:
        size = int(invocation.headers.get("Content-Length", "0"))
        if len(self.buffer) < size:
            if self._waiting_body is None:
                self._waiting_body = invocation
                self._arm(limits.BODY_TIMEOUT)
            return
        self._waiting_body = None
        invocation.body = bytes(self.buffer[:size])
        del self.buffer[:size]
        self._start(invocation, None)

    def _start(self, invocation: Invocation, refusal: gateway.GatewayError | None) -> None:
        self._disarm()
        if self._reading_paused and len(self.buffer) <= _PAUSE_READING_BYTES:
            self._reading_paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]
        self.task = self.loop.create_task(self._answer(invocation, refusal))

    async def _answer(self, invocation: Invocation, refusal: gateway.GatewayError | None) -> None:
        keep_alive = refusal is None and invocation.headers.get("Connection", "").lower() != "close"
        try:
            guard.check(invocation.headers, invocation.raw_path, is_data_plane=True)
            answer = await self.server.executor.invoke(invocation, refusal)
        except AwsError as refused:
            answer = Answer.of_error(refused)
        except Exception:
            log.exception("front door failed on %s %s", invocation.method, invocation.raw_path_only)
            answer = Answer.of_error(AwsError(500, "ServiceException", "The local stack failed on this call "
                                              "(a bug; see its log under STREAMLAB_HOME/logs)."))
        finally:
            self.task = None
        if self.transport is None:
            return
        self.transport.write(encode_answer(answer, keep_alive))
        if not keep_alive:
            self.close()
            return
        self._arm(limits.IDLE_TIMEOUT)
        if self.buffer:
            self._advance()

    def _hand_to_aiohttp(self) -> None:
        """aiohttp serves this connection from here on, starting with the bytes not yet consumed."""
        self._disarm()
        self.server.connections.discard(self)
        transport, self.transport = self.transport, None
        handler = self.server.aiohttp_server()
        transport.set_protocol(handler)  # type: ignore[union-attr]
        handler.connection_made(transport)  # type: ignore[arg-type]
        if self._reading_paused:
            transport.resume_reading()  # type: ignore[union-attr]
        if self.buffer:
            handler.data_received(bytes(self.buffer))
        self.buffer.clear()

    # -- timeouts -------------------------------------------------------------------------------

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expire)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        if self._waiting_body is not None:
            invocation, self._waiting_body = self._waiting_body, None
            self.buffer.clear()
            self._start(invocation, gateway.REQUEST_TIMEOUT)  # answered, then the connection is closed
        elif self.task is None:
            self.close()  # no head within the timeout, or idle since the last answer


def read_head(head: bytes, source_ip: str) -> Invocation | None:
    """The invocation this request head starts, or None when the lean lane leaves it to aiohttp."""
    if not head.isascii():
        return None
    request_line, _, fields = head.decode("ascii").partition("\r\n")
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1" or not _METHOD.fullmatch(parts[0]) or parts[0] == "HEAD":
        return None
    method, target = parts[0], parts[1]
    if not _TARGET.fullmatch(target) or _DOT_SEGMENT.search(target) is not None:
        return None
    fields += "\r\n"
    if _FIELDS.fullmatch(fields) is None:
        return None
    headers: CIMultiDict[str] = CIMultiDict(_FIELD.findall(fields))
    if not _is_plain(headers):
        return None
    invocation = Invocation(method, target, CIMultiDictProxy(headers), b"", source_ip)
    if invocation.target is None:
        return None
    return invocation


def _is_plain(headers: CIMultiDict[str]) -> bool:
    if "Transfer-Encoding" in headers or "Expect" in headers or "Upgrade" in headers:
        return False
    if len(headers.getall("Host", ())) != 1:
        return False
    lengths = headers.getall("Content-Length", ())
    if not lengths:
        return True
    return len(lengths) == 1 and lengths[0].isdigit() and int(lengths[0]) <= LEAN_MAX_BODY


def encode_answer(answer: Answer, keep_alive: bool) -> bytes:
    """The answer as HTTP/1.1 bytes, with the headers aiohttp would add (Date, Content-Length)."""
    lines = [f"HTTP/1.1 {answer.status} {_REASONS.get(answer.status, '')}", f"Content-Length: {len(answer.body)}"]
    if "Date" not in answer.headers:
        lines.append(f"Date: {_http_date(int(time.time()))}")
    if answer.content_type is not None:
        lines.append(f"Content-Type: {answer.content_type}")
    lines += [f"{name}: {value}" for name, value in answer.headers.items()]
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + answer.body


_date_cache: tuple[int, str] = (0, "")


def _http_date(epoch_s: int) -> str:
    global _date_cache
    if _date_cache[0] != epoch_s:
        _date_cache = (epoch_s, email.utils.formatdate(epoch_s, usegmt=True))
    return _date_cache[1]
