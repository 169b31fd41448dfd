"""The stream tail's memory (streams/tail.py): keep what active readers still need, bounded."""
from __future__ import annotations

from streamlab.localstack.streams import tail as tail_module
from streamlab.localstack.streams.tail import StreamTail


def _tail(count: int) -> StreamTail:
    t = StreamTail("arn", call=None, shard_of=lambda record: 0)  # type: ignore[arg-type]
    for i in range(count):
        t._append({"dynamodb": {"SequenceNumber": f"{1000 + i:030d}"}})
    return t


def test_records_an_active_reader_still_needs_stay_in_memory(monkeypatch):
    monkeypatch.setattr(tail_module, "MAX_CACHED", 10)
    monkeypatch.setattr(tail_module, "EVICT_CHUNK", 5)
    monkeypatch.setattr(tail_module, "HARD_CAP", 40)
    t = _tail(30)
    t.scan(1000 + 3, lambda r, s: True, 1, reader="shard-a")  # a slow reader at the 4th record
    t._evict()
    assert len(t.records) == 30  # nothing it needs is dropped
    t.scan(1000 + 21, lambda r, s: True, 1, reader="shard-a")  # it moved on
    t._evict()
    assert len(t.records) == 10 and t.bookmarks[-1] == f"{1000 + 19:030d}"
    assert t.cached_from() == 1000 + 19


def test_the_hard_cap_holds_even_for_a_stuck_reader(monkeypatch):
    monkeypatch.setattr(tail_module, "MAX_CACHED", 10)
    monkeypatch.setattr(tail_module, "EVICT_CHUNK", 5)
    monkeypatch.setattr(tail_module, "HARD_CAP", 20)
    t = _tail(30)
    t.scan(-1, lambda r, s: True, 1, reader="stuck")
    t._evict()
    assert len(t.records) == 20
    records, position, at_end = t.scan(t.cached_from(), lambda r, s: True, 100)
    assert len(records) == 20 and at_end and position == 1000 + 29
