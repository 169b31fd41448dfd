"""Check a JSON-protocol request against botocore's model of the service, before MiniStack sees it.

MiniStack validates most input, but not all: `BatchWriteItem` with `RequestItems: [1]` is a 500
there. AWS checks every request against the service's model first (types, required members,
minimum lengths and values) and answers a 400; so does the front door, with the same models the
SDKs use (botocore's, pinned). Members the model does not know are let through: a newer SDK may
send them.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.session
from botocore.model import OperationNotFoundError
from botocore.validate import ParamValidator, ValidationErrors

# JSON-protocol services MiniStack serves (X-Amz-Target prefix comes from each model).
SERVICES = ("dynamodb", "dynamodbstreams", "sqs", "logs", "events", "kinesis", "secretsmanager", "ssm",
            "stepfunctions", "kms")
MAX_MESSAGE = 600


class _KnownMembersOnly(ValidationErrors):
    def report(self, name: str, reason: str, **kwargs: Any) -> None:
        if reason != "unknown field":
            super().report(name, reason, **kwargs)


@lru_cache(maxsize=1)
def _models_by_target_prefix() -> dict[str, Any]:
    session = botocore.session.get_session()
    models = {}
    for name in SERVICES:
        model = session.get_service_model(name)
        prefix = model.metadata.get("targetPrefix")
        if prefix:
            models[prefix] = model
    return models


def problems(target: str, body: dict) -> str | None:
    """What is wrong with `body` for the operation `target` (e.g. DynamoDB_20120810.PutItem), or None
    (also for services and operations the models do not cover: MiniStack answers those)."""
    prefix, _, operation = target.partition(".")
    model = _models_by_target_prefix().get(prefix)
    if model is None:
        return None
    try:
        shape = model.operation_model(operation).input_shape
    except OperationNotFoundError:
        return None
    if shape is None:
        return None
    errors = _KnownMembersOnly()
    ParamValidator()._validate(body, shape, errors, "")
    if not errors.has_errors():
        return None
    report = errors.generate_report()
    return report if len(report) <= MAX_MESSAGE else report[:MAX_MESSAGE] + "..."
