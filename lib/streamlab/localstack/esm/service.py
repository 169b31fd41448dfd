"""The ESM process: the control plane on an internal loopback port, and the pollers.

    python -m streamlab.localstack.esm.service --port P --upstream http://127.0.0.1:M --home H

A supervisor tick moves mappings through AWS's states (Creating -> Enabled, Updating,
Enabling, Disabling -> Disabled, Deleting) and starts or stops their pollers; pollers keep
their position in durable checkpoints, so killing this process loses nothing.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging

import aiohttp
import botocore.exceptions
from aiohttp import web

from streamlab.localstack import guard
from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.config import conflict, not_found
from streamlab.localstack.esm.control import PREFIX, TAGS_PREFIX, Control
from streamlab.localstack.esm.mapping import Mapping, mappings_json
from streamlab.localstack.esm.metrics import Metrics
from streamlab.localstack.esm.shard import ShardPoller
from streamlab.localstack.esm.store import Store
from streamlab.localstack.esm.upstream import UNREACHABLE, Upstream
from streamlab.localstack.service import run_service, serve_app
from streamlab.localstack.streams.wire import ViewCalls, is_streams_call, new_view
from streamlab.localstack.streams.wire import handle as handle_streams_call
from streamlab.localstack.state import StackPaths

log = logging.getLogger("streamlab.esm")

HEALTH_PATH = "/_streamlab/esm/health"
SHARD_RESCAN_SECONDS = 5.0
# Invocations block a worker thread each for the function's duration.
WORKER_THREADS = 64


class EsmService:
    def __init__(self, paths: StackPaths, upstream_url: str) -> None:
        self.store = Store(paths)
        self.upstream = Upstream(upstream_url)
        self.metrics = Metrics(self.upstream)
        self.mappings: dict[str, Mapping] = self.store.load_mappings()
        self.runners: dict[str, asyncio.Task] = {}
        self.in_flight: dict[str, set[asyncio.Task]] = {}
        self._saved = ""
        self.changed = asyncio.Event()
        for uuid, mapping in self.mappings.items():
            # A restart resumes every mapping from its checkpoint.
            if mapping.state == "Enabled":
                self.mappings[uuid] = mapping.changed(state="Enabling")

    # --- control plane mutations -------------------------------------------------------

    def check_unique(self, mapping: Mapping) -> None:
        for other in self.mappings.values():
            if other.event_source_arn == mapping.event_source_arn and other.function_arn == mapping.function_arn:
                raise conflict(
                    f"The event source arn ({mapping.event_source_arn}) and function ({mapping.function_name}) "
                    f"provided mapping already exists. Please update or delete the existing mapping with UUID {other.uuid}"
                )

    def add(self, mapping: Mapping) -> None:
        self.check_unique(mapping)
        self.mappings[mapping.uuid] = mapping
        self.save()

    def replace(self, mapping: Mapping) -> None:
        self.mappings[mapping.uuid] = mapping
        self.save()

    def keep(self, mapping: Mapping) -> None:
        """Hold a poller's change (LastProcessingResult) until the next save; no file write per batch."""
        if mapping.uuid in self.mappings:
            self.mappings[mapping.uuid] = mapping

    def delete(self, uuid: str) -> Mapping:
        mapping = self.mappings.get(uuid)
        if mapping is None:
            raise not_found(uuid)
        if mapping.state == "Deleting":
            raise conflict(f"The event source mapping {uuid} is already being deleted.")
        mapping = mapping.changed(state="Deleting")
        self.mappings[uuid] = mapping
        self.save()
        return mapping

    def save(self) -> None:
        text = mappings_json(self.mappings)
        if text != self._saved:
            self.store.save_mappings(self.mappings)
            self._saved = text
        self.changed.set()

    # --- supervisor ------------------------------------------------------------------------

    async def supervise(self) -> None:
        while True:
            self.reconcile()
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), chosen.SUPERVISOR_TICK_SECONDS)
            except asyncio.TimeoutError:
                pass

    def reconcile(self) -> None:
        for uuid, mapping in list(self.mappings.items()):
            state = mapping.state
            runner = self.runners.get(uuid)
            if state == "Deleting":
                self._stop(uuid)
                if self._still_invoking(uuid):
                    continue  # as on AWS, a mapping stays Deleting until its last batch returns
                del self.mappings[uuid]
                self.in_flight.pop(uuid, None)
                self.store.drop_checkpoints(uuid)
            elif state in ("Creating", "Updating", "Enabling", "Disabling"):
                if mapping.enabled:
                    self._start(uuid)
                    self.mappings[uuid] = mapping.changed(state="Enabled")
                else:
                    self._stop(uuid)
                    self.mappings[uuid] = mapping.changed(state="Disabled")
            elif state == "Enabled" and (runner is None or runner.done()):
                self._start(uuid)
        self.save()

    def _still_invoking(self, uuid: str) -> bool:
        return any(not call.done() for call in self.in_flight.get(uuid, ()))

    def _start(self, uuid: str) -> None:
        runner = self.runners.get(uuid)
        if runner is None or runner.done():
            self.runners[uuid] = asyncio.create_task(self._run_mapping(uuid), name=f"esm-{uuid}")

    def _stop(self, uuid: str) -> None:
        runner = self.runners.pop(uuid, None)
        if runner is not None:
            runner.cancel()

    async def _run_mapping(self, uuid: str) -> None:
        """Poll every shard of the mapping's stream; pick up new shards as they appear."""
        mapping = lambda: self.mappings[uuid]  # noqa: E731 - the live config, re-read every batch
        checkpoints = self.store.load_checkpoints(uuid)
        tasks: dict[str, asyncio.Task] = {}
        try:
            while True:
                try:
                    shards = await self.shards(mapping().event_source_arn)
                except (botocore.exceptions.ClientError, *UNREACHABLE) as exc:
                    log.warning("%s: DescribeStream failed (%s); retrying", uuid, exc)
                    shards = []
                finished = {sid for sid, t in tasks.items() if t.done() and not t.cancelled() and t.exception() is None}
                for shard in shards:
                    sid = shard["ShardId"]
                    parent = shard.get("ParentShardId")
                    # S6: a child shard is read only after its parent is finished.
                    if parent and parent in {s["ShardId"] for s in shards} and parent not in finished:
                        continue
                    task = tasks.get(sid)
                    if task is None or (task.done() and sid not in finished):
                        if task is not None and task.exception() is not None:
                            log.error("%s %s: poller failed: %r; restarting", uuid, sid, task.exception())
                        poller = ShardPoller(mapping, sid, self.upstream, self.store, self.metrics, checkpoints,
                                             keep=self.keep, in_flight=self.in_flight.setdefault(uuid, set()))
                        tasks[sid] = asyncio.create_task(poller.run(), name=f"esm-{uuid}-{sid}")
                await asyncio.sleep(SHARD_RESCAN_SECONDS)
        finally:
            for task in tasks.values():
                task.cancel()

    async def shards(self, stream_arn: str) -> list[dict]:
        shards, start = [], None
        while True:
            args = {"StreamArn": stream_arn}
            if start:
                args["ExclusiveStartShardId"] = start
            desc = (await self.upstream.call("dynamodbstreams", "describe_stream", **args))["StreamDescription"]
            shards.extend(desc.get("Shards", []))
            start = desc.get("LastEvaluatedShardId")
            if not start:
                return shards


