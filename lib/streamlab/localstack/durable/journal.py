"""The front door's journal: every state-changing call MiniStack acknowledged, since the last snapshot.

MiniStack can only be snapshotted every few seconds; the journal covers the gap. An entry is
appended after MiniStack answered success and before the client gets its answer, so every
acknowledged write is either in the latest snapshot or in the journal. Item writes that are
safe to apply twice (PutItem, DeleteItem, BatchWriteItem, and UpdateItem when its update only
overwrites or removes: see `idempotent`) carry their request and are replayed after a crash;
every other change is named in the recovery report.

One file per writer per minute under data/journal/; files older than the latest snapshot are
removed as new ones start. Lines are copied into the file through a shared memory mapping, not
written with a system call each: the API records one line per request, and copying instead of
a `write` per line took 9 us on average (from -2 to 20 us) off the front door's CPU per request
in three alternating pairs of `bench api` runs on the 2-core test machine. The pages are the
file's own (the page cache), so a killed writer loses nothing it copied; it leaves at most a
torn last line and zero bytes after it, which readers skip. Space is reserved (fallocate) a
chunk ahead, so a full disk is an OSError at a chunk boundary, never a SIGBUS; a clean close
trims the file to its lines. Nothing is fsynced: the journal survives any process being
killed, not a power cut.
"""
from __future__ import annotations

import json
import mmap
import os
import time
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path
from typing import Callable, Iterator, Mapping

from streamlab.localstack.durable.idempotent import update_is_idempotent
from streamlab.localstack.durable.snapshot import read_manifest
from streamlab.localstack.private import FILE_MODE, make_private_dir
from streamlab.localstack.state import StackPaths

DYNAMODB_PREFIX = "DynamoDB_20120810."
# Replaying these leaves the same item state however often they ran before the crash.
REPLAYABLE = frozenset({"PutItem", "DeleteItem", "BatchWriteItem"})
# ... and so may this one, depending on its update: its request is kept to decide at replay time.
_BODY_KEPT = REPLAYABLE | {"UpdateItem"}
_READ_PREFIXES = ("Get", "Describe", "List", "Query", "Scan", "BatchGet", "Head", "Check", "Estimate")
_REPLAY_HEADERS = ("x-amz-target", "authorization", "content-type")
SEGMENT_SECONDS = 60
# A segment's file grows by this much at a time (a multiple of the page size, as mmap needs).
CHUNK_BYTES = 4 << 20
MADV_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23)  # Linux 5.14+; Python 3.11 does not name it
# Entries this much older than the snapshot are replayed too, in case of clock steps between processes.
OVERLAP_SECONDS = 0.5


def changes_state(method: str, path: str, target: str) -> bool:
    """Whether a call to MiniStack may change its state (reads and our own admin paths do not)."""
    if method in ("GET", "HEAD", "OPTIONS") or path.startswith(("/_ministack", "/_streamlab")):
        return False
    if path.endswith("/invocations"):
        return False  # a Lambda invoke; what the function writes arrives as calls of its own
    operation = target.rsplit(".", 1)[-1]
    return not (target and operation.startswith(_READ_PREFIXES))


def journal_folder(paths: StackPaths) -> Path:
    return paths.data / "journal"


@dataclass(frozen=True)
class Entry:
    at: float
    operation: str
    path: str
    headers: dict[str, str] | None = None
    body: str | None = None

    @property
    def replayable(self) -> bool:
        if self.body is None:
            return False
        return self.operation in REPLAYABLE or (self.operation == "UpdateItem" and update_is_idempotent(self.body))


