"""Fixture cleanups that run every step and then report what failed, so leaks are seen."""
from __future__ import annotations

from typing import Callable


class Cleanup:
    """Collects cleanup steps' failures; `report()` raises them all at the end of the teardown."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def run(self, what: str, step: Callable[[], object], expected: tuple[type[BaseException], ...] = ()) -> None:
        """Run `step`; an `expected` exception (already gone, say) is fine, any other is recorded."""
        try:
            step()
        except expected:
            pass
        except Exception as exc:  # noqa: BLE001 - every failure is reported by report()
            self.failures.append(f"{what}: {exc!r}")

    def report(self) -> None:
        if self.failures:
            raise AssertionError("cleanup failed, something may have leaked:\n  " + "\n  ".join(self.failures))
