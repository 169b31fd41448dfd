"""What the front door and the services behind it share: routes, the context, answers, forwarding.

The front door (`frontdoor`) imports the services (`apiexec.service`, `esm.routes`); they
import only this module and `awserror`, never the front door.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from contextlib import asynccontextmanager
from typing import AsyncIterator, Awaitable, Callable, Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from streamlab.localstack import limits
from streamlab.localstack.awserror import ERROR_CONTENT_TYPE, AwsError, error_document
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


@dataclass
class Answer:
    """A whole answer as plain data, for either of the front door's lanes (`frontdoor_http`)."""

    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: CIMultiDict[str] = field(default_factory=CIMultiDict)

    @classmethod
    def of_error(cls, error: AwsError) -> Answer:
        answer = cls(error.status, error_document(error.status, error.code, error.message), ERROR_CONTENT_TYPE)
        answer.headers["x-amzn-ErrorType"] = error.code
        return answer

    def to_response(self) -> web.Response:
        response = web.Response(status=self.status, body=self.body, headers=self.headers)
        if self.content_type is not None:
            response.headers["Content-Type"] = self.content_type
        return response


# A body the front door read already (to check it) is kept on the request under this key and
# forwarded as read.
BODY_KEY = "streamlab.forward_body"


def _forward_headers(headers: "aiohttp.typedefs.LooseHeaders") -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP]


async def forward(request: web.Request, ctx: FrontDoorContext, unreachable_hint: str = "") -> web.StreamResponse:
    """Send the request to `ctx.upstream` (MiniStack unless a service says otherwise) as it came
    and stream the answer back. `unreachable_hint` replaces the message when it cannot be reached."""
    body = request.get(BODY_KEY)
    if body is None and request.body_exists:
        body = request.content
        if wants_body(request.method, request.headers.get("X-Amz-Target", "")):
            body = await request.read()  # a DynamoDB item write, journalled whole for replay
    try:
        async with _upstream(ctx, request.method, request.raw_path, request.path, request.headers, body) as upstream:
            response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            response.headers.extend(_forward_headers(upstream.headers))
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response
    except (asyncio.TimeoutError, aiohttp.ClientConnectionError) as exc:
        return Answer.of_error(_upstream_failure(ctx, exc, unreachable_hint)).to_response()


async def forward_buffered(ctx: FrontDoorContext, method: str, raw_path: str, headers: Mapping[str, str],
                           body: bytes) -> Answer:
    """`forward` for a request whose body was read already, answered whole."""
    try:
        async with _upstream(ctx, method, raw_path, raw_path.partition("?")[0], headers, body) as upstream:
            answer = Answer(upstream.status, await upstream.read())
            answer.headers.extend(_forward_headers(upstream.headers))
            answer.headers.popall("Content-Length", None)  # the body's own length is sent
            return answer
    except (asyncio.TimeoutError, aiohttp.ClientConnectionError) as exc:
        return Answer.of_error(_upstream_failure(ctx, exc, ""))


@asynccontextmanager
async def _upstream(ctx: FrontDoorContext, method: str, raw_path: str, path: str, headers: Mapping[str, str],
                    body: object) -> AsyncIterator[aiohttp.ClientResponse]:
    """The upstream's answer to the call; a success is journalled before the caller sees it."""
    async with ctx.http.request(
        method, ctx.upstream + raw_path, headers=_forward_headers(headers), data=body,
        allow_redirects=False, timeout=limits.upstream_timeout(path),
    ) as upstream:
        if ctx.journal is not None and upstream.status < 300:
            # Before the client hears of it: every acknowledged change is journalled.
            ctx.journal.record(method, path, headers, body if isinstance(body, bytes) else None)
        yield upstream


def _upstream_failure(ctx: FrontDoorContext, exc: BaseException, unreachable_hint: str) -> AwsError:
    if isinstance(exc, asyncio.TimeoutError):  # before ClientConnectionError: aiohttp's read timeout is both
        return AwsError(504, "ServiceUnavailable", f"{ctx.upstream} did not answer in time; if MiniStack hangs, "
                                                   "restart the stack with `streamlab down` then `streamlab up`.")
    return AwsError(502, "ServiceUnavailable", unreachable_hint or f"MiniStack at {ctx.upstream} is unreachable: {exc}")
