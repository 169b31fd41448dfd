"""Validate CreateEventSourceMapping / UpdateEventSourceMapping input and shape the answers.

Ranges are AWS's (E2-E6, E12); errors are AWS's exception names so boto3 raises the right
classes. The result is a typed `Mapping` (mapping.py), which converts to and from AWS's field names.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from streamlab.localstack.awserror import AwsError
from streamlab.localstack.esm.mapping import INTERNAL, Mapping

STREAM_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:dynamodb:([a-z0-9-]+):(\d{12}):table/([^/]+)/stream/(.+)$")
# Lambda's model for FunctionName in the event-source-mapping calls: a name, partial or full ARN, <= 140 chars.
FUNCTION_NAME = re.compile(
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
    r"([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
FUNCTION_NAME_MAX = 140
MAX_ITEMS = (1, 10_000)
DESTINATION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:(sqs|sns|s3):[a-z0-9-]*:\d{0,12}:?.+$")

DEFAULTS: dict[str, Any] = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "MaximumRetryAttempts": -1,
    "MaximumRecordAgeInSeconds": -1,
    "BisectBatchOnFunctionError": False,
    "TumblingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
    "DestinationConfig": {"OnFailure": {}},
}
# (min, max) of each integer setting.
RANGES: dict[str, tuple[int, int]] = {
    "BatchSize": (1, 10_000),
    "MaximumBatchingWindowInSeconds": (0, 300),
    "ParallelizationFactor": (1, 10),
    "MaximumRetryAttempts": (-1, 10_000),
    "MaximumRecordAgeInSeconds": (-1, 604_800),
    "TumblingWindowInSeconds": (0, 900),
}
UPDATABLE = (
    "BatchSize", "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "MaximumRetryAttempts",
    "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "TumblingWindowInSeconds",
    "FunctionResponseTypes", "DestinationConfig", "FilterCriteria", "MetricsConfig",
)
CREATE_ONLY = ("EventSourceArn", "StartingPosition", "StartingPositionTimestamp")
MAX_FILTERS = 5
# States in which AWS refuses another change (ResourceConflictException).
TRANSITIONAL = ("Creating", "Updating", "Enabling", "Disabling", "Deleting")




def invalid(message: str) -> AwsError:
    return AwsError(400, "InvalidParameterValueException", message)


def validation(field: str, value: Any, constraint: str) -> AwsError:
    """A request that breaks the API model's own constraints (length, range), worded as Lambda does."""
    shown = value if len(str(value)) <= 64 else f"{str(value)[:64]}..."
    return AwsError(400, "ValidationException",
                    f"1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: {constraint}")


def not_found(uuid_: str) -> AwsError:
    return AwsError(404, "ResourceNotFoundException", f"The resource you requested does not exist. (UUID: {uuid_})")


def conflict(message: str) -> AwsError:
    return AwsError(409, "ResourceConflictException", message)


def is_stream_arn(arn: Any) -> bool:
    return isinstance(arn, str) and STREAM_ARN.match(arn) is not None


def _check_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be an integer, got {value!r}.")
    low, high = RANGES[name]
    if name == "MaximumRecordAgeInSeconds":
        if value != -1 and not 60 <= value <= high:
            raise invalid("MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)")
    elif not low <= value <= high:
        raise invalid(f"{name} must be between {low} and {high} (inclusive), got {value}.")
    return value


def check_function_name(ref: Any) -> str:
    """FunctionName as the API model allows it (before anyone looks the function up)."""
    if not isinstance(ref, str) or not ref:
        raise invalid("FunctionName is required.")
    if len(ref) > FUNCTION_NAME_MAX:
        raise validation("functionName", ref, f"Member must have length less than or equal to {FUNCTION_NAME_MAX}")
    if not FUNCTION_NAME.fullmatch(ref):
        raise validation("functionName", ref, f"Member must satisfy regular expression pattern: {FUNCTION_NAME.pattern}")
    return ref


