"""Mapping templates compiled to Python closures: airspeed parses, this module runs the result.

airspeed renders by walking its parse tree: every node goes through a generic `evaluate`, with
an exception wrapper, `isinstance` checks and a fresh argument list, some forty of them for the
API's request template. `compile_tree` turns the same tree into nested closures, each knowing at
compile time what its children are, so a render does only the lookups and writes the template
asks for. What is fixed is done once, when compiling: runs of text joined, literal strings and
call arguments computed. It computes exactly what airspeed computes: the same name resolution
(item, then attribute, then the Java-style methods), the same sandbox check before every name
(`vtlsandbox.is_reachable_on`; for maps and the variables' scopes, where the answer depends on
the name alone, asked when compiling), the same quirks (a condition that is null is true, `||`
evaluates both sides, operands are evaluated in airspeed's order). It only avoids the exceptions
airspeed raises and catches on the way (a KeyError per scope, a TypeError per name looked up as
an item of a string or of `$input`). tests/localstack/apiexec/test_vtlcompile.py renders every
template both ways and compares.

Directives this does not compile (#macro, #define, #include, #parse, #stop, #evaluate, #return,
macro calls) make `compile_tree` return None, and the template is rendered by airspeed itself.

Renders from a plain dict run the same template generated as Python source instead (`vtlsource`).
"""
from __future__ import annotations

import json
from functools import lru_cache
from itertools import groupby
from typing import Any, Callable, Mapping

import airspeed
from airspeed import operators as ops

from streamlab.localstack.apiexec.vtlsandbox import is_reachable_on

Namespace = ops.LocalNamespace
Write = Callable[[str], object]
Emit = Callable[[Write, Namespace], None]  # writes one node's output
Calc = Callable[[Any], Any]  # a value, from the namespace it is computed in
Step = Callable[[Any, Any], Any]  # (current object, top namespace) -> the next object of a reference
Renderer = Callable[[Mapping[str, Any]], str]


class CompiledTemplateError(airspeed.TemplateError):
    """A compiled template failed while rendering; the cause is chained, as airspeed chains it."""


class _Unsupported(Exception):
    pass


def compile_tree(template: airspeed.Template,
                 generated: Callable[[dict[str, Any]], str] | None = None) -> Renderer | None:
    """A function rendering `template` from a namespace, or None when it uses what is not compiled.
    `generated`: the same template as a function of a plain dict (`vtlsource`), run for those."""
    template.ensure_compiled()
    try:
        block = _block(template.root_element.block)
    except _Unsupported:
        return None

    def render(namespace: Mapping[str, Any]) -> str:
        try:
            if generated is not None and namespace.__class__ is dict:
                return generated(namespace)
            out: list[str] = []
            block(out.append, Namespace(namespace))
            return "".join(out)
        except (airspeed.TemplateError, json.JSONDecodeError):
            raise
        except Exception as exc:
            raise CompiledTemplateError(f"{type(exc).__name__}: {exc}") from exc

    return render


# -- output nodes ------------------------------------------------------------------------------

def _block(node: ops.Block) -> Emit:
    children = [part if isinstance(part, str) else _emit(part) for part in _joined(node.children)]
    if len(children) == 1:
        return _text(children[0]) if isinstance(children[0], str) else children[0]

    def emit(write: Write, ns: Namespace) -> None:
        for child in children:
            if child.__class__ is str:
                write(child)  # type: ignore[arg-type]
            else:
                child(write, ns)  # type: ignore[operator]

    return emit


def _joined(children: list[Any]) -> list[Any]:
    """The children without comments, each run of text as one string: airspeed splits text at
    every '#', and one write costs less than several."""
    joined: list[Any] = []
    for child in children:
        kind = type(child)
        if kind is ops.Comment:
            continue
        if kind in _TEXTS:
            if joined and isinstance(joined[-1], str):
                joined[-1] += child.text
            else:
                joined.append(child.text)
        else:
            joined.append(child)
    return joined


def _emit(node: Any) -> Emit:
    return _compile(_EMITTERS, node)


def _compile(compilers: dict[type, Callable[[Any], Any]], node: Any) -> Any:
    try:
        compile_node = compilers[type(node)]
    except KeyError:
        raise _Unsupported(type(node).__name__) from None
    return compile_node(node)


def _text(text: str) -> Emit:
    return lambda write, ns: write(text)


def _reference(node: ops.FormalReference) -> Emit:
    printed = _printed(node)
    return lambda write, ns: write(printed(ns))


