"""The no-loss audit: every request the API acknowledged is accounted for.

An acknowledged id (a 2xx answer carrying an id) must be in the table and PROCESSED, or be
covered by an on-failure record (its batch was given up after the retry limits), or still be
pending (in the table, ACCEPTED: the ESM is still retrying). Anything else is lost: an item that
vanished from the table, or an acknowledgement for a write that never happened. Zero lost passes.
"""
from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from streamlab import schema
from streamlab.observe.failures import OnFailureRecord, drain_on_failure, ids_in_batch

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
    def verdict(self) -> str:
        if not self.passed:
            return f"FAIL: {self.missing} of {self.acknowledged} acknowledged requests lost"
        if not self.settled:
            # Not a pass yet: pending records may still fail; say what is known and that it is not over.
            return (f"NOT SETTLED: {self.pending} of {self.acknowledged} still pending after "
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
            f"  acknowledged {self.acknowledged}: processed {self.processed}, on-failure {self.on_failure}, "
            f"pending {self.pending}, missing {self.missing}",
        ]
        if self.duplicate_acks:
            lines.append(f"  the same id was acknowledged twice {self.duplicate_acks} times")
        if self.failure_batches:
            lines.append(f"  on-failure batches {self.failure_batches} "
                         f"({self.unmapped_failure_batches} not mapped back to ids)")
        for name, ids in (("missing", self.missing_ids), ("pending", self.pending_ids)):
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
    """Pure: sort acknowledged ids into processed / on-failure / pending / missing."""
    acked = list(acknowledged)
    unique = list(dict.fromkeys(acked))
    failed = set(failed_ids)
    processed, on_failure, pending, missing = [], [], [], []
    for i in unique:
        item = items.get(i)
        if item is not None and item.get(schema.STATUS) == schema.PROCESSED:
            processed.append(i)
        elif i in failed:
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


def audit(target: Any, table: str, acknowledged: Any, *, queue_url: str | None = None,
          settle_timeout: float = 60.0, poll: float = 1.0, delete_messages: bool = True) -> AuditResult:
    """The no-loss audit of a run against the real table (and on-failure queue, if given).

    `acknowledged`: a LoadResult (its acknowledged ids) or an iterable of ids.
    """
    from streamlab.observe.items import get_items

    ids = acknowledged.acknowledged_ids if hasattr(acknowledged, "acknowledged_ids") else list(acknowledged)
    batches: list[OnFailureRecord] = []

    def read(some: list[str]) -> dict[str, dict]:
        return {item[schema.ID]: item for item in get_items(target, table, some)}

    def failed() -> set[str]:
        if not queue_url:
            return set()
        new, _ = drain_on_failure(target, queue_url, delete=delete_messages, wait_s=0)
        for record in new:
            record.ids = ids_in_batch(target, record)
        batches.extend(new)
        return {i for b in batches for i in (b.ids or [])}

    result = settle(ids, read, failed, timeout=settle_timeout, poll=poll)
    result.failure_batches = len(batches)
    result.unmapped_failure_batches = sum(1 for b in batches if b.ids is None)
    result.batches = batches
    return result
