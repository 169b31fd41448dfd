"""The deploy step that applies `ProtectionSettings`: the same guard rails as infra/template.yaml.

    protect(target, config, api_id=...)   stage throttle + metrics + access logs, log retention,
                                          reserved concurrency, and (unless the API is opened)
                                          an API key in a usage plan with throttle and quota
    describe_key / find_protection / delete_protection   read back; what is left; remove key, plan, access logs

Idempotent like every step: what already matches is left alone.
"""
from __future__ import annotations

from dataclasses import dataclass

from streamlab.provision.calls import error_code, get_or_none, provisioning
from streamlab.provision.config import PipelineConfig
from streamlab.provision.function import log_group_name
from streamlab.provision.protection import ACCESS_LOG_FORMAT, access_log_group_name, api_key_name, usage_plan_name
from streamlab.target import Target

PAGE = 500


@dataclass(frozen=True)
class ProtectionInfo:
    api_key_id: str  # "" when the API is open
    api_key: str
    usage_plan_id: str
    created: bool  # a first deploy: the access log group did not exist
    changed: tuple[str, ...]


def protect(target: Target, config: PipelineConfig, *, api_id: str) -> ProtectionInfo:
    guard = config.protection
    changed: list[str] = []
    with provisioning(f"protecting stack {config.stack}"):
        lam = target.client("lambda")
        current = get_or_none(lam.get_function_concurrency, FunctionName=config.function_name) or {}
        if current.get("ReservedConcurrentExecutions") != guard.reserved_concurrency:
            lam.put_function_concurrency(FunctionName=config.function_name,
                                         ReservedConcurrentExecutions=guard.reserved_concurrency)
            changed.append(f"reserved concurrency {guard.reserved_concurrency}")
        _retain(target, config, log_group_name(config), changed)
        access_logs, created = _retain(target, config, access_log_group_name(config.stack), changed)
        _protect_stage(target, config, api_id, access_logs, changed)
        if not guard.api_key_required:
            return ProtectionInfo("", "", "", created, tuple(changed))
        key = _ensure_key(target, config, changed)
        plan_id = _ensure_usage_plan(target, config, api_id, key["id"], changed)
    return ProtectionInfo(key["id"], key["value"], plan_id, created, tuple(changed))


def _log_group(target: Target, name: str) -> dict | None:
    groups = target.client("logs").describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    return next((g for g in groups if g["logGroupName"] == name), None)


def _retain(target: Target, config: PipelineConfig, name: str, changed: list[str]) -> tuple[str, bool]:
    """The log group, created if missing, keeping events ProtectionSettings.log_retention_days: (ARN, created)."""
    logs = target.client("logs")
    days = config.protection.log_retention_days
    group = _log_group(target, name)
    created = group is None
    if group is None:
        logs.create_log_group(logGroupName=name, tags=config.tags)
        group = _log_group(target, name) or {}
        changed.append(f"log group {name}")
    if group.get("retentionInDays") != days:
        logs.put_retention_policy(logGroupName=name, retentionInDays=days)
        changed.append(f"{name} kept {days} days")
    return str(group.get("arn", "")).removesuffix(":*"), created


def _protect_stage(target: Target, config: PipelineConfig, api_id: str, access_log_arn: str,
                   changed: list[str]) -> None:
    """Stage throttle below the account default, metrics on, access logs to their log group."""
    guard = config.protection
    ag = target.client("apigateway")
    stage = ag.get_stage(restApiId=api_id, stageName=config.stage)
    want = {"/*/*/throttling/rateLimit": str(float(guard.rate_limit)),
            "/*/*/throttling/burstLimit": str(guard.burst_limit),
            "/*/*/metrics/enabled": "true",
            "/accessLogSettings/destinationArn": access_log_arn,
            "/accessLogSettings/format": ACCESS_LOG_FORMAT}
    settings = (stage.get("methodSettings") or {}).get("*/*") or {}
    logging = stage.get("accessLogSettings") or {}
    have = {"/*/*/throttling/rateLimit": str(float(settings.get("throttlingRateLimit", -1))),
            "/*/*/throttling/burstLimit": str(settings.get("throttlingBurstLimit", -1)),
            "/*/*/metrics/enabled": str(bool(settings.get("metricsEnabled"))).lower(),
            "/accessLogSettings/destinationArn": logging.get("destinationArn", ""),
            "/accessLogSettings/format": logging.get("format", "")}
    ops = [{"op": "replace", "path": path, "value": value} for path, value in want.items() if have[path] != value]
    if ops:
        ag.update_stage(restApiId=api_id, stageName=config.stage, patchOperations=ops)
        changed.append(f"stage {config.stage} throttle {guard.rate_limit:g}/s burst {guard.burst_limit}, access logs")


