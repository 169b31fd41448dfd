"""AWS-shaped 400s for malformed calls the front door would forward to MiniStack, before forwarding.

MiniStack answers some malformed calls with a 500 (a deeply nested DynamoDB item overflows its
recursion) and accepts others (CreateRestApi with a body that is not an object: 201). AWS answers
them with a 400 in the protocol's error shape, so the front door does that itself:

- JSON-protocol calls (`X-Amz-Target`: DynamoDB, Streams, SQS, Logs, ...): the body must be a
  JSON object (SerializationException) that fits botocore's model of the operation (types,
  required members: ValidationException, see `modelcheck`); DynamoDB's attributes nest at most
  32 levels (ValidationException, as DynamoDB words it);
- API Gateway's control plane: JSON bodies must be objects (BadRequestException); CreateRestApi
  needs a `name`. PutRestApi and ImportRestApi carry an OpenAPI document and are left alone;
- Lambda's function calls: JSON bodies must be objects (InvalidRequestContentException);
  Invoke payloads are the function's business and are left alone.

Bodies larger than `OFFLOAD_BYTES` are parsed on a worker thread, so other clients are not stalled.
The body read here is kept on the request (`proxy.BODY_KEY`) and forwarded as read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from aiohttp import web

from streamlab.localstack import limits, modelcheck
from streamlab.localstack.awserror import AwsError
from streamlab.localstack.limits import MAX_JSON_DEPTH, TooDeep, load_json
from streamlab.localstack.proxy import BODY_KEY

DYNAMODB_TARGETS = ("DynamoDB_20120810.", "DynamoDBStreams_20120810.")
DYNAMODB_MAX_NESTING = 32  # levels of M and L in one attribute value
# Past this JSON depth a DynamoDB body cannot be within the nesting limit (2 JSON levels per
# attribute level, plus the envelope of BatchWriteItem/TransactWriteItems): refused unparsed.
DYNAMODB_MAX_JSON_DEPTH = 16 + 2 * DYNAMODB_MAX_NESTING
_WRITES = frozenset({"POST", "PUT", "PATCH"})


async def check(request: web.Request) -> None:
    """Raise AwsError when the call is malformed in a way MiniStack would mishandle."""
    rule = _rule_for(request)
    if rule is None:
        return
    try:
        raw = await limits.read_body(request.read)
    except web.HTTPRequestEntityTooLarge as exc:
        raise AwsError(413, "RequestEntityTooLargeException", exc.reason) from None
    except limits.BodyTimeout as exc:
        raise AwsError(408, "RequestTimeoutException", str(exc)) from None
    request[BODY_KEY] = raw
    if not raw.strip():
        return
    try:
        document = await limits.run_sized(len(raw), _parse_object, raw, rule.max_depth)
    except TooDeep:
        raise AwsError(400, rule.code, rule.too_deep) from None
    except ValueError as exc:
        raise AwsError(400, rule.code, f"{rule.malformed}: {exc}") from None
    if rule.validate is not None:
        await limits.run_sized(len(raw), rule.validate, request, document)


@dataclass(frozen=True)
class _Rule:
    """How one protocol words a malformed body, and how deep its bodies may nest."""

    code: str
    malformed: str
    max_depth: int = MAX_JSON_DEPTH
    too_deep: str = "The request body nests too deeply"
    validate: Callable[[web.Request, dict], None] | None = None


def _require_api_name(request: web.Request, body: dict) -> None:
    if request.method == "POST" and request.path.rstrip("/") == "/restapis":
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise AwsError(400, "BadRequestException", "Invalid API name specified: CreateRestApi needs a non-empty 'name'.")


def attribute_nesting(document: Any) -> int:
    """The deepest nesting of DynamoDB `M`/`L` values anywhere in a request (iterative)."""
    deepest, pending = 0, [(document, 0)]
    while pending:
        node, levels = pending.pop()
        if isinstance(node, dict):
            if len(node) == 1 and isinstance(node.get("M", node.get("L")), (dict, list)):
                levels += 1
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, levels)
        pending.extend((child, levels) for child in children if isinstance(child, (dict, list)))
    return deepest


_TOO_NESTED = "Nesting Levels have exceeded supported limits"


def _check_against_model(request: web.Request, body: dict) -> None:
    wrong = modelcheck.problems(request.headers["X-Amz-Target"], body)
    if wrong is not None:
        raise AwsError(400, "ValidationException", wrong)


def _check_dynamodb(request: web.Request, body: dict) -> None:
    if attribute_nesting(body) > DYNAMODB_MAX_NESTING:
        raise AwsError(400, "ValidationException", _TOO_NESTED)
    _check_against_model(request, body)


_DYNAMODB = _Rule("ValidationException", "The request body is not a JSON object", DYNAMODB_MAX_JSON_DEPTH,
                  _TOO_NESTED, validate=_check_dynamodb)
_JSON_PROTOCOL = _Rule("SerializationException", "The request body is not a JSON object", 2 * MAX_JSON_DEPTH,
                       validate=_check_against_model)
_APIGATEWAY = _Rule("BadRequestException", "Invalid request body", validate=_require_api_name)
_LAMBDA = _Rule("InvalidRequestContentException", "Could not parse request body into json")


def _rule_for(request: web.Request) -> _Rule | None:
    target = request.headers.get("X-Amz-Target")
    if target is not None:
        return _DYNAMODB if target.startswith(DYNAMODB_TARGETS) else _JSON_PROTOCOL
    if request.method not in _WRITES:
        return None
    path = request.path.rstrip("/")
    if path.startswith("/restapis"):
        is_openapi = "mode" in request.query or (request.method == "PUT" and path.count("/") == 2)
        return None if is_openapi else _APIGATEWAY
    if path.startswith("/2015-03-31/functions") and not path.endswith("/invocations"):
        return _LAMBDA
    return None


def _parse_object(raw: bytes, max_depth: int) -> dict[str, Any]:
    document = load_json(raw, max_depth)
    if not isinstance(document, dict):
        raise ValueError(f"expected an object, got {type(document).__name__}")
    return document
