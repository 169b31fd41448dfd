"""Shared plumbing of the provisioning steps: AWS errors into ProvisionError, not-found checks, polling."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from streamlab.errors import ProvisionError

T = TypeVar("T")

NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",  # DynamoDB, Lambda
        "NoSuchEntity",  # IAM
        "NotFoundException",  # API Gateway
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
    }
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in NOT_FOUND_CODES


@contextmanager
def provisioning(what: str) -> Iterator[None]:
    """Turn any AWS failure inside the block into a ProvisionError that says what was being done."""
    try:
        yield
    except ProvisionError:
        raise
    except ClientError as exc:
        err = exc.response.get("Error", {})
        raise ProvisionError(
            f"{what} failed: {err.get('Code', 'error')}: {err.get('Message', exc)}. "
            f"Check the target is reachable and the credentials may do this; re-running is safe "
            f"(every step reuses what exists)."
        ) from exc
    except WaiterError as exc:
        raise ProvisionError(f"{what}: gave up waiting ({exc}). Re-running is safe.") from exc
    except BotoCoreError as exc:
        raise ProvisionError(f"{what} failed: {exc}. Is the target reachable (`streamlab status`)?") from exc


def get_or_none(call: Callable[..., T], **kwargs: Any) -> T | None:
    """`call(**kwargs)`, or None when the resource does not exist."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if is_not_found(exc):
            return None
        raise


def wait_for(what: str, check: Callable[[], T | None], *, timeout: float = 120.0, interval: float = 0.5) -> T:
    """Poll `check` until it returns something truthy; ProvisionError after `timeout` seconds.

    For the states no boto3 waiter covers (event source mappings, deletions).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise ProvisionError(f"timed out after {timeout:.0f}s waiting for {what}. Re-running is safe.")
        time.sleep(interval)


def strip_metadata(response: dict) -> dict:
    """What AWS returned, without boto3's transport details (for showing in a notebook)."""
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def require_parts(parts: dict[str, Any], what: str, fix: str,
                  error: type[ProvisionError] = ProvisionError) -> None:
    """`error` naming every part of `what` that was not found (falsy), and how to deploy it."""
    missing = [name for name, found in parts.items() if not found]
    if missing:
        raise error(f"{what} is not (fully) deployed: missing {', '.join(missing)}. {fix}")
