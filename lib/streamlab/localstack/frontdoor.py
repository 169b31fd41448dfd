"""The front door: one AWS-compatible endpoint on 127.0.0.1.

Requests that one of our services claims (REST API invocations for the API executor, and the
control-plane calls MiniStack lacks) are answered here; everything else is forwarded to MiniStack
unchanged, bodies streamed both ways.

Services plug in through `build_routes`: each contributes `Route`s (`proxy`), tried in order.
Ordinary REST API invocations take a lean lane to the API executor instead (`frontdoor_http`).
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web

from streamlab.localstack.apiexec.service import Executor, routes as api_routes
from streamlab.localstack.esm.routes import routes as esm_routes
from streamlab.localstack import forwardcheck, guard
from streamlab.localstack.awserror import AwsError
from streamlab.localstack.durable.journal import Journal
from streamlab.localstack.frontdoor_http import LeanServer
from streamlab.localstack.logrotate import keep_rotating
from streamlab.localstack.proxy import FrontDoorContext, Route, forward
from streamlab.localstack.service import LISTENER, run_service, serve_app
from streamlab.localstack.state import StackPaths

log = logging.getLogger("streamlab.frontdoor")

HEALTH_PATH = "/_streamlab/health"
# Bodies up to this size reach our handlers; the API executor enforces AWS's own 10 MB limit
# below it so it can answer 413 itself.
MAX_BODY = 64 * 1024 * 1024
LOG_ROTATION = web.AppKey("log_rotation", asyncio.Task)
CONTEXT = web.AppKey("context", FrontDoorContext)
EXECUTOR = web.AppKey("executor", Executor)
ROUTES = web.AppKey("routes", list)


def build_routes(ctx: FrontDoorContext, executor: Executor) -> list[Route]:
    """Every service that answers at the front door, in the order they are tried."""
    return [*api_routes(executor), *esm_routes(ctx)]


def make_app(upstream: str, paths: StackPaths) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)

    async def start_client(app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=60)
        http = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, skip_auto_headers=("User-Agent", "Content-Type"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
        )
        ctx = FrontDoorContext(upstream=upstream, paths=paths, http=http, journal=Journal(paths, "frontdoor"))
        app[CONTEXT] = ctx
        app[EXECUTOR] = Executor(ctx)
        app[ROUTES] = build_routes(ctx, app[EXECUTOR])
        app[LOG_ROTATION] = asyncio.create_task(keep_rotating(paths.logs))

    async def close_client(app: web.Application) -> None:
        app[LOG_ROTATION].cancel()
        await app[CONTEXT].http.close()
        app[CONTEXT].journal.close()

    app.on_startup.append(start_client)
    app.on_cleanup.append(close_client)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        route = next((r for r in app[ROUTES] if r.matches(request)), None)
        data_plane = route is not None and route.data_plane
        try:
            guard.check(request.headers, request.raw_path, is_data_plane=data_plane)
            if not data_plane:
                await forwardcheck.check(request)
        except AwsError as refusal:
            return refusal.to_response()
        if request.path == HEALTH_PATH:
            return web.json_response({"status": "ok", "routes": [r.name for r in app[ROUTES]]})
        if route is not None:
            return await route.handle(request)
        return await forward(request, app[CONTEXT])

    app.router.add_route("*", "/{tail:.*}", dispatch)
    app[LISTENER] = lambda app, aiohttp_server: LeanServer(app[EXECUTOR], aiohttp_server)
    return app


async def serve(port: int, upstream: str, paths: StackPaths) -> None:
    await serve_app(make_app(upstream, paths), port, f"front door listening on 127.0.0.1:{port}, forwarding to {upstream}")


def main(argv: list[str] | None = None) -> None:
    run_service("streamlab.localstack.frontdoor", serve, argv)


if __name__ == "__main__":
    main()
