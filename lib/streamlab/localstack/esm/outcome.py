"""What a function's answer means for the batch (E5, E9, E12)."""
from __future__ import annotations

from dataclasses import dataclass

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.event import sequence_number
from streamlab.localstack.esm.upstream import InvokeResult


@dataclass(frozen=True)
class Outcome:
    """`success`, `failure` (whole batch), or `partial`: records before `retry_from` succeeded."""

    kind: str
    retry_from: int = 0
    reason: str = ""


SUCCESS = Outcome("success")


def classify(result: InvokeResult, records: list[dict], report_item_failures: bool, tumbling: bool) -> Outcome:
    if result.kind == "function_error":
        return Outcome("failure", reason=f"function error ({result.function_error})")
    payload = result.payload
    if tumbling and not (isinstance(payload, dict) and "state" in payload):
        return Outcome("failure", reason="tumbling window response without state")
    if not report_item_failures:
        return SUCCESS
    return _batch_item_failures(payload, records)


def _batch_item_failures(payload: object, records: list[dict]) -> Outcome:
    # E9: null, {} and an empty or null list all mean full success.
    if payload is None:
        return SUCCESS
    if not isinstance(payload, dict):
        return Outcome("failure", reason="malformed batchItemFailures response (not an object)")
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return SUCCESS
    if not isinstance(failures, list):
        return Outcome("failure", reason="batchItemFailures is not a list")
    positions = {sequence_number(r): i for i, r in enumerate(records)}
    lowest = None
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or not ident:
            return Outcome("failure", reason="batchItemFailures entry without itemIdentifier")
        if ident not in positions:
            if chosen.UNKNOWN_ITEM_IDENTIFIER_IS_FULL_FAILURE:
                return Outcome("failure", reason=f"itemIdentifier {ident} is not in the batch")
            continue
        lowest = positions[ident] if lowest is None else min(lowest, positions[ident])
    if lowest is None:
        return SUCCESS
    if lowest == 0:
        return Outcome("failure", reason="first record of the batch reported failed")
    return Outcome("partial", retry_from=lowest, reason=f"{len(records) - lowest} records reported failed")
