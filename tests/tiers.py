"""Test tiers that select themselves: unit, integration (a stack or a server process), notebooks.

A test is put in a tier by what it uses, at collection:

- `@process_fixture(tier)` declares a fixture that starts processes (the local stack, a
  subprocess server, papermill); every test that uses it, even through other fixtures, gets
  the tier's marker;
- a test that starts processes in its own body carries `@pytest.mark.integration` itself.

Everything else is the unit tier (`make test-unit`), and the guard below holds it to that: a
test outside the integration and notebooks tiers that starts a Python process (the stack, a
server, JupyterLab, a kernel: every long-lived process here is one) fails at once, naming the
command, instead of quietly starting a stack. Short tools such as `git` may run.
"""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Any, Callable

import pytest

TIERS = ("integration", "notebooks")
_TIER_ATTRIBUTE = "_streamlab_tier"
# A unit test that runs longer is stuck (a bug looping), not slow: the tier stays about a minute.
UNIT_TIMEOUT_SECONDS = 30


def process_fixture(tier: str = "integration", **fixture_kwargs: Any) -> Callable:
    """`pytest.fixture` for a fixture that starts processes; its users join `tier`."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {TIERS}, got {tier!r}")

    def register(function: Callable) -> Any:
        # On the function, not by name: a plain fixture of the same name elsewhere is not a process fixture.
        setattr(function, _TIER_ATTRIBUTE, tier)
        return pytest.fixture(**fixture_kwargs)(function)

    return register


def mark_tiers(items: list[pytest.Item]) -> None:
    """Add the integration/notebooks marker to every test using a process fixture, and give
    the rest (the unit tier) a short timeout."""
    for item in items:
        used = fixture_tiers(item)
        for tier in dict.fromkeys(used):
            if item.get_closest_marker(tier) is None:
                item.add_marker(tier)
        if is_unit(item) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(UNIT_TIMEOUT_SECONDS))


def fixture_tiers(item: pytest.Item) -> list[str]:
    """The tiers of the process fixtures `item` uses, directly or through other fixtures."""
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    # The last definition of a name is the one this test gets (closest scope overrides the others).
    return [tier for defs in definitions if defs
            for tier in [getattr(defs[-1].func, _TIER_ATTRIBUTE, None)] if tier]


def is_unit(item: pytest.Item) -> bool:
    return not any(item.get_closest_marker(tier) for tier in TIERS)


def starts_python(args: Any) -> bool:
    """Whether `args` (as given to Popen) runs a Python interpreter or a Jupyter/MiniStack command."""
    argv = args.split() if isinstance(args, str) else [os.fspath(a) for a in args]
    program = os.path.basename(argv[0]) if argv else ""
    return (bool(argv) and os.fspath(argv[0]) == sys.executable) or program.startswith(("python", "jupyter", "ministack"))


class ProcessGuard:
    """Fails a unit test that starts a Python process (a stack, a server, a kernel)."""

    def __init__(self) -> None:
        self.unit_test: str | None = None
        self._original = subprocess.Popen.__init__

    def install(self) -> None:
        guard, original = self, self._original

        def guarded_init(popen: subprocess.Popen, args: Any, *rest: Any, **kwargs: Any) -> None:
            if guard.unit_test is not None and starts_python(args):
                pytest.fail(
                    f"{guard.unit_test} is a unit test but started a Python process: {args!r}. Use a stack "
                    "fixture, or mark the test @pytest.mark.integration (see tests/tiers.py).",
                    pytrace=False,
                )
            original(popen, args, *rest, **kwargs)

        subprocess.Popen.__init__ = guarded_init  # type: ignore[method-assign]

    def uninstall(self) -> None:
        subprocess.Popen.__init__ = self._original  # type: ignore[method-assign]
