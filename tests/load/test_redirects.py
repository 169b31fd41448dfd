"""The load generator never follows a redirect: a burst aimed at this machine stays on it."""
from __future__ import annotations

import http.server
import threading

import pytest

from streamlab.load import constant, run_load


class _Counting(http.server.BaseHTTPRequestHandler):
    hits = 0
    location = ""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.location:
            self.send_response(307)
            self.send_header("Location", self.location)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _serve(handler: type) -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@pytest.fixture
def redirecting():
    elsewhere_handler = type("Elsewhere", (_Counting,), {"hits": 0, "location": ""})
    elsewhere, elsewhere_url = _serve(elsewhere_handler)
    first_handler = type("Redirecting", (_Counting,), {"hits": 0, "location": elsewhere_url})
    first, first_url = _serve(first_handler)
    yield first_url, first_handler, elsewhere_handler
    first.shutdown()
    elsewhere.shutdown()


def test_a_redirect_is_a_result_and_never_followed(redirecting):
    url, first, elsewhere = redirecting
    res = run_load(url, constant(20, 1.0), workers=1, progress=False)
    assert first.hits == 20
    assert elsewhere.hits == 0
    assert set(res.records["status"]) == {307}
    assert set(res.records["error"]) == {"http_3xx_not_followed"}
