"""Bring the local stack up, find it, and take it down.

`up` starts MiniStack on an internal loopback port and our front door on the public one,
waits until both answer, and records their pids in the state file. `down` stops exactly the
processes recorded there.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Collection

from streamlab.errors import PortInUseError, StackError, StackNotRunningError
from streamlab.localstack import eventloop, processes
from streamlab.localstack.childenv import minimal_env, streamlab_settings
from streamlab.localstack.durable import recovery
from streamlab.localstack.private import secure_tree
from streamlab.localstack.state import (
    ProcessRecord,
    StackPaths,
    StackState,
    default_home,
    default_port,
    locked,
    read_state,
    remove_state,
    write_state,
)

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 90.0
HEALTH_PATH = {"ministack": "/_ministack/health", "esm": "/_streamlab/esm/health", "frontdoor": "/_streamlab/health"}


def snapshot_interval() -> float:
    """Seconds between MiniStack snapshots while anything changes (STREAMLAB_SNAPSHOT_INTERVAL, default 10)."""
    return float(os.environ.get("STREAMLAB_SNAPSHOT_INTERVAL") or 10.0)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: Callable[[StackState, StackPaths], list[str]]
    env: Callable[[StackState, StackPaths], dict[str, str]]
    health_url: Callable[[StackState], str]


def _ministack_env(state: StackState, paths: StackPaths) -> dict[str, str]:
    # MiniStack passes its environment on to every Lambda worker: see childenv.
    return minimal_env(paths, {
        "GATEWAY_PORT": str(state.ministack_port),
        "BIND_HOST": LOOPBACK,
        "LOG_LEVEL": os.environ.get("STREAMLAB_MINISTACK_LOG_LEVEL", "WARNING"),
        "MINISTACK_REGION": "us-east-1",
    })


def _frontdoor_env(state: StackState, paths: StackPaths) -> dict[str, str]:
    return minimal_env(paths, {**streamlab_settings(), "STREAMLAB_HOME": str(paths.home)})


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        name="ministack",
        # MiniStack under our snapshotter, so its state survives down/up and crashes.
        argv=lambda state, paths: [sys.executable, "-m", "streamlab.localstack.durable.ministack_main",
                                   "--home", str(paths.home), "--snapshot-interval", str(snapshot_interval()),
                                   "--event-loop", eventloop.chosen_event_loop()],
        env=_ministack_env,
        health_url=lambda state: state.ministack_url + HEALTH_PATH["ministack"],
    ),
    ServiceSpec(
        name="esm",
        argv=lambda state, paths: [
            sys.executable, "-m", "streamlab.localstack.esm.service",
            "--port", str(state.esm_port), "--upstream", state.ministack_url, "--home", str(paths.home),
        ],
        env=_frontdoor_env,
        health_url=lambda state: state.esm_url + HEALTH_PATH["esm"],
    ),
    ServiceSpec(
        name="frontdoor",
        argv=lambda state, paths: [
            sys.executable,
            "-m",
            "streamlab.localstack.frontdoor",
            "--port",
            str(state.port),
            "--upstream",
            state.ministack_url,
            "--home",
            str(paths.home),
        ],
        env=_frontdoor_env,
        health_url=lambda state: state.endpoint_url + HEALTH_PATH["frontdoor"],
    ),
)


@dataclass(frozen=True)
class StackStatus:
    running: bool
    endpoint_url: str | None
    processes: dict[str, bool]
    home: Path
    detail: str
    # What a crash recovery could not bring back; while any is listed the stack is not healthy.
    losses: tuple[str, ...] = ()


# Health checks go to loopback directly, whatever proxy the user's shell names.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _answers(url: str, timeout: float = 1.0) -> bool:
    try:
        with _DIRECT.open(url, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the front door binds (reuse_address): a TIME_WAIT left by our own last health
        # check must not count as "in use"; a listening program still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def pick_free_port() -> int:
    """A loopback port that was free a moment ago (see `pick_free_ports`)."""
    return pick_free_ports(1)[0]


def pick_free_ports(count: int, avoid: Collection[int] = ()) -> list[int]:
    """`count` different loopback ports, none in `avoid`, each free a moment ago (the one place
    ports are picked).

    All are held until all are picked: picked one after another and released, the kernel may
    hand out the same port twice (seen in CI: MiniStack and the ESM given one port). They are
    released before the programs that will listen on them bind, so another program can take one
    in between: callers that start servers retry on PortInUseError (`up_on_free_port` does).
    """
    held: list[socket.socket] = []  # bound until every port is picked, so no port comes twice
    picked: list[int] = []
    try:
        while len(picked) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind((LOOPBACK, 0))
            port = sock.getsockname()[1]
            if port not in avoid:
                picked.append(port)
        return picked
    finally:
        for sock in held:
            sock.close()


def up_on_free_port(home: Path | None = None, log: Callable[[str], None] = lambda _: None,
                    attempts: int = 3) -> StackState:
    """`up` on a freshly picked port, picking again when a port was taken before our bind."""
    for attempt in range(1, attempts):
        try:
            return up(port=pick_free_port(), home=home, log=log)
        except PortInUseError as exc:
            log(f"{exc}; picking other ports (attempt {attempt} of {attempts})")
    return up(port=pick_free_port(), home=home, log=log)


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def _stop_all(paths: StackPaths, state: StackState) -> list[str]:
    stopped = []
    # Front door first so no request reaches a half-stopped MiniStack.
    for name in reversed(list(state.processes)):
        if processes.stop(state.processes[name]):
            stopped.append(name)
    remove_state(paths)
    return stopped


def _healthy(state: StackState) -> bool:
    return all(
        name in state.processes and processes.is_alive(state.processes[name]) and _answers(spec.health_url(state))
        for spec in SERVICES
        for name in [spec.name]
    )


def up(port: int | None = None, home: Path | None = None, log: Callable[[str], None] = lambda _: None) -> StackState:
    """Start the local stack, or return the running one. Safe to call twice."""
    paths = StackPaths(home or default_home())
    port = port or default_port()
    with locked(paths):
        paths.create()
        secure_tree(paths.home)  # a home made by an older version, or under a lax umask
        state = read_state(paths)
        if state is not None:
            if _healthy(state):
                if state.port != port:
                    log(f"local stack already running on port {state.port}; reusing it")
                return state
            stopped = _stop_all(paths, state)
            log(f"removed stale state file {paths.state_file} (stopped leftover: {', '.join(stopped) or 'none'})")
        if not port_is_free(port):
            raise PortInUseError(
                f"port {port} on {LOOPBACK} is in use by another program. Stop that program, or pick "
                f"another port with STREAMLAB_PORT=4577 (or `streamlab up --port 4577`)."
            )
        ministack_port, esm_port = pick_free_ports(2, avoid={port})
        state = StackState(port=port, ministack_port=ministack_port, esm_port=esm_port, started_at=time.time())
        plan = recovery.prepare(paths)
        try:
            for spec in SERVICES:
                log(f"starting {spec.name}")
                record = processes.spawn(
                    spec.name, spec.argv(state, paths), spec.env(state, paths), paths.log_file(spec.name)
                )
                state.processes[spec.name] = record
                write_state(paths, state)
                _wait_healthy(spec, state, record)
                if spec.name == "ministack" and plan is not None:
                    # Before the ESM and the front door: replayed writes precede every new one.
                    for line in recovery.recover(paths, plan, state.ministack_url, log=log).lines():
                        log(line)
        except BaseException:
            _stop_all(paths, state)
            raise
        log(f"local stack up at {state.endpoint_url} (state in {paths.home})")
        return state


def restart_service(name: str, home: Path | None = None) -> ProcessRecord:
    """Start one child process again (after a crash or a kill) without touching the others."""
    paths = StackPaths(home or default_home())
    spec = next((s for s in SERVICES if s.name == name), None)
    if spec is None:
        raise StackError(f"no service named {name!r}; the stack runs {', '.join(s.name for s in SERVICES)}.")
    with locked(paths):
        state = read_state(paths)
        if state is None:
            raise StackNotRunningError("the local stack is not running; start it with `streamlab up`.")
        old = state.processes.get(name)
        if old is not None:
            processes.stop(old)
        record = processes.spawn(name, spec.argv(state, paths), spec.env(state, paths), paths.log_file(name))
        state.processes[name] = record
        write_state(paths, state)
        _wait_healthy(spec, state, record)
        return record


def _wait_healthy(spec: ServiceSpec, state: StackState, record: ProcessRecord) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    url = spec.health_url(state)
    while time.monotonic() < deadline:
        if not processes.is_alive(record):
            tail = _log_tail(record.log)
            # Its port was free when picked, but another program bound it first: say so, so
            # callers can pick again. ("address already in use" from Python, "… is already in
            # use" from MiniStack's own check.)
            error = PortInUseError if "already in use" in tail.lower() else StackError
            raise error(f"{spec.name} exited while starting. Last lines of {record.log}:\n{tail}")
        if _answers(url, timeout=2.0):
            return
        time.sleep(0.1)
    raise StackError(
        f"{spec.name} did not answer {url} within {START_TIMEOUT:.0f}s. Last lines of {record.log}:\n"
        f"{_log_tail(record.log)}"
    )


def down(home: Path | None = None) -> list[str]:
    """Stop every process the state file records. Returns the names that were running."""
    paths = StackPaths(home or default_home())
    with locked(paths):
        state = read_state(paths)
        if state is None:
            return []
        return _stop_all(paths, state)


def status(home: Path | None = None) -> StackStatus:
    paths = StackPaths(home or default_home())
    state = read_state(paths)
    if state is None:
        return StackStatus(False, None, {}, paths.home, "not running (no state file)")
    alive = {name: processes.is_alive(rec) for name, rec in state.processes.items()}
    if all(alive.values()) and _healthy(state):
        report = recovery.read_report(paths)
        if report is not None and report.lost:
            detail = "\n".join([f"running at {state.endpoint_url}, NOT healthy: recovered from a crash with losses",
                                 *report.lines()])
            return StackStatus(False, state.endpoint_url, alive, paths.home, detail, tuple(report.lost))
        return StackStatus(True, state.endpoint_url, alive, paths.home, f"running at {state.endpoint_url}")
    dead = ", ".join(name for name, ok in alive.items() if not ok) or "none"
    hint = "run `streamlab up`"
    if not alive.get("ministack", True):
        hint += " (it restores MiniStack's latest snapshot, replays the journal and reports anything lost)"
    return StackStatus(False, state.endpoint_url, alive, paths.home, f"not healthy (stopped: {dead}); {hint}")


def clear_recovery_report(home: Path | None = None) -> None:
    """`streamlab deploy` recreated the pipeline: a crash recovery's losses are no longer outstanding."""
    recovery.clear_report(StackPaths(home or default_home()))


def running_state(home: Path | None = None) -> StackState:
    """The state of a healthy running stack, or StackNotRunningError."""
    paths = StackPaths(home or default_home())
    state = read_state(paths)
    if state is None or not _healthy(state):
        raise StackNotRunningError("the local stack is not running; start it with `streamlab up`.")
    return state


def describe(state: StackState) -> str:
    return json.dumps({"endpoint_url": state.endpoint_url, "pids": {n: r.pid for n, r in state.processes.items()}})
