"""compare: tagged bodies, the run's items in a table, outcomes side by side, and sentences from numbers.

Pure logic with small fakes, plus one round trip through a real table on the local stack.
"""
from __future__ import annotations

import pickle
import uuid

import pytest

from streamlab import schema
from streamlab.experiment.compare import (
    TaggedBodies, body_run, describe, outcome, outcomes_chart, outcomes_frame, run_items,
)
from streamlab.errors import ConfigError
from streamlab.load.bodies import encode_body
from streamlab.observe.audit import classify


def test_tagged_bodies_carry_the_run_and_the_work_switch_and_pickle():
    bodies = TaggedBodies("07-1-sync", sleep_ms=50)
    assert bodies(3) == {"run": "07-1-sync", "seq": 3, "sleep_ms": 50}
    assert TaggedBodies("r")(0) == {"run": "r", "seq": 0}  # no work: no switch at all
    assert bodies.marker in encode_body(bodies(3)).decode()  # the marker matches what is sent
    assert pickle.loads(pickle.dumps(bodies)) == bodies  # usable by load workers in other processes


@pytest.mark.parametrize("run, sleep_ms", [("", 0), ('a"b', 0), ("a\\b", 0), ("ok", -1)])
def test_tagged_bodies_refuse_unusable_settings(run, sleep_ms):
    with pytest.raises(ConfigError):
        TaggedBodies(run, sleep_ms=sleep_ms)


@pytest.mark.parametrize("text, run", [('{"run": "x", "seq": 1}', "x"), ('{"seq": 1}', None), ("[1]", None),
                                       ("not json", None), ("", None), (None, None)])
def test_body_run_reads_the_tag_of_any_stored_body(text, run):
    assert body_run(text) == run


class FakeRun:
    def __init__(self, sent=10, dropped=0, errors=None, acknowledged=None, p=(5.0, 9.0, 12.0)):
        errors = errors or {}
        self.summary = {
            "sent": sent, "dropped": dropped, "errors": errors,
            "acknowledged": acknowledged if acknowledged is not None else sent - sum(errors.values()),
            "latency_ms": {"p50": p[0], "p90": p[1], "p99": p[1], "p99.9": p[2], "max": p[2]},
        }


def _items(n, processed):
    return [{schema.ID: f"i{k}", schema.STATUS: schema.PROCESSED if k < processed else schema.ACCEPTED}
            for k in range(n)]


def test_outcome_counts_what_clients_saw_and_what_the_table_holds():
    audit = classify([f"i{k}" for k in range(8)], {f"i{k}": {schema.STATUS: schema.PROCESSED} for k in range(8)})
    o = outcome("sync", FakeRun(sent=10, errors={"http_5xx": 2}), _items(8, 8), audit)
    assert (o.sent, o.client_errors, o.acknowledged, o.stored, o.processed) == (10, 2, 8, 8, 8)
    assert o.not_stored == 2 and o.lost == 0
    assert o.latency_ms == {"p50": 5.0, "p99": 9.0, "max": 12.0}
    assert o.as_dict()["audit_verdict"] == audit.verdict


def test_an_acknowledged_but_missing_request_is_lost_and_not_stored():
    audit = classify(["a", "b"], {"a": {schema.STATUS: schema.PROCESSED}})
    o = outcome("async", FakeRun(sent=2), [{schema.ID: "a", schema.STATUS: schema.PROCESSED}], audit)
    assert o.lost == 1 and o.not_stored == 1 and not o.audit.passed


def _pair():
    done = {f"i{k}": {schema.STATUS: schema.PROCESSED} for k in range(9)}
    sync = outcome("sync", FakeRun(sent=10, errors={"http_5xx": 1}, p=(120.0, 900.0, 950.0)), _items(9, 9),
                   classify(list(done), done))
    acked = [f"i{k}" for k in range(10)]
    items = {i: {schema.STATUS: schema.PROCESSED if k < 8 else schema.ACCEPTED} for k, i in enumerate(acked)}
    asy = outcome("async", FakeRun(sent=10, p=(4.0, 9.0, 10.0)), _items(10, 8), classify(acked, items))
    return sync, asy


def test_frame_puts_the_designs_side_by_side():
    frame = outcomes_frame(_pair())
    assert list(frame.columns) == ["sync", "async"]
    assert frame.loc["errors seen by clients"].tolist() == [1, 0]
    assert frame.loc["  by class"].tolist() == ["http_5xx 1", "none"]
    assert frame.loc["sent but not stored (gone unless retried)"].tolist() == [1, 0]
    assert frame.loc["still pending (retrying)"].tolist() == [0, 2]
    assert frame.loc["latency p99 (ms)"].tolist() == ["900.0", "9.0"]


def test_sentences_follow_the_numbers_whichever_way_they_fall():
    sync, asy = _pair()
    text = "\n".join(describe([sync, asy]))
    assert "sync: 1 requests (10.0%) got an error (1 http_5xx)." in text
    assert "async: no client saw an error." in text
    assert "At p99 async answered 100.0x faster than sync (9.0 ms against 900.0 ms)." in text
    assert "sync left 1 more requests unstored than async (1 against 0)." in text
    assert "2 still pending" in text
    # The other way round: the sentences must not assume which design wins.
    flipped = outcome("sync", FakeRun(sent=10, p=(1.0, 2.0, 3.0)), _items(10, 10), sync.audit)
    text = "\n".join(describe([flipped, asy]))
    assert "At p99 sync answered 4.5x faster than async" in text
    assert "Both designs left 0 requests unstored." in text
    assert "no client saw an error" in text and "got an error" not in text


def test_chart_has_one_group_of_bars_per_design():
    fig = outcomes_chart(list(_pair()))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sync\n(sent 10)", "async\n(sent 10)"]
    heights = sorted(p.get_height() for p in ax.patches)
    assert len(ax.patches) == 12 and heights[-1] == 10


def test_run_items_finds_exactly_this_runs_items_in_a_real_table(target):
    ddb = target.client("dynamodb")
    name = "cmp-" + uuid.uuid4().hex[:8]
    ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": schema.ID, "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": schema.ID, "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    try:
        ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        mine, other = TaggedBodies("run-a", sleep_ms=5), TaggedBodies("run-ab")
        bodies = {"m1": encode_body(mine(1)), "m2": encode_body(mine(2)), "o1": encode_body(other(1)),
                  "x1": b'{"nested": {"run":"run-a"}}', "x2": b"not json"}
        for i, body in bodies.items():
            ddb.put_item(TableName=name, Item={schema.ID: {"S": i}, schema.BODY: {"S": body.decode()},
                                               schema.STATUS: {"S": schema.PROCESSED if i == "m1" else "ACCEPTED"}})
        found = sorted(run_items(target, name, mine), key=lambda i: i[schema.ID])
        assert found == [{schema.ID: "m1", schema.STATUS: schema.PROCESSED},
                         {schema.ID: "m2", schema.STATUS: schema.ACCEPTED}]
        assert mine.marker in bodies["x1"].decode()  # the decoy really contains the marker text
    finally:
        ddb.delete_table(TableName=name)
