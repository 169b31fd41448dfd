"""API keys as API Gateway checks them: a method with apiKeyRequired needs an `x-api-key` header
naming an enabled key of a usage plan that covers the API's stage, or the call is 403 Forbidden.

Keys and usage plans are read from MiniStack's control plane and kept for KEYS_TTL seconds, so
a new key or plan is honoured at most that long after it was made (AWS also takes a moment).
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable

KEYS_TTL = 2.0
API_KEY_HEADER = "x-api-key"  # API Gateway's header (the emulator stands alone: not from provision)

# (api id, stage name) -> the key values that may call it
Grants = dict[tuple[str, str], frozenset[str]]
Items = Callable[[str], Awaitable[list[dict]]]


class ApiKeyCache:
    def __init__(self, items: Items) -> None:
        self._items = items  # a paged GET of the control plane (DefinitionCache._items)
        self._grants: Grants = {}
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def allows(self, api_id: str, stage: str, key: str | None) -> bool:
        if not key:
            return False
        return key in (await self._current()).get((api_id, stage), frozenset())

    async def _current(self) -> Grants:
        if time.monotonic() < self._expires:
            return self._grants
        async with self._lock:
            if time.monotonic() >= self._expires:
                self._grants = await self._read()
                self._expires = time.monotonic() + KEYS_TTL
        return self._grants

    async def _read(self) -> Grants:
        keys, plans = await asyncio.gather(self._items("/apikeys?includeValues=true"), self._items("/usageplans"))
        enabled = {k["id"]: k["value"] for k in keys if k.get("enabled", True) and k.get("value")}
        plan_keys = await asyncio.gather(*(self._items(f"/usageplans/{plan['id']}/keys") for plan in plans))
        grants: dict[tuple[str, str], set[str]] = {}
        for plan, members in zip(plans, plan_keys):
            values = {enabled[m["id"]] for m in members if m.get("id") in enabled}
            for stage in plan.get("apiStages") or []:
                grants.setdefault((stage.get("apiId", ""), stage.get("stage", "")), set()).update(values)
        return {k: frozenset(v) for k, v in grants.items()}
