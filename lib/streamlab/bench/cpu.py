"""CPU seconds each process of the local stack spends while a benchmark runs.

On a machine shared with other work, CPU time per request says where the cost is even when the
wall-clock figures are noisy. MiniStack runs Lambda functions in worker subprocesses; their CPU
is counted apart ("lambda workers"), by pid, so workers that start during the run count in full.
"""
from __future__ import annotations

from typing import Any

import psutil

WORKERS = "lambda workers"


def _seconds(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
        return times.user + times.system
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0.0


class CpuMeter:
    """`start()`, run the load, `stop()` -> CPU seconds per process name in between."""

    def __init__(self, state: Any) -> None:
        self.processes = {name: psutil.Process(rec.pid) for name, rec in state.processes.items()}
        self._before: dict[str, float] = {}
        self._workers_before: dict[int, float] = {}

    def _workers(self) -> dict[int, float]:
        ministack = self.processes.get("ministack")
        if ministack is None:
            return {}
        try:
            children = ministack.children(recursive=True)
        except psutil.NoSuchProcess:
            return {}
        return {child.pid: _seconds(child) for child in children}

    def start(self) -> None:
        self._before = {name: _seconds(proc) for name, proc in self.processes.items()}
        self._workers_before = self._workers()

    def stop(self) -> dict[str, float]:
        spent = {name: _seconds(proc) - self._before.get(name, 0.0) for name, proc in self.processes.items()}
        spent[WORKERS] = sum(sec - self._workers_before.get(pid, 0.0) for pid, sec in self._workers().items())
        return spent


def per_request_ms(spent: dict[str, float], requests: int) -> dict[str, float]:
    return {name: round(sec * 1000 / requests, 3) for name, sec in spent.items()} if requests else {}
