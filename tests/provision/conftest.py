"""Fixtures for provisioning tests: a fresh stack name per test, always torn down."""
from __future__ import annotations

import uuid

import pytest

from streamlab.provision import PipelineConfig, teardown


def unique_stack() -> str:
    return "t" + uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def new_stack_name():
    """A function giving a stack name no other test uses."""
    return unique_stack


@pytest.fixture
def config(target):
    """A PipelineConfig with its own stack name; everything it names is deleted afterwards."""
    cfg = PipelineConfig(stack=unique_stack())
    try:
        yield cfg
    finally:
        teardown(cfg, target=target, log=lambda _: None)
