"""An API answers alike on both of the front door's lanes (frontdoor_http), against the real stack.

A fresh connection starts on the lean lane; one whose first request was anything else (here a
health check) belongs to aiohttp. Each case is sent on both, and the answers compared.
"""
from __future__ import annotations

import json
import socket
import urllib.parse
from dataclasses import dataclass

import pytest

# Headers that differ by nature: the clock, ids made per request, and aiohttp's own Server.
_PER_ANSWER = {"date", "server", "x-amzn-requestid", "x-amz-apigw-id", "content-length"}


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection:
    """One kept-alive HTTP/1.1 connection, written and read by hand (no client library's choices)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")

    def send(self, method: str, path: str, body: bytes = b"", **headers: str) -> Raw:
        fields = {"Host": "127.0.0.1", "Content-Length": str(len(body)), **headers}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
        self.sock.sendall(head.encode() + body)
        status = int(self.file.readline().split(b" ")[1])
        received: dict[str, str] = {}
        while (line := self.file.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            received[name.strip().lower()] = value.strip()
        return Raw(status, received, self.file.read(int(received.get("content-length", "0"))))

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def lanes(local_stack):
    """(lean, aiohttp): two connections to the front door, the second handed to aiohttp."""
    lean, handed = Connection(local_stack.port), Connection(local_stack.port)
    assert handed.send("GET", "/_streamlab/health").status == 200
    try:
        yield lean, handed
    finally:
        lean.close()
        handed.close()


def _comparable(answer: Raw) -> tuple[int, dict[str, str], object]:
    made_id = answer.headers.get("x-amz-apigw-id") or "\0"
    headers = {k: v.replace(made_id, "<id>") for k, v in answer.headers.items() if k not in _PER_ANSWER}
    try:
        body: object = json.loads(answer.body)
    except ValueError:
        body = answer.body
    if isinstance(body, dict):
        body = {k: ("<id>" if k in ("id", "accepted_at", "location") else v) for k, v in body.items()}
    return answer.status, headers, body


def test_both_lanes_answer_every_kind_of_invocation_alike(requests_api, lanes, get_item):
    base = urllib.parse.urlsplit(requests_api.url).path
    cases = [
        ("POST", "/requests", b'{"order": 1}', {"Content-Type": "application/json"}),
        ("POST", "/requests?mode=x&mode=y", b'{"q": "\\u00e9\\n"}', {"Content-Type": "application/json; charset=utf-8"}),
        ("POST", "/requests", b"{not json", {"Content-Type": "application/json"}),
        ("POST", "/requests", b"<x/>", {"Content-Type": "application/xml"}),
        ("POST", "/requests", b'{"a": 1}', {"Content-Type": "application/json", "Accept": "text/html"}),
        ("GET", "/requests/no-such-id", b"", {}),
        ("PUT", "/requests", b"{}", {}),
        ("GET", "/nowhere", b"", {}),
    ]
    lean, handed = lanes
    for method, path, body, headers in cases:
        answers = [conn.send(method, base + path, body, **headers) for conn in (lean, handed)]
        assert _comparable(answers[0]) == _comparable(answers[1]), (method, path, answers)
    # Both wrote what they accepted.
    for conn in (lean, handed):
        accepted = conn.send("POST", base + "/requests", b'{"lane": 1}', **{"Content-Type": "application/json"})
        assert accepted.status == 202
        assert get_item(requests_api.table, json.loads(accepted.body)["id"])["body"] == {"S": '{"lane": 1}'}


def test_an_unknown_stage_or_api_and_a_foreign_host_answer_alike(requests_api, lanes, target):
    base = urllib.parse.urlsplit(requests_api.url).path
    lean, handed = lanes
    for path, headers in [
        (base.replace(f"/{requests_api.stage}/", "/nostage/") + "/requests", {}),
        (base.replace(requests_api.api_id, "doesnotexist") + "/requests", {}),
        (base + "/requests", {"Host": "evil.example"}),
    ]:
        answers = [conn.send("POST", path, b"{}", **{"Content-Type": "application/json", **headers}) for conn in (lean, handed)]
        assert _comparable(answers[0]) == _comparable(answers[1]), (path, answers)
        assert answers[0].status in (403, 404)


def test_a_template_cannot_split_the_answer_or_send_a_status_http_lacks(make_api, lanes):
    # The 202 template copies a field of the stored body into a header, or sets a status of its own.
    echo = make_api(accepted_template=(
        "#set($item = $input.path('$.Attributes'))"
        "#set($context.responseOverride.header.X-Echo = $util.parseJson($item.body.S).h)"
        "#set($context.responseOverride.status = $util.parseJson($item.body.S).status){}"))
    base = urllib.parse.urlsplit(echo.url).path + "/requests"
    for lane in lanes:
        ordinary = lane.send("POST", base, b'{"h": "fine", "status": 201}', **{"Content-Type": "application/json"})
        assert (ordinary.status, ordinary.headers["x-echo"]) == (201, "fine")
        for body in (b'{"h": "a\\r\\nInjected: yes", "status": 202}', b'{"h": "x", "status": 700}'):
            split = lane.send("POST", base, body, **{"Content-Type": "application/json"})
            assert split.status == 500 and "injected" not in split.headers and "x-echo" not in split.headers, split
