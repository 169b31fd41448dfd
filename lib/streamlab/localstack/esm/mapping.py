"""The event source mapping as the ESM holds it: a frozen dataclass, read from and written to AWS's shape.

The control plane validates requests into a `Mapping` (config.py), the service keeps one per UUID
and persists `to_api()`, and the pollers read its typed fields; nothing reads a mapping by string
keys. A change is a new value (`changed(...)`), never an edit in place.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any

# Attribute -> AWS field name (what Get answers and mappings.json holds).
AWS_NAMES: dict[str, str] = {
    "uuid": "UUID",
    "event_source_arn": "EventSourceArn",
    "function_name": "FunctionName",
    "function_arn": "FunctionArn",
    "starting_position": "StartingPosition",
    "batch_size": "BatchSize",
    "maximum_batching_window_in_seconds": "MaximumBatchingWindowInSeconds",
    "parallelization_factor": "ParallelizationFactor",
    "maximum_retry_attempts": "MaximumRetryAttempts",
    "maximum_record_age_in_seconds": "MaximumRecordAgeInSeconds",
    "bisect_batch_on_function_error": "BisectBatchOnFunctionError",
    "tumbling_window_in_seconds": "TumblingWindowInSeconds",
    "function_response_types": "FunctionResponseTypes",
    "destination_config": "DestinationConfig",
    "filter_criteria": "FilterCriteria",
    "metrics_config": "MetricsConfig",
    "state": "State",
    "state_transition_reason": "StateTransitionReason",
    "last_modified": "LastModified",
    "last_processing_result": "LastProcessingResult",
    "enabled": "Enabled",
    "tags": "Tags",
}
ATTRIBUTES = {aws: attr for attr, aws in AWS_NAMES.items()}
# Held for the ESM's own use; Get/List answer without them (tags only through ListTags, as AWS).
INTERNAL = ("FunctionName", "Enabled", "Tags")


@dataclass(frozen=True)
class Mapping:
    uuid: str
    event_source_arn: str
    function_name: str
    function_arn: str
    starting_position: str
    batch_size: int = 100
    maximum_batching_window_in_seconds: int = 0
    parallelization_factor: int = 1
    maximum_retry_attempts: int = -1
    maximum_record_age_in_seconds: int = -1
    bisect_batch_on_function_error: bool = False
    tumbling_window_in_seconds: int = 0
    function_response_types: tuple[str, ...] = ()
    destination_config: dict = field(default_factory=lambda: {"OnFailure": {}})
    filter_criteria: dict | None = None
    metrics_config: dict | None = None
    state: str = "Creating"
    state_transition_reason: str = "USER_INITIATED"
    last_modified: float = 0.0
    last_processing_result: str = "No records processed"
    enabled: bool = True
    tags: dict | None = None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Mapping:
        """From AWS field names (a stored mapping, or validated settings over one)."""
        unknown = set(data) - set(ATTRIBUTES)
        if unknown:
            raise ValueError(f"not event source mapping fields: {sorted(unknown)}")
        values = {ATTRIBUTES[name]: value for name, value in data.items()}
        if "function_response_types" in values:
            values["function_response_types"] = tuple(values["function_response_types"] or ())
        return cls(**values)

    def to_api(self) -> dict[str, Any]:
        """Every field under its AWS name (what mappings.json holds); unset optional fields left out."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            out[AWS_NAMES[f.name]] = list(value) if isinstance(value, tuple) else value
        return out

    def changed(self, **changes: Any) -> Mapping:
        return replace(self, **changes)

    def with_api_fields(self, settings: dict[str, Any]) -> Mapping:
        """This mapping with validated settings given under their AWS names."""
        return Mapping.from_api({**self.to_api(), **settings})

    @property
    def on_failure_destination(self) -> str | None:
        return ((self.destination_config or {}).get("OnFailure") or {}).get("Destination")

    @property
    def reports_batch_item_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.function_response_types

    @property
    def counts_events(self) -> bool:
        """The opt-in EventCount metrics (M3) are on."""
        return "EventCount" in (self.metrics_config or {}).get("Metrics", [])


def mappings_json(mappings: dict[str, Mapping], indent: int | None = None) -> str:
    """The stored form of every mapping (mappings.json), stable for comparison."""
    return json.dumps({uuid: m.to_api() for uuid, m in mappings.items()}, indent=indent, sort_keys=True)
