"""The Lambda event-source-mapping API for DynamoDB stream sources (aiohttp handlers; E13, E15).

Calls for other sources (SQS, Kinesis, ...) and for UUIDs we do not own go to MiniStack
unchanged; ListEventSourceMappings answers ours and MiniStack's together.
"""
from __future__ import annotations

import asyncio
import json
from typing import Protocol

import aiohttp
import botocore.exceptions
from aiohttp import web

from streamlab.localstack.esm.config import (
    AwsError, apply_update, check_create, check_function_name, check_max_items, check_tags, describe, invalid,
    is_stream_arn, new_mapping, uuid_from_arn,
)
from streamlab.localstack.esm.mapping import Mapping
from streamlab.localstack.esm.shard import latest_mark
from streamlab.localstack.esm.store import Store
from streamlab.localstack.esm.upstream import UNREACHABLE, Upstream
from streamlab.localstack.limits import load_json

PREFIX = "/2015-03-31/event-source-mappings"
TAGS_PREFIX = "/2017-03-31/tags/"


class Mappings(Protocol):
    """What the control plane needs of the running ESM (the service implements it)."""

    mappings: dict[str, Mapping]
    upstream: Upstream
    store: Store

    def add(self, mapping: Mapping) -> None: ...
    def replace(self, mapping: Mapping) -> None: ...
    def delete(self, uuid: str) -> Mapping: ...
    def check_unique(self, mapping: Mapping) -> None: ...
    async def shards(self, stream_arn: str) -> list[dict]: ...