def _printed(node: ops.FormalReference) -> Calc:
    """What a reference writes: its value as text, or itself as written when it has none."""
    reference = _variable(node.expression) if node.expression is not None else None
    alternate = _value(node.alternate.expression) if node.alternate is not None else None
    as_written = node.my_text()
    quiet = node.silent and reference is not None

    def calc(ns: Any) -> str:
        value = reference(ns) if reference is not None else None
        if value == ops.REPLACE_FORMAL_TEXT:
            value = as_written
        elif value is None:
            if alternate is not None:
                value = alternate(ns) or ""
            else:
                value = "" if quiet else as_written
        return value if isinstance(value, str) else ops.value_to_string(value)

    return calc


def _if(node: ops.IfDirective) -> Emit:
    branches = [(_condition(node.condition), _block(node.block))]
    branches += [(_condition(e.condition), _block(e.block)) for e in node.elseifs]
    otherwise = _block(node.else_block.block) if isinstance(node.else_block, ops.ElseBlock) else None

    def emit(write: Write, ns: Namespace) -> None:
        for condition, block in branches:
            if condition(ns):
                block(write, ns)
                return
        if otherwise is not None:
            otherwise(write, ns)

    return emit


def _condition(node: ops.Condition) -> Calc:
    expression = _value(node.expression)

    def calc(ns: Any) -> bool:
        result = expression(ns)
        return True if result is None else bool(result)

    return calc


def _set(node: ops.Assignment) -> Emit:
    value = _expression(node.value)
    root = node.root_term
    if not node.terms:
        def emit(write: Write, ns: Namespace) -> None:
            _assign(ns, root, value(ns))
        return emit
    *path, last = [_value(term.term) for term in node.terms]

    def emit_into(write: Write, ns: Namespace) -> None:
        result = value(ns)
        target = _find(ns, root)
        for key in path:
            target = target[key(ns)]
        target[last(ns)] = result

    return emit_into


def _foreach(node: ops.ForeachDirective) -> Emit:
    items, block, name = _value(node.value), _block(node.block), node.loop_var_name

    def emit(write: Write, ns: Namespace) -> None:
        iterable = items(ns)
        if iterable is None:
            return
        iterable = _loop_items(iterable, name)
        length = len(iterable)
        for count, item in enumerate(iterable, start=1):
            local = Namespace(ns)
            local["velocityCount"] = count
            local["velocityHasNext"] = count < length
            local["foreach"] = {"count": count, "index": count - 1, "hasNext": count < length,
                                "first": count == 1, "last": count == length}
            local[name] = item
            block(write, local)

    return emit


def _loop_items(iterable: Any, name: str) -> Any:
    """What #foreach walks: a map's keys, any other iterable as it is; ValueError for the rest."""
    if hasattr(iterable, "keys"):
        iterable = iterable.keys()
    try:
        iter(iterable)
    except TypeError:
        raise ValueError(f"value for ${name} is not iterable in #foreach: {iterable}") from None
    return iterable


# -- values ------------------------------------------------------------------------------------

def _value(node: Any) -> Calc:
    return _compile(_VALUES, node)


def _constant(node: Any) -> Calc:
    constant = node.value
    return lambda ns: constant


def _value_reference(node: ops.FormalReference) -> Calc:
    if node.expression is None:
        raise _Unsupported("a bare $ as a value")
    return _variable(node.expression)


def _interpolated(node: ops.InterpolatedStringLiteral) -> Calc:
    literal = _literal(node)
    if literal is not None:
        constant = literal[0]
        return lambda ns: constant
    parts = _joined(node.block.children)
    if all(isinstance(part, str) or type(part) is ops.FormalReference for part in parts):
        return _concatenated([part if isinstance(part, str) else _printed(part) for part in parts])
    block = _block(node.block)

    def calc(ns: Any) -> str:
        out: list[str] = []
        block(out.append, ns)
        return "".join(out)

    return calc


def _concatenated(pieces: list[str | Calc]) -> Calc:
    """A "string" of text and references only, without a write per piece."""
    if len(pieces) == 1:
        return pieces[0]  # type: ignore[return-value]  # a reference: `_literal` took plain text

    def calc(ns: Any) -> str:
        return "".join([piece if piece.__class__ is str else piece(ns) for piece in pieces])  # type: ignore[operator]

    return calc


def _unary(node: ops.UnaryOperatorValue) -> Calc:
    operand, op = _value(node.value), node.op

    def calc(ns: Any) -> Any:
        value = operand(ns)
        return False if value is None else op(value)

    return calc


def _list(node: Any) -> Calc:
    if isinstance(node, ops.Range):
        return _range(node)
    values = [_value(v) for v in getattr(node, "values", ())]  # ValueList, or the empty list
    return lambda ns: [value(ns) for value in values]


