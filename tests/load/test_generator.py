"""The open-loop generator against a trivial server in a subprocess (stopped by pid)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from streamlab.bench.load import trivial_server
from streamlab.errors import ConfigError
from streamlab.load import JsonBodies, batches, constant, load_run, run_load
from streamlab.localstack.stack import pick_free_port
from tests.tiers import process_fixture


@process_fixture(scope="module")
def fast_url(tmp_path_factory):
    with trivial_server(log_dir=tmp_path_factory.mktemp("fast")) as url:
        yield url


@process_fixture(scope="module")
def slow_url(tmp_path_factory):
    """A server that does one request at a time and takes 50 ms for each: 20 req/s at most."""
    with trivial_server(delay_ms=50, serial=True, log_dir=tmp_path_factory.mktemp("slow")) as url:
        yield url


def test_every_scheduled_request_is_accounted_for(fast_url):
    res = run_load(fast_url, constant(200, 1.5), body=JsonBodies(size=64, seed=7), progress=False)
    df, s = res.records, res.summary
    assert s["scheduled"] == len(df) == 300
    assert s["sent"] + s["dropped"] == s["scheduled"]
    assert s["ok"] == s["acknowledged"] == 300 and s["errors"] == {}
    assert df["request_id"].is_unique and (df["request_id"] != "").all()
    # the body sent is recorded, and it is the seeded factory's body for that sequence number
    assert df["body"].tolist() == [JsonBodies(size=64, seed=7)(k).decode() for k in df["seq"]]
    assert all(len(b) == 64 for b in df["body"])
    # times are ordered per request: intended <= dispatched <= sent < done (clock slack 1 ms)
    assert (df["dispatched_s"] >= df["intended_s"] - 1e-3).all()
    assert (df["sent_s"] >= df["dispatched_s"] - 1e-3).all()
    assert (df["done_s"] > df["sent_s"]).all()
    assert (df["latency_ms"] >= df["service_ms"] - 1e-6).all()
    # histograms hold exactly the sent requests, interval by interval
    assert res.histogram("latency").get_total_count() == 300
    assert res.intervals("latency")["count"].tolist() == [200, 100]


def test_slow_server_latency_from_intended_grows_while_service_time_stays_flat(slow_url):
    """Coordinated omission made visible: with one connection (what a closed-loop client has)
    each answer takes ~50 ms of service, but requests queue behind each other, so latency from
    the intended send time keeps growing. A closed-loop tool would report only the flat one."""
    res = run_load(slow_url, constant(40, 2.0), pool_size=1, max_in_flight=1000, timeout=30, progress=False)
    df = res.records
    assert res.summary["sent"] == 80 and res.summary["ok"] == 80
    first, last = df.iloc[:20], df.iloc[-20:]
    lat_first, lat_last = first["latency_ms"].median(), last["latency_ms"].median()
    svc_first, svc_last = first["service_ms"].median(), last["service_ms"].median()
    assert lat_last > 4 * lat_first and lat_last > 1000  # ~2 s of queueing by the end
    assert 0.5 < svc_last / svc_first < 2.0  # service time is flat
    assert svc_last < 300
    # the queueing shows up as lag and late sends, not hidden
    assert res.summary["late_sends"] > 40
    assert res.summary["lag_ms"]["p99"] > 1000
    assert "kept its schedule" not in res.summary["verdict"]
    # the per-second median latency rises through the run (about 0.55 s, then 1.55 s)
    p50 = res.intervals("latency")["p50"].tolist()
    assert p50[-1] > 1.8 * p50[0]


def test_in_flight_cap_drops_sends_and_counts_them(slow_url):
    res = run_load(slow_url, constant(50, 1.0), pool_size=2, max_in_flight=2, timeout=30, progress=False)
    s, df = res.summary, res.records
    assert s["dropped"] > 20 and s["sent"] + s["dropped"] == s["scheduled"] == 50
    dropped = df[df["error"] == "dropped"]
    assert dropped["sent_s"].isna().all() and dropped["done_s"].isna().all()
    assert "dropped" in s["verdict"]
    assert res.histogram("latency").get_total_count() == s["sent"]


def test_http_errors_are_classified(fast_url):
    s4 = run_load(fast_url + "status/404", constant(50, 0.4), progress=False).summary
    s5 = run_load(fast_url + "status/503", constant(50, 0.4), progress=False).summary
    assert s4["errors"] == {"http_4xx": 20} and s4["ok"] == 0 and s4["acknowledged"] == 0
    assert s5["errors"] == {"http_5xx": 20}


@pytest.mark.integration  # starts a slow trivial server
def test_connection_errors_and_timeouts_are_results_not_exceptions(tmp_path):
    closed = f"http://127.0.0.1:{pick_free_port()}/"
    s = run_load(closed, constant(20, 0.5), progress=False).summary
    assert s["errors"] == {"connect_error": 10} and s["sent"] == 10
    with trivial_server(delay_ms=1000, log_dir=tmp_path) as url:
        s = run_load(url, constant(20, 0.5), timeout=0.3, progress=False).summary
    assert s["errors"] == {"timeout": 10}
    assert 250 < s["latency_ms"]["p50"] < 3000  # the time until the timeout fired


def test_two_worker_processes_merge_records_and_histograms(fast_url):
    res = run_load(fast_url, constant(100, 1.0), workers=2, progress=False)
    df = res.records
    assert sorted(df["seq"]) == list(range(100))
    assert df.groupby("worker").size().tolist() == [50, 50]
    assert res.summary["workers"] == 2 and res.summary["ok"] == 100
    assert res.histogram("latency").get_total_count() == 100
    assert np.all(np.diff(df["intended_s"]) >= 0)


def awkward_body(seq: int) -> str:
    return '{"text": "line one\nline, \"two\" \u00e9 $input.body ' + str(seq) + '"}'


def test_saved_run_reads_back_with_the_same_summary(fast_url, tmp_path):
    res = run_load(fast_url, constant(100, 0.5), body=awkward_body, progress=False, out=tmp_path / "run")
    back = load_run(tmp_path / "run")
    assert len(back.records) == 50
    for key in ("scheduled", "sent", "dropped", "ok", "acknowledged", "late_sends", "profile", "workers"):
        assert back.summary[key] == res.summary[key]
    assert back.summary["latency_ms"] == pytest.approx(res.summary["latency_ms"], rel=1e-3)
    assert back.acknowledged_ids == res.acknowledged_ids
    assert back.records["body"].tolist() == res.records["body"].tolist() == [awkward_body(k) for k in range(50)]
    assert json.loads((tmp_path / "run" / "run.json").read_text())["summary"]["sent"] == 50


def test_bad_arguments_are_refused():
    with pytest.raises(ConfigError, match="http"):
        run_load("localhost:1", constant(1, 1), progress=False)
    with pytest.raises(ConfigError, match="workers"):
        run_load("http://127.0.0.1:9/", constant(1, 1), workers=0, progress=False)
    with pytest.raises(ConfigError, match="no requests.csv"):
        load_run("/nonexistent-run")


def test_runs_from_inside_a_running_event_loop_as_in_jupyter(fast_url):
    import asyncio

    async def notebook_cell():
        return run_load(fast_url, constant(50, 0.4), progress=True)

    res = asyncio.run(notebook_cell())
    assert res.summary["ok"] == 20


def test_unpicklable_body_factory_is_refused_for_workers(fast_url):
    with pytest.raises(ConfigError, match="body factory"):
        run_load(fast_url, constant(10, 1), workers=2, body=lambda n: b"{}", progress=False)


class ConnectionLog:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 in a thread that notes when each connection was
    opened and how many requests came: enough to see what the generator did before time zero."""

    def __init__(self) -> None:
        import asyncio
        import threading
        import time

        self.opened: list[float] = []
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def handle(reader, writer):
            self.opened.append(time.time())
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    await reader.readexactly(length)
                    self.requests += 1
                    body = b'{"id": "r%d"}' % self.requests
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (len(body), body))
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        async def start():
            self.server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/"
            ready.set()

        self.thread = threading.Thread(target=lambda: (self.loop.run_until_complete(start()), self.loop.run_forever()),
                                       daemon=True)
        self.thread.start()
        ready.wait(10)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def test_connections_are_opened_before_time_zero_and_send_nothing():
    server = ConnectionLog()
    try:
        burst = batches(size=40, count=1, gap=1.0)
        res = run_load(server.url, burst, progress=False)
    finally:
        server.close()
    s = res.summary
    assert s["ok"] == 40 and s["pool_size"] == 40  # a connection per request of the burst
    assert s["warmed_connections"] == 40
    # every connection the burst used was open before the schedule's time zero...
    assert len(server.opened) == 40 and max(server.opened) < s["start_epoch"]
    # ...and opening them sent no request: the target counted exactly the scheduled ones
    assert server.requests == 40


def test_load_report_states_send_lateness_and_its_verdict(fast_url):
    res = run_load(fast_url, constant(50, 0.5), progress=False)
    s = res.summary
    assert set(s["send_lateness_ms"]) == {"p50", "p99", "max"}
    assert s["send_lateness_ms"]["p50"] <= s["send_lateness_ms"]["p99"] <= s["send_lateness_ms"]["max"]
    text = str(res)
    assert "send lateness" in text and "service (ms)" in text and s["verdict"] in text
