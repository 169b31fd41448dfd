"""What a client can learn about its request: poll `GET /requests/{id}` until the outcome is known.

`wait_for_outcome` polls with exponential backoff and never sooner than the API's `Retry-After`
asks (the API sets it while a request is ACCEPTED, and on 429/503). The *time to known outcome*
of a request is its acceptance (`accepted_at`, the gateway's request time) to the moment a GET
first reported PROCESSED or FAILED, as this client saw it: it includes the polling interval, as
it does for any real client. `OutcomeProbe` samples it during a load run.
"""
from __future__ import annotations

import threading
import time
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any, Callable

import pandas as pd

from streamlab import schema
from streamlab.load import client
from streamlab.errors import ConfigError

FIRST_WAIT_S = 0.05
MAX_WAIT_S = 2.0


@dataclass(frozen=True)
class Outcome:
    """One request as GET reported it last, and when it became known."""

    id: str
    status: str                      # ACCEPTED (not known yet: timed out), PROCESSED, FAILED, or NOT_FOUND
    accepted_at: int | None          # epoch ms
    known_at: int | None             # epoch ms of the first GET that reported PROCESSED/FAILED
    polls: int
    reason: str | None = None        # for FAILED: the on-failure condition
    error: str | None = None         # for FAILED: the processor's last error, when it reported one
    attempts: int | None = None
    body: dict | None = None         # the last GET answer, whole

    @property
    def known(self) -> bool:
        return self.status in schema.KNOWN_OUTCOMES

    @property
    def time_to_known_outcome_ms(self) -> float | None:
        if self.known_at is None or self.accepted_at is None:
            return None
        return float(self.known_at - self.accepted_at)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("body")
        out["time_to_known_outcome_ms"] = self.time_to_known_outcome_ms
        return out


def status_url(base: str, request_id_or_location: str) -> str:
    """The GET URL of a request: `base` is the POST URL (…/requests) or a status URL; the second
    argument an id or the `Location` the POST answered (relative to the POST URL)."""
    if request_id_or_location.startswith(("http://", "https://")):
        return request_id_or_location
    if "/" in request_id_or_location:  # a Location such as "requests/<id>"
        return urllib.parse.urljoin(base, request_id_or_location)
    return base.rstrip("/") + "/" + urllib.parse.quote(request_id_or_location, safe="=_-")


def retry_after_s(reply: client.Reply) -> float:
    """The reply's Retry-After in seconds (0 when absent or not a number of seconds)."""
    value = {k.lower(): v for k, v in reply.headers.items()}.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def wait_for_outcome(url: str, request_id: str | None = None, *, timeout_s: float = 60.0,
                     headers: dict[str, str] | None = None, clock: Callable[[], float] = time.time,
                     sleep: Callable[[float], None] = time.sleep,
                     get: Callable[[str], client.Reply] | None = None) -> Outcome:
    """Poll the request's status until it is PROCESSED or FAILED, or `timeout_s` passes.

    `url`: the POST URL with `request_id` (an id or the POST's Location), or a status URL alone.
    `headers`: sent with every GET (an API key, for a protected API).
    A 404 (no such request) returns status NOT_FOUND at once; a 429/503 is waited out.
    """
    if timeout_s <= 0:
        raise ConfigError(f"timeout_s must be positive seconds, got {timeout_s!r}.")
    get = get or (lambda u: client.call("GET", u, headers=headers))
    target = status_url(url, request_id) if request_id else url
    deadline = clock() + timeout_s
    wait, polls, doc = FIRST_WAIT_S, 0, None
    while True:
        reply = get(target)
        polls += 1
        now_ms = int(clock() * 1000)
        if reply.status == 200:
            doc = reply.json()
            if doc.get("status") in schema.KNOWN_OUTCOMES:
                return _outcome(doc, polls, now_ms)
        elif reply.status == 404:
            return Outcome(request_id or target.rsplit("/", 1)[-1], "NOT_FOUND", None, None, polls)
        elif reply.status not in (429, 503):
            raise ConfigError(f"GET {target} answered {reply}; is this the API's status URL?")
        pause = max(wait, retry_after_s(reply))
        if clock() + pause > deadline:
            last = _outcome(doc, polls, None) if doc else Outcome(request_id or "", schema.ACCEPTED, None, None, polls)
            return last
        sleep(pause)
        wait = min(wait * 2, MAX_WAIT_S)


def _outcome(doc: dict, polls: int, known_at: int | None) -> Outcome:
    return Outcome(
        id=doc.get("id", ""), status=doc.get("status", ""), accepted_at=doc.get("accepted_at"),
        known_at=known_at if doc.get("status") in schema.KNOWN_OUTCOMES else None, polls=polls,
        reason=doc.get("reason"), error=doc.get("error"), attempts=doc.get("attempts"), body=doc,
    )


def outcomes_frame(outcomes: list[Outcome]) -> pd.DataFrame:
    """One row per request: id, status, reason, attempts, polls, time_to_known_outcome_ms."""
    columns = ["id", "status", "accepted_at", "known_at", "polls", "reason", "error", "attempts",
               "time_to_known_outcome_ms"]
    return pd.DataFrame([o.as_dict() for o in outcomes], columns=columns)


def outcome_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Count, how many ended PROCESSED / FAILED / unknown, and p50/p99/max time to known outcome (ms)."""
    known = frame["time_to_known_outcome_ms"].dropna()
    return {
        "n": int(len(frame)),
        "processed": int((frame["status"] == schema.PROCESSED).sum()),
        "failed": int((frame["status"] == schema.FAILED).sum()),
        "unknown": int(len(frame) - len(known)),
        "p50": float(known.quantile(0.5)) if len(known) else None,
        "p99": float(known.quantile(0.99)) if len(known) else None,
        "max": float(known.max()) if len(known) else None,
    }


class OutcomeProbe:
    """During a load run, POST a probe request every `every_s` seconds and follow each to its outcome.

    Use as a context manager around the run; `frame()` afterwards. Each probe runs in its own
    thread so a slow outcome never delays the next probe.
    """

    def __init__(self, url: str, every_s: float = 1.0, body: Callable[[int], Any] = lambda i: {"probe": i},
                 timeout_s: float = 60.0, headers: dict[str, str] | None = None):
        if every_s <= 0:
            raise ConfigError(f"every_s must be positive seconds, got {every_s!r}.")
        self.url, self.every_s, self.body, self.timeout_s = url, every_s, body, timeout_s
        self.headers = dict(headers or {})  # sent with every POST and GET (an API key, for a protected API)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._results: list[Outcome] = []
        self._lock = threading.Lock()
        self._ticker = threading.Thread(target=self._tick, name="streamlab-outcome-probe", daemon=True)

    def __enter__(self) -> "OutcomeProbe":
        self._ticker.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._ticker.join()
        for thread in self._threads:
            thread.join()

    def _tick(self) -> None:
        i = 0
        while not self._stop.is_set():
            thread = threading.Thread(target=self._follow, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
            i += 1
            self._stop.wait(self.every_s)

    def _follow(self, i: int) -> None:
        reply = client.call("POST", self.url, self.body(i), headers=self.headers)
        if reply.status != 202:
            outcome = Outcome("", f"HTTP {reply.status}", None, None, 0)
        else:
            outcome = wait_for_outcome(self.url, reply.json()["id"], timeout_s=self.timeout_s, headers=self.headers)
        with self._lock:
            self._results.append(outcome)

    def frame(self) -> pd.DataFrame:
        with self._lock:
            return outcomes_frame(list(self._results))
