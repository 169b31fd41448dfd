"""`run_load`: send a schedule at a URL, open loop, from one event loop or several processes."""
from __future__ import annotations

import math
import multiprocessing as mp
import os
import pickle
import queue as queue_mod
import time
from pathlib import Path
from typing import Any, Literal, Mapping

from streamlab.errors import ConfigError, StreamlabError
from streamlab.load.bodies import BodyFactory, JsonBodies
from streamlab.load.generator import SendOptions, ShareResult, make_bodies, run_coroutine, send_share
from streamlab.load.results import LATE_MS, LoadResult, histograms_of, merge_histograms, records_frame, summarize
from streamlab.load.progress import progress_bar
from streamlab.load.schedule import Schedule

# What one Python event loop sends on time on a small machine (see `streamlab bench load`);
# `workers="auto"` spreads anything above it over processes.
PER_PROCESS_RATE = 2000.0
# The workers need this long to import, open their connections and get ready before the shared start.
WORKER_READY_TIMEOUT = 60.0
# Time zero is this long after the connections are open: time for the loop to reach its first sleep.
START_DELAY_S = 0.05


def pool_size_for(schedule: Schedule, workers: int = 1) -> int:
    """Connections per worker: its share of the most sends intended within any 100 ms, assuming
    answers within 100 ms (16..1000). A burst gets a connection per request, so it can go out at once."""
    return int(min(1000, max(16, math.ceil(schedule.peak_count(0.1) / workers))))


def worker_count(schedule: Schedule, workers: int | Literal["auto"]) -> int:
    if workers == "auto":
        cpus = os.cpu_count() or 1
        return max(1, min(cpus, math.ceil(schedule.peak_rate / PER_PROCESS_RATE)))
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a whole number of at least 1 or 'auto', got {workers!r}.")
    return workers


def run_load(
    url: str,
    schedule: Schedule,
    *,
    body: BodyFactory | None = None,
    workers: int | Literal["auto"] = "auto",
    pool_size: int | None = None,
    max_in_flight: int | None = None,
    timeout: float = 10.0,
    late_ms: float = LATE_MS,
    headers: Mapping[str, str] | None = None,
    progress: bool = True,
    out: str | Path | None = None,
) -> LoadResult:
    """Send `schedule` at `url` (POST, JSON bodies from `body`), open loop; return every record.

    pool_size: keep-alive connections per worker (default: sized for the peak rate).
    max_in_flight: outstanding requests per worker before a send is dropped (default: 8 per
        connection, at least the peak rate so a whole burst fits).
    headers: sent with every request, besides Content-Type: application/json (which they may replace).
    out: a folder to save requests.csv, histograms.json and run.json into.
    """
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"url {url!r} must start with http:// or https://.")
    if len(schedule) == 0:
        raise ConfigError("the schedule sends nothing; raise the rate or the duration.")
    if timeout <= 0:
        raise ConfigError(f"timeout must be positive seconds, got {timeout!r}.")
    body = body or JsonBodies()
    n_workers = worker_count(schedule, workers)
    pool = pool_size or pool_size_for(schedule, n_workers)
    # Room for a whole burst sent at once, or eight answers queued per connection.
    cap = max_in_flight or max(pool * 8, math.ceil(schedule.peak_rate / n_workers))
    if pool < 1 or cap < 1:
        raise ConfigError("pool_size and max_in_flight must be at least 1.")
    sent_headers = {"Content-Type": "application/json", **(headers or {})}
    opts = SendOptions(url=url, timeout=timeout, pool_size=pool, max_in_flight=cap,
                       headers=tuple(sent_headers.items()))
    bar = progress_bar(len(schedule), desc="requests", unit="requests", enabled=progress)
    started = time.time()
    try:
        if n_workers == 1:
            share, start_epoch = _run_one(opts, schedule, body, bar)
            shares = [(0, share)]
            histograms = histograms_of(records_frame(shares))
        else:
            shares, parts, start_epoch = _run_processes(opts, schedule, body, n_workers, bar)
            histograms = merge_histograms(parts)
    finally:
        if bar is not None:
            bar.close()
    df = records_frame(shares)
    summary = summarize(
        df, histograms, late_ms=late_ms, url=url, profile=schedule.name, params=schedule.params,
        workers=n_workers, pool_size=pool, max_in_flight=cap, timeout=timeout,
        warmed_connections=sum(s.warmed for _, s in shares),
        start_epoch=start_epoch, wall_s=round(time.time() - started, 3),
    )
    result = LoadResult(df, histograms, summary, list(schedule.windows))
    if out is not None:
        result.save(out)
    return result