class Control:
    def __init__(self, service: Mappings, http: aiohttp.ClientSession) -> None:
        self.service = service
        self.http = http
        # Create awaits MiniStack between its uniqueness check and the insert; one create at a
        # time keeps two concurrent calls from both passing the check.
        self._create_lock = asyncio.Lock()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        tail = request.path[len(PREFIX):].strip("/")
        body = await request.read()
        try:
            if not tail and request.method == "POST":
                return await self._create(request, body)
            if not tail and request.method == "GET":
                return await self._list(request)
            if tail and tail not in self.service.mappings:
                return await self._forward(request, body)
            if request.method == "GET":
                return web.json_response(describe(self.service.mappings[tail]), dumps=_dumps)
            if request.method == "PUT":
                return await self._update(tail, body)
            if request.method == "DELETE":
                return web.json_response(describe(self.service.delete(tail)), status=202, dumps=_dumps)
            return await self._forward(request, body)
        except AwsError as exc:
            return exc.to_response()

    async def handle_tags(self, request: web.Request) -> web.StreamResponse:
        """ListTags / TagResource / UntagResource for our mappings' ARNs; others go to MiniStack."""
        body = await request.read()
        uuid = uuid_from_arn(request.path[len(TAGS_PREFIX):])
        mapping = self.service.mappings.get(uuid or "")
        if mapping is None:
            return await self._forward(request, body)
        try:
            if request.method == "GET":
                return web.json_response({"Tags": (mapping.tags or {})})
            if request.method == "POST":
                tags = check_tags(_parse(body).get("Tags", {}))
                self.service.replace(mapping.changed(tags={**(mapping.tags or {}), **tags}))
                return web.Response(status=204)
            if request.method == "DELETE":
                drop = set(request.query.getall("tagKeys", []))
                kept = {k: v for k, v in (mapping.tags or {}).items() if k not in drop}
                self.service.replace(mapping.changed(tags=kept))
                return web.Response(status=204)
        except AwsError as exc:
            return exc.to_response()
        return await self._forward(request, body)

    async def _create(self, request: web.Request, raw: bytes) -> web.StreamResponse:
        body = _parse(raw)
        if not is_stream_arn(body.get("EventSourceArn")):
            return await self._forward(request, raw)
        check_create(body)  # AWS validates the input before it looks anything up
        async with self._create_lock:
            return await self._create_mapping(body)

    async def _create_mapping(self, body: dict) -> web.Response:
        name, arn = await self._resolve_function(body.get("FunctionName"))
        await self._check_stream(body["EventSourceArn"])
        mapping = new_mapping(body, name, arn)
        self.service.check_unique(mapping)
        if mapping.starting_position == "LATEST":
            # Fix LATEST when Create answers, so every write after it is delivered.
            marks = {shard["ShardId"]: await latest_mark(self.service.upstream, mapping.event_source_arn, shard["ShardId"])
                     for shard in await self.service.shards(mapping.event_source_arn)}
            self.service.store.save_checkpoints(mapping.uuid, marks)
        self.service.add(mapping)
        return web.json_response(describe(mapping), status=202, dumps=_dumps)

    async def _update(self, uuid: str, raw: bytes) -> web.Response:
        body = _parse(raw)
        function = await self._resolve_function(body["FunctionName"]) if body.get("FunctionName") else None
        updated = apply_update(self.service.mappings[uuid], body, function)
        self.service.replace(updated)
        return web.json_response(describe(updated), status=202, dumps=_dumps)

    async def _list(self, request: web.Request) -> web.Response:
        function = request.query.get("FunctionName")
        if function is not None:
            check_function_name(function)
        limit = check_max_items(request.query.get("MaxItems"))
        source = request.query.get("EventSourceArn")
        ours = [
            describe(m) for m in self.service.mappings.values()
            if (not source or m.event_source_arn == source) and (not function or _same_function(function, m))
        ]
        query = {k: v for k, v in request.query.items() if k not in ("Marker", "MaxItems")}
        query["MaxItems"] = "10000"
        theirs = []
        try:
            async with self.http.get(self.service.upstream.url + PREFIX + "/", params=query,
                                     headers=_lambda_headers(request)) as resp:
                if resp.status == 200:
                    theirs = (await resp.json(content_type=None)).get("EventSourceMappings", [])
        except aiohttp.ClientError:
            pass  # MiniStack down: still answer for our own mappings
        merged = ours + theirs
        start = 0
        marker = request.query.get("Marker")
        if marker:
            start = next((i + 1 for i, m in enumerate(merged) if m.uuid == marker), len(merged))
        page = merged[start:start + limit]
        out: dict = {"EventSourceMappings": page}
        if start + limit < len(merged):
            out["NextMarker"] = page[-1]["UUID"]
        return web.json_response(out, dumps=_dumps)

    async def _forward(self, request: web.Request, body: bytes) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length", "transfer-encoding")}
        async with self.http.request(request.method, self.service.upstream.url + request.raw_path, headers=headers,
                                     data=body or None) as resp:
            payload = await resp.read()
            keep = {k: v for k, v in resp.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")}
            return web.Response(status=resp.status, body=payload, headers=keep)

    async def _resolve_function(self, ref: object) -> tuple[str, str]:
        base, qualifier = _split_qualifier(check_function_name(ref))
        try:
            config = (await self.service.upstream.call("lambda", "get_function", FunctionName=base))["Configuration"]
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"] == "ResourceNotFoundException":
                raise AwsError(404, "ResourceNotFoundException", f"Function not found: {ref}") from exc
            raise
        except UNREACHABLE as exc:
            raise AwsError(503, "ServiceException", f"MiniStack is unreachable: {exc}") from exc
        arn = config["FunctionArn"].split(":function:")[0] + ":function:" + config["FunctionName"]
        return config["FunctionName"], f"{arn}:{qualifier}" if qualifier else arn

    async def _check_stream(self, stream_arn: str) -> None:
        try:
            await self.service.upstream.call("dynamodbstreams", "describe_stream", StreamArn=stream_arn, Limit=1)
        except botocore.exceptions.ClientError as exc:
            raise invalid(f"Stream not found: {stream_arn}. Create the table with a stream and use its LatestStreamArn.") from exc


def _split_qualifier(ref: str) -> tuple[str, str | None]:
    if ref.startswith("arn:"):
        parts = ref.split(":")
        return ":".join(parts[:7]), parts[7] if len(parts) > 7 else None
    if ":" in ref and not ref.split(":")[0].isdigit():
        name, _, qualifier = ref.partition(":")
        return name, qualifier
    return ref, None


def _same_function(ref: str, mapping: Mapping) -> bool:
    base, qualifier = _split_qualifier(ref)
    name = base.split(":")[-1]
    if name != mapping.function_name:
        return False
    return qualifier is None or mapping.function_arn.endswith(f":{qualifier}")


def _parse(raw: bytes) -> dict:
    try:
        body = load_json(raw) if raw else {}
    except ValueError as exc:
        raise invalid(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def _lambda_headers(request: web.Request) -> dict:
    return {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "x-amz-date", "user-agent")}


def _dumps(obj: object) -> str:
    return json.dumps(obj, default=str)
