"""Which UpdateItem calls a recovery replays: only those MiniStack leaves unchanged when applied again."""
from __future__ import annotations

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamlab.bench.api import the_api_write
from streamlab.localstack.durable.idempotent import update_is_idempotent

from .expressions import ATTRIBUTES, PLENTY, as_text, attribute_values, items, value_ref


def _request(expression: str, aliases: dict | None = None, **more) -> str:
    return json.dumps({"TableName": "t", "Key": {"id": {"S": "k"}}, "UpdateExpression": expression,
                       "ExpressionAttributeNames": aliases or {}, **more})


PROCESSOR_FAILURE = "SET #s = :failed, #r = :reason, #n = :attempts, #t = if_not_exists(#t, :now)"
FAILURE_NAMES = {"#s": "status", "#r": "reason", "#n": "attempts", "#t": "failed_at"}


@pytest.mark.parametrize("body, safe", [
    (_request(PROCESSOR_FAILURE, FAILURE_NAMES), True),
    (_request("set a = :v remove b, c.d"), True),
    (_request("SET a.b = :v, a.c = if_not_exists(a.c, :w)"), True),
    (_request("SET #x = if_not_exists(x, :v)", {"#x": "x"}), True),  # the same attribute, named two ways
    (json.dumps({"TableName": "t", "Key": {}, "AttributeUpdates": {"a": {"Value": {"S": "x"}}, "b": {"Action": "DELETE"}}}), True),
    (json.dumps({"TableName": "t", "Key": {}}), True),
    (_request("ADD #a :one", {"#a": "attempts"}), False),  # the processor's attempt count
    (_request("DELETE s :x"), False),
    (_request("SET a = :v ADD n :one"), False),
    (_request("SET n = n + :one"), False),
    (_request("SET l = list_append(l, :v)"), False),
    (_request("SET a = b"), False),
    (_request("SET a = if_not_exists(b, :v)"), False),
    (_request("SET a = if_not_exists(b, :v), b = :w"), False),  # the second time, a reads the b it wrote
    (_request("REMOVE l[0]"), False),
    (_request("SET l[3] = :v"), False),
    (_request("SET a = :v, a.b = :w"), False),
    (_request("SET a = :v REMOVE a"), False),
    (_request("SET #x = :v", {"#y": "x"}), False),
    (_request("SET a = (:v)"), False),
    (_request("SET a = :v,"), True),  # MiniStack reads it as SET a = :v
    (_request("SET a = :v, b"), False),
    (_request("SET #m = :v", {"#m": "M"}), False),  # MiniStack's quirk nests M in itself the second time
    (_request("SET a.M = :v"), True),
    (_request("SET a = :v ; DROP"), False),
    (json.dumps({"TableName": "t", "Key": {}, "AttributeUpdates": {"n": {"Action": "ADD", "Value": {"N": "1"}}}}), False),
    (_request("SET a = :v", AttributeUpdates={}), False),
    ("{not json", False),
    ("[]", False),
])
def test_what_may_be_applied_twice(body, safe):
    assert update_is_idempotent(body) is safe


def test_the_apis_own_write_may_be_replayed():
    _, make = the_api_write("Tbl", json.dumps({"n": 1}))
    assert update_is_idempotent(make())


# Places that mostly exist in the items below, so that most candidates are ones MiniStack applies.
place = st.sampled_from(["a", "b", "#a", "#b", "#x", "m.k", "#m.k", "m.#a", "l[0]", "l[1]", "#l[1]"])
all_values = st.fixed_dictionaries({ref: attribute_values for ref in (":v0", ":v1", ":v2", ":v3")})
all_names = st.fixed_dictionaries({"#a": st.sampled_from(ATTRIBUTES), "#b": st.sampled_from(ATTRIBUTES),
                                   "#x": st.sampled_from(ATTRIBUTES), "#m": st.just("m"), "#l": st.just("l")})
with_map_and_list = st.builds(lambda item, m, l: {**item, "m": {"M": m}, "l": {"L": l}}, items,
                              st.dictionaries(st.sampled_from(["k", "j"]), attribute_values, max_size=2),
                              st.lists(attribute_values, min_size=2, max_size=3))
assignments = st.one_of(
    st.builds("{0} = {1}".format, place, value_ref),
    st.builds("{0} = if_not_exists({0}, {1})".format, place, value_ref),
    st.builds("{} = if_not_exists({}, {})".format, place, place, value_ref),
    st.builds("{} = {}".format, place, place),
    st.builds("{0} = {0} + {1}".format, place, value_ref),
    st.builds("{0} = list_append({0}, {1})".format, place, value_ref),
)


def _update(sets: list[str], removes: list[str], adds: list[str]) -> str:
    clauses = (("SET", sets), ("REMOVE", removes), ("ADD", adds))
    return " ".join(f"{keyword} {', '.join(actions)}" for keyword, actions in clauses if actions) or "SET a = :v0"


candidates = st.builds(_update, st.lists(assignments, max_size=3), st.lists(place, max_size=2),
                       st.lists(st.builds("{} {}".format, place, value_ref), max_size=1))


@PLENTY
@given(expression=candidates, item=with_map_and_list, refs=all_values, aliases=all_names)
def test_an_update_called_safe_leaves_what_it_left_when_ministack_applies_it_again(cached, expression, item, refs,
                                                                                   aliases):
    if not update_is_idempotent(_request(expression, aliases, ExpressionAttributeValues=refs)):
        return
    apply = cached["_apply_update_expression"]
    try:
        once, _ = apply(copy.deepcopy(item), expression, copy.deepcopy(refs), aliases)
    except Exception:  # noqa: BLE001 - MiniStack refused it: it was never acknowledged, so never replayed
        return
    twice, _ = apply(copy.deepcopy(once), expression, copy.deepcopy(refs), aliases)
    assert as_text(twice) == as_text(once)
