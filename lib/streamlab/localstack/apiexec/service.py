"""Front-door routes of the API executor: REST API invocations and the control-plane calls that change them.

Clients reach a REST API at `/restapis/{api_id}/{stage}/_user_request_/{path}`. Methods whose
integration is `AWS` to DynamoDB run here (A1–A8); any other integration is forwarded to
MiniStack's own data plane unchanged.

The executor takes an `Invocation` and returns an `Answer` (plain data, `invocation`): the front
door's lean lane calls `Executor.invoke` directly, and `routes` serves it to the aiohttp lane.
"""
from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from streamlab.localstack import limits
from streamlab.localstack.apiexec import dynamodb, gateway, ids, loader, routing, throttling, vtl
from streamlab.localstack.apiexec.apikeys import API_KEY_HEADER, ApiKeyCache
from streamlab.localstack.apiexec.backend_pool import BackendPool
from streamlab.localstack.apiexec.definition import ApiDefinition, Integration, Method, Stage
from streamlab.localstack.apiexec.gateway import GatewayError
from streamlab.localstack.apiexec.invocation import Invocation, parse_invocation
from streamlab.localstack.apiexec.metrics import Metrics
from streamlab.localstack.apiexec.upstream import account_of
from streamlab.localstack.proxy import Answer, FrontDoorContext, Route, forward, forward_buffered
from streamlab.localstack.throttle_switch import THROTTLED_MESSAGE, THROTTLED_TYPE, ThrottleSwitch
from streamlab.target import LOCAL_ACCOUNT_ID

log = logging.getLogger("streamlab.apiexec")

MAX_PAYLOAD = 10 * 1024 * 1024  # A6: API Gateway's payload limit
DEFAULT_CONTENT_TYPE = "application/json"  # what API Gateway assumes when the client sends none
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_BREAKS_HEADER = re.compile(r"[\x00\r\n]")


class PayloadTooLarge(Exception):
    pass


def is_invocation(request: web.Request) -> bool:
    return parse_invocation(request.rel_url.raw_path, request.host) is not None


def is_control_change(request: web.Request) -> bool:
    return request.method in MUTATING and request.path.startswith("/restapis/") and not is_invocation(request)


def routes(executor: Executor) -> list[Route]:
    return [
        Route("apiexec-invoke", is_invocation, executor.invoke_request, data_plane=True),
        Route("apiexec-control-watch", is_control_change, executor.watch_control_call),
    ]


@dataclass
class Call:
    """One invocation: what the templates see as $context and $input.params()."""

    request: Invocation
    api_id: str
    stage_name: str
    path: str
    request_id: str
    extended_request_id: str
    epoch_ms: int
    started: float

    def context(self, resource_path: str) -> dict[str, Any]:
        req = self.request
        host = req.host
        return {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": self.api_id,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "extendedRequestId": self.extended_request_id,
            "httpMethod": req.method,
            "identity": {
                "sourceIp": req.source_ip,
                "userAgent": req.headers.get("User-Agent", ""),
            },
            "path": f"/{self.stage_name}{self.path}",
            "protocol": req.protocol,
            "requestId": self.request_id,
            "requestTime": _request_time(self.epoch_ms // 1000),
            "requestTimeEpoch": self.epoch_ms,
            "resourcePath": resource_path,
            "stage": self.stage_name,
            # A response template may set these (#set($context.responseOverride.status = 404)).
            "responseOverride": {"status": None, "header": {}},
        }


@lru_cache(maxsize=4)
def _request_time(epoch_s: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_s))


def _media_type(value: str | None) -> str:
    return (value or DEFAULT_CONTENT_TYPE).split(";", 1)[0].strip().lower() or DEFAULT_CONTENT_TYPE