def _literal(node: Any) -> tuple[Any] | None:
    """(value,) of a node whose value is known when compiling (airspeed's literals, and a "string"
    holding no reference or directive), else None."""
    while type(node) is ops.Value:
        node = node.expression
    if type(node) in _LITERALS:
        return (node.value,)
    if type(node) is ops.InterpolatedStringLiteral:
        parts = _joined(node.block.children)
        if all(isinstance(part, str) for part in parts):
            return ("".join(parts),)
    return None


def _dict(node: ops.DictionaryLiteral) -> Calc:
    pairs = [(_value(k), _value(v)) for k, v in node.local_data.items()]
    return lambda ns: {key(ns): value(ns) for key, value in pairs}


def _range(node: ops.Range) -> Calc:
    first, last = _value(node.value1), _value(node.value2)

    def calc(ns: Any) -> range:
        start, stop = first(ns), last(ns)
        return range(start, stop - 1, -1) if stop < start else range(start, stop + 1)

    return calc


def _expression(node: ops.Expression) -> Calc:
    """The operator tree airspeed's stack evaluation builds, fixed at compile time.

    airspeed decides what to combine from the operators' precedence alone, so the tree does not
    depend on the values. It computes an operand only when it combines it, right operand first;
    `_Operand.computed_early` keeps that order.
    """
    terms = node.expression
    values: list[_Operand] = [_Operand(_value(terms[0]))]
    operators: list[ops.BinaryOperator] = []
    rest = terms[1:]
    while rest:
        if not operators or rest[0].greater_precedence_than(operators[-1]):
            operators.append(rest[0])
            values.append(_Operand(_value(rest[1])))
            rest = rest[2:]
        else:
            _combine(operators, values)
    while operators:
        _combine(operators, values)
    return values[0].calc


class _Operand:
    """A value in the compile-time stack: a term not yet computed, or the result of combining two."""

    __slots__ = ("calc", "computed_early")

    def __init__(self, calc: Calc, computed_early: bool = False):
        self.calc, self.computed_early = calc, computed_early


def _combine(operators: list[ops.BinaryOperator], values: list[_Operand]) -> None:
    right, left = values.pop(), values.pop()
    apply, l, r = operators.pop().apply_to, left.calc, right.calc
    if left.computed_early:  # combined earlier, so computed before anything to its right
        def calc(ns: Any) -> Any:
            a = l(ns)
            return apply(a, r(ns))
    else:  # a plain term: airspeed computes the right operand first
        def calc(ns: Any) -> Any:
            b = r(ns)
            return apply(l(ns), b)
    values.append(_Operand(calc, computed_early=True))


# -- references: $a.b(c)[d].e ------------------------------------------------------------------

def _variable(node: ops.VariableExpression) -> Calc:
    """The whole chain of a reference, computed from the namespace: each run of plain names
    through one loop (`_names`), calls and indexes through their own steps."""
    parts: list[str | Step] = []
    while node is not None:
        parts.append(_name(node.part))
        sub, node = node.subexpression, None
        while sub is not None and isinstance(sub.expression, ops.ArrayIndex):
            parts.append(_indexed(sub))
            sub = sub.subexpression
        if sub is not None:
            node = sub.expression
    segments: list[Step] = []
    for plain, run in groupby(parts, key=lambda part: isinstance(part, str)):
        segments.extend([_names(list(run))] if plain else run)  # type: ignore[arg-type]
    if len(segments) == 1 and isinstance(parts[0], str):
        return segments[0]  # names only: a step that needs no `top`, so a Calc too

    def calc(ns: Any) -> Any:
        current = ns
        for segment in segments:
            current = segment(current, ns)
        return current

    return calc


def _indexed(node: ops.SubExpression) -> Step:
    # airspeed computes this index in the object being indexed, not in the template's namespace.
    index = _value(node.expression.index)
    return lambda current, top: current[index(current)]


def _name(node: ops.NameOrCall) -> str | Step:
    """A plain name as itself (for `_names`), a call or an index as a step."""
    name = node.name
    if node.parameters is not None:
        return _call(name, node.parameters.values)
    if node.index is not None:
        return _index(name, _value(node.index.index))
    return name


def _call(name: str, parameters: Any) -> Step:
    literals = [_literal(v) for v in getattr(parameters, "values", ())]  # ValueList, or none
    if None not in literals:  # computed once
        fixed = tuple(literal[0] for literal in literals)  # type: ignore[index]

        def call(current: Any, top: Any) -> Any:
            method = _resolve(current, name)
            return None if method is None else method(*fixed)

        return call
    arguments = _list(parameters)

    def step(current: Any, top: Any) -> Any:
        method = _resolve(current, name)
        return None if method is None else method(*arguments(top))

    return step


def _index(name: str, index: Calc) -> Step:
    def step(current: Any, top: Any) -> Any:
        result = _resolve(current, name)
        if result is None:
            return None
        return _item(result, index(top))

    return step


