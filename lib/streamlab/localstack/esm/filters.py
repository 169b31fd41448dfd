"""FilterCriteria (E11): EventBridge-style patterns matched against a stream record's JSON.

A record is delivered if any pattern matches (OR); one that matches none is skipped for good.
Supported: exact values, prefix, suffix, equals-ignore-case, anything-but, numeric, exists,
nested objects. Numbers match numbers only: DynamoDB's {"N": "5"} is a string.
"""
from __future__ import annotations

import json
import operator
from typing import Any

_MISSING = object()
_COMPARE = {"=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def compile_patterns(criteria: dict | None) -> list[dict]:
    if not criteria:
        return []
    return [json.loads(item["Pattern"]) for item in criteria.get("Filters", [])]


def matches_any(patterns: list[dict], record: dict) -> bool:
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def matches(pattern: dict, value: Any) -> bool:
    for key, rule in pattern.items():
        field = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        if isinstance(rule, dict):
            if field is _MISSING or not matches(rule, field):
                return False
        elif isinstance(rule, list):
            if not _field_matches(rule, field):
                return False
        else:
            return False  # a pattern leaf must be a list; AWS rejects others at create
    return True


def _field_matches(rules: list, field: Any) -> bool:
    candidates = field if isinstance(field, list) else [field]
    return any(_rule_matches(rule, item) for rule in rules for item in candidates) or (
        not candidates and any(isinstance(r, dict) and r.get("exists") is False for r in rules)
    )


def _rule_matches(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        if value is _MISSING:
            return False
        return rule == value and type(rule) is type(value) or (rule is None and value is None)
    ((op, arg),) = rule.items()
    if op == "exists":
        return (value is not _MISSING) == bool(arg)
    if value is _MISSING:
        return False
    if op == "prefix":
        return isinstance(value, str) and (
            value.lower().startswith(arg["equals-ignore-case"].lower()) if isinstance(arg, dict) else value.startswith(arg)
        )
    if op == "suffix":
        return isinstance(value, str) and (
            value.lower().endswith(arg["equals-ignore-case"].lower()) if isinstance(arg, dict) else value.endswith(arg)
        )
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == arg.lower()
    if op == "anything-but":
        if isinstance(arg, dict):
            return not _rule_matches(arg, value)
        excluded = arg if isinstance(arg, list) else [arg]
        return value not in excluded
    if op == "numeric":
        return _numeric_matches(arg, value)
    raise ValueError(f"unsupported filter operator {op!r}")


def _numeric_matches(conditions: list, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    pairs = zip(conditions[::2], conditions[1::2])
    return all(_COMPARE[op](value, bound) for op, bound in pairs)

