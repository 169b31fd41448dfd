"""What the front door and the services behind it share: routes, the context, forwarding.

The front door (`frontdoor`) imports the services (`apiexec.service`, `esm.routes`); they
import only this module and `awserror`, never the front door.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp
from aiohttp import web

from streamlab.localstack import limits
from streamlab.localstack.awserror import aws_error
from streamlab.localstack.durable.journal import Journal, wants_body
from streamlab.localstack.state import StackPaths

_HOP_BY_HOP = frozenset(
    h.lower()
    for h in (
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
        "TE", "Trailer", "Trailers", "Transfer-Encoding", "Upgrade",
    )
)


@dataclass
class FrontDoorContext:
    """What every service behind the front door shares."""

    upstream: str
    paths: StackPaths
    http: aiohttp.ClientSession = field(repr=False)
    # Acknowledged state changes since MiniStack's last snapshot (streamlab.localstack.durable).
    journal: Journal | None = field(default=None, repr=False)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    name: str
    matches: Callable[[web.Request], bool]
    handle: Handler
    # API Gateway's data plane: web pages may call it (CORS is the API's business).
    data_plane: bool = False


# A body the front door read already (to check it) is kept on the request under this key and
# forwarded as read.
BODY_KEY = "streamlab.forward_body"


def _forward_headers(headers: "aiohttp.typedefs.LooseHeaders") -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP]


async def forward(request: web.Request, ctx: FrontDoorContext, unreachable_hint: str = "") -> web.StreamResponse:
    """Send the request to `ctx.upstream` (MiniStack unless a service says otherwise) as it came
    and stream the answer back. `unreachable_hint` replaces the message when it cannot be reached."""
    url = ctx.upstream + request.raw_path
    body = request.get(BODY_KEY)
    if body is None and request.body_exists:
        body = request.content
        if wants_body(request.method, request.headers.get("X-Amz-Target", "")):
            body = await request.read()  # a DynamoDB item write, journalled whole for replay
    try:
        async with ctx.http.request(
            request.method, url, headers=_forward_headers(request.headers), data=body,
            allow_redirects=False, timeout=limits.upstream_timeout(request.path),
        ) as upstream:
            if ctx.journal is not None and upstream.status < 300:
                # Before the client hears of it: every acknowledged change is journalled.
                ctx.journal.record(request.method, request.path, request.headers,
                                   body if isinstance(body, bytes) else None)
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP:
                    response.headers.add(key, value)
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except asyncio.TimeoutError:  # before ClientConnectionError: aiohttp's read timeout is both
        return aws_error(504, "ServiceUnavailable", f"{ctx.upstream} did not answer in time; if MiniStack hangs, "
                                                    "restart the stack with `streamlab down` then `streamlab up`.")
    except aiohttp.ClientConnectionError as exc:
        return aws_error(502, "ServiceUnavailable", unreachable_hint or f"MiniStack at {ctx.upstream} is unreachable: {exc}")
