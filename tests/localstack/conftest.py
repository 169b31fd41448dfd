"""Fixtures of the local-stack tests: MiniStack's DynamoDB module with our expression work in it,
and a count of the event-loop lookups a module makes."""
from __future__ import annotations

import asyncio
import importlib
from types import ModuleType
from typing import Any, Callable

import pytest

from streamlab.localstack import expression_cache

# What remember_expressions replaces in MiniStack's DynamoDB module.
REPLACED = ("_tokenize", "_condition_syntax_error", "_update_request_charge",
            "_evaluate_condition", "_apply_update_expression", "_validate_expression_attrs")


@pytest.fixture
def cached(monkeypatch: pytest.MonkeyPatch) -> dict[str, Callable]:
    """MiniStack's DynamoDB module with remember_expressions installed; returns MiniStack's own
    functions, which come back afterwards."""
    dynamodb = importlib.import_module("ministack.services.dynamodb")
    originals = {name: getattr(dynamodb, name) for name in REPLACED}
    for name, function in originals.items():
        monkeypatch.setattr(dynamodb, name, function)
    monkeypatch.delattr(dynamodb, expression_cache._INSTALLED, raising=False)
    expression_cache.remember_expressions(dynamodb)
    return originals


class _CountingAsyncio:
    """`asyncio` as one module sees it, counting its `get_running_loop` calls."""

    def __init__(self) -> None:
        self.lookups = 0

    def get_running_loop(self) -> asyncio.AbstractEventLoop:
        self.lookups += 1
        return asyncio.get_running_loop()

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def loop_lookups(monkeypatch: pytest.MonkeyPatch) -> Callable[[ModuleType], _CountingAsyncio]:
    """`loop_lookups(module)` -> a counter of the running-loop lookups `module` makes. Each is a
    getpid call in Python 3.11, which a hot path should not make per request."""
    def count(module: ModuleType) -> _CountingAsyncio:
        counter = _CountingAsyncio()
        monkeypatch.setattr(module, "asyncio", counter)
        return counter

    return count
