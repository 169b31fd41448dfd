"""Shared fixtures: a real local stack on 127.0.0.1, isolated per test session; the tiers' hooks."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from streamlab.localstack import stack
from streamlab.target import Target, local_target
from tests.tiers import ProcessGuard, is_unit, mark_tiers, process_fixture

# A 2-core machine shared with other work: Hypothesis's 200 ms deadline would fail on load, not on bugs.
settings.register_profile("streamlab", deadline=None)
settings.load_profile("streamlab")

pytest_plugins = ["pytester"]

_guard = ProcessGuard()


def pytest_configure(config: pytest.Config) -> None:
    _guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    _guard.uninstall()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_tiers(items)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _guard.unit_test = item.nodeid if is_unit(item) else None
    try:
        yield
    finally:
        _guard.unit_test = None


@pytest.fixture(scope="session")
def stack_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("streamlab-home")


@process_fixture(scope="session")
def local_stack(stack_home: Path):
    """MiniStack + the front door on free loopback ports; always stopped at the end."""
    try:
        yield stack.up_on_free_port(home=stack_home)
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
