"""The front door: one AWS-compatible endpoint on 127.0.0.1.

Requests that one of our services claims (REST API invocations for the API executor, and the
control-plane calls MiniStack lacks) are answered here; everything else is forwarded to MiniStack
unchanged, bodies streamed both ways.

Services plug in through `build_routes`: each contributes `Route`s, tried in order.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp
from aiohttp import web

from streamlab.localstack.durable.journal import Journal, wants_body
from streamlab.localstack.service import run_service, serve_app
from streamlab.localstack.state import StackPaths

log = logging.getLogger("streamlab.frontdoor")

HEALTH_PATH = "/_streamlab/health"
# Bodies up to this size reach our handlers; the API executor enforces AWS's own 10 MB limit
# below it so it can answer 413 itself.
MAX_BODY = 64 * 1024 * 1024
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


def build_routes(ctx: FrontDoorContext) -> list[Route]:
    """Every service that answers at the front door, in the order they are tried."""
    from streamlab.localstack.apiexec.service import routes as api_routes
    from streamlab.localstack.esm.routes import routes as esm_routes

    return [*api_routes(ctx), *esm_routes(ctx)]


def _forward_headers(headers: "aiohttp.typedefs.LooseHeaders") -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.items() if k.lower() not in _HOP_BY_HOP]


async def forward(request: web.Request, ctx: FrontDoorContext, unreachable_hint: str = "") -> web.StreamResponse:
    """Send the request to `ctx.upstream` (MiniStack unless a service says otherwise) as it came
    and stream the answer back. `unreachable_hint` replaces the message when it cannot be reached."""
    url = ctx.upstream + request.raw_path
    body = request.content if request.body_exists else None
    if body is not None and wants_body(request.method, request.headers.get("X-Amz-Target", "")):
        body = await request.read()  # a DynamoDB item write, journalled whole for replay
    try:
        async with ctx.http.request(
            request.method, url, headers=_forward_headers(request.headers), data=body,
            allow_redirects=False,
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
    except aiohttp.ClientConnectionError as exc:
        return aws_error(502, "ServiceUnavailable", unreachable_hint or f"MiniStack at {ctx.upstream} is unreachable: {exc}")


def aws_error(status: int, code: str, message: str) -> web.Response:
    """An error in AWS's JSON shape (the one boto3 parses for rest-json and json protocols)."""
    return web.json_response(
        {"__type": code, "message": message, "Message": message},
        status=status,
        headers={"x-amzn-ErrorType": code},
    )


def make_app(upstream: str, paths: StackPaths) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def start_client(app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        http = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
        )
        ctx = FrontDoorContext(upstream=upstream, paths=paths, http=http, journal=Journal(paths, "frontdoor"))
        app["ctx"] = ctx
        app["routes"] = build_routes(ctx)

    async def close_client(app: web.Application) -> None:
        await app["ctx"].http.close()
        app["ctx"].journal.close()

    app.on_startup.append(start_client)
    app.on_cleanup.append(close_client)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.path == HEALTH_PATH:
            return web.json_response({"status": "ok", "routes": [r.name for r in app["routes"]]})
        for route in app["routes"]:
            if route.matches(request):
                return await route.handle(request)
        return await forward(request, app["ctx"])

    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def serve(port: int, upstream: str, paths: StackPaths) -> None:
    await serve_app(make_app(upstream, paths), port, f"front door listening on 127.0.0.1:{port}, forwarding to {upstream}")


def main(argv: list[str] | None = None) -> None:
    run_service("streamlab.localstack.frontdoor", serve, argv)


if __name__ == "__main__":
    main()
