"""MiniStack's condition and update expressions, read once per expression and run as plans.

On every call MiniStack grammar-checks a ConditionExpression and walks its tokens
(`_evaluate_condition`), checks an UpdateExpression, splits it into clauses and walks each
assignment's tokens (`_apply_update_expression`), and scans both with regular expressions for
names and values used and defined (`_validate_expression_attrs`). All of that depends on the
expression and its names, not on the item or the values. So a plan is made once per (expression,
names): MiniStack's own checks run when it is made, and the plan is a few closures that do only
the per-call part, with MiniStack's own helpers (`_get_at_path`, `_set_at_path`, `_compare_ddb`).
For the API's write this was most of what UpdateItem cost MiniStack over a PutItem: in-process,
its UpdateItem handler takes 94-100 us per call with plans against 116-121 us without (its
PutItem: 66-77 us); over the wire, the README's Benchmarks section.

Plans cover the common forms only:
- conditions: OR, AND, NOT, parentheses, comparisons of document paths and values,
  attribute_exists and attribute_not_exists;
- updates: one SET clause of top-level attributes, each set to a value or to
  if_not_exists(attribute, value).
Anything else (BETWEEN, IN, size, begins_with, nested SET paths, REMOVE, ADD, ...) goes to
MiniStack's own function, as does any call whose plan raises: MiniStack then says what is wrong
in its own words. Plans keep MiniStack's quirks on purpose: every operand of OR and AND is
evaluated, a value reference the request does not carry leaves its assignment out, and values
read from the item before the update are copies shared by the assignments that read them.
Tests compare both on generated expressions (tests/localstack/test_expression_plans.py).
"""
from __future__ import annotations

import copy
import functools
from types import ModuleType
from typing import Any, Callable

Condition = Callable[[dict, dict], Any]
Update = Callable[[dict, dict], "tuple[dict, set[tuple]]"]

CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
COMPARISONS = frozenset({"EQ", "NE", "LT", "GT", "LE", "GE"})
UNPLANNED_FUNCTIONS = frozenset({"attribute_type", "begins_with", "contains", "size"})


class Unplanned(Exception):
    """The expression is outside what plans cover; MiniStack's own function handles it."""


def install(dynamodb: ModuleType, size: int) -> None:
    """Route `dynamodb`'s three functions through plans, keeping `size` plans of each kind."""
    dynamodb._evaluate_condition = _planned_conditions(dynamodb, size)
    dynamodb._apply_update_expression = _planned_updates(dynamodb, size)
    dynamodb._validate_expression_attrs = _remembered_validations(dynamodb, size)


def names_key(names: Any) -> tuple | None:
    """`names` (ExpressionAttributeNames) as part of a cache key; None when it cannot be one, or is
    not a dict (MiniStack fails on a null one only when the expression names an alias)."""
    if not isinstance(names, dict):
        return None
    key = tuple(sorted(names.items()))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _cached_plans(make: Callable[..., Any], size: int) -> Callable[..., Any]:
    """`make(*key)` remembered per key; None (and remembered) when the expression is not planned."""
    @functools.lru_cache(maxsize=size)
    def plan(*key: Any) -> Any:
        try:
            return make(*key)
        except Exception:  # noqa: BLE001
            # Unplanned, or what MiniStack's own checks raise (a RecursionError on 1,000 nested
            # NOTs, which MiniStack's function answers as a ValidationException): MiniStack decides.
            return None
    return plan


# -- conditions ----------------------------------------------------------------------------------