class Journal:
    """Appends entries for one writer process (front door, ...)."""

    def __init__(self, paths: StackPaths, writer: str) -> None:
        self.paths = paths
        self.writer = writer
        self.folder = journal_folder(paths)
        make_private_dir(self.folder)
        self._segment = -1
        self._file: MappedFile | None = None

    def record(self, method: str, path: str, headers: Mapping[str, str], body: bytes | None = None) -> None:
        """Note an acknowledged call; `body` only for DynamoDB item writes that may be replayed."""
        self.recorder(method, path, headers)(body)

    def recorder(self, method: str, path: str, headers: Mapping[str, str]) -> Callable[[bytes | None], None]:
        """`record` for calls alike but for their body (the API's writes): all but the time and the
        body encoded once, so each record costs one string escape and one write."""
        target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
        if not changes_state(method, path, target):
            return _ignore
        operation = target[len(DYNAMODB_PREFIX):] if target.startswith(DYNAMODB_PREFIX) else (target or f"{method} {path}")
        what = _compact({"operation": operation, "path": path})[1:-1]
        replay_headers = {k: v for k, v in headers.items() if k.lower() in _REPLAY_HEADERS}
        request = f'{what},"headers":{_compact(replay_headers)},"body":' if operation in _BODY_KEPT else None

        def write(body: bytes | None) -> None:
            at = time.time()
            if body is not None and request is not None:
                line = f'{{"at":{at!r},{request}{encode_basestring_ascii(body.decode("utf-8"))}}}\n'
            else:
                line = f'{{"at":{at!r},{what}}}\n'
            self._file_for(at).append(line.encode())

        return write

    def _file_for(self, now: float) -> MappedFile:
        segment = int(now // SEGMENT_SECONDS)
        if self._file is None or segment != self._segment:
            self.close()
            self._file = MappedFile(self.folder / f"{segment:012d}-{self.writer}.jsonl")
            self._segment = segment
            prune(self.paths)
        return self._file

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class MappedFile:
    """An append-only file written through a memory mapping of its current chunk.

    Opening a file a killed writer left goes on after its last byte that is not zero, on a line
    of its own, so a torn line never swallows the next one.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        self._map: mmap.mmap | None = None
        self._base = 0  # the file offset the mapping starts at
        self._pos = 0  # bytes used in the mapping
        end = _data_end(self._fd)
        self._map_chunk_at(end - end % CHUNK_BYTES)
        self._pos = end % CHUNK_BYTES
        if end and not _ends_a_line(self._fd, end):
            self.append(b"\n")

    def append(self, data: bytes) -> None:
        mapping = self._map
        if mapping is None:
            raise ValueError(f"{self.path} is closed")
        pos = self._pos
        room = CHUNK_BYTES - pos
        if len(data) <= room:
            mapping[pos:pos + len(data)] = data
            self._pos = pos + len(data)
            return
        mapping[pos:] = data[:room]
        self._map_chunk_at(self._base + CHUNK_BYTES)
        self._pos = 0
        self.append(data[room:])

    def _map_chunk_at(self, base: int) -> None:
        _reserve(self._fd, base, CHUNK_BYTES)
        if self._map is not None:
            self._map.close()
        self._map = mmap.mmap(self._fd, CHUNK_BYTES, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=base)
        self._base = base
        try:
            # Two page faults per page otherwise (mapping it, then marking it written), each dearer
            # than the copies that fill the page; one call takes them for the whole chunk.
            self._map.madvise(MADV_POPULATE_WRITE)
        except OSError:
            pass  # a kernel before 5.14: the faults come one page at a time

    @property
    def size(self) -> int:
        return self._base + self._pos

    def close(self) -> None:
        if self._map is None:
            return
        self._map.close()
        self._map = None
        os.ftruncate(self._fd, self.size)
        os.close(self._fd)


def _reserve(fd: int, offset: int, length: int) -> None:
    """Make the file at least offset + length long, with its blocks allocated where the system can:
    then a full disk is ENOSPC here, not SIGBUS on a copy into the mapping later."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, offset, length)
    elif os.fstat(fd).st_size < offset + length:  # macOS: no posix_fallocate; the file grows sparse
        os.ftruncate(fd, offset + length)


def _data_end(fd: int) -> int:
    """Where the bytes end that are not the zeros of space reserved ahead (or left by a kill)."""
    end = os.fstat(fd).st_size
    while end > 0:
        start = max(0, end - (64 << 10))
        block = os.pread(fd, end - start, start).rstrip(b"\0")
        if block:
            return start + len(block)
        end = start
    return 0


def _ends_a_line(fd: int, end: int) -> bool:
    return os.pread(fd, 1, end - 1) == b"\n"


def _ignore(body: bytes | None) -> None:
    pass


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def wants_body(method: str, target: str) -> bool:
    """Whether the caller should read the request body for `record` (small DynamoDB item writes only)."""
    return method == "POST" and target.startswith(DYNAMODB_PREFIX) and target[len(DYNAMODB_PREFIX):] in _BODY_KEPT


def entries_since(paths: StackPaths, since: float) -> list[Entry]:
    """Every entry at or after `since` - OVERLAP_SECONDS, oldest first."""
    cutoff = since - OVERLAP_SECONDS
    out = [entry for entry in _read_all(paths) if entry.at >= cutoff]
    return sorted(out, key=lambda e: e.at)


def after_snapshot(paths: StackPaths, taken_at: float) -> tuple[list[Entry], list[Entry]]:
    """What a crash may have lost since the snapshot taken at `taken_at`: (to replay, cannot be replayed).

    Replayable writes are sent again from OVERLAP_SECONDS before the snapshot (twice is harmless);
    the rest only from the snapshot on: one acknowledged before `taken_at` is in the snapshot.
    """
    replay, unreplayable = [], []
    for entry in entries_since(paths, taken_at):
        if entry.replayable:
            replay.append(entry)
        elif entry.at >= taken_at:
            unreplayable.append(entry)
    return replay, unreplayable


def _read_all(paths: StackPaths) -> Iterator[Entry]:
    folder = journal_folder(paths)
    for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                raw = json.loads(line)
                yield Entry(raw["at"], raw["operation"], raw["path"], raw.get("headers"), raw.get("body"))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill mid-write was never acknowledged


def prune(paths: StackPaths) -> None:
    """Drop segments that ended before the latest snapshot was taken (it holds all they record)."""
    manifest = read_manifest(paths)
    if manifest is None:
        return
    horizon = manifest["taken_at"] - OVERLAP_SECONDS
    for path in journal_folder(paths).glob("*.jsonl"):
        try:
            segment = int(path.name.split("-", 1)[0])
        except ValueError:
            continue
        if (segment + 1) * SEGMENT_SECONDS < horizon:
            path.unlink(missing_ok=True)