def describe_key(target: Target, config: PipelineConfig) -> dict | None:
    """The stack's API key with its value, or None."""
    name = api_key_name(config.stack)
    keys = target.client("apigateway").get_api_keys(nameQuery=name, includeValues=True, limit=PAGE).get("items", [])
    return next((k for k in keys if k["name"] == name), None)


def _ensure_key(target: Target, config: PipelineConfig, changed: list[str]) -> dict:
    key = describe_key(target, config)
    if key is None:
        key = target.client("apigateway").create_api_key(
            name=api_key_name(config.stack), enabled=True, tags=config.tags,
            description=f"streamlab stack {config.stack}: send as x-api-key")
        changed.append(f"api key {key['name']}")
    return key


def _find_plan(target: Target, config: PipelineConfig) -> dict | None:
    name = usage_plan_name(config.stack)
    plans = target.client("apigateway").get_usage_plans(limit=PAGE).get("items", [])
    return next((p for p in plans if p["name"] == name), None)


def _ensure_usage_plan(target: Target, config: PipelineConfig, api_id: str, key_id: str, changed: list[str]) -> str:
    guard = config.protection
    ag = target.client("apigateway")
    throttle = {"rateLimit": float(guard.rate_limit), "burstLimit": guard.burst_limit}
    quota = {"limit": guard.quota_per_day, "offset": 0, "period": "DAY"}
    plan = _find_plan(target, config)
    if plan is None:
        plan = ag.create_usage_plan(name=usage_plan_name(config.stack), tags=config.tags, throttle=throttle,
                                    quota={k: v for k, v in quota.items() if k != "offset"},
                                    apiStages=[{"apiId": api_id, "stage": config.stage}])
        changed.append(f"usage plan {plan['name']}")
    elif {"apiId": api_id, "stage": config.stage} not in [
            {"apiId": s.get("apiId"), "stage": s.get("stage")} for s in plan.get("apiStages") or []]:
        ag.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
            {"op": "add", "path": "/apiStages", "value": f"{api_id}:{config.stage}"}])
        changed.append(f"usage plan {plan['name']} covers {config.stage}")
    members = ag.get_usage_plan_keys(usagePlanId=plan["id"], limit=PAGE).get("items", [])
    if key_id not in [m["id"] for m in members]:
        ag.create_usage_plan_key(usagePlanId=plan["id"], keyId=key_id, keyType="API_KEY")
        changed.append("api key in usage plan")
    return plan["id"]


def find_protection(target: Target, config: PipelineConfig) -> list[str]:
    """Names of the stack's usage plan, API key and access log group that still exist."""
    found = [p["name"] for p in [_find_plan(target, config), describe_key(target, config)] if p]
    return found + ([access_log_group_name(config.stack)] if _log_group(target, access_log_group_name(config.stack)) else [])


def delete_protection(target: Target, config: PipelineConfig) -> list[str]:
    """Delete the usage plan (its keys and stages first, as AWS requires), the API key and the access logs."""
    ag = target.client("apigateway")
    deleted = []
    with provisioning(f"deleting the protection of stack {config.stack}"):
        plan = _find_plan(target, config)
        if plan is not None:
            for member in ag.get_usage_plan_keys(usagePlanId=plan["id"], limit=PAGE).get("items", []):
                ag.delete_usage_plan_key(usagePlanId=plan["id"], keyId=member["id"])
            stages = [f"{s['apiId']}:{s['stage']}" for s in plan.get("apiStages") or []]
            if stages:
                ag.update_usage_plan(usagePlanId=plan["id"], patchOperations=[
                    {"op": "remove", "path": "/apiStages", "value": s} for s in stages])
            ag.delete_usage_plan(usagePlanId=plan["id"])
            deleted.append(plan["name"])
        key = describe_key(target, config)
        if key is not None:
            ag.delete_api_key(apiKey=key["id"])
            deleted.append(key["name"])
        name = access_log_group_name(config.stack)
        try:
            target.client("logs").delete_log_group(logGroupName=name)
            deleted.append(name)
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) != "ResourceNotFoundException":
                raise
    return deleted
