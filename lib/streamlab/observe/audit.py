"""The no-loss audit: every request the API acknowledged reached an outcome the client can see.

An acknowledged id (a 2xx answer carrying an id) must be PROCESSED, or FAILED (its batch was
given up after the retry limits and the FailureHandler marked it, with the reason), as the table
says or, with `through_api`, as `GET /requests/{id}` answers. An item still ACCEPTED is pending
while the audit waits and *stuck* once it gives up waiting (`streamlab reconcile` finds those);
an id the table does not have is *lost*: an item that vanished, or an acknowledgement for a write
that never happened. Pass: zero lost; settled: zero stuck as well.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from streamlab import schema
from streamlab.observe.failures import OnFailureRecord

# How many ids a readable report lists before it says "and N more".
SHOW_IDS = 20


@dataclass
class AuditResult:
    acknowledged: int
    processed: int
    on_failure: int
    pending: int
    missing_ids: list[str]
    pending_ids: list[str] = field(default_factory=list)
    on_failure_ids: list[str] = field(default_factory=list)
    duplicate_acks: int = 0
    failure_batches: int = 0
    unmapped_failure_batches: int = 0
    waited_s: float = 0.0
    batches: list[OnFailureRecord] = field(default_factory=list, repr=False)

    @property
    def missing(self) -> int:
        return len(self.missing_ids)

    @property
    def passed(self) -> bool:
        """Nothing lost. Pending items are not lost (still retrying), but see `settled`."""
        return not self.missing_ids

    @property
    def settled(self) -> bool:
        return self.pending == 0

    @property
    def failed(self) -> int:
        """Requests that ended FAILED (counted in `on_failure`, the name the suite's results use)."""
        return self.on_failure

    @property
    def stuck_ids(self) -> list[str]:
        """Still ACCEPTED when the audit stopped waiting."""
        return self.pending_ids

    @property
    def verdict(self) -> str:
        if not self.passed:
            return f"FAIL: {self.missing} of {self.acknowledged} acknowledged requests lost"
        if not self.settled:
            # Not a pass yet: a request still ACCEPTED may still fail; say what is known and that it is not over.
            return (f"NOT SETTLED: {self.pending} of {self.acknowledged} still pending (stuck in ACCEPTED) after "
                    f"{self.waited_s:.0f} s; none lost so far")
        return f"PASS: 0 of {self.acknowledged} acknowledged requests lost"

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict, "passed": self.passed, "settled": self.settled,
            "acknowledged": self.acknowledged, "processed": self.processed, "on_failure": self.on_failure,
            "pending": self.pending, "missing": self.missing, "missing_ids": self.missing_ids,
            "pending_ids": self.pending_ids, "duplicate_acks": self.duplicate_acks,
            "failure_batches": self.failure_batches, "unmapped_failure_batches": self.unmapped_failure_batches,
            "waited_s": round(self.waited_s, 3),
        }

    def _lines(self) -> list[str]:
        lines = [
            self.verdict,
            f"  acknowledged {self.acknowledged}: processed {self.processed}, failed {self.on_failure}, "
            f"stuck {self.pending}, lost {self.missing}",
        ]
        if self.duplicate_acks:
            lines.append(f"  the same id was acknowledged twice {self.duplicate_acks} times")
        if self.failure_batches:
            lines.append(f"  on-failure batches {self.failure_batches} "
                         f"({self.unmapped_failure_batches} not mapped back to ids)")
        for name, ids in (("lost", self.missing_ids), ("stuck", self.pending_ids)):
            if ids:
                more = f" and {len(ids) - SHOW_IDS} more" if len(ids) > SHOW_IDS else ""
                lines.append(f"  {name}: {', '.join(ids[:SHOW_IDS])}{more}")
        return lines

    def __str__(self) -> str:
        return "\n".join(self._lines())

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # What an executed notebook keeps as text: the summary, not a dump of every id.
        printer.text(str(self))

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed and self.settled else ("#9a6700" if self.passed else "#cf222e")
        head, *rest = self._lines()
        body = "<br>".join(html.escape(line.strip()) for line in rest)
        return f'<div><b style="color:{colour}">{html.escape(head)}</b><br>{body}</div>'