def _planned_conditions(dynamodb: ModuleType, size: int) -> Callable[..., Any]:
    original = dynamodb._evaluate_condition

    def make(expression: str, slot: str, names: tuple) -> Condition:
        tokens = dynamodb._tokenize(expression)
        if (dynamodb._check_redundant_parens(tokens, slot) or dynamodb._check_reserved_keyword_usage(tokens)
                or dynamodb._condition_syntax_error(expression, slot)):
            raise Unplanned("MiniStack refuses it, in its own words")
        return plan_condition(dynamodb, tokens, dict(names))

    plans = _cached_plans(make, size)

    @functools.wraps(original)
    def evaluate_condition(expr: Any, item: Any, attr_values: Any, attr_names: Any,
                           slot: str = "ConditionExpression") -> Any:
        names = names_key(attr_names)
        if isinstance(expr, str) and expr.strip() and names is not None and isinstance(attr_values, dict):
            plan = plans(expr, slot, names)
            if plan is not None:
                try:
                    return plan(item, attr_values)
                except Exception:  # noqa: BLE001 - MiniStack's own evaluation says what went wrong
                    pass
        return original(expr, item, attr_values, attr_names, slot)

    return evaluate_condition


class _Tokens:
    """A cursor over MiniStack's tokens, the way its `_ExprEval` reads them."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.pos = tokens, 0

    def peek(self, offset: int = 0) -> tuple[str, str]:
        at = self.pos + offset
        return self.tokens[at] if at < len(self.tokens) else ("EOF", "")

    def take(self, kind: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if kind is not None and token[0] != kind:
            raise Unplanned(f"expected {kind}, found {token}")
        self.pos += 1
        return token

    def keyword(self, word: str) -> bool:
        kind, text = self.peek()
        return kind == "IDENT" and text.upper() == word

    def function(self) -> str | None:
        kind, text = self.peek()
        return text.lower() if kind == "IDENT" and self.peek(1)[0] == "LPAREN" else None


def plan_condition(dynamodb: ModuleType, tokens: list[tuple[str, str]], names: dict) -> Condition:
    """A condition's plan: `plan(item, values)` answers as `_ExprEval(tokens, item, values, names)`.
    Raises Unplanned for what plans do not cover."""
    reader = _Tokens(tokens)
    plan = _disjunction(dynamodb, reader, names)
    if reader.peek()[0] != "EOF":
        raise Unplanned("tokens left over")
    return plan


def _disjunction(dynamodb: ModuleType, reader: _Tokens, names: dict) -> Condition:
    return _chain(reader, "OR", lambda: _conjunction(dynamodb, reader, names), lambda left, right: left or right)


def _conjunction(dynamodb: ModuleType, reader: _Tokens, names: dict) -> Condition:
    return _chain(reader, "AND", lambda: _negation(dynamodb, reader, names), lambda left, right: left and right)


def _chain(reader: _Tokens, word: str, operand: Callable[[], Condition],
           combine: Callable[[Any, Any], Any]) -> Condition:
    """Operands joined by `word`. Every operand is evaluated, left to right, as MiniStack does."""
    first, rest = operand(), []
    while reader.keyword(word):
        reader.take()
        rest.append(operand())
    if not rest:
        return first

    def evaluate(item: dict, values: dict) -> Any:
        result = first(item, values)
        for part in rest:
            result = combine(result, part(item, values))
        return result
    return evaluate


def _negation(dynamodb: ModuleType, reader: _Tokens, names: dict) -> Condition:
    if reader.keyword("NOT"):
        reader.take()
        inner = _negation(dynamodb, reader, names)
        return lambda item, values: not inner(item, values)
    return _primary(dynamodb, reader, names)


def _primary(dynamodb: ModuleType, reader: _Tokens, names: dict) -> Condition:
    if reader.peek()[0] == "LPAREN":
        reader.take()
        inner = _disjunction(dynamodb, reader, names)
        reader.take("RPAREN")
        return inner
    function = reader.function()
    if function in ("attribute_exists", "attribute_not_exists"):
        return _exists(dynamodb, reader, names, function == "attribute_exists")
    left = _operand(dynamodb, reader, names)
    if reader.peek()[0] in COMPARISONS:
        op = reader.take()[1]
        right = _operand(dynamodb, reader, names)
        compare = dynamodb._compare_ddb
        return lambda item, values: compare(left(item, values), op, right(item, values))
    if reader.keyword("BETWEEN") or reader.keyword("IN"):
        raise Unplanned("BETWEEN and IN are left to MiniStack")
    return lambda item, values: left(item, values) is not None


def _exists(dynamodb: ModuleType, reader: _Tokens, names: dict, wanted: bool) -> Condition:
    reader.take()
    reader.take("LPAREN")
    path = _path(reader, names)
    reader.take("RPAREN")
    get = dynamodb._get_at_path
    return lambda item, values: (get(item, path) is not None) == wanted


def _operand(dynamodb: ModuleType, reader: _Tokens, names: dict) -> Condition:
    if reader.function() in UNPLANNED_FUNCTIONS:
        raise Unplanned("functions other than attribute_exists are left to MiniStack")
    kind, text = reader.peek()
    if kind == "VALUE_REF":
        reader.take()
        return lambda item, values: values.get(text)
    path = _path(reader, names)
    get = dynamodb._get_at_path
    return lambda item, values: get(item, path)


def read_path(tokens: list[tuple[str, str]], names: dict) -> list[str | int]:
    """`tokens` (MiniStack's, without EOF) as one document path, names resolved; Unplanned when
    they are anything more or other than a path."""
    reader = _Tokens(tokens)
    path = _path(reader, names)
    if reader.peek()[0] != "EOF":
        raise Unplanned("more than a document path")
    return path


def _path(reader: _Tokens, names: dict) -> list[str | int]:
    """A document path as `_ExprEval._parse_path` reads it (names resolved now)."""
    parts: list[str | int] = [_path_name(reader, names)]
    while True:
        kind = reader.peek()[0]
        if kind == "DOT":
            reader.take()
            parts.append(_path_name(reader, names))
        elif kind == "LBRACKET":
            reader.take()
            parts.append(int(reader.take("NUMBER")[1]))
            reader.take("RBRACKET")
        else:
            return parts


def _path_name(reader: _Tokens, names: dict) -> str:
    kind, text = reader.peek()
    if kind == "NAME_REF":
        reader.take()
        return names.get(text, text)
    if kind == "IDENT":
        reader.take()
        return text
    raise Unplanned(f"a path cannot start with {kind}")


# -- updates -------------------------------------------------------------------------------------

def _planned_updates(dynamodb: ModuleType, size: int) -> Callable[..., Any]:
    original = dynamodb._apply_update_expression
    plans = _cached_plans(lambda expression, names: plan_update(dynamodb, expression, dict(names)), size)

    @functools.wraps(original)
    def apply_update_expression(item: Any, expr: Any, attr_values: Any, attr_names: Any,
                                updated_attrs: set | None = None) -> tuple[Any, set]:
        names = names_key(attr_names)
        if isinstance(expr, str) and names is not None and isinstance(attr_values, dict) and isinstance(item, dict):
            plan = plans(expr, names)
            if plan is not None:
                try:
                    updated, targets = plan(item, attr_values)
                except Exception:  # noqa: BLE001 - MiniStack's own function says what went wrong
                    pass
                else:
                    updated_attrs = set() if updated_attrs is None else updated_attrs
                    updated_attrs.update(targets)
                    return updated, updated_attrs
        return original(item, expr, attr_values, attr_names, updated_attrs)

    return apply_update_expression


def plan_update(dynamodb: ModuleType, expression: str, names: dict) -> Update:
    """An update's plan: `plan(item, values)` returns what `_apply_update_expression` returns.
    Raises Unplanned for what plans do not cover, and for what MiniStack refuses."""
    tokens = dynamodb._tokenize(expression)
    scanned = [t for t in tokens if not (t[0] == "IDENT" and t[1].upper() in CLAUSES)]
    if dynamodb._check_redundant_parens(tokens) or dynamodb._check_reserved_keyword_usage(scanned):
        raise Unplanned("MiniStack refuses it, in its own words")
    body = [t for t in tokens if t[0] != "EOF"]
    clauses = [i for i, (kind, text) in enumerate(body) if kind == "IDENT" and text.upper() in CLAUSES]
    if clauses != [0] or body[0][1].upper() != "SET":
        raise Unplanned("only a single SET clause is planned")
    steps = [_assignment(part, names) for part in dynamodb._split_by_comma(body[1:])]
    if not steps:
        raise Unplanned("no assignments")
    get, put = dynamodb._get_at_path, dynamodb._set_at_path

    def apply(item: dict, values: dict) -> tuple[dict, set[tuple]]:
        updated = copy.deepcopy(item)
        read: dict[str, Any] = {}  # values read from the item before the update, one copy each
        pending = []
        for target, source, ref in steps:
            value = None
            if source is not None:
                if source not in read:
                    found = get(updated, [source])
                    read[source] = copy.deepcopy(found) if found is not None else None
                value = read[source]
            if value is None:
                value = values.get(ref)
            if value is not None:
                pending.append((target, value))
        for target, value in pending:
            put(updated, [target], value)
        return updated, {(target,) for target, _ in pending}

    return apply


def _assignment(tokens: list[tuple[str, str]], names: dict) -> tuple[str, str | None, str]:
    """(target, if_not_exists source or None, value reference) of `target = :v` or
    `target = if_not_exists(source, :v)`, targets and sources top-level attributes."""
    if len(tokens) < 3 or tokens[1][0] != "EQ":
        raise Unplanned("not `attribute = ...`")
    target, value = _attribute(tokens[0], names), tokens[2:]
    if len(value) == 1 and value[0][0] == "VALUE_REF":
        return target, None, value[0][1]
    shape = [kind for kind, _ in value]
    if (len(shape) == 6 and shape[:2] == ["IDENT", "LPAREN"] and shape[3:] == ["COMMA", "VALUE_REF", "RPAREN"]
            and value[0][1].lower() == "if_not_exists"):
        return target, _attribute(value[2], names), value[4][1]
    raise Unplanned("a value other than :v or if_not_exists(attribute, :v)")


def _attribute(token: tuple[str, str], names: dict) -> str:
    kind, text = token
    if kind == "NAME_REF":
        return names.get(text, text)
    if kind == "IDENT":
        return text
    raise Unplanned(f"{kind} is not an attribute name")


# -- names and values used and defined -----------------------------------------------------------

def _remembered_validations(dynamodb: ModuleType, size: int) -> Callable[..., Any]:
    """`_validate_expression_attrs`, remembering the shapes it passed: its answer depends only on
    the expressions' text and which names and values are defined. Refusals are not remembered
    (each is a fresh response MiniStack's callers may change)."""
    original = dynamodb._validate_expression_attrs
    passed: set[tuple] = set()

    @functools.wraps(original)
    def validate_expression_attrs(data: dict, expression_fields: tuple, size_wording: Any = "figure") -> Any:
        key = _shape(data, expression_fields, size_wording)
        if key is not None and key in passed:
            return None
        refusal = original(data, expression_fields, size_wording)
        if refusal is None and key is not None:
            if len(passed) >= size:
                passed.clear()
            passed.add(key)
        return refusal

    return validate_expression_attrs


def _shape(data: Any, fields: tuple, wording: Any) -> tuple | None:
    """What `_validate_expression_attrs` reads of a request, hashable; None when it cannot be."""
    if not isinstance(data, dict) or not isinstance(wording, str) or not isinstance(fields, tuple):
        return None
    texts = tuple(data.get(field) for field in fields)
    defined = []
    for name in ("ExpressionAttributeValues", "ExpressionAttributeNames"):
        mapping = data.get(name)
        if mapping is not None and not isinstance(mapping, dict):
            return None
        defined.append(tuple(mapping or ()))
    if not all(text is None or isinstance(text, str) for text in texts):
        return None
    return fields, wording, texts, *defined
