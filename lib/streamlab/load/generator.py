"""The open-loop sender: one asyncio event loop sends its share of a schedule on time.

Requests go out at their intended times whether or not earlier ones have answered. Times are
kept per request: intended, dispatched (the loop started the send: dispatched - intended is the
generator's own lateness), sent (request headers written to the socket, from aiohttp's trace
hooks: includes any wait for a pooled connection), and done. A request that finds `max_in_flight`
requests outstanding is dropped (never sent) and counted, so a stuck server cannot make the
generator hoard memory, and nothing is hidden.

Before the schedule's time zero every connection the pool may need is opened (TCP only, no
request is sent, so the target counts nothing), so the first requests do not pay for connecting
and a burst is not queued behind connection set-up.
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import aiohttp
import numpy as np

from streamlab.load.bodies import BodyFactory, encode_body

NAN = float("nan")

# Error classes, one per request. "ok" is any 2xx.
OK = "ok"
ERROR_CLASSES = ("ok", "http_4xx", "http_5xx", "http_other", "timeout", "connect_error",
                 "disconnected", "client_error", "dropped")


@dataclass(frozen=True)
class SendOptions:
    url: str
    method: str = "POST"
    timeout: float = 10.0
    pool_size: int = 64
    max_in_flight: int = 512
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


@dataclass
class ShareResult:
    """What one event loop measured; times in seconds since the shared start."""

    seq: np.ndarray
    intended: np.ndarray
    dispatched: np.ndarray
    sent: np.ndarray
    done: np.ndarray
    status: np.ndarray
    error: list[str]
    request_id: list[str]
    body: list[str]
    start_epoch: float = 0.0
    warmed: int = 0


def classify_status(status: int) -> str:
    if 200 <= status < 300:
        return OK
    if 300 <= status < 400:
        return "http_3xx_not_followed"
    if 400 <= status < 500:
        return "http_4xx"
    if 500 <= status < 600:
        return "http_5xx"
    return "http_other"


def classify_exception(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connect_error"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "disconnected"
    return "client_error"


def extract_id(payload: bytes) -> str:
    """The `id` the API answered with ('' when the body is not a JSON object with one)."""
    if not payload or payload[:1] != b"{":
        return ""
    try:
        value = json.loads(payload).get("id")
    except (ValueError, AttributeError):
        return ""
    return str(value) if value is not None else ""


async def warm_connections(session: aiohttp.ClientSession, url: str, count: int) -> int:
    """Open up to `count` connections to `url`'s host and leave them idle in the session's pool.

    Only TCP (and TLS) is set up: no HTTP request goes out, so the target's metrics and data see
    nothing. Returns how many were opened (0 if aiohttp's connector refused the way in: the run
    then connects on demand, and reports warmed 0).
    """
    connector = session.connector
    if connector is None or count < 1:
        return 0
    try:
        from yarl import URL

        request = aiohttp.ClientRequest("GET", URL(url), loop=asyncio.get_running_loop(), ssl=True)
        timeout = aiohttp.ClientTimeout(total=10.0)
        connections = await asyncio.gather(*(connector.connect(request, [], timeout) for _ in range(count)),
                                           return_exceptions=True)
    except Exception:  # an aiohttp internal changed: warming is an optimisation, never a failure
        return 0
    opened = 0
    for conn in connections:
        if isinstance(conn, BaseException):
            continue
        conn.release()  # back into the pool, idle and open
        opened += 1
    return opened


async def send_share(
    opts: SendOptions,
    seqs: Sequence[int],
    times: np.ndarray,
    bodies: Sequence[bytes],
    start_at: Callable[[], float],
    progress: Callable[[int], None] | None = None,
) -> ShareResult:
    """Open the pool's connections, then send request k at `start_at() + times[k]` (wall clock).

    `start_at` is called once the connections are open and returns the shared start as an epoch
    (it may block, e.g. until every worker process is ready). Returns every record.
    """
    loop = asyncio.get_running_loop()
    n = len(times)
    dispatched = np.full(n, NAN)
    sent = np.full(n, NAN)
    done = np.full(n, NAN)
    status = np.zeros(n, dtype=np.int32)
    error = ["dropped"] * n
    request_id = [""] * n
    t0 = 0.0  # set below, once the connections are warm

    async def on_headers_sent(session: Any, ctx: Any, params: Any) -> None:
        sent[ctx.trace_request_ctx["k"]] = loop.time() - t0

    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(on_headers_sent)
    connector = aiohttp.TCPConnector(limit=opts.pool_size, limit_per_host=opts.pool_size, keepalive_timeout=60)
    in_flight = 0
    finished = 0
    reported = 0
    tasks: set[asyncio.Task] = set()

    async def send(session: aiohttp.ClientSession, k: int) -> None:
        nonlocal in_flight, finished
        dispatched[k] = loop.time() - t0
        try:
            # Never follow a redirect: a burst aimed at this machine must not land on a real (billed) endpoint.
            async with session.request(opts.method, opts.url, data=bodies[k], trace_request_ctx={"k": k},
                                       allow_redirects=False) as resp:
                payload = await resp.read()
            done[k] = loop.time() - t0
            status[k] = resp.status
            error[k] = classify_status(resp.status)
            if error[k] == OK:
                request_id[k] = extract_id(payload)
        except Exception as exc:  # every failure is a result, classified
            done[k] = loop.time() - t0
            error[k] = classify_exception(exc)
        finally:
            in_flight -= 1
            finished += 1

    async def report_progress() -> None:
        nonlocal reported
        while True:
            await asyncio.sleep(0.25)
            if finished > reported:
                progress(finished - reported)  # type: ignore[misc]
                reported = finished

    timeout = aiohttp.ClientTimeout(total=opts.timeout)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, trace_configs=[trace], headers=dict(opts.headers)
    ) as session:
        warmed = await warm_connections(session, opts.url, min(opts.pool_size, n))
        start_epoch = start_at()
        # Loop time of the shared start: workers agree on a wall-clock instant, each maps it to its own clock.
        t0 = loop.time() + (start_epoch - time.time())
        ticker = asyncio.create_task(report_progress()) if progress else None
        k = 0
        try:
            while k < n:
                now = loop.time() - t0
                while k < n and times[k] <= now:
                    if in_flight >= opts.max_in_flight:
                        finished += 1  # dropped: error stays "dropped", times stay NaN
                    else:
                        in_flight += 1
                        task = loop.create_task(send(session, k))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    k += 1
                if k < n:
                    # Sleeping the whole gap lets the loop run the sends meanwhile; asyncio wakes
                    # timers within its clock resolution, so lateness stays around a millisecond.
                    await asyncio.sleep(max(0.0, times[k] - (loop.time() - t0)))
            if tasks:
                await asyncio.wait(set(tasks))
        finally:
            if ticker:
                ticker.cancel()
    if progress and finished > reported:
        progress(finished - reported)
    return ShareResult(
        seq=np.asarray(seqs, dtype=np.int64),
        intended=np.asarray(times, dtype=float),
        dispatched=dispatched,
        sent=np.where(np.isnan(sent), dispatched, sent),  # headers never went out (connect error)
        done=done,
        status=status,
        error=error,
        request_id=request_id,
        body=[b.decode("utf-8", "replace") for b in bodies],
        start_epoch=start_epoch,
        warmed=warmed,
    )


def run_coroutine(make: Callable[[], Any]) -> Any:
    """Run a coroutine to completion from sync code, also inside Jupyter (whose thread already
    has a running loop): then it gets a thread with a fresh loop of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(make())
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="streamlab-load")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def make_bodies(factory: BodyFactory, seqs: Sequence[int]) -> list[bytes]:
    # Built before the start so the send loop does no body work on the clock.
    return [encode_body(factory(int(s))) for s in seqs]
