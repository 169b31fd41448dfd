"""Shared fixtures: a real local stack on 127.0.0.1, isolated per test session."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamlab.localstack import stack
from streamlab.target import Target, local_target


@pytest.fixture(scope="session")
def stack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("streamlab-home")


@pytest.fixture(scope="session")
def local_stack(stack_home: Path):
    """MiniStack + the front door on free loopback ports; always stopped at the end."""
    port = stack.pick_free_port()
    try:
        state = stack.up(port=port, home=stack_home)
        yield state
    finally:
        stack.down(home=stack_home)


@pytest.fixture(scope="session")
def target(local_stack) -> Target:
    return local_target(local_stack.endpoint_url)


@pytest.fixture(autouse=True, scope="session")
def _no_real_aws():
    """No test may reach a real account: drop any credentials the developer has set."""
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_")}
    os.environ["AWS_ACCESS_KEY_ID"] = "test"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "test"
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        yield
    finally:
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
            os.environ.pop(k, None)
        os.environ.update(saved)
