"""Stream records on disk, append-only: a snapshot writes only the records new since the one before.

    data/ministack/stream-log/<digest of the stream ARN>-<tag>.jsonl    one stream's records, a line each

A stream keeps every record for 24 hours, also after its table is deleted, so rewriting them all
in every snapshot grew with every run of the day (measured: 300 MB written every 10 s, a core
busy, after an hour of benchmarks). Records are only ever added at the end and expired at the
front, so each snapshot appends what is new and the snapshot's index (`INDEX` in its folder) says,
per stream, which file, how many of its bytes, and the absolute positions they hold. Bytes past
that length were appended by a writer that did not finish: the next append cuts them off first,
and a restore never reads them. A stream that cannot be appended to (reset, or expired past what
the file holds) starts a new file with a new tag, so no file a current snapshot names is rewritten.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from streamlab.localstack.durable.encode import dump_json
from streamlab.localstack.private import make_private_dir, open_private

INDEX = "stream-index.json"


@dataclass
class Stream:
    """One stream as MiniStack holds it: records from absolute position `trimmed` on."""

    arn: str
    records: list[dict]
    trimmed: int
    table: tuple[str, str, str] | None = None  # (account, region, table) while it is the table's stream
    closed: dict | None = None  # a closed stream's own fields (table deleted or stream disabled)

    @property
    def end(self) -> int:
        return self.trimmed + len(self.records)


def log_folder(base: Path) -> Path:
    return base / "stream-log"


def collect(ddb: Any) -> list[Stream]:
    """Every stream MiniStack's DynamoDB module holds, live and closed (no copies: called in a fork)."""
    streams = []
    trimmed = ddb._stream_trimmed._data
    for scope, records in ddb._stream_records._data.items():
        table = ddb._tables._data.get(scope) or {}
        arn = table.get("LatestStreamArn") or f"live:{':'.join(scope)}"
        streams.append(Stream(arn, records, trimmed.get(scope, 0), table=scope))
    for (account, region, arn), closed in ddb._closed_streams._data.items():
        fields = {k: v for k, v in closed.items() if k not in ("records", "trimmed")}
        streams.append(Stream(arn, closed["records"], closed["trimmed"], closed={"scope": [account, region],
                                                                                 **fields}))
    return streams


def install(ddb: Any, streams: list[Stream]) -> None:
    """Put restored streams back into MiniStack's DynamoDB module (at boot, before any request)."""
    for s in streams:
        if s.table is not None:
            ddb._stream_records._data[s.table] = s.records
            ddb._stream_trimmed._data[s.table] = s.trimmed
        elif s.closed is not None:
            fields = dict(s.closed)
            account, region = fields.pop("scope")
            ddb._closed_streams._data[(account, region, s.arn)] = {**fields, "records": s.records,
                                                                   "trimmed": s.trimmed}


def write(base: Path, streams: list[Stream], previous: dict | None, tag: str,
          dumps: Callable[[Any], bytes] = dump_json) -> dict:
    """Append each stream's new records to its file (fsynced); return the index for the new snapshot."""
    folder = log_folder(base)
    make_private_dir(folder)
    before = (previous or {}).get("streams", {})
    index = {}
    for s in streams:
        key = hashlib.sha256(s.arn.encode()).hexdigest()[:24]
        last = before.get(key)
        if last is not None and _continues(last, s):
            entry = dict(last)
            new = s.records[last["end"] - s.trimmed:]
        else:  # new, reset, or expired past what the file holds: a new file
            entry = {"file": f"{key}-{tag}.jsonl", "first": s.trimmed, "end": s.trimmed, "bytes": 0}
            new = s.records
        entry["bytes"] = _append(folder / entry["file"], entry["bytes"], new, dumps)
        entry.update(arn=s.arn, end=s.end, trimmed=s.trimmed, last_event=_event_id(s.records[-1:]),
                     table=list(s.table) if s.table else None, closed=s.closed)
        index[key] = entry
    return {"format": 1, "streams": index}


def _continues(last: dict, s: Stream) -> bool:
    """Whether `s` is the stream the file holds, grown at the end (its last saved record still there)."""
    if not (last["first"] <= s.trimmed and last["end"] <= s.end):
        return False
    if last["end"] == s.trimmed:  # nothing saved is still live: only an unchanged empty stream continues
        return s.end == s.trimmed
    return _event_id(s.records[last["end"] - 1 - s.trimmed:last["end"] - s.trimmed]) == last.get("last_event")


def _event_id(records: list[dict]) -> str | None:
    return records[0].get("eventID") if records else None


def _append(path: Path, keep_bytes: int, records: list[dict], dumps: Callable[[Any], bytes]) -> int:
    if not records and path.exists() and path.stat().st_size == keep_bytes:
        return keep_bytes  # unchanged (most closed streams): no write, no fsync
    with open_private(path, "ab") as fh:
        fh.truncate(keep_bytes)  # an unfinished writer's tail, never named by a snapshot
        fh.seek(keep_bytes)
        if records:
            fh.write(b"".join(dumps(r) + b"\n" for r in records))
        fh.flush()
        os.fsync(fh.fileno())
        return fh.tell()


def read(base: Path, index: dict, loads: Callable[[str], Any] = json.loads) -> list[Stream]:
    """The streams an index names, from their files."""
    folder = log_folder(base)
    streams = []
    for entry in index.get("streams", {}).values():
        with open(folder / entry["file"], "rb") as fh:
            lines = fh.read(entry["bytes"]).decode("utf-8").splitlines()
        records = [loads(line) for line in lines[entry["trimmed"] - entry["first"]:]]
        if len(records) != entry["end"] - entry["trimmed"]:
            raise ValueError(f"{entry['file']}: {len(records)} records where the snapshot names "
                             f"{entry['end'] - entry['trimmed']}")
        streams.append(Stream(entry["arn"], records, entry["trimmed"],
                              table=tuple(entry["table"]) if entry["table"] else None, closed=entry["closed"]))
    return streams


def prune(base: Path, index: dict) -> None:
    """Remove the files the (now current) snapshot's index does not name."""
    named = {entry["file"] for entry in index.get("streams", {}).values()}
    folder = log_folder(base)
    for path in folder.glob("*.jsonl") if folder.is_dir() else ():
        if path.name not in named:
            path.unlink(missing_ok=True)
