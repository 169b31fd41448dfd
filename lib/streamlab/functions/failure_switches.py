"""Injected failures and the DynamoDB client, shared by both Lambda handlers.

`infra/functions/stream_processor` and `infra/functions/sync_processor` do the same simulated
work with the same switches, so the comparison in notebook 07 is fair. This module is bundled
into each function's zip as `failure_switches.py` (see streamlab.provision.package); it needs
boto3 only.

Switches: per request, in the JSON body, `{"fail": "poison"}` (every attempt fails),
`{"fail": "once"}` or `{"fail": n}` (the first n attempts fail) and `{"sleep_ms": n}` (work);
per function, FAILURE_RATE=0..1 with FAILURE_SEED (that share of attempts fails, reproducibly).
"""
from __future__ import annotations

import hashlib
import json
import os
import time

import boto3
from botocore.config import Config

POISON = 1 << 62  # attempts a poison record fails: all of them

_client = None


class InjectedFailure(Exception):
    """A failure asked for by a switch: an experiment, not a bug."""


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def env_number(name: str, low: float, high: float) -> float:
    raw = os.environ.get(name, "0") or "0"
    value = float(raw)
    if not low <= value <= high:
        raise ValueError(f"{name}={raw} must be between {low:g} and {high:g}")
    return value


class MissingCredentials(Exception):
    """The function's environment lacks the credentials Lambda always sets."""


def environment_credentials() -> dict:
    """The execution role's credentials, which Lambda (and MiniStack) put in the environment.

    Only these: never boto3's default chain, which would go on to ~/.aws, a profile or instance
    metadata, i.e. the developer's own account when the function runs locally."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not key or not secret:
        raise MissingCredentials(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: this code runs inside a Lambda "
            "function, whose runtime sets them from the execution role."
        )
    return {"aws_access_key_id": key, "aws_secret_access_key": secret,
            "aws_session_token": os.environ.get("AWS_SESSION_TOKEN") or None}


def dynamodb():
    """One client per worker (warm invocations reuse it). Locally AWS_ENDPOINT_URL points at MiniStack."""
    global _client
    if _client is None:
        _client = boto3.client(
            "dynamodb",
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
            config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10),
            **environment_credentials(),
        )
    return _client


def parse_switches(text: str | None) -> dict:
    """The switches in a request body; {} for an empty body, malformed JSON or a non-object."""
    if not text:
        return {}
    try:
        body = json.loads(text)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def failing_attempts(fail) -> int:
    """How many first attempts the `fail` switch makes fail (POISON for every one)."""
    if fail is None:
        return 0
    if fail == "poison":
        return POISON
    if fail == "once":
        return 1
    if isinstance(fail, int) and not isinstance(fail, bool) and fail >= 0:
        return fail
    raise InjectedFailure(f"unknown fail switch {fail!r}: use 'poison', 'once' or a number of attempts")


def draw(seed: str, item_id: str, attempt: int) -> float:
    """A reproducible number in [0, 1) for one attempt at one item."""
    digest = hashlib.sha256(f"{seed}:{item_id}:{attempt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def do_work(switches: dict, extra_ms: float = 0.0) -> None:
    """Sleep for the body's `sleep_ms` (plus `extra_ms`): the simulated slow work."""
    sleep_ms = switches.get("sleep_ms")
    total = extra_ms
    if isinstance(sleep_ms, (int, float)) and not isinstance(sleep_ms, bool) and sleep_ms > 0:
        total += sleep_ms
    if total > 0:
        time.sleep(total / 1000.0)


def check_failure(switches: dict, item_id: str, attempt: int, rate: float, seed: str) -> None:
    """Raise InjectedFailure if the `fail` switch or the failure rate says this attempt fails."""
    if attempt <= failing_attempts(switches.get("fail")):
        raise InjectedFailure(f"request {item_id}: fail switch {switches.get('fail')!r} at attempt {attempt}")
    if rate > 0 and draw(seed, item_id, attempt) < rate:
        raise InjectedFailure(f"request {item_id}: FAILURE_RATE={rate} drew a failure at attempt {attempt}")
