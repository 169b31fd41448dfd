"""MiniStack run under our supervision: restored from the latest snapshot, snapshotted while it runs.

    python -m streamlab.localstack.durable.ministack_main --home H

Same environment as `python -m ministack` (GATEWAY_PORT, BIND_HOST, LOG_LEVEL). MiniStack's
own persistence (PERSIST_STATE) saves only at a graceful shutdown (its own SIGTERM handler
just exits), never after a crash, and never saves stream records; so we load its state files
from our snapshot at boot and write every snapshot ourselves (streamlab.localstack.durable.snapshot).
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import ctypes
import gc
import importlib
import json
import logging
import os
import resource
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

from streamlab.localstack.durable import streamlog
from streamlab.localstack.durable.encode import dump_json
from streamlab.localstack.durable.journal import changes_state
from streamlab.localstack.durable.snapshot import (
    Snapshot, current_snapshot, ministack_folder, running_marker, write_snapshot,
)
from streamlab.errors import StackError
from streamlab.localstack import eventloop
from streamlab.localstack.esm.store import esm_folder
from streamlab.localstack.expression_cache import remember_expressions
from streamlab.localstack.private import make_private_dir, open_private
from streamlab.localstack.state import StackPaths

log = logging.getLogger("streamlab.snapshot")

# A change is in a snapshot at most this long (plus the snapshot's own time) after it was made;
# the front door's journal covers the gap (see recovery). Measured cost: docs/architecture.md.
DEFAULT_INTERVAL_SECONDS = 10.0
# The snapshot writer yields the CPU to everything else (it has seconds, requests have milliseconds).
WRITER_NICENESS = 19
# Survivors are frozen this often, so a full collection walks at most this much new state (see keep_frozen).
FREEZE_INTERVAL_SECONDS = 1.0
SNAPSHOT_LOG_LINE = ("snapshot: event loop held %.1f ms, written in %.1f ms (started at %.3f); "
                     "writer CPU %.1f ms, %d page faults")
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when the thread that forked it exits


class SnapshotError(StackError):
    """A snapshot could not be written; the previous one stays current."""


class Snapshotter:
    """Wraps MiniStack's ASGI app: notes state changes, snapshots them, restores streams at boot."""

    def __init__(self, paths: StackPaths, ministack: ModuleType, persistence: ModuleType,
                 restore_from: Path | None, interval: float = DEFAULT_INTERVAL_SECONDS) -> None:
        self.paths = paths
        self.interval = interval
        self.ministack = ministack
        self.persistence = persistence
        self.restore_from = restore_from
        self.dirty = False
        self.stopping = False
        self.lock = asyncio.Lock()
        self._ticker: asyncio.Task | None = None
        self._freezer: asyncio.Task | None = None

    async def app(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            return await self._lifespan(scope, receive, send)
        if scope["type"] != "http" or not changes_state(scope["method"], scope["path"], _target(scope)):
            return await self.ministack.app(scope, receive, send)
        self.dirty = True
        try:
            return await self.ministack.app(scope, receive, send)
        finally:
            self.dirty = True  # a snapshot taken while the call ran may hold only part of it

    async def _lifespan(self, scope: dict, receive: Callable, send: Callable) -> None:
        async def on_send(message: dict) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._restore_streams()
                freeze_survivors()
                # Our final snapshot replaces MiniStack's own save at shutdown.
                self.ministack.PERSIST_STATE = False
                self._ticker = asyncio.create_task(self._every_interval())
                self._freezer = asyncio.create_task(keep_frozen())
            await send(message)

        async def on_receive() -> dict:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.stop()
                running_marker(self.paths).unlink(missing_ok=True)
            return message

        await self.ministack.app(scope, on_receive, on_send)

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.dirty:
                try:
                    await self.snapshot()
                except Exception:
                    log.exception("snapshot failed; the previous one stays current")

    async def stop(self) -> None:
        """Take the final snapshot, after the one being written if there is one.

        A writer is never abandoned: one left running wrote its folder and switched `current` to
        it after the final snapshot, whose clean-up then deleted that folder; the next boot found
        no snapshot and started empty (seen once in CI: a table gone after a clean down/up).
        """
        self.stopping = True
        if self._freezer is not None:
            self._freezer.cancel()
        await self.snapshot(clean=True)
        if self._ticker is not None:
            self._ticker.cancel()

    async def snapshot(self, clean: bool = False) -> None:
        """Every service at one instant, written by a forked child while this process serves on.

        fork() gives the child a copy-on-write image of the whole state as it is between two
        event-loop steps, so the loop is held only for the fork itself (copying the state here
        held it for about 2 s at 30,000 items); serialising and writing happen in the child.
        """
        async with self.lock:
            if self.stopping and not clean:
                return  # the final snapshot is taken, or waits for this lock
            self.dirty = False
            started, started_at = time.perf_counter(), time.time()
            held, writer = await self._fork_and_wait(clean)
            # `bench pipeline` reads these lines to tell the API's answers during a snapshot apart.
            log.info(SNAPSHOT_LOG_LINE, held * 1000, (time.perf_counter() - started) * 1000, started_at,
                     (writer.ru_utime + writer.ru_stime) * 1000, writer.ru_minflt)

    async def _fork_and_wait(self, clean: bool) -> tuple[float, resource.struct_rusage]:
        """Fork the writer and wait for it; returns how long the event loop was held and what the writer used."""
        started = time.perf_counter()
        freeze_survivors()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            die_with_parent(parent)
            self._write_and_exit(clean)
        held = time.perf_counter() - started
        _, status, usage = await asyncio.to_thread(os.wait4, pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            self.dirty = True
            raise SnapshotError(f"the snapshot writer exited with {os.waitstatus_to_exitcode(status)}")
        return held, usage

    def _write_and_exit(self, clean: bool) -> None:
        """In the forked child: capture, serialise, write, and leave without touching the parent's loop."""
        code = 1
        try:
            os.nice(WRITER_NICENESS)  # the pipeline's own processes go first on a small machine
            gc.disable()  # a short-lived copy: its temporaries die by reference count, and it exits
            captured = self._capture()
            base = ministack_folder(self.paths)
            index = streamlog.write(base, captured["streams"], _stream_index(current_snapshot(self.paths)),
                                    tag=f"{int(captured['taken_at'] * 1000)}-{os.getpid()}", dumps=self._dumps)
            write_snapshot(self.paths, self._serialise(captured, clean, {**index, "counter": captured["counter"]}))
            streamlog.prune(base, index)
            code = 0
        except BaseException:  # noqa: BLE001 - the parent reports the exit code
            traceback.print_exc()
        finally:
            os._exit(code)

    def _capture(self) -> dict[str, Any]:
        taken_at = time.time()  # before anything is read: a write answered earlier is in this snapshot
        # Checkpoints first: every effect of the records they cover is already in MiniStack, so
        # the snapshot holds it; rewinding to them after a crash loses no processing.
        folder = esm_folder(self.paths) / "checkpoints"
        checkpoints = {p.name: p.read_text() for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}
        ddb = sys.modules.get("ministack.services.dynamodb")
        states = {}
        with copies_nothing():
            for key, get_state in self.ministack._build_persistence_save_dict().items():
                state = get_state()
                if state is not None:
                    states[key] = state
        # In the forked child, so the stores are read as they are: the parent's later changes never reach them.
        streams = streamlog.collect(ddb) if ddb else []
        counter = ddb._stream_seq_counter if ddb else 0
        return {"taken_at": taken_at, "states": states, "streams": streams, "counter": counter,
                "checkpoints": checkpoints}

    def _dumps(self, value: Any) -> bytes:
        return dump_json(value, self.persistence._json_default)

    def _serialise(self, captured: dict[str, Any], clean: bool, stream_index: dict) -> Snapshot:
        persistence = self.persistence
        files: dict[str, str | bytes] = {
            f"{key}.json": self._dumps({"__ministack_format__": persistence._state_format_version(key), "payload": state})
            for key, state in captured["states"].items()
        }
        files[streamlog.INDEX] = json.dumps(stream_index)
        return Snapshot(taken_at=captured["taken_at"], clean=clean, files=files,
                        esm_checkpoints=captured["checkpoints"], summary=_summary(captured))

    def _restore_streams(self) -> None:
        index = _stream_index(self.restore_from)
        if index is None:
            return
        hook = self.persistence._json_object_hook
        streams = streamlog.read(ministack_folder(self.paths), index, loads=lambda line: json.loads(line, object_hook=hook))
        ddb = importlib.import_module("ministack.services.dynamodb")
        streamlog.install(ddb, streams)
        ddb._stream_seq_counter = max(ddb._stream_seq_counter, index.get("counter", 0))
        log.info("restored %d streams (%d records) from %s", len(streams), sum(len(s.records) for s in streams),
                 self.restore_from.name if self.restore_from else "-")


def die_with_parent(parent: int) -> None:
    """In a forked child: be killed when `parent` dies, and exit now if it already has.

    A snapshot writer outliving a MiniStack killed with SIGKILL would switch `current` to its
    folder and delete every other one, perhaps the snapshot a restarted MiniStack had just written.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _same(value: Any, memo: Any = None) -> Any:
    return value


@contextmanager
def copies_nothing() -> Iterator[None]:
    """While it lasts, `copy.deepcopy` and `copy.copy` return what they are given: every
    MiniStack service's `get_state` hands out its stores instead of deep copies.

    Only for the forked snapshot writer: the fork already is the copy, and nothing but the
    writer runs in the child. Deep-copying was most of the writer's work and touched every page
    it copied, so each one was copied again by the kernel: DynamoDB's tables (0.4 s of CPU at
    30,000 items), then CloudWatch's metrics and the Lambda logs our services and functions
    publish (0.1-0.26 s and 15,000-30,000 page faults per snapshot after a 500 req/s run).
    MiniStack's services `import copy` (some inside `get_state`), so the module's own functions
    are swapped, not names in each service.
    """
    originals = copy.deepcopy, copy.copy
    copy.deepcopy = copy.copy = _same
    try:
        yield
    finally:
        copy.deepcopy, copy.copy = originals


def _stream_index(snapshot: Path | None) -> dict | None:
    """The stream index of a snapshot folder (None: no snapshot, or one without streams)."""
    try:
        return json.loads((snapshot / streamlog.INDEX).read_text()) if snapshot else None
    except FileNotFoundError:
        return None


def _summary(captured: dict[str, Any]) -> dict:
    """Names of what the snapshot holds, for the recovery report."""
    states = captured["states"]
    tables = _names(states.get("dynamodb", {}).get("tables"))
    functions = _names(states.get("lambda", {}).get("functions"))
    return {"tables": tables, "functions": functions,
            "stream_records": sum(len(s.records) for s in captured["streams"] if s.table is not None)}


def _names(scoped: Any) -> list[str]:
    data = getattr(scoped, "_data", None) or {}
    return sorted(str(key[-1]) for key in data)


def _target(scope: dict) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-amz-target":
            return value.decode("latin-1")
    return ""


def freeze_survivors() -> None:
    """Collect the young generations, then take every object alive now out of the collector's reach.

    MiniStack holds its whole state as Python objects (a million after an hour of benchmarks,
    mostly stream records it keeps 24 hours), and each full collection walked all of them: it
    held the event loop, so every API call, for 1.0-1.35 s every 30 s (measured, docs/architecture.md).
    Frozen objects are still freed when their last reference goes; only a reference cycle among
    them is never reclaimed. Before a fork it also keeps the collector from touching, and so
    copying, the pages the snapshot writer shares with this process.
    """
    gc.collect(1)
    gc.freeze()


async def keep_frozen(interval: float = FREEZE_INTERVAL_SECONDS) -> None:
    """Freeze the survivors every `interval` seconds, for as long as the process serves.

    Freezing only at snapshots left ten seconds of new state (at 500 req/s, half a million
    objects) to the collector: its full collections then held the event loop 50-85 ms, several
    times between two snapshots (logs/ministack.log, `bench pipeline` at 500 req/s). Frozen each
    second, a full collection walks one second's worth.
    """
    while True:
        await asyncio.sleep(interval)
        freeze_survivors()


def log_long_collections(threshold_s: float = 0.05) -> Callable[[str, dict], None]:
    """Log every garbage collection that holds the process longer than `threshold_s` (returns the callback)."""
    started: list[float] = []

    def note(phase: str, info: dict) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started and time.perf_counter() - started[0] > threshold_s:
            # Only O(1) figures here: this runs with the event loop still held.
            log.info("garbage collection of generation %d held the process %.0f ms (%d freed, %d frozen)",
                     info["generation"], (time.perf_counter() - started[0]) * 1000, info["collected"],
                     gc.get_freeze_count())

    gc.callbacks.append(note)
    return note


def load_ministack(paths: StackPaths) -> tuple[ModuleType, ModuleType, Path | None]:
    """Import MiniStack set up to boot from our latest snapshot."""
    base = ministack_folder(paths)
    make_private_dir(base)
    os.environ["PERSIST_STATE"] = "1"
    os.environ["STATE_DIR"] = str(base)
    ministack = importlib.import_module("ministack.app")
    persistence = importlib.import_module("ministack.core.persistence")
    # Function code stays in one content-addressed folder shared by every snapshot; lambda_svc
    # fixes its folder from STATE_DIR when it is imported, so import it before STATE_DIR moves.
    lambda_svc = importlib.import_module("ministack.services.lambda_svc")
    lambda_svc.CODE_BLOB_DIR = str(base / "lambda-blobs")
    remember_expressions(importlib.import_module("ministack.services.dynamodb"))
    restore_from = current_snapshot(paths)
    # From here until the final snapshot, a death of this process is a crash (recovery.prepare).
    with open_private(running_marker(paths)) as fh:
        fh.write(str(os.getpid()))
    # MiniStack's boot load reads <STATE_DIR>/<service>.json: point it at the snapshot.
    persistence.STATE_DIR = str(restore_from or base / "no-snapshot-yet")
    return ministack, persistence, restore_from


async def serve(snapshotter: Snapshotter) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{snapshotter.ministack._resolve_port()}"]
    config.keep_alive_timeout = 75
    config.loglevel = os.environ.get("LOG_LEVEL", "WARNING").upper()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        # A graceful stop runs the lifespan shutdown, which takes the final snapshot.
        loop.add_signal_handler(sig, stop.set)
    await hypercorn_serve(snapshotter.app, config, shutdown_trigger=stop.wait)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", required=True, type=Path)
    parser.add_argument("--snapshot-interval", type=float, default=DEFAULT_INTERVAL_SECONDS,
                        help="seconds between snapshots while anything changes")
    parser.add_argument("--event-loop", choices=eventloop.EVENT_LOOPS, default=eventloop.DEFAULT_EVENT_LOOP)
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("streamlab.snapshot").setLevel(logging.INFO)
    paths = StackPaths(args.home)
    log_long_collections()
    ministack, persistence, restore_from = load_ministack(paths)
    eventloop.run(serve(Snapshotter(paths, ministack, persistence, restore_from, args.snapshot_interval)),
                  args.event_loop)


if __name__ == "__main__":
    main()
