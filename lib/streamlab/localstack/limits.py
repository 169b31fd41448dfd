"""The local stack's limits: timeouts, connection cap, JSON depth, log size (documented in the README).

Every listener of ours (front door, ESM) is served with `serve_limits`: a connection must finish
sending a request's headers, and an idle keep-alive connection is closed, `IDLE_TIMEOUT` seconds
after it opened or after its last response (aiohttp uses one timer for both), and a body we read
must arrive within `BODY_TIMEOUT`; at most
`MAX_CONNECTIONS` connections are open at once, and the next one is closed at once. Every call we
make upstream has a timeout (`UPSTREAM_TIMEOUT`, or the integration's own for API calls).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp
from aiohttp import web

R = TypeVar("R")

IDLE_TIMEOUT = 15.0  # seconds: header read, and idle keep-alive
BODY_TIMEOUT = 60.0  # seconds to receive a whole request body we read (a 10 MB body takes well under 1 s)
MAX_CONNECTIONS = 4096  # the load generator opens at most 1,000 per worker process
# A forwarded call waits this long for MiniStack's answer to start, then 504 (MiniStack hung).
UPSTREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=60)
MAX_JSON_DEPTH = 32  # a control-plane body nested deeper is refused, not parsed recursively
# CHOSEN: API Gateway documents no depth limit; a REST API body nested deeper than this is a 400.
API_MAX_JSON_DEPTH = 128
# Bodies larger than this are parsed, validated and rendered on a worker thread, off the event loop.
OFFLOAD_BYTES = 64 * 1024
LOG_MAX_BYTES = 10 * 1024 * 1024  # per log file; LOG_BACKUPS rotated copies are kept
LOG_BACKUPS = 3


class BodyTimeout(Exception):
    """The client did not send its whole body within BODY_TIMEOUT."""


async def read_body(read: Callable[[], Awaitable[R]]) -> R:
    """`await read()`, or BodyTimeout after BODY_TIMEOUT: a client trickling its body holds no
    connection for ever."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            return await read()
    except TimeoutError:
        raise BodyTimeout(f"the request body did not arrive within {BODY_TIMEOUT:.0f} s") from None


class TooDeep(json.JSONDecodeError):
    """A JSON document nested deeper than allowed: bad input, like any other unparseable body."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"nested deeper than {max_depth} levels", "", 0)

    def __str__(self) -> str:
        return self.msg


def exceeds_depth(document: Any, limit: int) -> bool:
    """True if lists/objects in `document` nest deeper than `limit` (iterative: no recursion)."""
    pending = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def load_json(raw: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, but a document nested deeper than `max_depth` is a ValueError (TooDeep), never a
    RecursionError: a 10,000-deep body is bad input, not a crash."""
    try:
        document = json.loads(raw)
    except RecursionError:
        raise TooDeep(max_depth) from None
    if _openings(raw) > max_depth and exceeds_depth(document, max_depth):
        raise TooDeep(max_depth)
    return document


def _openings(raw: bytes | str) -> int:
    # Each level of nesting opens a bracket, so a text with fewer brackets than the limit needs no
    # walk (brackets inside strings only count too many). Most bodies: a handful, counted in C.
    if isinstance(raw, str):
        return raw.count("{") + raw.count("[")
    return raw.count(b"{") + raw.count(b"[")


async def run_sized(size: int, work: Callable[..., R], *args: Any, **kwargs: Any) -> R:
    """`work(*args, **kwargs)`, on a worker thread when it handles more than OFFLOAD_BYTES, so a
    large body never stalls the event loop (and every other client) while it is parsed or rendered."""
    if size > OFFLOAD_BYTES:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)


def runner_options() -> dict[str, Any]:
    """Keyword arguments of `web.AppRunner` for our listeners."""
    return {"keepalive_timeout": IDLE_TIMEOUT}


def cap_connections(runner: web.AppRunner, limit: int | None = None) -> None:
    """Close any connection beyond `limit` (MAX_CONNECTIONS) as soon as it is accepted (after `runner.setup()`)."""
    server = runner.server
    assert server is not None, "call cap_connections after runner.setup()"
    accept = server.connection_made
    limit = MAX_CONNECTIONS if limit is None else limit

    def connection_made(handler: Any, transport: Any) -> None:
        accept(handler, transport)
        if len(server.connections) > limit:
            transport.close()

    server.connection_made = connection_made  # type: ignore[method-assign]


# Lambda runs a function for up to 900 s; a synchronous Invoke forwarded to MiniStack may take that long.
_INVOKE_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=905)


def upstream_timeout(path: str) -> aiohttp.ClientTimeout:
    """The timeout of a forwarded call: long enough for a synchronous Lambda Invoke, 60 s otherwise."""
    if path.startswith("/2015-03-31/functions/") and path.rstrip("/").endswith("/invocations"):
        return _INVOKE_TIMEOUT
    return UPSTREAM_TIMEOUT