class Executor:
    def __init__(self, ctx: FrontDoorContext):
        self.ctx = ctx
        self.cache = loader.DefinitionCache(ctx.http, ctx.upstream)
        self.keys = ApiKeyCache(self.cache.items)
        self.metrics = Metrics(ctx.http, ctx.upstream)
        self.backend = BackendPool(ctx.upstream)  # the integration's PutItem/GetItem calls (backend_pool.py)
        self.buckets = throttling.TokenBuckets()
        self.dynamodb_throttle = ThrottleSwitch(ctx.paths)

    # -- control plane -------------------------------------------------------------------------

    async def watch_control_call(self, request: web.Request) -> web.StreamResponse:
        """Forward a control-plane change to MiniStack, then drop what it made stale."""
        response = await forward(request, self.ctx)
        parts = request.path.split("/")
        if response.status < 400 and len(parts) > 2:
            api_id = parts[2]
            if request.method == "POST" and len(parts) == 4 and parts[3] == "deployments":
                await self.cache.note_deployment(api_id)
            else:
                self.cache.forget(api_id)
        return response

    # -- data plane ----------------------------------------------------------------------------

    async def invoke_request(self, request: web.Request) -> web.StreamResponse:
        """The aiohttp lane: read the body (at most MAX_PAYLOAD, within the body timeout), then invoke."""
        refusal = None
        body = b""
        if request.content_length is not None and request.content_length > MAX_PAYLOAD:
            refusal = gateway.REQUEST_TOO_LARGE
        else:
            try:
                body = await limits.read_body(lambda: _read_capped(request))
            except PayloadTooLarge:
                refusal = gateway.REQUEST_TOO_LARGE
            except limits.BodyTimeout:
                refusal = gateway.REQUEST_TIMEOUT
        peer = request.transport.get_extra_info("peername") if request.transport else None
        invocation = Invocation(
            method=request.method, raw_path=request.raw_path, headers=request.headers, body=body,
            source_ip=peer[0] if peer else "127.0.0.1", protocol=f"HTTP/{request.version.major}.{request.version.minor}",
        )
        return (await self.invoke(invocation, refusal)).to_response()

    async def invoke(self, request: Invocation, refusal: GatewayError | None = None) -> Answer:
        """Run one invocation; `refusal` answers it once the API and stage are known to exist."""
        api_id, stage_name, path = request.target  # type: ignore[misc]  # the route matched
        call = Call(
            request=request,
            api_id=api_id,
            stage_name=stage_name,
            path=path,
            request_id=ids.new_request_id(),
            extended_request_id=ids.new_extended_request_id(),
            epoch_ms=int(time.time() * 1000),
            started=time.perf_counter(),
        )
        api_name = call.api_id
        integration_ms: list[float] = []
        try:
            definition, stage = await self.cache.resolve(call.api_id, call.stage_name)
            api_name = definition.name
            if refusal is not None:
                response = self._error(call, refusal)
            else:
                response = await self._run(call, definition, stage, integration_ms)
        except loader.ApiNotFound:
            response = self._error(call, gateway.NOT_FOUND)
        except loader.StageNotFound:
            response = self._error(call, gateway.FORBIDDEN)
        except loader.ControlPlaneUnavailable as exc:
            log.warning("cannot read API %s: %s", call.api_id, exc)
            response = self._error(call, gateway.INTERNAL_ERROR)
        except Exception:
            # A bug of ours must still look like API Gateway to the client: a 5xx, never a false 2xx.
            log.exception("API executor failed on %s %s", request.method, request.raw_path_only)
            response = self._error(call, gateway.INTERNAL_ERROR)
        latency_ms = (time.perf_counter() - call.started) * 1000
        self.metrics.record(api_name, call.stage_name, response.status, latency_ms,
                            integration_ms[0] if integration_ms else None)
        return response

    async def _run(self, call: Call, definition: ApiDefinition, stage: Stage, integration_ms: list[float]) -> Answer:
        request = call.request
        segments = [unquote(s) for s in call.path.split("/") if s]
        found = routing.match(definition.tree, request.method, segments)
        if found is None:
            return self._error(call, gateway.MISSING_AUTH_TOKEN)
        method, integration = found.method, found.method.integration
        if method.api_key_required and not await self.keys.allows(call.api_id, call.stage_name,
                                                                  request.headers.get(API_KEY_HEADER)):
            return self._error(call, gateway.FORBIDDEN)
        limit = throttling.limit_for(stage.limits, found.resource_path, request.method)
        if limit is not None:
            wait_s = self.buckets.take((call.api_id, call.stage_name, found.resource_path, request.method), limit)
            if wait_s:
                return self._error(call, gateway.TOO_MANY_REQUESTS, retry_after_s=wait_s)
        if integration is None:
            return self._error(call, gateway.INTERNAL_ERROR)
        if integration.dynamodb is None:
            return await forward_buffered(self.ctx, request.method, request.raw_path, request.headers, request.body)

        body = request.body
        params = {
            "path": found.path_params,
            "querystring": dict(request.query),
            "header": dict(request.headers),
        }
        refusal = await limits.run_sized(len(body), _validate, method, request.headers, params, body)
        if refusal is not None:
            return self._error(call, refusal)

        media_type = _media_type(request.headers.get("Content-Type"))
        template = integration.templates.get(media_type)
        if template is None and _refuses_passthrough(integration):
            return self._error(call, gateway.UNSUPPORTED_MEDIA_TYPE)

        context = call.context(found.resource_path)
        if template is None:
            backend_body = body
        else:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                # CHOSEN: a body that is not UTF-8 cannot reach a text template intact; refuse it.
                return self._error(call, gateway.BAD_REQUEST_BODY)
            try:
                backend_body = (await limits.run_sized(
                    len(body), vtl.render, template, input=vtl.Input(text, params), context=context,
                    stage_variables=stage.variables)).encode("utf-8")
            except json.JSONDecodeError as exc:
                return self._error(call, GatewayError(
                    400, "BadRequestException", f"Could not parse request body into json: {exc.msg}"))
            except (vtl.TemplateError, ValueError, TypeError, AttributeError, LookupError) as exc:
                log.warning("request template of %s %s failed: %r", request.method, found.resource_path, exc)
                return self._error(call, gateway.INTERNAL_ERROR)

        region, action = integration.dynamodb
        sent = time.perf_counter()
        try:
            if self.dynamodb_throttle.throttles(action):
                backend = _throttled_backend()
            else:
                backend = await dynamodb.call(
                    self.ctx.http, self.ctx.upstream, region=region, action=action,
                    access_key=account_of(integration.credentials), body=backend_body, timeout_s=integration.timeout_s,
                    pool=self.backend, journal=self.ctx.journal,
                )
        except dynamodb.BackendTimeout:
            return self._error(call, gateway.INTEGRATION_TIMEOUT)
        except dynamodb.BackendUnreachable as exc:
            log.warning("%s", exc)
            return self._error(call, gateway.INTERNAL_ERROR)
        finally:
            integration_ms.append((time.perf_counter() - sent) * 1000)
        return self._respond(call, method, integration, backend, params, context, stage)

    def _respond(self, call: Call, method: Method, integration: Integration, backend: dynamodb.BackendResponse,
                 params: dict[str, Any], context: dict[str, Any], stage: Stage) -> Answer:
        chosen = gateway.select_response(integration.responses, backend.status)
        if chosen is None or chosen.status not in method.method_responses:
            # A4: no integration response fits, or it names a status the method does not declare.
            log.warning("no usable integration response for backend status %s (API %s)", backend.status, call.api_id)
            return self._error(call, gateway.INTERNAL_ERROR)
        accept = _media_type(call.request.headers.get("Accept")) if call.request.headers.get("Accept") else None
        if accept in chosen.templates:
            media_type = accept
        elif DEFAULT_CONTENT_TYPE in chosen.templates or not chosen.templates:
            media_type = DEFAULT_CONTENT_TYPE
        else:
            media_type = next(iter(chosen.templates))
        template = chosen.templates.get(media_type)
        body = backend.body
        if template is not None and template.content.strip():
            try:
                text = body.decode("utf-8", errors="replace")
                body = vtl.render(template, input=vtl.Input(text, params), context=context,
                                  stage_variables=stage.variables).encode("utf-8")
            except (vtl.TemplateError, ValueError, TypeError, AttributeError, LookupError) as exc:
                log.warning("response template failed: %r", exc)
                return self._error(call, gateway.INTERNAL_ERROR)
        override = context["responseOverride"]
        status = int(override["status"]) if override["status"] else int(chosen.status)
        response = Answer(status, body, media_type)
        for name, value in override["header"].items():
            response.headers[name] = str(value)
        for target, source in chosen.parameters.items():
            if target.startswith("method.response.header."):
                value = _response_parameter(source, backend)
                if value is not None:
                    response.headers[target[len("method.response.header."):]] = value
        if not 100 <= status <= 599 or any(_BREAKS_HEADER.search(k + v) for k, v in response.headers.items()):
            # A template or mapping made a status HTTP cannot carry or a header that would split the answer.
            log.warning("unusable answer for API %s: status %s, headers %r", call.api_id, status, list(response.headers))
            return self._error(call, gateway.INTERNAL_ERROR)
        _stamp(response, call)
        return response

    def _error(self, call: Call, error: GatewayError, retry_after_s: float | None = None) -> Answer:
        response = Answer(error.status, error.body(), "application/json")
        response.headers["x-amzn-ErrorType"] = error.error_type
        if retry_after_s is not None:
            # CHOSEN: AWS sends no Retry-After with its 429; we say when the bucket has a token again.
            response.headers["Retry-After"] = str(max(1, math.ceil(min(retry_after_s, 3600))))
        _stamp(response, call)
        return response


