"""Hypothesis strategies of DynamoDB items and expressions, and how to compare what MiniStack made of them."""
from __future__ import annotations

import copy

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

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


def as_text(value):
    if isinstance(value, tuple):
        return tuple(as_text(part) for part in value)
    return sorted(map(repr, value)) if isinstance(value, set) else repr(value)


def outcome(function, *args):
    """What a call returns or raises, and what it left of its arguments (given fresh copies: MiniStack
    puts request values into the item by reference, and its "M" quirk can then write into them).
    As text: such an item can hold itself, and == would recurse."""
    args = copy.deepcopy(args)
    try:
        answer = "returned", as_text(function(*args))
    except Exception as exc:  # noqa: BLE001 - the same failure, whatever it is
        answer = "raised", type(exc), str(exc)
    return answer, as_text(args)


PLENTY = settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