def _item(result: Any, key: Any) -> Any:
    """`name[key]` once `name` resolved: None when there is no such item, as airspeed does."""
    if isinstance(result, list) and not isinstance(key, int):
        raise ValueError(f"expected integer for array index, got '{key}'")
    try:
        return result[key]
    except Exception:
        return None


def _names(names: list[str]) -> Step:
    """`_resolve` of name after name, with a shortcut for the maps and the variables' scopes most
    names are looked up in. For these plain data types the sandbox's answer depends on the name
    alone, so it is asked here, once."""
    lookups = [(name, is_reachable_on(dict, name), is_reachable_on(Namespace, name)) for name in names]

    def step(current: Any, top: Any = None) -> Any:
        for name, on_map, on_scope in lookups:
            kind = type(current)
            if kind is dict and on_map:
                result = current.get(name)
            elif kind is Namespace and on_scope:
                result = dict.get(current, name, _ABSENT)  # the innermost scope, without a call
                if result is _ABSENT:
                    try:
                        result = _find(current.parent, name)
                    except (KeyError, TypeError, AttributeError):
                        result = None
            else:
                result = None
            # Nothing found there yet: an attribute, a Java-style method, or the sandbox says no.
            current = _resolve(current, name) if result is None else result
        return current

    return step


def _resolve(current: Any, name: str) -> Any:
    """`current.name` as airspeed resolves it behind the sandbox: an item, an attribute (not of
    the namespace), or a Java-style method of its type; None when nothing is there."""
    cls = type(current)
    if not is_reachable_on(cls, name):
        return None
    if cls is dict:
        result = current.get(name)
    elif cls is Namespace or _holds_items(cls):
        try:
            result = _find(current, name) if cls is Namespace else current[name]
        except (KeyError, TypeError, AttributeError):
            result = None
    else:
        result = None
    if result is None and not isinstance(current, Namespace):
        result = getattr(current, name, None)
    if result is None:
        methods = ops.__additional_methods__.get(current.__class__)
        if methods and name in methods:
            method = methods[name]
            return lambda *args: method(current, *args)
    # A #define'd name (airspeed's _FunctionDefinition) cannot be reached: templates that define
    # or call one are not compiled.
    return result


@lru_cache(maxsize=256)
def _holds_items(cls: type) -> bool:
    """Can `obj[name]` find anything for an object of `cls`? Not without `__getitem__`, nor with
    str's, list's or tuple's: those raise TypeError for a name, which costs more than the rest of
    a lookup."""
    getitem = getattr(cls, "__getitem__", None)
    return getitem is not None and getitem not in _INDEXED_ONLY


_INDEXED_ONLY = (str.__getitem__, list.__getitem__, tuple.__getitem__)
_ABSENT = object()


def _find(ns: Namespace, name: str) -> Any:
    """`ns[name]`: the innermost scope holding `name`, without LocalNamespace raising (and
    catching) a KeyError in each scope that does not."""
    scope: Any = ns
    while scope.__class__ is Namespace:
        value = dict.get(scope, name, _ABSENT)
        if value is not _ABSENT:
            return value
        scope = scope.parent
    return scope[name]


def _assign(ns: Namespace, name: str, value: Any) -> None:
    """`ns.set_inherited(name, value)`: into the innermost scope holding `name`, else into `ns`."""
    scope: Any = ns
    while not dict.__contains__(scope, name):
        scope = scope.parent
        if not isinstance(scope, Namespace):
            scope = ns
            break
    scope[name] = value


_TEXTS = (ops.Text, ops.FallthroughHashText)
_EMITTERS: dict[type, Callable[[Any], Emit]] = {
    ops.FormalReference: _reference, ops.IfDirective: _if,
    ops.SetDirective: lambda node: _set(node.assignment), ops.ForeachDirective: _foreach,
}
_LITERALS = (ops.NullLiteral, ops.IntegerLiteral, ops.FloatingPointLiteral, ops.BooleanLiteral, ops.StringLiteral,
             ops.DotDictAccessTerm)
_VALUES: dict[type, Callable[[Any], Calc]] = {
    **dict.fromkeys(_LITERALS, _constant),
    ops.Value: lambda node: _value(node.expression), ops.AlternateValue: lambda node: _value(node.expression),
    ops.InterpolatedStringLiteral: _interpolated, ops.FormalReference: _value_reference,
    # airspeed keeps only a parenthesized expression's bound `calculate`
    ops.ParenthesizedExpression: lambda node: _expression(node.calculate.__self__),
    ops.Expression: _expression, ops.UnaryOperatorValue: _unary, ops.ArrayLiteral: lambda node: _list(node.values),
    ops.DictionaryLiteral: _dict, ops.BracketedValueTerm: lambda node: _value(node.value), ops.Range: _range,
}
