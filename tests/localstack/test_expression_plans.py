"""Planned condition and update expressions answer as MiniStack's own functions do."""
from __future__ import annotations

import copy
import importlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlab.bench.api import the_api_write
from streamlab.localstack import expression_plans

dynamodb = importlib.import_module("ministack.services.dynamodb")

SLOTS = ("ConditionExpression", "FilterExpression", "KeyConditionExpression")
ATTRIBUTES = ("a", "b", "l", "m", "status", "n-1", "M")  # "status" is reserved; "M" meets a MiniStack quirk
ALIASES = ("#a", "#b", "#l", "#m", "#x")

scalars = st.one_of(
    st.builds(lambda s: {"S": s}, st.sampled_from(["", "x", "y", "é"])),
    st.builds(lambda n: {"N": n}, st.sampled_from(["0", "1", "-2.5", "10"])),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(lambda b: {"B": b}, st.sampled_from(["AAEC", "AA=="])),
    st.builds(lambda s: {"SS": s}, st.sampled_from([["a"], ["a", "b"]])),
)
attribute_values = st.recursive(scalars, lambda inner: st.one_of(
    st.builds(lambda xs: {"L": xs}, st.lists(inner, max_size=3)),
    st.builds(lambda m: {"M": m}, st.dictionaries(st.sampled_from(["k", "j"]), inner, max_size=2)),
), max_leaves=5)
items = st.dictionaries(st.sampled_from(ATTRIBUTES), attribute_values, max_size=5)
values = st.dictionaries(st.sampled_from([":v0", ":v1", ":v2"]), attribute_values, max_size=3)
names = st.one_of(st.dictionaries(st.sampled_from(ALIASES[:4]), st.sampled_from(ATTRIBUTES), max_size=4),
                  st.just(None))

# Most generated expressions are of the forms plans cover (so plans are compared, not only the
# fallback); the rest mix in what they leave to MiniStack, and what MiniStack refuses.
plain_name = st.sampled_from(["#a", "#b", "#l", "#m", "a", "b", "l", "m"])
name = st.sampled_from(["#a", "#b", "#l", "#m", "a", "b", "l", "m", "#a", "a", *ALIASES, *ATTRIBUTES])
path = st.one_of(name, st.builds("{}.{}".format, name, st.sampled_from(["k", "#a"])),
                 st.builds("{}[{}]".format, name, st.sampled_from(["0", "1", "0", "1", "1.5"])))
value_ref = st.sampled_from([":v0", ":v1", ":v2", ":v3"])
comparator = st.sampled_from(["=", "<>", "<", ">", "<=", ">="])
planned_operand = st.one_of(path, value_ref)
planned_primary = st.one_of(
    st.builds("{} {} {}".format, planned_operand, comparator, planned_operand),
    st.builds("attribute_exists({})".format, path), st.builds("attribute_not_exists({})".format, path),
)
other_primary = st.one_of(
    path, st.builds("size({}) {} {}".format, path, comparator, value_ref),
    st.builds("begins_with({}, {})".format, path, value_ref), st.builds("contains({}, {})".format, path, value_ref),
    st.builds("{} BETWEEN {} AND {}".format, path, value_ref, value_ref),
    st.builds("{} IN ({}, {})".format, path, value_ref, value_ref),
)


def _mostly(planned: st.SearchStrategy[str], other: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Three draws in four from `planned` (st.one_of would merge repeated branches into one)."""
    return st.sampled_from([planned, planned, planned, other]).flatmap(lambda strategy: strategy)


def _joined(primary: st.SearchStrategy[str], broken: bool = False) -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        forms = [st.builds("{} AND {}".format, inner, inner), st.builds("{} OR {}".format, inner, inner),
                 st.builds("{} and {}".format, inner, inner), st.builds("{} Or {}".format, inner, inner),
                 st.builds("NOT {}".format, inner), st.builds("({})".format, inner)]
        if broken:
            forms.append(st.builds("{} {}".format, inner, st.sampled_from(["AND", ")", ":v0"])))
        return st.one_of(*forms)
    return st.recursive(primary, extend, max_leaves=5)


planned_condition = _joined(planned_primary)
conditions = _mostly(planned_condition, _joined(st.one_of(planned_primary, other_primary), broken=True))

planned_value = st.one_of(value_ref, st.builds("if_not_exists({}, {})".format, plain_name, value_ref),
                          st.builds("IF_NOT_EXISTS({}, {})".format, name, value_ref))
other_value = st.one_of(path, st.builds("{} + {}".format, value_ref, value_ref),
                        st.builds("list_append({}, {})".format, path, value_ref), st.builds("({})".format, value_ref))
planned_update = st.builds(lambda keyword, parts: f"{keyword} " + ", ".join(parts), st.sampled_from(["SET", "set"]),
                           st.lists(st.builds("{} = {}".format, st.one_of(plain_name, name), planned_value),
                                    min_size=1, max_size=4))
updates = _mostly(planned_update, st.one_of(
    st.builds("SET {} = {}".format, path, st.one_of(planned_value, other_value)),
    st.builds("{} REMOVE {}".format, planned_update, path), st.builds("REMOVE {}".format, path),
    st.builds("ADD {} {}".format, name, value_ref), st.builds("{} SET {} = {}".format, planned_update, name, value_ref),
    st.builds("{},".format, planned_update),
))


def _text(value):
    if isinstance(value, tuple):
        return tuple(_text(part) for part in value)
    return sorted(map(repr, value)) if isinstance(value, set) else repr(value)


def _outcome(function, *args):
    """What a call returns or raises, and what it left of its arguments (given fresh copies: MiniStack
    puts request values into the item by reference, and its "M" quirk can then write into them).
    As text: such an item can hold itself, and == would recurse."""
    args = copy.deepcopy(args)
    try:
        answer = "returned", _text(function(*args))
    except Exception as exc:  # noqa: BLE001 - the same failure, whatever it is
        answer = "raised", type(exc), str(exc)
    return answer, _text(args)


PLENTY = settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PLENTY
@given(expression=conditions, item=items, refs=values, aliases=names, slot=st.sampled_from(SLOTS))
def test_a_planned_condition_answers_as_ministack(cached, expression, item, refs, aliases, slot):
    expected = _outcome(cached["_evaluate_condition"], expression, item, refs, aliases, slot)
    for _ in range(2):  # the second answer comes from the plan
        assert _outcome(dynamodb._evaluate_condition, expression, item, refs, aliases, slot) == expected


@PLENTY
@given(expression=updates, item=items, refs=values, aliases=names, seen=st.sets(st.just(("old",))))
def test_a_planned_update_applies_as_ministack(cached, expression, item, refs, aliases, seen):
    """Also the same targets added to the caller's set (it reads a key-attribute refusal from them)."""
    expected = _outcome(cached["_apply_update_expression"], item, expression, refs, aliases, seen)
    for _ in range(2):
        assert _outcome(dynamodb._apply_update_expression, item, expression, refs, aliases, seen) == expected


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
    expected = _outcome(cached["_evaluate_condition"], expression, item, refs, {})
    assert _outcome(dynamodb._evaluate_condition, expression, item, refs, {}) == expected


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
    expected = _outcome(cached["_validate_expression_attrs"], request_body, fields, wording)
    for _ in range(2):  # the second answer may come from memory
        assert _outcome(dynamodb._validate_expression_attrs, request_body, fields, wording) == expected


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
