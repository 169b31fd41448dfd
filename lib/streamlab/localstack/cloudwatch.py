"""One per-second CloudWatch publisher for the services of the local stack.

The API executor (AWS/ApiGateway) and the event source mapping (AWS/Lambda) aggregate their
numbers per second in memory, each in its own shape; this base class owns what they share:
flushing the finished seconds every FLUSH_SECONDS in the background, in PutMetricData-sized
batches, and never letting a metrics failure reach the request path or the poller.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable

log = logging.getLogger("streamlab.cloudwatch")

FLUSH_SECONDS = 1.0
BATCH = 500  # PutMetricData takes up to 1,000 data; keep requests small

Send = Callable[[str, list[dict]], Awaitable[None]]


class SecondsPublisher:
    """Publishes what `collect` hands over, one second at a time, with `send(namespace, data)`."""

    namespace = ""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._task: asyncio.Task[None] | None = None

    def collect(self, before_second: int | None) -> list[dict]:
        """Take the MetricData of every second before `before_second` (all of them with None)."""
        raise NotImplementedError

    def ensure_running(self) -> None:
        """Start the background flush on the running loop, once."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await self.flush()

    async def flush(self, final: bool = False) -> None:
        """Publish the finished seconds (every second with `final`)."""
        data = self.collect(None if final else int(time.time()))
        for i in range(0, len(data), BATCH):
            try:
                await self._send(self.namespace, data[i:i + BATCH])
            except Exception as exc:  # metrics must never stop the service that records them
                log.warning("%s: could not put %d metric data (lost): %r", self.namespace, len(data[i:i + BATCH]), exc)
