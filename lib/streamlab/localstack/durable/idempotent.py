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

The expression is read as MiniStack reads it (its tokenizer and comma split, and the document
paths of `expression_plans`). The legacy AttributeUpdates form is safe when every action is PUT
or DELETE. Anything this module cannot read is treated as unsafe: the recovery then names the
write as lost.
"""
from __future__ import annotations

import importlib
import json
from typing import Mapping

from streamlab.localstack.expression_plans import CLAUSES, Unplanned, read_path

_SAFE_LEGACY_ACTIONS = ("PUT", "DELETE")
_MINISTACK_MAP_KEY = "M"

Token = tuple[str, str]
Path = list[str | int]


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
    except (ValueError, TypeError, AttributeError, Unplanned, _Unsafe):
        return False


def _legacy_is_idempotent(updates: Mapping) -> bool:
    return all(str(update.get("Action", "PUT")).upper() in _SAFE_LEGACY_ACTIONS for update in updates.values())


def _check_expression(expression: str, names: Mapping[str, str]) -> None:
    # Read as MiniStack reads it (imported here: only a recovery asks).
    dynamodb = importlib.import_module("ministack.services.dynamodb")
    tokens = [token for token in dynamodb._tokenize(expression) if token[0] != "EOF"]
    if any(kind == "NAME_REF" and text not in names for kind, text in tokens):
        raise _Unsafe("an undefined name")
    targets: list[Path] = []
    for clause, clause_tokens in _clauses(tokens):
        if clause not in ("SET", "REMOVE"):
            raise _Unsafe(clause)
        for action in dynamodb._split_by_comma(clause_tokens):
            target = _set_target(action, names) if clause == "SET" else _place(action, names)
            if clause == "SET" and target[0] == _MINISTACK_MAP_KEY:
                raise _Unsafe("MiniStack's M quirk")
            targets.append(target)
    for i, first in enumerate(targets):
        for second in targets[i + 1:]:
            shorter = min(len(first), len(second))
            if first[:shorter] == second[:shorter]:
                raise _Unsafe("overlapping paths")


def _clauses(tokens: list[Token]) -> list[tuple[str, list[Token]]]:
    """[(clause keyword, its tokens)], every clause kept (MiniStack keeps the last of a repeated one)."""
    clauses: list[tuple[str, list[Token]]] = []
    for kind, text in tokens:
        if kind == "IDENT" and text.upper() in CLAUSES:
            clauses.append((text.upper(), []))
        elif not clauses:
            raise _Unsafe(text)
        else:
            clauses[-1][1].append((kind, text))
    return clauses


def _set_target(action: list[Token], names: Mapping[str, str]) -> Path:
    equals = [i for i, (kind, _) in enumerate(action) if kind == "EQ"]
    if len(equals) != 1:
        raise _Unsafe("not one =")
    target, source = _place(action[:equals[0]], names), action[equals[0] + 1:]
    if len(source) == 1 and source[0][0] == "VALUE_REF":
        return target
    if (len(source) >= 6 and source[0][0] == "IDENT" and source[0][1].lower() == "if_not_exists"
            and source[1][0] == "LPAREN" and source[-3][0] == "COMMA" and source[-2][0] == "VALUE_REF"
            and source[-1][0] == "RPAREN" and _place(source[2:-3], names) == target):
        return target
    raise _Unsafe("a value read from the item")


def _place(tokens: list[Token], names: Mapping[str, str]) -> Path:
    """A document path without list indexes (REMOVE l[0] twice removes two elements)."""
    path = read_path(tokens, dict(names))
    if any(isinstance(part, int) for part in path):
        raise _Unsafe("a list index")
    return path
