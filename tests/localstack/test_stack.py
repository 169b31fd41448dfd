"""Local stack lifecycle: up, reuse, down, port taken, stale state, crashed child."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from streamlab.errors import PortInUseError, StackError, StackNotRunningError
from streamlab.localstack import processes, stack
from streamlab.localstack.state import StackPaths, read_state


def _all_pids(state) -> set[int]:
    pids = set()
    for rec in state.processes.values():
        try:
            p = psutil.Process(rec.pid)
            pids |= {p.pid, *(c.pid for c in p.children(recursive=True))}
        except psutil.NoSuchProcess:
            pass
    return pids


@pytest.mark.integration  # starts a stack of its own
def test_up_reuse_down_leaves_no_process(tmp_path):
    port = stack.pick_free_port()
    state = stack.up(port=port, home=tmp_path)
    try:
        assert set(state.processes) == {"ministack", "esm", "frontdoor"}
        with urllib.request.urlopen(state.endpoint_url + "/_streamlab/health", timeout=5) as resp:
            assert json.load(resp)["status"] == "ok"
        again = stack.up(port=port, home=tmp_path)
        assert {n: r.pid for n, r in again.processes.items()} == {n: r.pid for n, r in state.processes.items()}
        assert stack.status(home=tmp_path).running
        pids = _all_pids(state)
    finally:
        stopped = stack.down(home=tmp_path)
    assert set(stopped) == {"ministack", "esm", "frontdoor"}
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in pids)
    assert read_state(StackPaths(tmp_path)) is None
    assert not stack.status(home=tmp_path).running
    with pytest.raises(StackNotRunningError, match="streamlab up"):
        stack.running_state(home=tmp_path)


def test_front_door_binds_loopback_only(local_stack, stack_home):
    # The state file has the pids as they are now (a test may have restarted the ESM).
    for rec in read_state(StackPaths(stack_home)).processes.values():
        for conn in psutil.Process(rec.pid).net_connections(kind="inet"):
            if conn.status == psutil.CONN_LISTEN:
                assert conn.laddr.ip == "127.0.0.1", (rec.name, conn.laddr)


def test_every_service_runs_on_uvloop(local_stack, stack_home):
    # The loaded extension is what `eventloop.run` imports only to make uvloop's loop.
    for rec in read_state(StackPaths(stack_home)).processes.values():
        maps = (Path("/proc") / str(rec.pid) / "maps").read_text()
        assert "uvloop/loop.cpython" in maps, rec.name


@pytest.mark.integration  # starts a stack of its own
def test_taken_port_is_a_clear_error_and_starts_nothing(tmp_path):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(PortInUseError, match=f"port {port}.*STREAMLAB_PORT"):
            stack.up(port=port, home=tmp_path)
    assert read_state(StackPaths(tmp_path)) is None


@pytest.mark.integration  # starts a stack of its own
def test_stale_state_file_is_cleaned_up(tmp_path):
    port = stack.pick_free_port()
    state = stack.up(port=port, home=tmp_path)
    try:
        # A crashed front door: the state file now lies about what runs.
        processes.stop(state.processes["frontdoor"])
        assert not stack.status(home=tmp_path).running
        messages: list[str] = []
        fresh = stack.up(port=port, home=tmp_path, log=messages.append)
        assert any("stale state" in m for m in messages)
        assert not processes.is_alive(state.processes["ministack"]), "the survivor of the old stack was left behind"
        assert stack.status(home=tmp_path).running
        assert fresh.processes["ministack"].pid != state.processes["ministack"].pid
    finally:
        stack.down(home=tmp_path)


@pytest.mark.integration  # starts a stack of its own
def test_garbage_state_file_does_not_block_up(tmp_path):
    paths = StackPaths(tmp_path)
    paths.create()
    paths.state_file.write_text("{not json")
    try:
        state = stack.up(port=stack.pick_free_port(), home=tmp_path)
        assert stack.status(home=tmp_path).running
        assert state.processes
    finally:
        stack.down(home=tmp_path)


@pytest.mark.integration  # starts a stack of its own
def test_child_that_dies_at_start_gives_log_tail_and_no_orphan(tmp_path, monkeypatch):
    bad = stack.ServiceSpec(
        name="frontdoor",
        argv=lambda s, p: [stack.sys.executable, "-c", "import sys; print('boom: cannot start'); sys.exit(3)"],
        env=stack._frontdoor_env,
        health_url=lambda s: s.endpoint_url + "/_streamlab/health",
    )
    monkeypatch.setattr(stack, "SERVICES", (stack.SERVICES[0], bad))
    with pytest.raises(StackError, match="boom: cannot start"):
        stack.up(port=stack.pick_free_port(), home=tmp_path)
    assert read_state(StackPaths(tmp_path)) is None
    # MiniStack, which did start, must have been stopped again.
    leftovers = [p for p in psutil.process_iter(["cmdline", "environ"]) if _started_from(p, tmp_path)]
    assert leftovers == []


def _started_from(proc: psutil.Process, home) -> bool:
    try:
        env = proc.environ()
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    return env.get("TMPDIR") == str(home / "tmp")


def test_down_when_not_running_is_harmless(tmp_path):
    assert stack.down(home=tmp_path) == []


@pytest.mark.integration  # starts a stack of its own
def test_a_port_taken_before_a_child_binds_it_is_retried_on_other_ports(tmp_path, monkeypatch):
    real_pick = stack.pick_free_ports
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        # The race, made certain: the port picked for MiniStack is bound by someone else first.
        internal = iter([[taken, *real_pick(1, avoid={taken})]])

        def pick(count, avoid=()):
            return (next(internal, None) if count == 2 else None) or real_pick(count, avoid)

        monkeypatch.setattr(stack, "pick_free_ports", pick)
        said: list[str] = []
        state = stack.up_on_free_port(home=tmp_path, log=said.append)
        try:
            assert state.ministack_port != taken and stack.status(home=tmp_path).running
            assert any("already in use" in line and "attempt 1 of 3" in line for line in said), said
        finally:
            stack.down(home=tmp_path)


class _LowestFreePortSocket:
    """A socket whose bind to port 0 gets the lowest port nobody holds, as a kernel may do."""

    bound: set[int] = set()

    def __init__(self, *args) -> None:
        self.port: int | None = None

    def bind(self, address: tuple[str, int]) -> None:
        self.port = min(set(range(50000, 50100)) - self.bound)
        self.bound.add(self.port)

    def getsockname(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def close(self) -> None:
        self.bound.discard(self.port)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def test_ports_picked_together_differ_even_when_the_kernel_repeats_freed_ports(monkeypatch):
    # Seen in CI: MiniStack and the ESM were given the same internal port, and the ESM could not bind.
    monkeypatch.setattr(stack.socket, "socket", _LowestFreePortSocket)
    monkeypatch.setattr(_LowestFreePortSocket, "bound", set())
    ministack_port, esm_port = stack.pick_free_ports(2, avoid={50000})
    assert len({50000, ministack_port, esm_port}) == 3
    assert _LowestFreePortSocket.bound == set()  # every socket let go


@pytest.mark.integration  # starts a Python process
def test_the_front_door_starts_without_jsonschemas_iri_parsers():
    """jsonschema would import rfc3987_syntax (installed with JupyterLab), 38 parsers, about 1 s of
    every front door start, for a format checker the API's validators never use."""
    found = subprocess.run(
        [sys.executable, "-c", "import sys, streamlab.localstack.frontdoor, jsonschema; "
                               "print(sys.modules.get('rfc3987_syntax') is not None, 'iri' in jsonschema.FormatChecker().checkers)"],
        capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert found == ["False", "False"]
