"""Step 4: the StreamProcessor Lambda function, packaged from infra/functions/stream_processor/.

`ensure_function` is the same converging create for any function of the stack (the
FailureHandler of `streamlab.provision.outcomes` uses it too).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from streamlab.provision.calls import error_code, get_or_none, provisioning, strip_metadata
from streamlab.provision.config import PipelineConfig
from streamlab.provision.package import build_zip, code_sha256
from streamlab.provision.paths import function_dir
from streamlab.target import Target

RUNTIME = "python3.12"
HANDLER = "handler.handler"
_WAIT = {"Delay": 1, "MaxAttempts": 300}


@dataclass(frozen=True)
class FunctionInfo:
    name: str
    arn: str
    state: str
    code_sha256: str
    created: bool
    updated: bool
    response: dict = field(repr=False, compare=False)


def describe_function(target: Target, config: PipelineConfig, name: str | None = None) -> dict | None:
    """GetFunction's `Configuration` (with `Tags`) of the StreamProcessor (or function `name`), or None."""
    lam = target.client("lambda")
    name = name or config.function_name
    with provisioning(f"describing function {name}"):
        found = get_or_none(lam.get_function, FunctionName=name)
    if found is None:
        return None
    return {**found["Configuration"], "Tags": found.get("Tags", {})}


def desired_configuration(config: PipelineConfig, role_arn: str) -> dict:
    """The function settings deploy wants (compared field by field with what exists)."""
    return {
        "Runtime": RUNTIME,
        "Handler": HANDLER,
        "Role": role_arn,
        "Timeout": config.processor.timeout_seconds,
        "MemorySize": config.processor.memory_mb,
        "Environment": {"Variables": config.processor.environment(config.table_name)},
        "Description": f"streamlab stack {config.stack}: marks accepted requests processed",
    }


def _differs(current: dict, desired: dict) -> dict:
    return {k: v for k, v in desired.items() if current.get(k) != v}


def _create(lam, config: PipelineConfig, name: str, desired: dict, package: bytes) -> None:
    # A role made seconds ago may not be assumable by Lambda yet (IAM is eventually consistent).
    for attempt in range(20):
        try:
            lam.create_function(
                FunctionName=name, Code={"ZipFile": package}, Tags=config.tags,
                Publish=False, PackageType="Zip", **desired,
            )
            return
        except lam.exceptions.InvalidParameterValueException as exc:
            if "role" not in str(exc).lower() or attempt == 19:
                raise
            time.sleep(3)


def create_function(target: Target, config: PipelineConfig, *, role_arn: str) -> FunctionInfo:
    """Create the StreamProcessor, or bring an existing one up to date (code, then settings); waits until Active."""
    return ensure_function(target, config, config.function_name, function_dir("stream_processor"),
                           desired_configuration(config, role_arn))


def ensure_function(target: Target, config: PipelineConfig, name: str, source, desired: dict) -> FunctionInfo:
    """Create function `name` from the handler in folder `source`, or converge it on `desired`; waits until Active."""
    lam = target.client("lambda")
    package = build_zip(source)
    sha = code_sha256(package)
    existing = describe_function(target, config, name)
    updated = False
    with provisioning(f"creating function {name}"):
        if existing is None:
            _create(lam, config, name, desired, package)
        else:
            lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
            if existing.get("CodeSha256") != sha:
                lam.update_function_code(FunctionName=name, ZipFile=package)
                lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
                updated = True
            changes = _differs(existing, desired)
            if changes:
                lam.update_function_configuration(FunctionName=name, **changes)
                lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
                updated = True
            if any(existing["Tags"].get(k) != v for k, v in config.tags.items()):
                lam.tag_resource(Resource=existing["FunctionArn"], Tags=config.tags)
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=_WAIT)
        current = strip_metadata(lam.get_function_configuration(FunctionName=name))
    return FunctionInfo(name, current["FunctionArn"], current.get("State", ""), current["CodeSha256"],
                        existing is None, updated, current)


def log_group_name(config: PipelineConfig, name: str | None = None) -> str:
    return f"/aws/lambda/{name or config.function_name}"


def describe_log_group(target: Target, config: PipelineConfig, name: str | None = None) -> dict | None:
    """The function's log group (Lambda creates it on first use), or None."""
    logs = target.client("logs")
    group = log_group_name(config, name)
    with provisioning(f"describing log group {group}"):
        groups = logs.describe_log_groups(logGroupNamePrefix=group).get("logGroups", [])
    return next((g for g in groups if g["logGroupName"] == group), None)


def delete_function(target: Target, config: PipelineConfig, name: str | None = None) -> bool:
    """Delete the StreamProcessor (or function `name`) and its log group. True if the function existed."""
    lam = target.client("lambda")
    logs = target.client("logs")
    name = name or config.function_name
    with provisioning(f"deleting function {name}"):
        existed = get_or_none(lam.delete_function, FunctionName=name) is not None
        try:
            logs.delete_log_group(logGroupName=log_group_name(config, name))
        except Exception as exc:  # noqa: BLE001 - a missing log group is the goal
            if error_code(exc) != "ResourceNotFoundException":
                raise
    return existed
