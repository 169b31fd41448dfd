"""Fixtures of the local-stack tests: MiniStack's DynamoDB module with our expression work in it."""
from __future__ import annotations

import importlib
from typing import Callable

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
