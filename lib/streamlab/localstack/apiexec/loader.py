"""Read deployed REST APIs back from MiniStack's control plane and keep them in memory.

A definition is a snapshot per (api, deployment), as on AWS (A9): changes show once a deployment is
made. Snapshots are taken when a deployment passes the front door (`note_control_call`), or on
first use. The stage (its deployment id and variables) is re-read in the background once it is
STAGE_TTL seconds old, and before the next request after a control-plane call on the API
passed the front door, so a new deployment is noticed either way.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from typing import Any, Awaitable, Callable

import aiohttp

from streamlab.localstack.apiexec.definition import ApiDefinition, Stage, build_definition
from streamlab.localstack.apiexec.upstream import auth_headers
from streamlab.localstack.guard import is_api_id, is_stage_name

log = logging.getLogger("streamlab.apiexec")

STAGE_TTL = 2.0
CONTROL_TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_SNAPSHOTS = 256
MAX_STAGES = 4096
PAGE = 500


class ApiNotFound(Exception):
    pass


class StageNotFound(Exception):
    pass


class ControlPlaneUnavailable(Exception):
    pass


class DefinitionCache:
    def __init__(self, http: aiohttp.ClientSession, upstream: str, region: str = "us-east-1"):
        self._http = http
        self._upstream = upstream
        self._region = region
        self._stages: dict[tuple[str, str], tuple[float, Stage | Exception]] = {}
        self._snapshots: OrderedDict[tuple[str, str], ApiDefinition] = OrderedDict()
        self._inflight: dict[tuple[str, ...], asyncio.Future[Any]] = {}
        self._generation: dict[str, int] = {}
        self._background: set[asyncio.Future[Any]] = set()

    async def resolve(self, api_id: str, stage_name: str) -> tuple[ApiDefinition, Stage]:
        """The deployed definition behind `stage_name`; ApiNotFound, StageNotFound, ControlPlaneUnavailable."""
        # Matched, never pasted into an upstream path as they came (`..%2F_ministack` is not an id).
        if not is_api_id(api_id):
            raise ApiNotFound(api_id)
        if not is_stage_name(stage_name):
            raise StageNotFound(stage_name)
        key = (api_id, stage_name)
        entry = self._stages.get(key)
        if entry is None:
            stage = await self._refresh_stage(key)
        else:
            stage = entry[1]
            if entry[0] < time.monotonic():
                # Stale: answer with what we know, re-read in the background (no request waits).
                self._stages[key] = (time.monotonic() + STAGE_TTL, stage)
                task = asyncio.ensure_future(self._refresh_stage(key, quiet=True))
                self._background.add(task)  # a task nobody references may be collected mid-flight
                task.add_done_callback(self._background.discard)
        if isinstance(stage, Exception):
            raise stage
        snapshot = self._snapshots.get((api_id, stage.deployment_id))
        if snapshot is None:
            snapshot = await self._once(("api", api_id, stage.deployment_id), lambda: self._snapshot(api_id, [stage.deployment_id]))
        return snapshot, stage

    async def _refresh_stage(self, key: tuple[str, str], quiet: bool = False) -> Stage | Exception:
        generation = self._generation.get(key[0], 0)
        stage: Stage | Exception
        try:
            stage = await self._once(("stage", *key, str(generation)), lambda: self._read_stage(*key))
        except (ApiNotFound, StageNotFound) as exc:
            stage = exc
        except ControlPlaneUnavailable as exc:
            if quiet:  # MiniStack is down: keep serving what we knew
                return exc
            raise
        # A control-plane change that passed while we read makes this answer stale: drop it.
        if self._generation.get(key[0], 0) == generation:
            if len(self._stages) >= MAX_STAGES:
                self._stages.clear()  # requests for made-up api ids must not grow memory without bound
            self._stages[key] = (time.monotonic() + STAGE_TTL, stage)
        return stage

    def forget(self, api_id: str) -> None:
        """A control-plane call changed `api_id`: re-read its stages on next use."""
        self._generation[api_id] = self._generation.get(api_id, 0) + 1
        for key in [k for k in self._stages if k[0] == api_id]:
            del self._stages[key]

    async def note_deployment(self, api_id: str) -> None:
        """Snapshot the API for every deployment not seen yet (a deployment was just created)."""
        if not is_api_id(api_id):
            return
        self.forget(api_id)
        try:
            deployments = await self._items(f"/restapis/{api_id}/deployments")
            new = [d["id"] for d in deployments if (api_id, d["id"]) not in self._snapshots]
            if new:
                await self._snapshot(api_id, new)
        except (ApiNotFound, ControlPlaneUnavailable) as exc:
            log.warning("could not snapshot API %s after a deployment: %s", api_id, exc)

    async def _once(self, key: tuple[str, ...], load: Callable[[], Awaitable[Any]]) -> Any:
        """Run `load` once for concurrent callers with the same key."""
        future = self._inflight.get(key)
        if future is None:
            future = asyncio.ensure_future(load())
            self._inflight[key] = future
            future.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(future)

    async def _snapshot(self, api_id: str, deployment_ids: list[str]) -> ApiDefinition:
        api = await self._get(f"/restapis/{api_id}")
        resources, models, validators = await asyncio.gather(
            self._items(f"/restapis/{api_id}/resources"),
            self._items(f"/restapis/{api_id}/models"),
            self._items(f"/restapis/{api_id}/requestvalidators"),
        )
        definition = build_definition(api, resources, models, validators)
        for deployment_id in deployment_ids:
            self._snapshots[(api_id, deployment_id)] = definition
        while len(self._snapshots) > MAX_SNAPSHOTS:
            self._snapshots.popitem(last=False)
        return definition

    async def _read_stage(self, api_id: str, stage_name: str) -> Stage:
        await self._get(f"/restapis/{api_id}")  # ApiNotFound before StageNotFound
        try:
            raw = await self._get(f"/restapis/{api_id}/stages/{stage_name}")
        except ApiNotFound:
            raise StageNotFound(stage_name) from None
        if not raw.get("deploymentId"):
            raise StageNotFound(stage_name)
        return Stage(name=stage_name, deployment_id=raw["deploymentId"], variables=dict(raw.get("variables") or {}))

    async def items(self, path: str) -> list[dict[str, Any]]:
        """Every item of a paged control-plane list (GetApiKeys, GetUsagePlans, ...)."""
        return await self._items(path)

    async def _items(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        position = None
        while True:
            query = ("&" if "?" in path else "?") + f"limit={PAGE}" + (f"&position={position}" if position else "")
            page = await self._get(path + query)
            items.extend(page.get("item") or page.get("items") or [])
            position = page.get("position")
            if not position:
                return items

    async def _get(self, path: str) -> dict[str, Any]:
        try:
            async with self._http.get(
                self._upstream + path, headers=auth_headers("apigateway", self._region), timeout=CONTROL_TIMEOUT
            ) as resp:
                body = await resp.read()
                if resp.status == 404:
                    raise ApiNotFound(path)
                if resp.status >= 300:
                    raise ControlPlaneUnavailable(f"GET {path} answered {resp.status}: {body[:200]!r}")
                return json.loads(body)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ControlPlaneUnavailable(f"GET {path} failed: {exc!r}") from exc
