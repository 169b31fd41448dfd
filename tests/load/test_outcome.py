"""wait_for_outcome on a scripted API (pure): backoff, Retry-After, 404, 429, the time to known outcome."""
from __future__ import annotations

import json

import pytest

from streamlab.notebook.client import Reply
from streamlab.errors import ConfigError
from streamlab.load.outcome import outcomes_frame, status_url, wait_for_outcome

BASE = "http://127.0.0.1:4566/restapis/a1/dev/_user_request_/requests"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def reply(status: int, doc: dict | None = None, retry_after: str | None = None) -> Reply:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return Reply(status, json.dumps(doc or {}).encode(), 1.0, headers)


def scripted(*replies: Reply):
    calls: list[str] = []
    pending = list(replies)

    def get(url: str) -> Reply:
        calls.append(url)
        return pending.pop(0) if len(pending) > 1 else pending[0]

    return get, calls


def test_status_urls_from_an_id_a_location_or_a_whole_url():
    assert status_url(BASE, "Mf2J_F5a-AMF1Tw=") == BASE + "/Mf2J_F5a-AMF1Tw="
    assert status_url(BASE, "requests/abc") == BASE + "/abc"  # Location is relative to the POST URL
    assert status_url(BASE, "https://x/y") == "https://x/y"


def test_polls_with_backoff_never_sooner_than_retry_after_and_times_the_outcome():
    clock = Clock()
    accepted = {"id": "a", "status": "ACCEPTED", "accepted_at": 1_000_000}
    get, calls = scripted(reply(200, accepted, "1"), reply(429, {}, "2"), reply(200, accepted),
                          reply(200, {**accepted, "status": "FAILED", "reason": "RetryAttemptsExhausted",
                                      "attempts": 3, "error": "ValueError: x"}))
    outcome = wait_for_outcome(BASE, "a", clock=clock, sleep=clock.sleep, get=get)
    assert outcome.status == "FAILED" and outcome.reason == "RetryAttemptsExhausted" and outcome.polls == 4
    assert clock.slept == [1.0, 2.0, 0.2]  # Retry-After wins over the 0.05/0.1 backoff, then 0.2
    assert outcome.known_at == int(clock.now * 1000)
    assert outcome.time_to_known_outcome_ms == clock.now * 1000 - 1_000_000
    assert calls == [BASE + "/a"] * 4
    frame = outcomes_frame([outcome])
    assert frame.loc[0, "status"] == "FAILED" and frame.loc[0, "time_to_known_outcome_ms"] > 0


def test_unknown_id_is_not_found_at_once_and_a_timeout_leaves_it_accepted():
    clock = Clock()
    get, _ = scripted(reply(404, {"message": "no request with this id"}))
    assert wait_for_outcome(BASE, "nope", clock=clock, sleep=clock.sleep, get=get).status == "NOT_FOUND"
    get, calls = scripted(reply(200, {"id": "a", "status": "ACCEPTED", "accepted_at": 1}, "1"))
    late = wait_for_outcome(BASE, "a", timeout_s=5, clock=clock, sleep=clock.sleep, get=get)
    assert late.status == "ACCEPTED" and not late.known and late.time_to_known_outcome_ms is None
    assert len(calls) <= 6


def test_an_answer_that_is_not_the_status_api_is_an_error_and_timeout_must_be_positive():
    clock = Clock()
    get, _ = scripted(reply(403, {"message": "Missing Authentication Token"}))
    with pytest.raises(ConfigError, match="status URL"):
        wait_for_outcome(BASE, "a", clock=clock, sleep=clock.sleep, get=get)
    with pytest.raises(ConfigError):
        wait_for_outcome(BASE, "a", timeout_s=0)


def test_headers_go_with_every_get_for_a_protected_api(monkeypatch):
    from streamlab.load import outcome as outcome_module

    seen = []

    def fake_call(method, url, body=None, headers=None, **_):
        seen.append((method, headers))
        return reply(200, {"id": "a", "status": "PROCESSED", "accepted_at": 1})

    monkeypatch.setattr(outcome_module.client, "call", fake_call)
    assert wait_for_outcome(BASE, "a", headers={"x-api-key": "k1"}).status == "PROCESSED"
    assert seen == [("GET", {"x-api-key": "k1"})]
