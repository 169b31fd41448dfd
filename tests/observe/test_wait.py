"""`wait_processed` returns only when every id is processed; otherwise it raises and says why."""
from __future__ import annotations

import pytest

from streamlab import schema
from streamlab.errors import WaitTimeout
from streamlab.observe import wait_processed


class Table:
    """A DynamoDB client stand-in answering BatchGetItem from a dict (pure logic under test)."""

    def __init__(self, items):
        self.items = items

    def batch_get_item(self, RequestItems):
        (table, request), = RequestItems.items()
        keys = [k[schema.ID]["S"] for k in request["Keys"]]
        return {"Responses": {table: [
            {schema.ID: {"S": i}, schema.STATUS: {"S": self.items[i]}, schema.ACCEPTED_AT: {"N": "1000"}}
            for i in keys if i in self.items]}}


def test_a_timeout_raises_with_what_was_awaited_and_seen():
    table = Table({"a": schema.PROCESSED, "b": schema.ACCEPTED})
    with pytest.raises(WaitTimeout) as caught:
        wait_processed(table, "t", ["a", "b", "c"], timeout_s=0.0, interval_s=0.0)
    text = str(caught.value)
    assert "3 request(s) in t to become PROCESSED" in text
    assert "1 ACCEPTED, 1 PROCESSED, 1 not in the table" in text
    assert "notebook 02" in text


def test_processed_ids_are_returned():
    rows = wait_processed(Table({"a": schema.PROCESSED}), "t", ["a"], timeout_s=0.0)
    assert rows[schema.STATUS].tolist() == [schema.PROCESSED]
