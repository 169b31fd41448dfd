"""Request body validation (A5): the plain part of JSON Schema draft 4 as checks made once.

API Gateway checks a request body against the method's model, a draft 4 schema. jsonschema
walks the schema keyword by keyword for every document: 5-8 us a request for the suite's small
model, on the front door's hot path. A schema that uses only the keywords handled here (type,
properties, required, additionalProperties, items, the length, size and range limits, pattern)
becomes one predicate when the API is loaded; a schema with anything else ($ref, enum, anyOf,
patternProperties, ...) is checked by jsonschema as before. The answers are jsonschema's: a test
compares both on generated schemas and documents.

The predicates take what `json.loads` makes (dict, list, str, int, float, bool, None).
"""
from __future__ import annotations

import re
import sys
from typing import Any, Callable

# jsonschema imports rfc3987_syntax when it is installed (JupyterLab's dependencies install it),
# for its "iri" format checker, which builds 38 parsers at import: about 1 s of every front door
# start. The validators here are given no format checker, so a process that imports jsonschema
# here first goes without that one, which it would never use.
if "jsonschema" not in sys.modules:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
import jsonschema  # noqa: E402
from referencing import Registry  # noqa: E402

Check = Callable[[Any], bool]

_TYPES: dict[str, Check] = {
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}
# Keywords draft 4 gives a meaning; any other key in a schema (title, x-anything) is ignored, as
# jsonschema ignores it.
_DRAFT4_KEYWORDS = frozenset(jsonschema.Draft4Validator.VALIDATORS)


def body_validator(schema: Any, registry: Registry) -> Check:
    """True when `document` is valid against `schema`: compiled checks, or jsonschema's own."""
    return compile_checks(schema) or jsonschema.Draft4Validator(schema, registry=registry).is_valid


def compile_checks(schema: Any) -> Check | None:
    """`schema` as one predicate, or None if it uses anything this module does not handle."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return None
    checks = []
    for keyword, value in schema.items():
        if keyword not in _DRAFT4_KEYWORDS:
            continue
        make = _MAKERS.get(keyword)
        check = make(value, schema) if make is not None else None
        if check is None:
            return None
        checks.append(check)
    return _all_of(checks)


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]

    def check(v: Any) -> bool:
        for each in checks:
            if not each(v):
                return False
        return True

    return check


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type(value: Any, schema: dict[str, Any]) -> Check | None:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n in _TYPES for n in names):
        return None  # jsonschema raises UnknownType: leave that to it
    tests = [_TYPES[n] for n in names]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(test(v) for test in tests)


def _properties(value: Any, schema: dict[str, Any]) -> Check | None:
    if not isinstance(value, dict):
        return None
    subs = {name: compile_checks(sub) for name, sub in value.items()}
    if any(sub is None for sub in subs.values()):
        return None
    pairs = tuple(subs.items())

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for name, sub in pairs:
            if name in v and not sub(v[name]):  # type: ignore[misc]
                return False
        return True

    return check


def _required(value: Any, schema: dict[str, Any]) -> Check | None:
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        return None
    names = tuple(value)
    return lambda v: not isinstance(v, dict) or all(name in v for name in names)


def _additional_properties(value: Any, schema: dict[str, Any]) -> Check | None:
    known = schema.get("properties", {})
    if "patternProperties" in schema or not isinstance(known, dict):
        return None
    if isinstance(value, dict):
        sub = compile_checks(value)
        if sub is None:
            return None
        return lambda v: not isinstance(v, dict) or all(sub(v[k]) for k in v if k not in known)
    if not value:
        return lambda v: not isinstance(v, dict) or all(k in known for k in v)
    return lambda v: True


def _items(value: Any, schema: dict[str, Any]) -> Check | None:
    if isinstance(value, dict):
        sub = compile_checks(value)
        if sub is None:
            return None
        return lambda v: not isinstance(v, list) or all(sub(item) for item in v)
    if isinstance(value, list):
        subs = [compile_checks(each) for each in value]
        if any(sub is None for sub in subs):
            return None
        return lambda v: not isinstance(v, list) or all(sub(item) for item, sub in zip(v, subs))  # type: ignore[misc]
    return None


def _size(applies: Check, longest: bool) -> Callable[[Any, dict[str, Any]], Check | None]:
    def make(value: Any, schema: dict[str, Any]) -> Check | None:
        if not _is_number(value):
            return None
        if longest:
            return lambda v: not applies(v) or not len(v) > value
        return lambda v: not applies(v) or not len(v) < value

    return make


def _minimum(value: Any, schema: dict[str, Any]) -> Check | None:
    if not _is_number(value):
        return None
    if schema.get("exclusiveMinimum", False):
        return lambda v: not _is_number(v) or not v <= value
    return lambda v: not _is_number(v) or not v < value


def _maximum(value: Any, schema: dict[str, Any]) -> Check | None:
    if not _is_number(value):
        return None
    if schema.get("exclusiveMaximum", False):
        return lambda v: not _is_number(v) or not v >= value
    return lambda v: not _is_number(v) or not v > value


def _pattern(value: Any, schema: dict[str, Any]) -> Check | None:
    if not isinstance(value, str):
        return None
    try:
        search = re.compile(value).search
    except re.error:
        return None
    return lambda v: not isinstance(v, str) or search(v) is not None


def _format(value: Any, schema: dict[str, Any]) -> Check:
    return lambda v: True  # no format checker, as the jsonschema validators here had none


_MAKERS: dict[str, Callable[[Any, dict[str, Any]], Check | None]] = {
    "format": _format,
    "type": _type,
    "properties": _properties,
    "required": _required,
    "additionalProperties": _additional_properties,
    "items": _items,
    "minLength": _size(_TYPES["string"], longest=False),
    "maxLength": _size(_TYPES["string"], longest=True),
    "minItems": _size(_TYPES["array"], longest=False),
    "maxItems": _size(_TYPES["array"], longest=True),
    "minimum": _minimum,
    "maximum": _maximum,
    "pattern": _pattern,
}