def check_max_items(raw: str | None, default: int = 100) -> int:
    """ListEventSourceMappings' MaxItems query parameter: a whole number from 1 to 10,000."""
    if raw is None or raw == "":
        return default
    low, high = MAX_ITEMS
    try:
        value = int(raw)
    except ValueError:
        raise validation("maxItems", raw, "Member must be a whole number") from None
    if not low <= value <= high:
        bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        raise validation("maxItems", raw, f"Member must have value {bound}")
    return value


def _check_filters(criteria: Any) -> dict:
    if not isinstance(criteria, dict) or not isinstance(criteria.get("Filters", []), list):
        raise invalid("FilterCriteria must be {\"Filters\": [{\"Pattern\": \"<json>\"}, ...]}.")
    filters = criteria.get("Filters", [])
    if len(filters) > MAX_FILTERS:
        raise invalid(f"FilterCriteria holds {len(filters)} filters; the limit is {MAX_FILTERS}.")
    for item in filters:
        pattern = item.get("Pattern") if isinstance(item, dict) else None
        try:
            parsed = json.loads(pattern) if isinstance(pattern, str) else None
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise invalid(f"Invalid filter pattern definition: {pattern!r} is not a JSON object.")
    return criteria


def _check_destination(config: Any) -> dict:
    if not isinstance(config, dict):
        raise invalid("DestinationConfig must be an object like {\"OnFailure\": {\"Destination\": \"<arn>\"}}.")
    if config.get("OnSuccess"):
        raise invalid("OnSuccess destinations are not supported for DynamoDB stream event sources.")
    on_failure = config.get("OnFailure") or {}
    if not isinstance(on_failure, dict):
        raise invalid("DestinationConfig.OnFailure must be an object like {\"Destination\": \"<arn>\"}.")
    destination = on_failure.get("Destination")
    if destination is not None and not (isinstance(destination, str) and DESTINATION_ARN.match(destination)):
        raise invalid(
            f"The provided destination config DestinationConfig.OnFailure.Destination {destination!r} is invalid: "
            "use the ARN of a standard SQS queue, an SNS topic or an S3 bucket."
        )
    if isinstance(destination, str) and destination.endswith(".fifo"):
        raise invalid("FIFO SQS queues are not supported as on-failure destinations; use a standard queue.")
    return {"OnFailure": {"Destination": destination} if destination else {}}


def _check_settings(body: dict) -> dict:
    """The validated updatable settings present in `body`."""
    out: dict[str, Any] = {}
    for name in RANGES:
        if body.get(name) is not None:
            out[name] = _check_int(name, body[name])
    if body.get("BisectBatchOnFunctionError") is not None:
        if not isinstance(body["BisectBatchOnFunctionError"], bool):
            raise invalid("BisectBatchOnFunctionError must be true or false.")
        out["BisectBatchOnFunctionError"] = body["BisectBatchOnFunctionError"]
    if body.get("FunctionResponseTypes") is not None:
        types = body["FunctionResponseTypes"]
        if not isinstance(types, list) or any(t != "ReportBatchItemFailures" for t in types):
            raise invalid(f"FunctionResponseTypes {types!r} is invalid; the only value is ReportBatchItemFailures.")
        out["FunctionResponseTypes"] = sorted(set(types))
    if body.get("DestinationConfig") is not None:
        out["DestinationConfig"] = _check_destination(body["DestinationConfig"])
    if body.get("FilterCriteria") is not None:
        out["FilterCriteria"] = _check_filters(body["FilterCriteria"])
    if body.get("MetricsConfig") is not None:
        if not isinstance(body["MetricsConfig"], dict):
            raise invalid("MetricsConfig must be an object like {\"Metrics\": [\"EventCount\"]}.")
        metrics = body["MetricsConfig"].get("Metrics", [])
        if not isinstance(metrics, list) or any(m != "EventCount" for m in metrics):
            raise invalid(f"MetricsConfig.Metrics {metrics!r} is invalid; the only value is EventCount.")
        out["MetricsConfig"] = {"Metrics": metrics}
    if body.get("ScalingConfig"):
        raise invalid("ScalingConfig is only supported for Amazon SQS event sources.")
    return out


