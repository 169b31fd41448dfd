"""The no-loss audit's logic on an in-memory table and fake services (pure); the real-table test is in test_items.py."""
from __future__ import annotations

from streamlab import schema
from streamlab.observe.audit import classify, settle



def item(i: str, status: str = schema.PROCESSED) -> dict:
    return {schema.ID: i, schema.STATUS: status, schema.ACCEPTED_AT: 1000, schema.PROCESSED_AT: 1200}


def table(*items: dict) -> dict:
    return {it[schema.ID]: it for it in items}


def test_all_processed_passes():
    r = classify(["a", "b"], table(item("a"), item("b")))
    assert r.passed and r.settled and r.processed == 2 and r.missing == 0
    assert r.verdict.startswith("PASS: 0 of 2")


def test_deleted_item_is_caught():
    """An acknowledged item that is no longer in the table is lost."""
    t = table(item("a"), item("b"), item("c"))
    del t["b"]
    r = classify(["a", "b", "c"], t)
    assert not r.passed and r.missing_ids == ["b"]
    assert "FAIL: 1 of 3" in str(r) and "lost: b" in str(r)


def test_lost_acknowledgement_is_caught():
    """The API said 2xx with an id but never wrote it: lost."""
    r = classify(["a", "ghost"], table(item("a")))
    assert r.missing_ids == ["ghost"] and not r.passed


def test_on_failure_covers_an_unprocessed_item_and_pending_is_not_lost():
    t = table(item("a"), item("b", schema.ACCEPTED), item("c", schema.ACCEPTED))
    r = classify(["a", "b", "c"], t, failed_ids={"b"})
    assert (r.processed, r.on_failure, r.pending, r.missing) == (1, 1, 1, 0)
    assert r.passed and not r.settled and r.pending_ids == ["c"]
    # pending is not a pass yet: the verdict must not start with PASS while records may still fail
    assert r.verdict.startswith("NOT SETTLED: 1 of 3 still pending") and "PASS" not in r.verdict


def test_failed_status_is_an_outcome_and_accepted_leftovers_are_listed_as_stuck():
    """What GET shows decides: FAILED is a known outcome, ACCEPTED after settling is stuck, absent is lost."""
    t = table(item("a"), item("b", schema.FAILED), item("c", schema.ACCEPTED))
    r = classify(["a", "b", "c", "d"], t)
    assert (r.processed, r.failed, r.pending, r.missing) == (1, 1, 1, 1)
    assert r.stuck_ids == ["c"] and r.missing_ids == ["d"]
    assert "stuck: c" in str(r) and "lost: d" in str(r) and "failed 1" in str(r)


def test_on_failure_also_covers_an_item_missing_from_the_table():
    # the batch was given up; whatever happened to the item, the failure is on record
    r = classify(["a"], {}, failed_ids={"a"})
    assert r.passed and r.on_failure == 1


def test_duplicate_acknowledgements_are_counted_once_and_reported():
    r = classify(["a", "a"], table(item("a")))
    assert r.acknowledged == 1 and r.duplicate_acks == 1 and "twice" in str(r)


def test_readable_report_lists_missing_ids_with_a_limit():
    r = classify([f"id{i}" for i in range(30)], {})
    text = str(r)
    assert "id0" in text and "and 10 more" in text
    html = r._repr_html_()
    assert "FAIL" in html and "#cf222e" in html
    assert r.as_dict()["missing"] == 30


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_settle_waits_until_pending_items_are_processed():
    clock = FakeClock()
    state = table(item("a"), item("b", schema.ACCEPTED))
    reads = []

    def read(ids):
        reads.append(list(ids))
        if clock.now >= 3:  # the processor gets to b after 3 s
            state["b"] = item("b")
        return {i: state[i] for i in ids if i in state}

    r = settle(["a", "b"], read, timeout=60, poll=1, clock=clock, sleep=clock.sleep)
    assert r.passed and r.settled and r.processed == 2
    assert 3 <= r.waited_s < 10
    assert all(ids == ["b"] for ids in reads[1:])  # only unsettled ids are read again


