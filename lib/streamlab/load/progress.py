"""Progress bars that suit where the code runs.

In JupyterLab a bar is a widget (tqdm's notebook bar, with ipywidgets) that updates in place; in
a terminal it is tqdm's text bar. An executed copy (papermill, `streamlab suite`) has nobody
watching, so a bar there would leave dozens of half-drawn text chunks: it gets one final line
instead. `STREAMLAB_PROGRESS` chooses: auto (the default), widget, text, final or off.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import Any

from streamlab.errors import ConfigError

ENV = "STREAMLAB_PROGRESS"
MODES = ("auto", "widget", "text", "final", "off")


class FinalLine:
    """Counts like a bar, prints one line when closed: what an executed notebook keeps."""

    def __init__(self, total: int, desc: str, unit: str) -> None:
        self.total, self.desc, self.unit, self.n = total, desc, unit, 0
        self.started = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        print(f"{self.desc}: {self.n:,} of {self.total:,} {self.unit} done in {time.monotonic() - self.started:.1f} s")


def progress_mode() -> str:
    mode = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if mode not in MODES:
        raise ConfigError(f"{ENV}={mode!r} is not one of {', '.join(MODES)}.")
    return mode


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _widgets_available() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def progress_bar(total: int, desc: str = "requests", unit: str = "requests", enabled: bool = True) -> Any:
    """A bar with `update(n)` and `close()`, or None when disabled (see the module docstring)."""
    mode = progress_mode()
    if not enabled or mode == "off":
        return None
    if mode == "final":
        return FinalLine(total, desc, unit)
    if mode == "widget" or (mode == "auto" and _in_kernel() and _widgets_available()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tqdm's "experimental" notice
            from tqdm.notebook import tqdm as notebook_tqdm
        return notebook_tqdm(total=total, desc=desc, unit=unit, leave=True)
    from tqdm import tqdm

    # Once a second: enough to watch in a terminal.
    return tqdm(total=total, desc=desc, unit=unit, leave=True, mininterval=1.0)
