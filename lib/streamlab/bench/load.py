"""`streamlab bench load`: how closely the load generator keeps its schedule.

Against a trivial aiohttp server started in a subprocess on 127.0.0.1 (stopped by pid), it
sends constant rates and reports achieved/intended rate and scheduler lag; `wrk` (if installed)
gives the server's ceiling for comparison. The same server, with a delay and serialised, is the
slow target of the generator's tests.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator

from streamlab.errors import StreamlabError
from streamlab.localstack import processes
from streamlab.localstack.stack import pick_free_port

LOOPBACK = "127.0.0.1"
RATES = (500, 1000, 2000)
TARGET_RATIO = 0.99
TARGET_LAG_P99_MS = 5.0
# The closed-loop ceiling is optional: the project's setup cannot install a system tool without root.
WRK_MISSING = ("wrk not installed: no closed-loop ceiling to compare with on this machine. Install it "
               "(Debian/Ubuntu: sudo apt-get install wrk; macOS: brew install wrk) and run the bench again; "
               "the README's wrk figure was measured on a machine that had it.")


# ---- the trivial server -------------------------------------------------------------------

def build_app(delay_ms: float = 0.0, serial: bool = False) -> Any:
    """POST anything -> 200 {"id": "<n>"} (/status/NNN -> NNN). With `serial`, one request at a time sleeps `delay_ms`
    (a server that can only do 1000/delay_ms requests per second, whatever the client does)."""
    from aiohttp import web

    counter = itertools.count(1)
    lock = asyncio.Lock()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if request.path.startswith("/status/"):  # /status/503 answers 503: error classes in tests
            return web.json_response({"message": "as asked"}, status=int(request.path.rsplit("/", 1)[1]))
        if delay_ms:
            if serial:
                async with lock:
                    await asyncio.sleep(delay_ms / 1000.0)
            else:
                await asyncio.sleep(delay_ms / 1000.0)
        return web.json_response({"id": f"r{next(counter)}"})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def serve(port: int, delay_ms: float = 0.0, serial: bool = False) -> None:
    from aiohttp import web

    web.run_app(build_app(delay_ms, serial), host=LOOPBACK, port=port, print=None, access_log=None)


@contextlib.contextmanager
def trivial_server(delay_ms: float = 0.0, serial: bool = False, log_dir: Path | None = None) -> Iterator[str]:
    """A trivial server in a subprocess; yields its URL; stopped by pid when the block ends."""
    port = pick_free_port()
    argv = [sys.executable, "-m", "streamlab.bench.load", "serve", "--port", str(port), "--delay-ms", str(delay_ms)]
    if serial:
        argv.append("--serial")
    log = Path(log_dir or tempfile.gettempdir()) / f"streamlab-trivial-{port}.log"
    record = processes.spawn("trivial-server", argv, dict(os.environ), log)
    try:
        url = f"http://{LOOPBACK}:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline or not processes.is_alive(record):
                    raise StreamlabError(f"the trivial server did not start; see {log}") from None
                time.sleep(0.1)
        yield url + "/"
    finally:
        processes.stop(record)


# ---- the benchmark --------------------------------------------------------------------------

def run_wrk(url: str, seconds: int = 5, threads: int = 1, connections: int = 32) -> dict[str, Any]:
    """The highest rate wrk gets from `url` (closed loop, GET), or why there is none."""
    if shutil.which("wrk") is None:
        return {"available": False, "note": WRK_MISSING}
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url],
                         capture_output=True, text=True, timeout=seconds + 30)
    match = re.search(r"Requests/sec:\s*([\d.]+)", out.stdout)
    if not match:
        return {"available": True, "note": f"could not read wrk output: {out.stdout[-300:]} {out.stderr[-300:]}"}
    return {"available": True, "requests_per_s": float(match.group(1)), "threads": threads,
            "connections": connections, "seconds": seconds}


def bench_load(rates: tuple[int, ...] = RATES, seconds: float = 10.0, workers: int = 1,
               log=print) -> dict[str, Any]:
    from streamlab.load import constant, run_load

    report: dict[str, Any] = {
        "bench": "load",
        # the load average says how busy the machine was: lag percentiles are sensitive to it
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "loadavg_before": os.getloadavg()},
        "seconds_per_rate": seconds, "workers": workers,
        "targets": {"rate_ratio_min": TARGET_RATIO, "lag_p99_ms_max": TARGET_LAG_P99_MS, "at_rate": 1000},
        "rates": [],
    }
    with trivial_server() as url:
        for rate in rates:
            log(f"bench load: {rate} req/s for {seconds:g} s ...")
            res = run_load(url, constant(rate, seconds), workers=workers, progress=False)
            s = res.summary
            ratio = (s["achieved_rate"] or 0) / s["intended_rate"]
            row = {
                "intended_rate": s["intended_rate"], "achieved_rate": s["achieved_rate"],
                "ratio": round(ratio, 4), "sent": s["sent"], "dropped": s["dropped"], "errors": s["errors"],
                "lag_p50_ms": s["lag_ms"]["p50"], "lag_p99_ms": s["lag_ms"]["p99"], "lag_max_ms": s["lag_ms"]["max"],
                "dispatch_lag_p99_ms": s["dispatch_lag_p99_ms"], "latency_ms": s["latency_ms"],
                "generator_limited": s["generator_limited"], "verdict": s["verdict"],
            }
            if rate == 1000:
                row["meets_target"] = ratio >= TARGET_RATIO and (s["lag_ms"]["p99"] or 0) <= TARGET_LAG_P99_MS
            report["rates"].append(row)
            log(f"  achieved {s['achieved_rate']} req/s ({ratio:.1%}), lag p50 {s['lag_ms']['p50']} ms, "
                f"p99 {s['lag_ms']['p99']} ms")
        report["machine"]["loadavg_after"] = os.getloadavg()
        log("bench load: wrk ...")
        report["wrk"] = run_wrk(url)
        log(f"  wrk: {report['wrk'].get('requests_per_s', report['wrk'].get('note'))}")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streamlab.bench.load")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="run the trivial server (used by the bench and the tests)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--serial", action="store_true")
    args = parser.parse_args(argv)
    serve(args.port, args.delay_ms, args.serial)
    return 0


if __name__ == "__main__":
    sys.exit(main())
