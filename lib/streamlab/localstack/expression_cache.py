"""MiniStack's DynamoDB expression parsing, done once per expression instead of on every call.

MiniStack tokenizes an UpdateExpression or ConditionExpression from its text on every call, three
times for one UpdateItem (size charge, condition, update), and grammar-checks a condition each
time. Both are pure functions of the text, and a client sends the same few expressions over and
over (the API's idempotent write is one fixed UpdateItem), so `remember_expressions` memoizes
them in MiniStack's module. That was about a fifth of the CPU MiniStack spends in the API's
UpdateItem handler (measured in-process: 177 -> 139 us per call; over the wire, the README's
Benchmarks section).

What MiniStack answers does not change: the cached functions are the originals, every caller
gets a fresh token list (callers may change theirs), and tests compare the answers.
"""
from __future__ import annotations

import functools
from types import ModuleType
from typing import Any, Callable

# Distinct expressions kept: a workload uses a handful; the tokens of a 4 KB expression (the
# DynamoDB limit) take 80 KB to a few hundred KB, so this bounds the cache to tens of MB.
MAX_EXPRESSIONS = 256
_INSTALLED = "_streamlab_expression_cache"


def remember_expressions(dynamodb: ModuleType, size: int = MAX_EXPRESSIONS) -> None:
    """Memoize MiniStack's expression tokenizer and condition grammar check in `dynamodb`
    (`ministack.services.dynamodb`). Installing twice changes nothing."""
    if getattr(dynamodb, _INSTALLED, False):
        return
    dynamodb._tokenize = _fresh_lists(functools.lru_cache(maxsize=size)(_as_tuple(dynamodb._tokenize)))
    dynamodb._condition_syntax_error = functools.lru_cache(maxsize=size)(dynamodb._condition_syntax_error)
    setattr(dynamodb, _INSTALLED, True)


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
