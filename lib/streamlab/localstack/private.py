"""STREAMLAB_HOME is private to the user: folders 0700, files 0600, whatever the umask.

It holds the state file, logs (which may show request bodies), ESM checkpoints and MiniStack's
data, including the code of every Lambda function. Files we write are created with explicit
modes; the stack's processes run with umask 077, so what they (and MiniStack's Lambda workers)
create is private too; `secure_tree` tightens a home left behind by an older version.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

UMASK = 0o077
DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_FLAGS = {"w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC, "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND}


def make_private_dir(path: Path) -> None:
    """Create `path` (and missing parents) as 0700; an existing folder is tightened to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
        path.chmod(DIR_MODE)


def open_private(path: Path, mode: str = "w") -> IO:
    """`open(path, mode)` for "w"/"a" (text) or "wb"/"ab", creating the file 0600."""
    fd = os.open(path, _OPEN_FLAGS[mode[0]], FILE_MODE)
    if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:  # an older file: take it back
        os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode)


def secure_tree(root: Path) -> None:
    """Remove group and other permissions from everything under `root` (symlinks left alone)."""
    for folder, _dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            try:
                info = os.lstat(name)
                if not stat.S_ISLNK(info.st_mode) and info.st_mode & 0o077:
                    os.chmod(name, stat.S_IMODE(info.st_mode) & 0o700)
            except FileNotFoundError:  # removed meanwhile by a running service
                pass
