"""The stack's event loop: uvloop unless STREAMLAB_EVENT_LOOP says asyncio; any other name is a clear error."""
from __future__ import annotations

import asyncio

import pytest
import uvloop

from streamlab.errors import ConfigError
from streamlab.localstack import eventloop, stack
from streamlab.localstack.state import StackPaths, StackState


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_uvloop_unless_the_setting_says_asyncio():
    assert eventloop.chosen_event_loop({}) == "uvloop"
    assert eventloop.chosen_event_loop({"STREAMLAB_EVENT_LOOP": " AsyncIO "}) == "asyncio"
    assert eventloop.run(_loop_type()) is uvloop.Loop
    assert not issubclass(eventloop.run(_loop_type(), "asyncio"), uvloop.Loop)


def test_an_unknown_loop_is_a_config_error_naming_the_choices():
    with pytest.raises(ConfigError, match=r"STREAMLAB_EVENT_LOOP='trio'.*uvloop, asyncio"):
        eventloop.chosen_event_loop({"STREAMLAB_EVENT_LOOP": "trio"})


def test_the_stack_passes_the_choice_to_ministack(monkeypatch, tmp_path):
    monkeypatch.setenv("STREAMLAB_EVENT_LOOP", "asyncio")
    spec = next(s for s in stack.SERVICES if s.name == "ministack")
    argv = spec.argv(StackState.__new__(StackState), StackPaths(tmp_path))
    assert argv[argv.index("--event-loop") + 1] == "asyncio"
