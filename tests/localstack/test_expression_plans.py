"""Planned condition and update expressions answer as MiniStack's own functions do."""
from __future__ import annotations

import importlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamlab.bench.api import the_api_write
from streamlab.localstack import expression_plans

from .expressions import PLENTY, SLOTS, conditions, items, names, outcome, updates, values

dynamodb = importlib.import_module("ministack.services.dynamodb")

@PLENTY
@given(expression=conditions, item=items, refs=values, aliases=names, slot=st.sampled_from(SLOTS))
def test_a_planned_condition_answers_as_ministack(cached, expression, item, refs, aliases, slot):
    expected = outcome(cached["_evaluate_condition"], expression, item, refs, aliases, slot)
    for _ in range(2):  # the second answer comes from the plan
        assert outcome(dynamodb._evaluate_condition, expression, item, refs, aliases, slot) == expected


@PLENTY
@given(expression=updates, item=items, refs=values, aliases=names, seen=st.sets(st.just(("old",))))
def test_a_planned_update_applies_as_ministack(cached, expression, item, refs, aliases, seen):
    """Also the same targets added to the caller's set (it reads a key-attribute refusal from them)."""
    expected = outcome(cached["_apply_update_expression"], item, expression, refs, aliases, seen)
    for _ in range(2):
        assert outcome(dynamodb._apply_update_expression, item, expression, refs, aliases, seen) == expected


def test_values_read_before_the_update_are_copies_shared_as_ministack_shares_them(cached):
    item = {"a": {"L": [{"S": "x"}]}, "b": {"S": "y"}}
    expression = "SET c = if_not_exists(a, :v), d = if_not_exists(a, :v), b = if_not_exists(b, :v)"
    for apply in (cached["_apply_update_expression"], dynamodb._apply_update_expression):
        updated, _ = apply(item, expression, {":v": {"S": "v"}}, {})
        assert updated["c"] is updated["d"] and updated["c"] is not updated["a"]
        assert updated["b"] is not item["b"] and updated["b"] == item["b"]


@pytest.mark.parametrize("expression", ["NOT " * 1200 + "a = :v", "NOT " * 400 + "a = :v",
                                        "(" * 700 + "a = :v" + ")" * 700, "a = :v AND " * 500 + "a = :v"])
def test_a_deeply_nested_condition_answers_as_ministack(cached, expression):
    item, refs = {"a": {"S": "x"}}, {":v": {"S": "x"}}
    expected = outcome(cached["_evaluate_condition"], expression, item, refs, {})
    assert outcome(dynamodb._evaluate_condition, expression, item, refs, {}) == expected


VALIDATIONS = [
    ({"UpdateExpression": "SET #a = :a", "ExpressionAttributeNames": {"#a": "a"},
      "ExpressionAttributeValues": {":a": {"S": "x"}}}, ("ConditionExpression", "UpdateExpression"), "envelope"),
    ({"UpdateExpression": "SET #a = :a", "ExpressionAttributeNames": {"#a": "a"},
      "ExpressionAttributeValues": {":a": {"S": "x"}, ":unused": {"S": "y"}}}, ("UpdateExpression",), "envelope"),
    ({"UpdateExpression": "SET #a = :a", "ExpressionAttributeValues": {":a": {"S": "x"}}}, ("UpdateExpression",), "figure"),
    ({"FilterExpression": "#a = :a", "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {}},
     ("FilterExpression",), "figure"),
    ({"ExpressionAttributeValues": {":a": {"S": "x"}}}, ("FilterExpression",), "figure"),
    ({"ConditionExpression": "#a = :a" + " " * 5000, "ExpressionAttributeNames": {"#a": "a"},
      "ExpressionAttributeValues": {":a": {"S": "x"}}}, ("ConditionExpression",), {"ConditionExpression": "envelope"}),
    ({"ConditionExpression": 7, "ExpressionAttributeValues": {":a": {"S": "x"}}}, ("ConditionExpression",), "figure"),
    ({"ConditionExpression": "a = :a", "ExpressionAttributeValues": [":a"]}, ("ConditionExpression",), "figure"),
]


@pytest.mark.parametrize("request_body, fields, wording", VALIDATIONS)
def test_names_and_values_are_checked_as_ministack_checks_them(cached, request_body, fields, wording):
    expected = outcome(cached["_validate_expression_attrs"], request_body, fields, wording)
    for _ in range(2):  # the second answer may come from memory
        assert outcome(dynamodb._validate_expression_attrs, request_body, fields, wording) == expected


def test_a_passed_shape_is_remembered_and_a_new_value_is_checked_again(cached, monkeypatch):
    calls = []
    original = cached["_validate_expression_attrs"]
    monkeypatch.setattr(dynamodb, "_validate_expression_attrs", lambda *args: calls.append(args) or original(*args))
    expression_plans.install(dynamodb, 8)
    body, fields, wording = VALIDATIONS[0]
    for _ in range(3):
        assert dynamodb._validate_expression_attrs(body, fields, wording) is None
    unused = {**body, "ExpressionAttributeValues": {**body["ExpressionAttributeValues"], ":unused": {"S": "y"}}}
    assert dynamodb._validate_expression_attrs(unused, fields, wording) is not None
    assert len(calls) == 2


def test_the_api_write_is_planned_not_left_to_ministack(cached, monkeypatch):
    """The API's own condition and update run as plans: MiniStack's functions are not called."""
    _, make = the_api_write("Tbl", json.dumps({"n": 1}))
    write = json.loads(make())
    assert expression_plans.names_key(write["ExpressionAttributeNames"]) is not None
    names = dict(write["ExpressionAttributeNames"])
    assert expression_plans.plan_update(dynamodb, write["UpdateExpression"], names) is not None
    tokens = dynamodb._tokenize(write["ConditionExpression"])
    assert expression_plans.plan_condition(dynamodb, tokens, names) is not None
    calls = []
    for name in ("_evaluate_condition", "_apply_update_expression"):
        monkeypatch.setattr(dynamodb, name, lambda *args, _f=cached[name], **kw: calls.append(args) or _f(*args, **kw))
    expression_plans.install(dynamodb, 8)
    values = write["ExpressionAttributeValues"]
    assert dynamodb._evaluate_condition(write["ConditionExpression"], {}, values, names)
    item, targets = dynamodb._apply_update_expression(dict(write["Key"]), write["UpdateExpression"], values, names)
    assert item == {**write["Key"], "body": values[":b"], "accepted_at": values[":a"], "status": values[":s"]}
    assert targets == {("body",), ("accepted_at",), ("status",)}
    assert calls == []


@pytest.mark.parametrize("expression", ["SET a.b = :v", "REMOVE a", "SET a = :v + :w", "SET a = b",
                                        "SET #a = :v SET b = :v", "SET status = :v", "SET a = (:v)"])
def test_updates_plans_do_not_cover_are_left_to_ministack(expression):
    with pytest.raises(expression_plans.Unplanned):
        expression_plans.plan_update(dynamodb, expression, {"#a": "a"})


@pytest.mark.parametrize("expression", ["a BETWEEN :v AND :w", "a IN (:v, :w)", "size(a) > :v",
                                        "begins_with(a, :v)", "NOT contains(a, :v)", "a = :v b"])
def test_conditions_plans_do_not_cover_are_left_to_ministack(expression):
    with pytest.raises(expression_plans.Unplanned):
        expression_plans.plan_condition(dynamodb, dynamodb._tokenize(expression), {"#a": "a"})
