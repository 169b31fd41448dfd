"""Least-privilege check of IAM policy documents: no wildcard actions, no wildcard resources except
the few patterns AWS leaves no alternative to (the table's streams, the function's log group)."""
from __future__ import annotations

from typing import Iterable

from streamlab.provision import policies


def allowed_wildcards(*, table_arn: str, region: str, account_id: str, function_name: str) -> frozenset[str]:
    """The only resource patterns the pipeline may use: ListStreams needs `table/<t>/stream/*` (the
    stream label is unknown in advance); logs are granted on the function's own log group and streams."""
    log_group = policies.log_group_arn(region, account_id, function_name)
    return frozenset({policies.stream_pattern(table_arn), log_group + ":*", log_group + ":log-stream:*"})


def _as_list(value: str | list | None) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def find_broad_grants(policy: dict, *, allowed: Iterable[str] = ()) -> list[str]:
    """Every way `policy` grants more than named actions on named resources; empty when it is tight."""
    allowed = frozenset(allowed)
    problems: list[str] = []
    for i, statement in enumerate(_as_list(policy.get("Statement"))):
        where = f"statement {statement.get('Sid', i)}"
        for key in ("NotAction", "NotResource", "NotPrincipal"):
            if key in statement:
                problems.append(f"{where}: {key} grants everything not listed")
        for action in _as_list(statement.get("Action")):
            if "*" in action or "?" in action:
                problems.append(f"{where}: wildcard action {action!r}")
        if "Principal" in statement:
            # A trust policy: it names who may assume the role, not resources.
            if statement["Principal"] == "*" or "*" in str(statement["Principal"]):
                problems.append(f"{where}: any principal may assume the role")
            continue
        resources = _as_list(statement.get("Resource"))
        if not resources:
            problems.append(f"{where}: no Resource")
        for resource in resources:
            if not isinstance(resource, str):
                problems.append(f"{where}: unresolved resource {resource!r}")
            elif resource == "*":
                problems.append(f"{where}: Resource '*'")
            elif ("*" in resource or "?" in resource) and resource not in allowed:
                problems.append(f"{where}: wildcard resource {resource!r} where a specific ARN exists")
    return problems