def _throttled_backend() -> dynamodb.BackendResponse:
    """What DynamoDB answers a throttled write (A7), for the DynamoDB throttling switch."""
    body = json.dumps({"__type": THROTTLED_TYPE, "message": THROTTLED_MESSAGE}).encode()
    headers = CIMultiDictProxy(CIMultiDict({"Content-Type": "application/x-amz-json-1.0",
                                            "x-amzn-ErrorType": THROTTLED_TYPE.rsplit("#", 1)[-1]}))
    return dynamodb.BackendResponse(400, headers, body)


def _stamp(response: Answer, call: Call) -> None:
    response.headers["x-amzn-RequestId"] = call.request_id
    response.headers["x-amz-apigw-id"] = call.extended_request_id


def _refuses_passthrough(integration: Integration) -> bool:
    """A3: with no template for the content type, may the body pass through untransformed?"""
    if integration.passthrough == "NEVER":
        return True
    if integration.passthrough == "WHEN_NO_TEMPLATES":
        return bool(integration.templates)
    return False  # WHEN_NO_MATCH


def _validate(method: Method, headers: CIMultiDictProxy[str], params: dict[str, Any], body: bytes) -> GatewayError | None:
    """A5: the method's request validator, parameters first, then the body."""
    if method.validate_parameters and method.required_parameters:
        missing = []
        for name in method.required_parameters:
            # method.request.{path|querystring|header}.{name}
            where, _, key = name.removeprefix("method.request.").partition(".")
            if where == "header":
                present = key in headers
            else:
                present = key in params.get(where, {})
            if not present:
                missing.append(key)
        if missing:
            return gateway.missing_parameters(missing)
    if method.validate_body and method.body_validators:
        validator = (method.body_validators.get(_media_type(headers.get("Content-Type")))
                     or method.body_validators.get("$default"))
        if validator is not None:
            try:
                document = limits.load_json(body, limits.API_MAX_JSON_DEPTH) if body.strip() else None
            except ValueError:
                return gateway.BAD_REQUEST_BODY
            if not validator(document):
                return gateway.BAD_REQUEST_BODY
    return None


def _response_parameter(source: str, backend: dynamodb.BackendResponse) -> str | None:
    if len(source) >= 2 and source[0] == source[-1] == "'":
        return source[1:-1]
    if source.startswith("integration.response.header."):
        return backend.headers.get(source[len("integration.response.header."):])
    if source == "integration.response.body":
        return backend.body.decode("utf-8", errors="replace")
    return None


async def _read_capped(request: web.Request) -> bytes:
    """The body, or PayloadTooLarge past MAX_PAYLOAD. aiohttp then drains the rest (lingering
    read) and discards it, so the client gets its 413 instead of a reset connection."""
    chunks, size = [], 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > MAX_PAYLOAD:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)
