"""Keep the stack's logs bounded: each log is rotated once it passes `limits.LOG_MAX_BYTES`.

The services write their logs through file descriptors opened at spawn (O_APPEND), MiniStack
included, so the logs are rotated by copy-and-truncate (as logrotate's `copytruncate`): the
writers keep their descriptors and go on at the start of the emptied file. Lines written during
the copy itself may be lost; that is the price of not restarting anything.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

from streamlab.localstack.limits import LOG_BACKUPS, LOG_MAX_BYTES
from streamlab.localstack.private import open_private

log = logging.getLogger("streamlab.logrotate")

CHECK_SECONDS = 10.0


def rotate_if_large(path: Path, max_bytes: int = LOG_MAX_BYTES, backups: int = LOG_BACKUPS) -> bool:
    """Move `path` to `path.1` (shifting older copies, keeping `backups`) once it is over `max_bytes`."""
    try:
        if path.stat().st_size <= max_bytes:
            return False
    except FileNotFoundError:
        return False
    for i in range(backups - 1, 0, -1):
        older = path.with_name(f"{path.name}.{i}")
        if older.exists():
            os.replace(older, path.with_name(f"{path.name}.{i + 1}"))
    with open(path, "rb") as source, open_private(path.with_name(f"{path.name}.1"), "wb") as copy:
        shutil.copyfileobj(source, copy)
    os.truncate(path, 0)
    return True


def rotate_all(folder: Path) -> list[str]:
    """Rotate every `*.log` in `folder` that is too large; the names rotated."""
    return [p.name for p in sorted(folder.glob("*.log")) if rotate_if_large(p)]


async def keep_rotating(folder: Path, every: float = CHECK_SECONDS) -> None:
    """Run `rotate_all` every `every` seconds, off the event loop, until cancelled."""
    while True:
        try:
            rotated = await asyncio.to_thread(rotate_all, folder)
            if rotated:
                log.warning("rotated %s", ", ".join(rotated))
        except OSError as exc:
            log.warning("could not rotate the logs in %s: %s", folder, exc)
        await asyncio.sleep(every)
