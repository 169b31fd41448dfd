"""The event loop the stack's processes run on: uvloop's (libuv) by default, asyncio's own on request.

`STREAMLAB_EVENT_LOOP=asyncio` picks asyncio's loop, for comparison or if uvloop misbehaves; the
stack passes the choice to every service it starts. The load generator stays on asyncio's loop:
it times requests with `loop.time()`, which uvloop keeps in whole milliseconds.
"""
from __future__ import annotations

import asyncio
import os
from typing import Any, Callable, Coroutine, Mapping, TypeVar

from streamlab.errors import ConfigError

T = TypeVar("T")
EVENT_LOOPS = ("uvloop", "asyncio")
DEFAULT_EVENT_LOOP = "uvloop"
SETTING = "STREAMLAB_EVENT_LOOP"


def chosen_event_loop(environ: Mapping[str, str] | None = None) -> str:
    """The loop named by STREAMLAB_EVENT_LOOP (default uvloop); ConfigError for any other name."""
    source = os.environ if environ is None else environ
    name = (source.get(SETTING) or DEFAULT_EVENT_LOOP).strip().lower()
    if name not in EVENT_LOOPS:
        raise ConfigError(f"{SETTING}={source.get(SETTING)!r} is not an event loop: use one of {', '.join(EVENT_LOOPS)}.")
    return name


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop
        return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], name: str | None = None) -> T:
    """`asyncio.run(main)` on the named loop (default: the chosen one)."""
    with asyncio.Runner(loop_factory=_loop_factory(name or chosen_event_loop())) as runner:
        return runner.run(main)
