"""SyncProcessor: the synchronous design's API backend (API Gateway AWS_PROXY -> this function).

It does, inline and while the client waits, the same "work" the StreamProcessor does later, then
stores the request already PROCESSED and answers 200 {"id": ...}. If the work fails it raises, so
API Gateway answers 502 and nothing is stored: the request is lost unless the client retries.

The work and its failure switches are the StreamProcessor's (infra/functions/stream_processor):
- per request, in the JSON body:
    {"sleep_ms": 50}       sleep that long (the work)
    {"fail": "poison"}     raise; {"fail": "once"} or {"fail": n} raise too (a request has one
                           attempt here: a client retry is a new request)
- per function, environment variables:
    WORK_MS=n                          sleep n ms on every request (besides sleep_ms)
    FAILURE_RATE=0..1, FAILURE_SEED=n  that share of requests raises, reproducibly
                                       (the same draw(seed, id, attempt) as the StreamProcessor)
A body that is not a JSON object is a client error: 400, nothing stored.

Item attributes: the shared contract (request_schema, bundled into the zip). Dependencies: boto3
only. Locally MiniStack's worker sets AWS_ENDPOINT_URL; on AWS it is unset.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid

import boto3
from botocore.config import Config

try:
    import request_schema as schema  # bundled into the zip by streamlab.provision.package
except ImportError:  # running from a checkout (unit tests)
    from streamlab import schema  # type: ignore[no-redef]

ATTEMPT = 1  # a synchronous request is tried once; retrying is the client's business


class InjectedFailure(Exception):
    """A failure asked for by a switch: an experiment, not a bug."""


def _env_number(name: str, low: float, high: float) -> float:
    raw = os.environ.get(name, "0") or "0"
    value = float(raw)
    if not low <= value <= high:
        raise ValueError(f"{name}={raw} must be between {low:g} and {high:g}")
    return value


FAILURE_RATE = _env_number("FAILURE_RATE", 0.0, 1.0)
FAILURE_SEED = os.environ.get("FAILURE_SEED", "0")
WORK_MS = _env_number("WORK_MS", 0.0, 900_000.0)

_client = None


def _dynamodb():
    global _client
    if _client is None:
        _client = boto3.client(
            "dynamodb",
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10),
        )
    return _client


def draw(seed: str, item_id: str, attempt: int) -> float:
    """A reproducible number in [0, 1) for one attempt at one item (the StreamProcessor's draw)."""
    digest = hashlib.sha256(f"{seed}:{item_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _failing_attempts(fail) -> int:
    if fail is None:
        return 0
    if fail == "poison":
        return 1 << 62
    if fail == "once":
        return 1
    if isinstance(fail, int) and not isinstance(fail, bool) and fail >= 0:
        return fail
    raise InjectedFailure(f"unknown fail switch {fail!r}: use 'poison', 'once' or a number of attempts")


def _answer(status: int, payload: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(payload)}


def _body_text(event: dict) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return body


def work(switches: dict, item_id: str) -> None:
    """The simulated processing: sleep, then fail if a switch says so. Raises InjectedFailure."""
    sleep_ms = switches.get("sleep_ms")
    total_ms = WORK_MS
    if isinstance(sleep_ms, (int, float)) and not isinstance(sleep_ms, bool) and sleep_ms > 0:
        total_ms += sleep_ms
    if total_ms > 0:
        time.sleep(total_ms / 1000.0)
    if ATTEMPT <= _failing_attempts(switches.get("fail")):
        raise InjectedFailure(f"request {item_id}: fail switch {switches.get('fail')!r}")
    if FAILURE_RATE > 0 and draw(FAILURE_SEED, item_id, ATTEMPT) < FAILURE_RATE:
        raise InjectedFailure(f"request {item_id}: FAILURE_RATE={FAILURE_RATE} drew a failure")


def handler(event, context):
    context_ = (event or {}).get("requestContext") or {}
    # The gateway-made id, like the fire-and-forget API's $context.extendedRequestId.
    item_id = context_.get("extendedRequestId") or context_.get("requestId") or str(uuid.uuid4())
    accepted_at = int(context_.get("requestTimeEpoch") or time.time() * 1000)
    try:
        text = _body_text(event or {})
        switches = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, {"message": "Invalid request body"})
    if not isinstance(switches, dict):
        return _answer(400, {"message": "Invalid request body"})

    work(switches, item_id)  # an exception here is a function error: API Gateway answers 502

    now = int(time.time() * 1000)
    _dynamodb().put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={
            schema.ID: {"S": item_id},
            schema.BODY: {"S": text},
            schema.ACCEPTED_AT: {"N": str(accepted_at)},
            schema.STATUS: {"S": schema.PROCESSED},
            schema.PROCESSED_AT: {"N": str(now)},
            schema.ATTEMPTS: {"N": str(ATTEMPT)},
        },
    )
    return _answer(200, {"id": item_id})