def _run_one(opts: SendOptions, schedule: Schedule, body: BodyFactory, bar: Any) -> tuple[ShareResult, float]:
    seqs = list(range(len(schedule)))
    bodies = make_bodies(body, seqs)
    update = bar.update if bar is not None else None
    share = run_coroutine(lambda: send_share(opts, seqs, schedule.times, bodies, lambda: time.time() + START_DELAY_S,
                                             update))
    return share, share.start_epoch


def _worker_main(opts: SendOptions, seqs: list[int], times: Any, body: BodyFactory,
                 ready: Any, go: Any, start: Any, done_count: Any, results: Any) -> None:
    try:
        bodies = make_bodies(body, seqs)
        import asyncio

        def start_when_all_ready() -> float:
            # Called with this worker's connections open: the parent starts the clock once all are.
            ready.put(os.getpid())
            go.wait()
            return start.value

        def bump(k: int) -> None:
            with done_count.get_lock():
                done_count.value += k

        share = asyncio.run(send_share(opts, seqs, times, bodies, start_when_all_ready, bump))
        df = records_frame([(0, share)])
        results.put(("ok", share, histograms_of(df)))
    except BaseException as exc:  # reported to the parent, which raises it
        results.put(("error", f"{type(exc).__name__}: {exc}", None))


def _run_processes(opts: SendOptions, schedule: Schedule, body: BodyFactory, n: int, bar: Any):
    try:
        pickle.dumps(body)
    except Exception as exc:
        raise ConfigError(
            f"the body factory cannot be sent to worker processes ({exc}); use a module-level function "
            "or JsonBodies, or workers=1.") from None
    ctx = mp.get_context("spawn")  # a fresh interpreter: safe from notebooks and threads
    ready, results = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    start = ctx.Value("d", 0.0)
    counters = [ctx.Value("q", 0) for _ in range(n)]
    procs = []
    shares: list[tuple[int, ShareResult]] = []
    parts = []
    try:
        for w, idx in enumerate(schedule.split(n)):
            p = ctx.Process(target=_worker_main, name=f"streamlab-load-{w}", daemon=True, args=(
                opts, [int(i) for i in idx], schedule.times[idx], body, ready, go, start, counters[w], results))
            p.start()
            procs.append(p)
        waiting, give_up = n, time.time() + WORKER_READY_TIMEOUT
        while waiting:
            try:
                ready.get(timeout=0.25)
                waiting -= 1
            except queue_mod.Empty:
                dead = [p for p in procs if p.exitcode is not None]
                if dead or time.time() > give_up:
                    raise StreamlabError(
                        "load workers did not start (a script that calls run_load with workers > 1 needs "
                        "`if __name__ == '__main__':`, as multiprocessing requires); or use workers=1."
                    ) from None
        start.value = time.time() + 0.2
        go.set()
        shown = 0
        deadline = start.value + schedule.duration + opts.timeout + 120
        while len(shares) < n:
            try:
                status, share, hist = results.get(timeout=0.25)
                if status == "error":
                    raise StreamlabError(f"a load worker failed: {share}")
                shares.append((len(shares), share))
                parts.append(hist)
            except queue_mod.Empty:
                if time.time() > deadline:
                    raise StreamlabError("load workers did not finish in time; see their output.") from None
            total = sum(c.value for c in counters)
            if bar is not None and total > shown:
                bar.update(total - shown)
                shown = total
        total = sum(c.value for c in counters)
        if bar is not None and total > shown:
            bar.update(total - shown)
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()  # by handle (pid), only our own worker
                p.join(timeout=5)
    # Workers finish in any order; number them by their share of the schedule.
    shares.sort(key=lambda ws: int(ws[1].seq[0]) if len(ws[1].seq) else 0)
    return [(w, s) for w, (_, s) in enumerate(shares)], parts, start.value
