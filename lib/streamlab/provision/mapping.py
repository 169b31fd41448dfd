"""Step 5: the event source mapping from the table's stream to the StreamProcessor.

StartingPosition is TRIM_HORIZON, so requests written before the mapping is live are processed
too (E13: a new mapping takes a while to start on AWS). Every failure-handling setting of
`EsmSettings` is passed through; a re-run with other settings updates the mapping in place.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from streamlab.provision.calls import get_or_none, is_not_found, provisioning, strip_metadata, wait_for
from streamlab.provision.config import PipelineConfig
from streamlab.target import Target

STARTING_POSITION = "TRIM_HORIZON"
_SETTLED = {"Enabled", "Disabled"}
_ON = {"Enabled", "Enabling", "Creating"}


@dataclass(frozen=True)
class MappingInfo:
    uuid: str
    state: str
    event_source_arn: str
    function_arn: str
    created: bool
    updated: tuple[str, ...]
    response: dict = field(repr=False, compare=False)


def normalize(params: dict) -> dict[str, Any]:
    """Mapping settings in one comparable form, whether from our arguments or from AWS's answer.

    Absent fields take AWS's defaults, so an answer that omits a default compares equal.
    """
    patterns = [json.loads(f["Pattern"]) for f in (params.get("FilterCriteria") or {}).get("Filters") or []]
    state = params.get("State")
    return {
        "BatchSize": params.get("BatchSize", 100),
        "MaximumBatchingWindowInSeconds": params.get("MaximumBatchingWindowInSeconds", 0),
        "ParallelizationFactor": params.get("ParallelizationFactor", 1),
        "MaximumRetryAttempts": params.get("MaximumRetryAttempts", -1),
        "MaximumRecordAgeInSeconds": params.get("MaximumRecordAgeInSeconds", -1),
        "BisectBatchOnFunctionError": bool(params.get("BisectBatchOnFunctionError", False)),
        "FunctionResponseTypes": sorted(params.get("FunctionResponseTypes") or []),
        "DestinationConfig": ((params.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
        "FilterCriteria": sorted(json.dumps(p, sort_keys=True) for p in patterns),
        "MetricsConfig": sorted((params.get("MetricsConfig") or {}).get("Metrics") or []),
        "Enabled": params.get("Enabled", True) if state is None else state in _ON,
    }


def changed_settings(current: dict, desired: dict) -> dict[str, Any]:
    """The UpdateEventSourceMapping arguments that would bring `current` to `desired`."""
    now, want = normalize(current), normalize(desired)
    return {k: desired[k] for k in want if now[k] != want[k]}


def create_arguments(desired: dict) -> dict[str, Any]:
    # Empty optional structures are left out: "no destination / no filter / no metrics" is the default.
    empty = ({}, {"Filters": []}, {"Metrics": []}, [])
    return {k: v for k, v in desired.items() if v not in empty}


def list_mappings(target: Target, config: PipelineConfig, function_name: str | None = None) -> list[dict]:
    """Every mapping that invokes this stack's StreamProcessor (or function `function_name`)."""
    lam = target.client("lambda")
    function_name = function_name or config.function_name
    with provisioning(f"listing event source mappings of {function_name}"):
        try:
            pages = lam.get_paginator("list_event_source_mappings").paginate(FunctionName=function_name)
            return [strip_metadata(m) for page in pages for m in page["EventSourceMappings"]]
        except Exception as exc:  # noqa: BLE001
            if is_not_found(exc):
                return []
            raise


def describe_mapping(target: Target, uuid: str) -> dict | None:
    lam = target.client("lambda")
    with provisioning(f"describing event source mapping {uuid}"):
        found = get_or_none(lam.get_event_source_mapping, UUID=uuid)
    return strip_metadata(found) if found else None


def _wait_settled(target: Target, uuid: str, want: str | None = None) -> dict:
    def check() -> dict | None:
        mapping = describe_mapping(target, uuid)
        if mapping is None:
            return None
        state = mapping.get("State")
        return mapping if (state == want if want else state in _SETTLED) else None

    return wait_for(f"event source mapping {uuid} to be {want or 'settled'}", check, timeout=600, interval=1.0)


def create_mapping(target: Target, config: PipelineConfig, *, stream_arn: str, queue_arn: str) -> MappingInfo:
    """Create the mapping, or update the existing one in place; waits until it is Enabled (or Disabled)."""
    lam = target.client("lambda")
    desired = config.esm.to_api(queue_arn=queue_arn)
    existing = list_mappings(target, config)
    mappings = [m for m in existing if m.get("EventSourceArn") == stream_arn]
    # Mappings of an older stream of this table (the table was re-created) can never deliver again.
    table_streams = stream_arn.split("/stream/")[0] + "/stream/"
    stale = [m for m in existing
             if m.get("EventSourceArn", "").startswith(table_streams) and m.get("EventSourceArn") != stream_arn]
    with provisioning(f"creating event source mapping {stream_arn} -> {config.function_name}"):
        for extra in stale + mappings[1:]:
            delete_mapping(target, extra["UUID"])
        want_state = "Enabled" if config.esm.enabled else "Disabled"
        if not mappings:
            created = lam.create_event_source_mapping(
                EventSourceArn=stream_arn, FunctionName=config.function_name,
                StartingPosition=STARTING_POSITION, Tags=config.tags, **create_arguments(desired),
            )
            mapping = _wait_settled(target, created["UUID"], want_state)
            return MappingInfo(mapping["UUID"], mapping["State"], stream_arn, mapping["FunctionArn"], True, (), mapping)
        uuid = mappings[0]["UUID"]
        current = _wait_settled(target, uuid)
        changes = changed_settings(current, desired)
        if changes:
            lam.update_event_source_mapping(UUID=uuid, **changes)
        mapping = _wait_settled(target, uuid, want_state)
    return MappingInfo(uuid, mapping["State"], stream_arn, mapping["FunctionArn"], False, tuple(changes), mapping)


def delete_mapping(target: Target, uuid: str) -> bool:
    """Delete one mapping and wait until it is gone. True if it existed."""
    lam = target.client("lambda")
    with provisioning(f"deleting event source mapping {uuid}"):
        if describe_mapping(target, uuid) is None:
            return False
        try:
            lam.delete_event_source_mapping(UUID=uuid)
        except lam.exceptions.ResourceInUseException:
            _wait_settled(target, uuid)  # mid-update: AWS refuses until it settles
            get_or_none(lam.delete_event_source_mapping, UUID=uuid)
        except Exception as exc:  # noqa: BLE001
            if not is_not_found(exc):
                raise
        wait_for(f"event source mapping {uuid} to be deleted", lambda: describe_mapping(target, uuid) is None,
                 timeout=600, interval=1.0)
    return True


def delete_mappings(target: Target, config: PipelineConfig) -> list[str]:
    """Delete every mapping of this stack's function. Returns their UUIDs."""
    uuids = [m["UUID"] for m in list_mappings(target, config)]
    return [u for u in uuids if delete_mapping(target, u)]