def _check_enabled(body: dict) -> bool | None:
    if body.get("Enabled") is None:
        return None
    if not isinstance(body["Enabled"], bool):
        raise invalid("Enabled must be true or false.")
    return body["Enabled"]


def check_create(body: dict) -> dict:
    """The validated settings of a CreateEventSourceMapping body, checked before anything is looked up."""
    source = body.get("EventSourceArn")
    if not is_stream_arn(source):
        raise invalid(f"EventSourceArn {source!r} is not a DynamoDB stream ARN.")
    position = body.get("StartingPosition")
    if position is None:
        raise invalid("StartingPosition is required for DynamoDB stream event sources: TRIM_HORIZON or LATEST.")
    if position not in ("TRIM_HORIZON", "LATEST"):
        raise invalid(f"Unsupported starting position {position!r} for DynamoDB streams; use TRIM_HORIZON or LATEST.")
    if body.get("StartingPositionTimestamp") is not None:
        raise invalid("StartingPositionTimestamp is not supported for DynamoDB stream event sources.")
    settings = _check_settings(body)
    _check_enabled(body)
    if body.get("Tags") is not None:
        check_tags(body["Tags"])
    return settings


def new_mapping(body: dict, function_name: str, function_arn: str) -> Mapping:
    """A validated mapping for CreateEventSourceMapping (State Creating)."""
    settings = check_create(body)
    return Mapping.from_api({
        **DEFAULTS,
        **settings,
        "UUID": str(uuid.uuid4()),
        "StartingPosition": body["StartingPosition"],
        "EventSourceArn": body["EventSourceArn"],
        "FunctionArn": function_arn,
        "FunctionName": function_name,
        "LastModified": time.time(),
        "Enabled": _check_enabled(body) is not False,
        **({"Tags": check_tags(body["Tags"])} if body.get("Tags") is not None else {}),
    })


def apply_update(mapping: Mapping, body: dict, function: tuple[str, str] | None) -> Mapping:
    """The mapping after UpdateEventSourceMapping; `function` is the resolved (name, arn) if changed."""
    if mapping.state in TRANSITIONAL:
        raise conflict(
            "The operation cannot be performed at this time. "
            f"The event source mapping is currently in a {mapping.state} state. Try again when it is Enabled or Disabled."
        )
    for name in CREATE_ONLY:
        if body.get(name) is not None:
            raise invalid(f"{name} cannot be changed by UpdateEventSourceMapping; delete and recreate the mapping.")
    updated = mapping.with_api_fields(_check_settings(body))
    enabled = _check_enabled(body)
    if function is not None:
        updated = updated.changed(function_name=function[0], function_arn=function[1])
    if enabled is not None and enabled != mapping.enabled:
        updated = updated.changed(state="Enabling" if enabled else "Disabling", enabled=enabled)
    else:
        updated = updated.changed(state="Updating")
    return updated.changed(state_transition_reason="USER_INITIATED", last_modified=time.time())


def check_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise invalid("Tags must be an object of string keys and string values.")
    return dict(tags)


def uuid_from_arn(arn: str) -> str | None:
    """The UUID of an event-source-mapping ARN, or None for any other ARN."""
    head, sep, tail = arn.rpartition(":event-source-mapping:")
    return tail if sep and head.startswith("arn:") else None


def describe(mapping: Mapping) -> dict:
    """The mapping as Get/List/Create/Update/Delete answer it (tags only through ListTags, as AWS)."""
    out = {k: v for k, v in mapping.to_api().items() if k not in INTERNAL}
    parts = STREAM_ARN.match(mapping.event_source_arn)
    region, account = (parts.group(1), parts.group(2)) if parts else ("us-east-1", "000000000000")
    out["EventSourceMappingArn"] = f"arn:aws:lambda:{region}:{account}:event-source-mapping:{mapping.uuid}"
    return out