def make_app(service: EsmService) -> web.Application:
    app = web.Application(client_max_size=16 * 1024 * 1024, middlewares=[guard.control_plane_only])

    async def start(app: web.Application) -> None:
        app["http"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False)
        app["view"], app["ministack"] = new_view(service.upstream.url, service.store.folder.parent / "streams")
        service.upstream.streams = ViewCalls(app["view"])
        app["control"] = Control(service, app["http"])
        app["tasks"] = [asyncio.create_task(service.supervise()), asyncio.create_task(service.metrics.run())]

    async def stop(app: web.Application) -> None:
        for task in app["tasks"]:
            task.cancel()
        for uuid in list(service.runners):
            service._stop(uuid)
        await service.metrics.flush(final=True)
        await app["http"].close()
        await app["ministack"].close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        if request.path == HEALTH_PATH:
            return web.json_response({"status": "ok", "mappings": len(service.mappings)})
        if is_streams_call(request):
            return await handle_streams_call(app["view"], request)
        if request.path.startswith(PREFIX):
            return await app["control"].handle(request)
        if request.path.startswith(TAGS_PREFIX):
            return await app["control"].handle_tags(request)
        return web.json_response({"message": f"no such path {request.path}"}, status=404)

    app.router.add_route("*", "/{tail:.*}", dispatch)
    return app


async def serve(port: int, upstream: str, paths: StackPaths) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="esm-io"))
    service = EsmService(paths, upstream)
    await serve_app(make_app(service), port,
                    f"esm listening on 127.0.0.1:{port}, MiniStack at {upstream}, {len(service.mappings)} mappings")


def main(argv: list[str] | None = None) -> None:
    run_service("streamlab.localstack.esm.service", serve, argv)


if __name__ == "__main__":
    main()
