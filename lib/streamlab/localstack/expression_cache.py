"""MiniStack's DynamoDB expression parsing, done once per expression instead of on every call.

MiniStack tokenizes an UpdateExpression or ConditionExpression from its text on every call, three
times for one UpdateItem (size charge, condition, update), and grammar-checks a condition each
time. Both are pure functions of the text, and a client sends the same few expressions over and
over (the API's idempotent write is one fixed UpdateItem), so `remember_expressions` memoizes
them in MiniStack's module. That was about a fifth of the CPU MiniStack spends in the API's
UpdateItem handler (measured in-process: 177 -> 139 us per call; over the wire, the README's
Benchmarks section).

UpdateItem's size check (`_update_request_charge`, refused above 400 KB) walks the parsed
expression on every call too. Without an ADD clause its charge is a constant plus, for each value
reference, the number of times the expression uses it times that value's size: so the constant
and the counts are found once per expression and names (by calling MiniStack's own function with
probe values), and each call only sizes its values. An ADD clause's charge depends on the item
(a set's members already there are not charged), so those are left to MiniStack. About a sixth
of the UpdateItem handler's time (in-process: 153-158 -> 122-130 us per call).

`remember_expressions` also installs `expression_plans`: conditions and updates themselves run as
plans made once per expression.

What MiniStack answers does not change: the cached functions are the originals, every caller
gets a fresh token list (callers may change theirs), and tests compare the answers.
"""
from __future__ import annotations

import functools
from types import ModuleType
from typing import Any, Callable

from streamlab.localstack import expression_plans

# Distinct expressions kept: a workload uses a handful; the tokens of a 4 KB expression (the
# DynamoDB limit) take 80 KB to a few hundred KB, so this bounds the cache to tens of MB.
MAX_EXPRESSIONS = 256
_INSTALLED = "_streamlab_expression_cache"


def remember_expressions(dynamodb: ModuleType, size: int = MAX_EXPRESSIONS) -> None:
    """Memoize MiniStack's expression tokenizer and condition grammar check in `dynamodb`
    (`ministack.services.dynamodb`), plan its UpdateItem size charge, conditions and updates.
    Installing twice changes nothing."""
    if getattr(dynamodb, _INSTALLED, False):
        return
    dynamodb._tokenize = _fresh_lists(functools.lru_cache(maxsize=size)(_as_tuple(dynamodb._tokenize)))
    dynamodb._condition_syntax_error = functools.lru_cache(maxsize=size)(dynamodb._condition_syntax_error)
    dynamodb._update_request_charge = _charged_by_plan(dynamodb, size)
    expression_plans.install(dynamodb, size)
    setattr(dynamodb, _INSTALLED, True)


# A value of size 0 and one of size 1, to find how often an expression charges each value.
_SIZE_0, _SIZE_1 = {"S": ""}, {"S": "x"}


def _charged_by_plan(dynamodb: ModuleType, size: int) -> Callable[[str, dict, dict, dict], int]:
    """MiniStack's `_update_request_charge`, computed from a per-expression plan where it is linear."""
    charge = dynamodb._update_request_charge

    @functools.lru_cache(maxsize=size)
    def plan(expression: str, names: tuple[tuple[str, str], ...], refs: tuple[str, ...]) -> tuple[int, tuple] | None:
        if any(kind == "IDENT" and text.upper() == "ADD" for kind, text in dynamodb._tokenize(expression)):
            return None
        named = dict(names)
        constant = charge(expression, dict.fromkeys(refs, _SIZE_0), named, {})
        uses = tuple((ref, charge(expression, {**dict.fromkeys(refs, _SIZE_0), ref: _SIZE_1}, named, {}) - constant)
                     for ref in refs)
        return constant, tuple((ref, n) for ref, n in uses if n)

    @functools.wraps(charge)
    def update_request_charge(expression: str, values: dict, names: dict, item_before: dict) -> int:
        values, names = values or {}, names or {}
        named = expression_plans.names_key(names)
        try:
            refs = tuple(sorted(values)) if isinstance(values, dict) else None
        except TypeError:  # value references that are not all strings: MiniStack's own answer
            refs = None
        found = None if named is None or refs is None else plan(expression, named, refs)
        if found is None:
            return charge(expression, values, names, item_before)
        constant, uses = found
        return constant + sum(n * dynamodb._attribute_value_size(values[ref]) for ref, n in uses)

    return update_request_charge


def _as_tuple(tokenize: Callable[[str], list]) -> Callable[[str], tuple]:
    @functools.wraps(tokenize)
    def tokens_of(expression: str) -> tuple:
        return tuple(tokenize(expression))
    return tokens_of


def _fresh_lists(cached: Callable[[str], tuple]) -> Callable[[str], list[Any]]:
    @functools.wraps(cached)
    def tokenize(expression: str) -> list[Any]:
        return list(cached(expression))  # the tokens are tuples of str: only the list is mutable
    tokenize.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return tokenize