def test_settle_gives_up_at_the_deadline_and_reports_pending():
    clock = FakeClock()
    state = table(item("a", schema.ACCEPTED))
    r = settle(["a"], lambda ids: {i: state[i] for i in ids if i in state}, timeout=5, poll=1,
               clock=clock, sleep=clock.sleep)
    assert r.pending_ids == ["a"] and r.passed and not r.settled and r.waited_s >= 5


def test_settle_counts_on_failure_records_that_arrive_later():
    clock = FakeClock()
    state = table(item("a", schema.ACCEPTED))
    r = settle(["a"], lambda ids: {i: state[i] for i in ids if i in state},
               failed=lambda: {"a"} if clock.now >= 2 else set(), timeout=30, poll=1, clock=clock, sleep=clock.sleep)
    assert r.on_failure == 1 and r.settled


def test_settle_waits_for_an_id_missing_at_first_that_appears_later():
    """A write acknowledged but not yet visible is waited for, not called lost at once."""
    clock = FakeClock()
    state = table(item("a"))
    reads = []

    def read(ids):
        reads.append(list(ids))
        if clock.now >= 2:
            state["b"] = item("b", schema.ACCEPTED)
        if clock.now >= 4:
            state["b"] = item("b")
        return {i: state[i] for i in ids if i in state}

    r = settle(["a", "b"], read, timeout=60, poll=1, clock=clock, sleep=clock.sleep)
    assert (r.processed, r.missing, r.pending) == (2, 0, 0)
    assert r.passed and r.settled and r.waited_s == 4
    assert reads == [["a", "b"], ["b"], ["b"], ["b"], ["b"]]


def test_settle_keeps_on_failure_ids_drained_on_an_earlier_poll():
    """The on-failure queue is drained: an id reported once must stay counted."""
    clock = FakeClock()
    state = table(item("a", schema.ACCEPTED), item("b", schema.ACCEPTED))
    reports = iter([set(), {"a"}])

    def drain():
        return next(reports, set())

    def read(ids):
        if clock.now >= 3:
            state["b"] = item("b")
        return {i: state[i] for i in ids if i in state}

    r = settle(["a", "b"], read, failed=drain, timeout=60, poll=1, clock=clock, sleep=clock.sleep)
    assert (r.processed, r.on_failure, r.pending, r.missing) == (1, 1, 0, 0)
    assert r.on_failure_ids == ["a"] and r.settled


def test_settle_stops_exactly_at_its_deadline():
    clock = FakeClock()
    r = settle(["a"], lambda ids: {}, timeout=5, poll=1, clock=clock, sleep=clock.sleep)
    assert r.missing_ids == ["a"] and not r.passed and r.waited_s == 5


def test_an_on_failure_id_still_in_the_table_counts_as_on_failure_not_pending():
    r = classify(["a"], table(item("a", schema.ACCEPTED)), failed_ids={"a"})
    assert (r.on_failure, r.pending, r.on_failure_ids) == (1, 0, ["a"])
    assert r.passed and r.settled


def test_processed_wins_over_an_on_failure_record():
    # delivered again after its batch was given up (at least once): it is processed
    r = classify(["a"], table(item("a")), failed_ids={"a"})
    assert (r.processed, r.on_failure) == (1, 0)


def test_verdicts_say_pass_fail_and_not_settled():
    assert classify(["a"], table(item("a"))).verdict == "PASS: 0 of 1 acknowledged requests lost"
    assert classify(["a", "b"], table(item("a"))).verdict == "FAIL: 1 of 2 acknowledged requests lost"
    assert classify(["a"], table(item("a", schema.ACCEPTED))).verdict == \
        "NOT SETTLED: 1 of 1 still pending (stuck in ACCEPTED) after 0 s; none lost so far"
    assert classify(["a", "a", "b"], table(item("a"), item("b"))).as_dict()["acknowledged"] == 2



def test_a_notebook_shows_the_audit_as_its_summary_not_a_dump_of_ids():
    from IPython.lib.pretty import pretty

    r = classify(["a", "b"], table(item("a"), item("b")))
    assert pretty(r) == str(r) == "PASS: 0 of 2 acknowledged requests lost\n" \
        "  acknowledged 2: processed 2, failed 0, stuck 0, lost 0"
