"""MiniStack's expressions parsed once per text: same answers as MiniStack's own parsing, less work."""
from __future__ import annotations

import asyncio
import importlib
import json
import uuid

import pytest

from streamlab.bench.api import the_api_write
from streamlab.localstack import expression_cache
from streamlab.localstack.expression_cache import remember_expressions
from tests.localstack.conftest import REPLACED

dynamodb = importlib.import_module("ministack.services.dynamodb")

EXPRESSIONS = [
    "SET #b = :b, #a = if_not_exists(#a, :a), #s = if_not_exists(#s, :s)",
    "attribute_not_exists(#id) OR #b = :b",
    "#n BETWEEN :lo AND :hi",
    "((#a = :a))",           # redundant parentheses: MiniStack refuses them
    "#a = :a AND",           # ends early
    "size(#a) >= :n AND NOT contains(#b, :c)",
    "status = :s",           # a reserved word used as a name
    "#a IN (:x, :y, :z) OR #b <> :w",
    "SET #l = list_append(#l, :v) REMOVE #old",
    "$$$",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_a_remembered_expression_parses_as_ministack_parses_it(cached, expression):
    for _ in range(2):  # the second answer comes from the cache
        assert dynamodb._tokenize(expression) == cached["_tokenize"](expression)
        for slot in ("ConditionExpression", "FilterExpression"):
            assert dynamodb._condition_syntax_error(expression, slot) == cached["_condition_syntax_error"](expression, slot)


def test_a_caller_that_changes_its_tokens_does_not_change_the_next_callers(cached):
    tokens = dynamodb._tokenize(EXPRESSIONS[0])
    expected = list(tokens)
    tokens.pop()
    tokens.append(("IDENT", "changed"))
    assert dynamodb._tokenize(EXPRESSIONS[0]) == expected


def test_installing_twice_wraps_once(cached):
    tokenize = dynamodb._tokenize
    remember_expressions(dynamodb)
    assert dynamodb._tokenize is tokenize


UPDATES = [
    "SET #b = :b, #a = if_not_exists(#a, :a), #s = if_not_exists(#s, :s)",
    "SET a.b[2].c = :v, #n = :v + :w, l = list_append(if_not_exists(l, :e), :v) REMOVE x, y[0]",
    "SET #n = #n - :w, m = :v DELETE s :v",
    "REMOVE #n, a.b.c[10]",
    "SET a = :v ADD n :w, s :v",            # ADD: charged by MiniStack itself
    "add n :w",                             # lower-case ADD too
    "SET a = :missing",                     # a value the request does not carry
    "SET a = (:v",                          # malformed: MiniStack's own failure
]
VALUE_SETS = [
    {":b": {"S": "x" * 300}, ":a": {"N": "1700000000123"}, ":s": {"S": "ACCEPTED"}},
    {":v": {"L": [{"S": "é"}, {"N": "12345.678"}, {"M": {"k": {"BOOL": True}}}]}, ":w": {"N": "-1"}, ":e": {"L": []}},
    {":v": {"SS": ["a", "bb"]}, ":w": {"NS": ["1", "22"]}, ":b": {"B": "AAEC"}, ":a": {"NULL": True}, ":s": {"S": ""}},
    {},
]
NAMES = [{}, {"#b": "body", "#a": "accepted_at", "#s": "status", "#n": "a-much-longer-attribute-name-é"}]


@pytest.mark.parametrize("expression", UPDATES)
def test_an_update_is_charged_what_ministack_charges(cached, expression):
    item = {"s": {"SS": ["a"]}, "n": {"N": "1"}}
    for values in VALUE_SETS:
        for names in NAMES:
            for _ in range(2):  # the second answer comes from the plan
                try:
                    expected = cached["_update_request_charge"](expression, values, names, item)
                except Exception as exc:  # noqa: BLE001 - the same failure, whatever it is
                    with pytest.raises(type(exc)):
                        dynamodb._update_request_charge(expression, values, names, item)
                else:
                    assert dynamodb._update_request_charge(expression, values, names, item) == expected


def test_an_update_is_charged_from_a_plan_made_once_per_expression(cached, monkeypatch):
    calls = []
    monkeypatch.setattr(dynamodb, "_update_request_charge", cached["_update_request_charge"])
    monkeypatch.delattr(dynamodb, expression_cache._INSTALLED, raising=False)
    original = dynamodb._update_request_charge
    monkeypatch.setattr(dynamodb, "_update_request_charge", lambda *args: calls.append(args) or original(*args))
    remember_expressions(dynamodb)
    values = dict(VALUE_SETS[0])
    for n in range(20):
        values[":b"] = {"S": "x" * n}
        assert dynamodb._update_request_charge(UPDATES[0], values, NAMES[1], {}) == original(UPDATES[0], values, NAMES[1], {})
    assert len(calls) == 1 + 3  # the constant, then one probe per value reference


def _call(action: str, body: dict) -> tuple[int, dict]:
    status, _, answer = asyncio.run(dynamodb.handle_request(
        "POST", "/", {"x-amz-target": f"DynamoDB_20120810.{action}"}, json.dumps(body).encode(), {}))
    return status, json.loads(answer)


def _writes_of_the_api(table_name: str) -> list[tuple[int, dict, dict | None]]:
    """What MiniStack answers the API's idempotent write: first, again, with another body, with a
    broken condition; and the item it then holds."""
    assert _call("CreateTable", {
        "TableName": table_name, "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    })[0] == 200
    _, first = the_api_write(table_name, json.dumps({"n": 1}))
    _, other = the_api_write(table_name, json.dumps({"n": 2}))
    same_id = json.loads(first())
    same_id["Key"]["id"]["S"] = "one-id"
    same_id["ExpressionAttributeValues"][":a"]["N"] = "1000"
    again = json.loads(json.dumps(same_id))
    again["ExpressionAttributeValues"][":a"]["N"] = "2000"
    changed = json.loads(other())
    changed["Key"] = same_id["Key"]
    broken = json.loads(json.dumps(same_id))
    broken["ConditionExpression"] += " AND"
    answers = []
    for body in (same_id, again, changed, broken):
        status, answer = _call("UpdateItem", body)
        item = _call("GetItem", {"TableName": table_name, "Key": same_id["Key"], "ConsistentRead": True})[1]
        answers.append((status, answer, item.get("Item")))
    return answers


def test_the_api_write_gets_the_answers_ministack_gives_without_the_cache(monkeypatch):
    uncached = _writes_of_the_api(f"before-{uuid.uuid4().hex[:8]}")
    for name in REPLACED:
        monkeypatch.setattr(dynamodb, name, getattr(dynamodb, name))
    monkeypatch.delattr(dynamodb, expression_cache._INSTALLED, raising=False)
    remember_expressions(dynamodb)
    misses = dynamodb._tokenize.cache_info().misses

    assert _writes_of_the_api(f"after-{uuid.uuid4().hex[:8]}") == uncached
    assert [status for status, _, _ in uncached] == [200, 200, 400, 400]
    assert uncached[2][1]["__type"].endswith("ConditionalCheckFailedException")
    assert uncached[3][1]["__type"].endswith("ValidationException")
    # Four calls, three expressions (the broken condition is a new one): each tokenized once.
    assert dynamodb._tokenize.cache_info().misses - misses == 3


def test_the_stacks_ministack_parses_with_the_cache(monkeypatch, tmp_path):
    from streamlab.localstack.durable import ministack_main
    from streamlab.localstack.state import StackPaths

    lambda_svc = importlib.import_module("ministack.services.lambda_svc")
    persistence = importlib.import_module("ministack.core.persistence")
    monkeypatch.setattr(lambda_svc, "CODE_BLOB_DIR", lambda_svc.CODE_BLOB_DIR)
    monkeypatch.setattr(persistence, "STATE_DIR", persistence.STATE_DIR)
    for name in ("PERSIST_STATE", "STATE_DIR"):
        monkeypatch.setenv(name, "")
    installed = []
    monkeypatch.setattr(ministack_main, "remember_expressions", installed.append)

    ministack_main.load_ministack(StackPaths(tmp_path))
    assert installed == [dynamodb]
