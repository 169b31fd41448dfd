"""Where the local stack keeps its state: the state file (pids, ports), logs and checkpoints."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from streamlab.localstack.private import make_private_dir, open_private

DEFAULT_PORT = 4566


@dataclass(frozen=True)
class StackPaths:
    home: Path

    @property
    def state_file(self) -> Path:
        return self.home / "stack.json"

    @property
    def lock_file(self) -> Path:
        return self.home / "stack.lock"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def tmp(self) -> Path:
        return self.home / "tmp"

    @property
    def data(self) -> Path:
        """Durable data our services own (API metadata, ESM checkpoints)."""
        return self.home / "data"

    def log_file(self, service: str) -> Path:
        return self.logs / f"{service}.log"

    def create(self) -> None:
        for folder in (self.home, self.logs, self.tmp, self.data):
            make_private_dir(folder)


def default_home() -> Path:
    return Path(os.environ.get("STREAMLAB_HOME") or Path.home() / ".streamlab").expanduser()


def default_port() -> int:
    return int(os.environ.get("STREAMLAB_PORT") or DEFAULT_PORT)


@dataclass
class ProcessRecord:
    name: str
    pid: int
    create_time: float
    argv: list[str]
    log: str


@dataclass
class StackState:
    port: int
    ministack_port: int
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    started_at: float = 0.0
    esm_port: int = 0

    @property
    def esm_url(self) -> str:
        return f"http://127.0.0.1:{self.esm_port}"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ministack_url(self) -> str:
        return f"http://127.0.0.1:{self.ministack_port}"


def read_state(paths: StackPaths) -> StackState | None:
    try:
        raw = json.loads(paths.state_file.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        # A torn or hand-edited file: treat as stale so `up` can clean up.
        return StackState(port=0, ministack_port=0)
    processes = {name: ProcessRecord(**rec) for name, rec in raw.get("processes", {}).items()}
    return StackState(
        port=raw["port"],
        ministack_port=raw["ministack_port"],
        processes=processes,
        started_at=raw.get("started_at", 0.0),
        esm_port=raw.get("esm_port", 0),
    )


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(tmp, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_state(paths: StackPaths, state: StackState) -> None:
    write_atomically(paths.state_file, json.dumps(asdict(state), indent=2))


def remove_state(paths: StackPaths) -> None:
    paths.state_file.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(paths: StackPaths) -> Iterator[None]:
    """Serialise up/down across processes (two notebooks starting the stack at once)."""
    make_private_dir(paths.home)
    with open_private(paths.lock_file, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
