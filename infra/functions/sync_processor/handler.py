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
import json
import os
import time
import uuid

try:  # bundled into the zip by streamlab.provision.package
    import failure_switches as switches
    import request_schema as schema
except ImportError:  # running from a checkout (unit tests)
    from streamlab.functions import failure_switches as switches  # type: ignore[no-redef]
    from streamlab import schema  # type: ignore[no-redef]

ATTEMPT = 1  # a synchronous request is tried once; retrying is the client's business

InjectedFailure = switches.InjectedFailure
draw = switches.draw
FAILURE_RATE = switches.env_number("FAILURE_RATE", 0.0, 1.0)
FAILURE_SEED = os.environ.get("FAILURE_SEED", "0")
WORK_MS = switches.env_number("WORK_MS", 0.0, 900_000.0)


def _dynamodb():
    return switches.dynamodb()


def _answer(status: int, payload: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(payload)}


def _body_text(event: dict) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return body


def work(wanted: dict, item_id: str) -> None:
    """The simulated processing: sleep, then fail if a switch says so. Raises InjectedFailure."""
    switches.do_work(wanted, WORK_MS)
    switches.check_failure(wanted, item_id, ATTEMPT, FAILURE_RATE, FAILURE_SEED)


def handler(event, context):
    context_ = (event or {}).get("requestContext") or {}
    # The gateway-made id, like the fire-and-forget API's $context.extendedRequestId.
    item_id = context_.get("extendedRequestId") or context_.get("requestId") or str(uuid.uuid4())
    accepted_at = int(context_.get("requestTimeEpoch") or time.time() * 1000)
    try:
        text = _body_text(event or {})
        wanted = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        return _answer(400, {"message": "Invalid request body"})
    if not isinstance(wanted, dict):
        return _answer(400, {"message": "Invalid request body"})

    work(wanted, item_id)  # an exception here is a function error: API Gateway answers 502

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
