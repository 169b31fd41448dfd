"""Which acknowledged UpdateItem calls a recovery may send again: those whose update leaves the
same item however often it is applied.

An update is replayed on a state that may already hold it (the journal's overlap before the
snapshot), so "applied twice = applied once" is what makes a replay safe. That holds when every
action overwrites or removes a whole, named place with a value the request carries:

    SET path = :v                          yes
    SET path = if_not_exists(path, :v)     yes (the same path on both sides)
    REMOVE path                            yes
    a list index anywhere ([n])            no: REMOVE l[0] twice removes two elements, and a
                                           SET past the end appends again
    SET a = b, a = b + :n, list_append     no: the value read may be one this update wrote
    ADD, DELETE                            no: ADD n :one counts twice
    two actions on overlapping paths       no
    SET of a top-level attribute named M   no: MiniStack writes a SET on an item holding an
                                           attribute M into that attribute, so the second
                                           run nests M in itself

The legacy AttributeUpdates form is safe when every action is PUT or DELETE. Anything this
module cannot read is treated as unsafe: the recovery then names the write as lost.
"""
from __future__ import annotations

import json
import re
from typing import Mapping

_TOKEN = re.compile(r"\s*(?:(?P<name>#?[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)|(?P<mark>[\[\]().,=+\-]))")
_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_SAFE_LEGACY_ACTIONS = ("PUT", "DELETE")
_MINISTACK_MAP_KEY = "M"

Path = tuple[str, ...]


class _Unsafe(Exception):
    """The update may change the item again when applied twice (or cannot be read)."""


def update_is_idempotent(body: str) -> bool:
    """Whether the UpdateItem request `body` (JSON text) may be applied again without harm."""
    try:
        request = json.loads(body)
        if not isinstance(request, dict):
            return False
        expression, legacy = request.get("UpdateExpression"), request.get("AttributeUpdates")
        if expression is not None and legacy is not None:
            return False
        if legacy is not None:
            return _legacy_is_idempotent(legacy)
        if expression is None:
            return True  # only makes sure the key exists
        _check_expression(expression, request.get("ExpressionAttributeNames") or {})
        return True
    except (ValueError, TypeError, AttributeError, _Unsafe):
        return False


def _legacy_is_idempotent(updates: Mapping) -> bool:
    return all(str(update.get("Action", "PUT")).upper() in _SAFE_LEGACY_ACTIONS for update in updates.values())


def _check_expression(expression: str, names: Mapping[str, str]) -> None:
    targets: list[Path] = []
    for clause, actions in _clauses(_tokens(expression)):
        if clause not in ("SET", "REMOVE"):
            raise _Unsafe(clause)
        for action in actions:
            targets.append(_set_target(action, names) if clause == "SET" else _path(action, names))
            if clause == "SET" and targets[-1][0] == _MINISTACK_MAP_KEY:
                raise _Unsafe("MiniStack's M quirk")
    for i, first in enumerate(targets):
        for second in targets[i + 1:]:
            shorter = min(len(first), len(second))
            if first[:shorter] == second[:shorter]:
                raise _Unsafe("overlapping paths")


def _tokens(expression: str) -> list[tuple[str, str]]:
    tokens, at = [], 0
    expression = expression.rstrip()
    while at < len(expression):
        match = _TOKEN.match(expression, at)
        if match is None:
            raise _Unsafe(expression[at:])
        tokens.append(next((kind, text) for kind, text in match.groupdict().items() if text is not None))
        at = match.end()
    return tokens


def _clauses(tokens: list[tuple[str, str]]) -> list[tuple[str, list[list[tuple[str, str]]]]]:
    """[(clause keyword, [action tokens split at top-level commas])]."""
    clauses: list[tuple[str, list[list[tuple[str, str]]]]] = []
    depth = 0
    for kind, text in tokens:
        if kind == "name" and text.upper() in _CLAUSES:
            clauses.append((text.upper(), [[]]))
            continue
        if not clauses:
            raise _Unsafe(text)
        depth += {"(": 1, ")": -1}.get(text, 0) if kind == "mark" else 0
        if kind == "mark" and text == "," and depth == 0:
            clauses[-1][1].append([])
        else:
            clauses[-1][1][-1].append((kind, text))
    return clauses


def _set_target(action: list[tuple[str, str]], names: Mapping[str, str]) -> Path:
    marks = [i for i, (kind, text) in enumerate(action) if kind == "mark" and text == "="]
    if len(marks) != 1:
        raise _Unsafe("not one =")
    target, source = _path(action[:marks[0]], names), action[marks[0] + 1:]
    if len(source) == 1 and source[0][0] == "value":
        return target
    if (len(source) >= 6 and source[0][0] == "name" and source[0][1].lower() == "if_not_exists"
            and source[1] == ("mark", "(") and source[-3] == ("mark", ",") and source[-2][0] == "value"
            and source[-1] == ("mark", ")") and _path(source[2:-3], names) == target):
        return target
    raise _Unsafe("a value read from the item")


def _path(tokens: list[tuple[str, str]], names: Mapping[str, str]) -> Path:
    """name(.name)*, with #aliases resolved; anything else (list indexes included) is unsafe."""
    if not tokens or len(tokens) % 2 == 0:
        raise _Unsafe("not a path")
    parts = []
    for i, (kind, text) in enumerate(tokens):
        if i % 2 == 1:
            if (kind, text) != ("mark", "."):
                raise _Unsafe("not a path")
        elif kind != "name":
            raise _Unsafe("not a path")
        elif text.startswith("#"):
            if text not in names:
                raise _Unsafe(f"{text} is not defined")
            parts.append(str(names[text]))
        else:
            parts.append(text)
    return tuple(parts)
