"""After MiniStack died without its final snapshot: rewind, replay, and say exactly what was lost.

`up` calls `prepare` before MiniStack starts (it boots from the latest snapshot) and `recover`
once it answers, before the ESM and the front door start:

1. the ESM's checkpoints go back to their copy in the snapshot, so every record whose
   processing had effects after the snapshot is delivered again (duplicates, never loss);
2. the journal's replayable item writes acknowledged since the snapshot are sent again;
3. every other acknowledged change since the snapshot, every replay MiniStack refused and every
   mapping whose stream or function is gone is a named loss.

The report is kept in data/recovery.json; `status` and `up` show it until `streamlab deploy`
(which recreates the pipeline's resources) clears it.
"""
from __future__ import annotations

import http.client
import json
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlsplit

import botocore.exceptions

from streamlab.localstack.durable import journal
from streamlab.localstack.durable.snapshot import ESM_CHECKPOINTS, current_snapshot, read_manifest, running_marker
from streamlab.localstack.esm.store import Store, esm_folder
from streamlab.localstack.private import make_private_dir
from streamlab.localstack.state import StackPaths, write_atomically
from streamlab.target import local_target

REPORT = "recovery.json"
RECOVER_HINT = "run `streamlab deploy` to recreate the pipeline's resources, then resend what is listed as lost"
_REPLAY_TIMEOUT_SECONDS = 10.0
_PROGRESS_EVERY_SECONDS = 2.0


@dataclass
class RecoveryPlan:
    """What `prepare` found before MiniStack started."""

    snapshot_taken_at: float | None
    rewound: list[str] = field(default_factory=list)


@dataclass
class RecoveryReport:
    recovered_at: float
    snapshot_taken_at: float | None
    replayed: int
    rewound: list[str]
    lost: list[str]

    def lines(self) -> list[str]:
        taken = _clock(self.snapshot_taken_at) if self.snapshot_taken_at else "none (no snapshot yet)"
        out = [f"MiniStack had stopped without its final snapshot (killed?). Restored the snapshot taken at {taken}, "
               f"replayed {self.replayed} acknowledged writes from the journal, rewound "
               f"{len(self.rewound)} event source mapping checkpoint(s) to the snapshot."]
        if not self.lost:
            out.append("Nothing acknowledged was lost.")
            return out
        out.append(f"LOST ({len(self.lost)}):")
        out.extend(f"  - {item}" for item in self.lost)
        out.append(f"To recover: {RECOVER_HINT}.")
        return out


def prepare(paths: StackPaths) -> RecoveryPlan | None:
    """Before MiniStack starts: None after a clean stop; else rewind the ESM to the snapshot."""
    if not running_marker(paths).exists():
        return None  # stopped after its final snapshot, or never started
    manifest = read_manifest(paths)
    plan = RecoveryPlan(snapshot_taken_at=manifest["taken_at"] if manifest else None)
    plan.rewound = _rewind_checkpoints(paths)
    return plan


def _rewind_checkpoints(paths: StackPaths) -> list[str]:
    snapshot = current_snapshot(paths)
    if snapshot is None:
        return []
    live = esm_folder(paths) / "checkpoints"
    make_private_dir(live)
    rewound = []
    for saved in sorted((snapshot / ESM_CHECKPOINTS).glob("*.json")):
        write_atomically(live / saved.name, saved.read_text())
        rewound.append(saved.stem)
    return rewound


def recover(paths: StackPaths, plan: RecoveryPlan, ministack_url: str,
            log: Callable[[str], None] = lambda _: None) -> RecoveryReport:
    """Once MiniStack answers: replay the journal, check the mappings' sources, write the report.
    `log` hears how the replay goes while it lasts (a busy API journals thousands of writes)."""
    replayed, lost = 0, []
    to_replay, unreplayable = journal.after_snapshot(paths, plan.snapshot_taken_at or 0.0)
    lost.extend(f"{entry.operation} acknowledged at {_clock(entry.at)} ({entry.path}), after the snapshot, "
                "cannot be replayed safely" for entry in unreplayable)
    if to_replay:
        log(f"replaying {len(to_replay)} acknowledged writes journalled since the snapshot")
    replayer, said_at = _Replayer(ministack_url), time.monotonic()
    for done, entry in enumerate(to_replay, start=1):
        problem = replayer.send(entry)
        if problem:
            lost.append(f"{entry.operation} acknowledged at {_clock(entry.at)} could not be replayed: {problem}")
        else:
            replayed += 1
        if time.monotonic() - said_at >= _PROGRESS_EVERY_SECONDS:
            log(f"  replayed {done} of {len(to_replay)}")
            said_at = time.monotonic()
    replayer.close()
    lost.extend(_missing_sources(paths, ministack_url))
    report = RecoveryReport(time.time(), plan.snapshot_taken_at, replayed, plan.rewound, lost)
    write_atomically(paths.data / REPORT, json.dumps(asdict(report), indent=1))
    return report


class _Replayer:
    """Sends journalled calls to MiniStack over one kept-alive connection (a new one after a failure).
    Straight to the loopback address: never through a proxy named in the environment."""

    def __init__(self, ministack_url: str) -> None:
        self._address = urlsplit(ministack_url)
        self._connection: http.client.HTTPConnection | None = None

    def send(self, entry: journal.Entry) -> str:
        """"" once MiniStack holds the write, else what went wrong."""
        # A kept-alive connection MiniStack closed fails at once: try again on a new one (every
        # replayed write is safe to apply twice).
        while True:
            reused = self._connection is not None
            try:
                status, text = self._post(entry)
                break
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if not reused:
                    return str(exc) or type(exc).__name__
        if status < 300:
            return ""
        # A conditional write that finds its item already as it left it: the snapshot holds it.
        return "" if "ConditionalCheckFailed" in text else f"HTTP {status}: {text[:200]}"

    def _post(self, entry: journal.Entry) -> tuple[int, str]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self._address.hostname, self._address.port,
                                                          timeout=_REPLAY_TIMEOUT_SECONDS)
        self._connection.request("POST", entry.path, body=(entry.body or "").encode(), headers=entry.headers or {})
        answer = self._connection.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _missing_sources(paths: StackPaths, ministack_url: str) -> list[str]:
    """Mappings whose stream or function the restored state no longer has."""
    ministack = local_target(ministack_url)
    streams, functions = ministack.client("dynamodbstreams"), ministack.client("lambda")
    lost = []
    for uuid, mapping in Store(paths).load_mappings().items():
        checks = ((lambda: streams.describe_stream(StreamArn=mapping.event_source_arn, Limit=1), "stream",
                   mapping.event_source_arn),
                  (lambda: functions.get_function(FunctionName=mapping.function_name), "function",
                   mapping.function_name))
        for call, kind, name in checks:
            try:
                call()
            except botocore.exceptions.ClientError:
                lost.append(f"event source mapping {uuid}: its {kind} {name} is not in the restored state")
    return lost


def read_report(paths: StackPaths) -> RecoveryReport | None:
    try:
        return RecoveryReport(**json.loads((paths.data / REPORT).read_text()))
    except FileNotFoundError:
        return None


def clear_report(paths: StackPaths) -> None:
    (paths.data / REPORT).unlink(missing_ok=True)


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%H:%M:%S.%f")[:-3] + " UTC"
