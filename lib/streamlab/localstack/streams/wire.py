"""The sharded stream view on the wire, and MiniStack's Streams API underneath it.

- `MiniStackJson`: DynamoDB / DynamoDB Streams calls to MiniStack as plain JSON over one aiohttp
  session (no boto3 parsing: the view reads every record of every stream).
- `handle`: the AWS JSON 1.0 protocol (`X-Amz-Target: DynamoDBStreams_20120810.<Op>`) answered
  by the view, so boto3 and the AWS CLI see N shards through the front door.
- `ViewCalls`: the same view for the ESM in its own process, in boto3's call shape
  (snake_case operations, botocore ClientError), without a trip over HTTP.
"""
from __future__ import annotations

import json
import time
import uuid
import zlib
from typing import Any

import aiohttp
import botocore.exceptions
from aiohttp import web

from streamlab.localstack.apiexec.upstream import account_of, json_rpc_headers
from streamlab.localstack.streams.tail import UpstreamStreamsError
from streamlab.localstack.streams.view import StreamsApiError, StreamView

STREAMS_TARGET = "DynamoDBStreams_20120810."
DYNAMODB_TARGET = "DynamoDB_20120810."
JSON_10 = "application/x-amz-json-1.0"


def is_streams_call(request: web.Request) -> bool:
    """A Streams call the view answers (ListStreams, one entry per stream, stays with MiniStack)."""
    target = request.headers.get("X-Amz-Target", "")
    return request.method == "POST" and target.startswith(STREAMS_TARGET) and \
        target[len(STREAMS_TARGET):] in OPERATIONS


def _scope(arn: str) -> tuple[str, str]:
    """(region, access key) that put a MiniStack call in the account and region of `arn`."""
    parts = arn.split(":")
    region = parts[3] if len(parts) > 4 and parts[3] else "us-east-1"
    return region, account_of(arn)


class MiniStackJson:
    """MiniStack's DynamoDB and DynamoDB Streams APIs as JSON in, JSON out."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http: aiohttp.ClientSession | None = None

    async def streams(self, operation: str, args: dict, arn: str) -> dict:
        return await self._call(STREAMS_TARGET + operation, args, arn)

    async def dynamodb(self, operation: str, args: dict, arn: str) -> dict:
        return await self._call(DYNAMODB_TARGET + operation, args, arn)

    async def _call(self, target: str, args: dict, arn: str) -> dict:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60, sock_connect=5))
        region, key = _scope(arn)
        headers = json_rpc_headers(target, "dynamodb", region, key)
        async with self._http.post(self.url + "/", data=json.dumps(args), headers=headers) as resp:
            body = await resp.read()
        answer = json.loads(body) if body else {}
        if resp.status >= 400:
            code = str(answer.get("__type", "InternalServerError")).rsplit("#", 1)[-1]
            raise UpstreamStreamsError(code, answer.get("message") or answer.get("Message") or body.decode())
        return answer

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()


def new_view(ministack_url: str, folder: Any = None) -> tuple[StreamView, MiniStackJson]:
    upstream = MiniStackJson(ministack_url)
    return StreamView(upstream.streams, upstream.dynamodb, folder), upstream


OPERATIONS = {
    "DescribeStream": StreamView.describe_stream,
    "GetShardIterator": StreamView.get_shard_iterator,
    "GetRecords": StreamView.get_records,
}


async def handle(view: StreamView, request: web.Request) -> web.Response:
    """One Streams API call in AWS's JSON protocol."""
    asked = time.time()
    operation = request.headers.get("X-Amz-Target", "")[len(STREAMS_TARGET):]
    try:
        args = json.loads(await request.read() or b"{}")
        if not isinstance(args, dict):
            raise ValueError("not an object")
    except ValueError:
        return _error("SerializationException", "the request body is not a JSON object")
    try:
        if operation not in OPERATIONS:
            return _error("UnknownOperationException", f"Unknown operation {operation!r}")
        # A client reads its own writes: a record written before it asked is in the answer.
        answer = await OPERATIONS[operation](view, args, since=asked)
    except (StreamsApiError, UpstreamStreamsError) as exc:
        return _error(exc.code, exc.message)
    except (ValueError, TypeError, AttributeError) as exc:
        # A field of the wrong type (boto3 checks types, raw callers may not).
        return _error("ValidationException", f"{operation}: a field has the wrong type or value ({exc})")
    except aiohttp.ClientError as exc:
        return _error("InternalServerError", f"MiniStack's DynamoDB Streams did not answer ({exc!r}); "
                                             "check it with `streamlab status`", status=500)
    return _answer(200, json.dumps(answer, separators=(",", ":")).encode())


def _error(code: str, message: str, status: int = 400) -> web.Response:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    return _answer(status, body, {"x-amzn-ErrorType": code})


def _answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    # As DynamoDB Streams answers: a request id, and the body's CRC32, which SDKs may check where
    # DynamoDB sends it (the Go SDK's DynamoDB client logs a mismatch on every answer without it).
    return web.Response(status=status, body=body, content_type=JSON_10, headers={
        **(headers or {}), "x-amzn-RequestId": str(uuid.uuid4()), "x-amz-crc32": str(zlib.crc32(body))})


_SNAKE = {"describe_stream": "DescribeStream", "get_shard_iterator": "GetShardIterator", "get_records": "GetRecords"}


class ViewCalls:
    """`await calls.call("get_records", ShardIterator=...)`: the view in boto3's shape, for the ESM."""

    def __init__(self, view: StreamView) -> None:
        self.view = view

    async def call(self, operation: str, **kwargs: Any) -> dict:
        name = _SNAKE[operation]
        try:
            return await OPERATIONS[name](self.view, kwargs)
        except (StreamsApiError, UpstreamStreamsError) as exc:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": exc.code, "Message": exc.message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                name) from exc
        except aiohttp.ClientError as exc:
            # The poller backs off and retries on this, as on any unreachable endpoint.
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=f"MiniStack ({exc!r})") from exc
