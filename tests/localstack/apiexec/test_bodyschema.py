"""Request body validation compiled from the schema gives jsonschema's answers, and leaves to
jsonschema every schema it does not handle."""
from __future__ import annotations

import json

import jsonschema
import pytest
from hypothesis import given, settings, strategies as st
from referencing import Registry

from streamlab.localstack.apiexec.bodyschema import body_validator, compile_checks
from streamlab.provision.apispec import load_api_spec

NAMES = st.sampled_from(["a", "b", "fail", "sleep_ms", "x y", ""])
TYPES = ["array", "boolean", "integer", "null", "number", "object", "string"]
NUMBERS = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.sampled_from([0.5, 2.0, -1.0]))
JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=True, allow_infinity=False),
              st.text(max_size=4), st.sampled_from(["ab", "aaa", "", "1", "x y"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(NAMES, inner, max_size=4)),
    max_leaves=12,
)


def _schemas(inner: st.SearchStrategy) -> st.SearchStrategy:
    keyword = st.one_of(
        st.tuples(st.just("type"), st.one_of(st.sampled_from(TYPES), st.lists(st.sampled_from(TYPES), max_size=3))),
        st.tuples(st.just("properties"), st.dictionaries(NAMES, inner, max_size=3)),
        st.tuples(st.just("required"), st.lists(NAMES, max_size=3)),
        st.tuples(st.just("additionalProperties"), st.one_of(st.booleans(), inner)),
        st.tuples(st.just("items"), st.one_of(inner, st.lists(inner, max_size=3))),
        st.tuples(st.sampled_from(["minLength", "maxLength", "minItems", "maxItems"]), st.integers(0, 4)),
        st.tuples(st.sampled_from(["minimum", "maximum"]), NUMBERS),
        st.tuples(st.sampled_from(["exclusiveMinimum", "exclusiveMaximum"]), st.sampled_from([True, False, 1, 0])),
        st.tuples(st.just("pattern"), st.sampled_from(["^a", "b$", "a+", "^$", "\\d"])),
        st.tuples(st.sampled_from(["title", "description", "x-note", "format"]), st.just("ignored")),
    )
    return st.lists(keyword, max_size=5).map(dict)


SCHEMAS = st.recursive(st.just({}), _schemas, max_leaves=8)


@settings(max_examples=600)
@given(SCHEMAS, st.lists(JSON, min_size=1, max_size=5))
def test_compiled_checks_answer_as_jsonschema_does(schema, documents):
    check = compile_checks(schema)
    assert check is not None, schema  # everything generated here is in the handled part
    reference = jsonschema.Draft4Validator(schema)
    for document in documents:
        assert check(document) == reference.is_valid(document), (schema, document)


@pytest.mark.parametrize("schema, document, valid", [
    ({"type": "integer"}, True, False),  # a bool is no integer...
    ({"type": "number"}, False, False),  # ... nor a number
    ({"type": "integer"}, 1.0, False),  # draft 4: 1.0 is a number, not an integer
    ({"minimum": 0}, float("nan"), True),  # jsonschema's comparison: NaN is never below
    ({"minimum": 1, "exclusiveMinimum": True}, 1, False),
    ({"maximum": 1, "exclusiveMaximum": 1}, 1, False),  # any truthy value makes it exclusive
    ({"minimum": 5}, "text", True),  # a limit applies to its own type only
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}, False),
    ({"additionalProperties": {"type": "string"}}, {"a": "x", "b": 1}, False),
    ({"items": [{"type": "string"}, {"type": "integer"}]}, ["x", 1, None], True),  # tuple form: the rest is free
    ({"items": [{"type": "string"}, {"type": "integer"}]}, [1], False),
    ({"required": ["a"], "x-anything": {"$ref": "#/nowhere"}}, {"a": 1}, True),  # unknown keys are ignored
    ({"pattern": "b$"}, "ab", True),  # a search, not a match
])
def test_the_edges_jsonschema_draws(schema, document, valid):
    check = compile_checks(schema)
    assert check is not None
    assert check(document) is valid is jsonschema.Draft4Validator(schema).is_valid(document)


@pytest.mark.parametrize("schema", [
    {"$ref": "#/definitions/a", "definitions": {"a": {"type": "string"}}},
    {"enum": [1, True]},  # jsonschema tells 1 from True here
    {"anyOf": [{"type": "string"}]},
    {"properties": {"a": {"oneOf": [{"type": "string"}]}}},
    {"patternProperties": {"^a": {}}, "additionalProperties": False},
    {"type": "any"},  # draft 3: jsonschema raises UnknownType
    {"minLength": "3"},
    {"pattern": "("},
    {"items": True},
    {"required": True},
])
def test_a_schema_outside_the_handled_part_is_left_to_jsonschema(schema):
    assert compile_checks(schema) is None
    validator = body_validator(schema, Registry())
    assert validator.__self__.schema is schema  # type: ignore[attr-defined]  # jsonschema's own is_valid


def test_a_ref_to_another_model_is_followed_by_jsonschema():
    uri = "https://apigateway.amazonaws.com/restapis/a1/models/Inner"
    registry = Registry().with_resource(uri, jsonschema.validators.referencing.Resource.from_contents(
        {"type": "string"}, default_specification=jsonschema.validators.referencing.jsonschema.DRAFT4))
    validator = body_validator({"properties": {"inner": {"$ref": uri}}}, registry)
    assert validator({"inner": "x"}) and not validator({"inner": 1})


def test_the_deployed_model_is_compiled_and_keeps_its_answers():
    model = next(m for m in load_api_spec().models if m.name == "RequestBody")
    check = compile_checks(json.loads(model.schema))
    assert check is not None
    assert check({"any": "thing"}) and check({"fail": "poison", "sleep_ms": 10}) and check({"fail": 2})
    for bad in ([1, 2], "text", 3, None, {"sleep_ms": -1}, {"fail": 1.5}, {"sleep_ms": True}):
        assert not check(bad), bad
