"""The backend call of an `AWS` integration to DynamoDB (A1, A7): the rendered request, as sent by API Gateway."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import aiohttp
from multidict import CIMultiDictProxy

from streamlab.localstack.apiexec.backend_pool import BackendConnectionError, BackendPool
from streamlab.localstack.apiexec.upstream import json_rpc_headers
from streamlab.localstack.durable.journal import Journal

TARGET_PREFIX = "DynamoDB_20120810."


@dataclass(frozen=True)
class BackendResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class BackendTimeout(Exception):
    pass


class BackendUnreachable(Exception):
    pass


@lru_cache(maxsize=256)
def _headers(region: str, action: str, access_key: str) -> dict[str, str]:
    # Built once per integration: MiniStack checks neither signature nor date, only the scope.
    return json_rpc_headers(TARGET_PREFIX + action, "dynamodb", region, access_key)


@lru_cache(maxsize=256)
def _recorder(journal: Journal, region: str, action: str, access_key: str) -> Callable[[bytes | None], None]:
    return journal.recorder("POST", "/", _headers(region, action, access_key))


async def call(http: aiohttp.ClientSession, upstream: str, *, region: str, action: str, access_key: str,
               body: bytes, timeout_s: float, pool: BackendPool | None = None,
               journal: Journal | None = None) -> BackendResponse:
    """POST the action to MiniStack's DynamoDB (over `pool` when given, else `http`); BackendTimeout
    after `timeout_s`, BackendUnreachable if it cannot be reached.

    A success is written to `journal` before the API answers, so a crash of MiniStack cannot
    lose a write the client was told about. The pool keeps the deadline itself (backend_pool.py).
    """
    headers = _headers(region, action, access_key)
    try:
        if pool is not None:
            raw = await pool.post("/", body, headers, timeout_s)  # its own timer: less CPU than asyncio.timeout
            answer = BackendResponse(raw.status, raw.headers, raw.body)
        else:
            async with asyncio.timeout(timeout_s):
                async with http.post(upstream + "/", data=body, headers=headers) as resp:
                    answer = BackendResponse(resp.status, resp.headers, await resp.read())
        if journal is not None and answer.status < 300:
            _recorder(journal, region, action, access_key)(body)
        return answer
    except TimeoutError as exc:
        raise BackendTimeout(f"DynamoDB {action} took longer than {timeout_s:.3f}s") from exc
    except (aiohttp.ClientError, BackendConnectionError, OSError) as exc:
        raise BackendUnreachable(f"DynamoDB {action} at {upstream} failed: {exc!r}") from exc