def classify(acknowledged: Iterable[str], items: Mapping[str, Mapping[str, Any]],
             failed_ids: Iterable[str] = ()) -> AuditResult:
    """Pure: sort acknowledged ids into processed / failed (status FAILED, or named by an on-failure
    record in `failed_ids`) / pending (ACCEPTED) / missing."""
    acked = list(acknowledged)
    unique = list(dict.fromkeys(acked))
    failed = set(failed_ids)
    processed, on_failure, pending, missing = [], [], [], []
    for i in unique:
        item = items.get(i)
        if item is not None and item.get(schema.STATUS) == schema.PROCESSED:
            processed.append(i)
        elif i in failed or (item is not None and item.get(schema.STATUS) == schema.FAILED):
            on_failure.append(i)
        elif item is not None:
            pending.append(i)
        else:
            missing.append(i)
    return AuditResult(
        acknowledged=len(unique), processed=len(processed), on_failure=len(on_failure), pending=len(pending),
        missing_ids=missing, pending_ids=pending, on_failure_ids=on_failure, duplicate_acks=len(acked) - len(unique),
    )


Reader = Callable[[list[str]], Mapping[str, Mapping[str, Any]]]


def settle(acknowledged: Iterable[str], read: Reader, failed: Callable[[], Iterable[str]] = lambda: (),
           timeout: float = 60.0, poll: float = 1.0, clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> AuditResult:
    """Classify, then re-read only the unsettled ids until none is pending or missing, or until
    `timeout` seconds have passed. `read(ids)` returns {id: item} for the ids that exist."""
    acked = list(acknowledged)
    start = clock()
    items = dict(read(list(dict.fromkeys(acked))))
    failed_ids = set(failed())
    while True:
        result = classify(acked, items, failed_ids)
        result.waited_s = clock() - start
        open_ids = result.pending_ids + result.missing_ids
        if not open_ids or clock() - start >= timeout:
            return result
        sleep(poll)
        items.update(read(open_ids))
        failed_ids |= set(failed())


def read_through_api(url: str, ids: list[str], threads: int = 16,
                     headers: dict[str, str] | None = None) -> dict[str, dict]:
    """{id: GET /requests/{id} answer} for the ids the API knows (404s are left out); `url` is the POST
    URL; `headers` go with every GET (an API key, for a protected API)."""
    from concurrent.futures import ThreadPoolExecutor

    from streamlab.load.outcome import status_url
    from streamlab.load.client import call

    def get(i: str) -> tuple[str, Any]:
        reply = call("GET", status_url(url, i), headers=headers)
        if reply.status == 404:
            return i, None
        if reply.status != 200:
            raise RuntimeError(f"GET {status_url(url, i)} answered {reply}")
        return i, reply.json()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return {i: doc for i, doc in pool.map(get, ids) if doc is not None}


def audit(target: Any, table: str, acknowledged: Any, *, through_api: str | None = None,
          api_headers: dict[str, str] | None = None, settle_timeout: float = 60.0, poll: float = 1.0) -> AuditResult:
    """The no-loss audit of a run against the real table, or through the API's GET when
    `through_api` is its POST URL (…/requests).

    `acknowledged`: a LoadResult (its acknowledged ids) or an iterable of ids.
    """
    from streamlab.observe.items import get_items

    ids = acknowledged.acknowledged_ids if hasattr(acknowledged, "acknowledged_ids") else list(acknowledged)

    def read(some: list[str]) -> dict[str, dict]:
        if through_api:
            return read_through_api(through_api, some, headers=api_headers)
        return {item[schema.ID]: item for item in get_items(target, table, some)}

    return settle(ids, read, timeout=settle_timeout, poll=poll)
