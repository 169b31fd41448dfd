"""What every service process of the local stack shares: its command line and its serving loop."""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path
from typing import Awaitable, Callable, Protocol

from aiohttp import web

from streamlab.localstack import eventloop, limits
from streamlab.localstack.awserror import aws_shaped_errors
from streamlab.localstack.state import StackPaths

log = logging.getLogger("streamlab.service")


class Listener(Protocol):
    """A listener that takes the connections itself, handing some to aiohttp (`frontdoor_http`)."""

    async def start(self, port: int) -> None: ...

    async def close(self) -> None: ...


# An app may bring its own listener, made once the app has started, given aiohttp's server for the
# connections it hands over.
LISTENER = web.AppKey("listener", Callable[[web.Application, web.Server], Listener])


async def serve_app(app: web.Application, port: int, banner: str) -> None:
    """Serve `app` on 127.0.0.1:`port` until SIGTERM or SIGINT, then shut it down cleanly.
    Idle and header timeouts and the connection cap are those of `limits`."""
    app.middlewares.append(aws_shaped_errors)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, **limits.runner_options())
    await runner.setup()
    listener = await _listen(app, runner, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.warning("%s", banner)
    try:
        await stop.wait()
    finally:
        if listener is not None:
            await listener.close()
        await runner.cleanup()


async def _listen(app: web.Application, runner: web.AppRunner, port: int) -> Listener | None:
    make_listener = app.get(LISTENER)
    if make_listener is None:
        limits.cap_connections(runner)
        await web.TCPSite(runner, "127.0.0.1", port, backlog=1024, reuse_address=True).start()
        return None
    assert runner.server is not None
    listener = make_listener(app, runner.server)
    await listener.start(port)
    return listener


def run_service(module: str, serve: Callable[[int, str, StackPaths], Awaitable[None]],
                argv: list[str] | None = None) -> None:
    """`python -m <module> --port P --upstream URL --home DIR`: how stack.py starts each service."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--home", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    eventloop.run(serve(args.port, args.upstream.rstrip("/"), StackPaths(args.home)))
