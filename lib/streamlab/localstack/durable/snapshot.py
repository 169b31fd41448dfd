"""Snapshots of MiniStack's state on disk, each a complete folder switched in atomically.

    data/ministack/
        lambda-blobs/          function code, content-addressed (MiniStack's own layout)
        snap-<ms>/             one snapshot: <service>.json, stream-index.json, esm-checkpoints/, manifest.json
        stream-log/            stream records, append-only, shared by every snapshot (streamlog.py)
        current -> snap-<ms>   the latest complete snapshot (a symlink replaced with rename)
        running                MiniStack is up (or died): removed after its final snapshot

A snapshot folder is written and fsynced before `current` points at it, so a kill at any
instant leaves `current` naming a complete, consistent snapshot (or none yet).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from streamlab.localstack.private import make_private_dir, open_private
from streamlab.localstack.state import StackPaths

MANIFEST = "manifest.json"
ESM_CHECKPOINTS = "esm-checkpoints"


def ministack_folder(paths: StackPaths) -> Path:
    return paths.data / "ministack"


def running_marker(paths: StackPaths) -> Path:
    """Present from MiniStack's boot until its final snapshot: if found while it is not running, it died."""
    return ministack_folder(paths) / "running"


def current_snapshot(paths: StackPaths) -> Path | None:
    """The folder of the latest complete snapshot, or None before the first one."""
    link = ministack_folder(paths) / "current"
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if (target / MANIFEST).is_file() else None


def read_manifest(paths: StackPaths) -> dict | None:
    folder = current_snapshot(paths)
    if folder is None:
        return None
    return json.loads((folder / MANIFEST).read_text())


@dataclass
class Snapshot:
    """One snapshot's content, already serialised: file name -> text."""

    taken_at: float
    clean: bool
    files: dict[str, str | bytes]
    esm_checkpoints: dict[str, str] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)

    def manifest(self) -> dict:
        return {"format": 1, "taken_at": self.taken_at, "clean": self.clean, "summary": self.summary}


def write_snapshot(paths: StackPaths, snapshot: Snapshot) -> Path:
    """Write `snapshot` to a new folder, fsync it, then make it `current`; older folders are removed."""
    base = ministack_folder(paths)
    make_private_dir(base)
    folder = base / f"snap-{int(snapshot.taken_at * 1000)}-{os.getpid()}"
    if folder.exists():
        shutil.rmtree(folder)
    make_private_dir(folder / ESM_CHECKPOINTS)
    for name, text in snapshot.esm_checkpoints.items():
        _write_synced(folder / ESM_CHECKPOINTS / name, text)
    for name, content in snapshot.files.items():
        _write_synced(folder / name, content)
    _write_synced(folder / MANIFEST, json.dumps(snapshot.manifest()))
    _sync_dir(folder / ESM_CHECKPOINTS)
    _sync_dir(folder)
    link = base / "current"
    staged = base / f".current.{os.getpid()}"
    staged.unlink(missing_ok=True)
    staged.symlink_to(folder.name)
    os.replace(staged, link)
    _sync_dir(base)
    _remove_older(base, keep=folder)
    return folder


def _write_synced(path: Path, content: str | bytes) -> None:
    # Private to the user whatever the umask: snapshots hold every item of every table.
    with open_private(path, "wb") as fh:
        fh.write(content.encode("utf-8") if isinstance(content, str) else content)
        fh.flush()
        os.fsync(fh.fileno())


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_older(base: Path, keep: Path) -> None:
    for other in base.glob("snap-*"):
        if other != keep:
            shutil.rmtree(other, ignore_errors=True)


def age_seconds(manifest: dict | None, now: float | None = None) -> float | None:
    if manifest is None:
        return None
    return (now or time.time()) - manifest["taken_at"]
