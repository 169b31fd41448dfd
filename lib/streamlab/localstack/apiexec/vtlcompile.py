"""Mapping templates compiled to Python closures: airspeed parses, this module runs the result.

airspeed renders by walking its parse tree: every node goes through a generic `evaluate`, with
an exception wrapper, `isinstance` checks and a fresh argument list, some forty of them for the
API's request template. `compile_tree` turns the same tree into nested closures, each knowing at
compile time what its children are, so a render does only the lookups and writes the template
asks for. It computes exactly what airspeed computes: the same name resolution (item, then
attribute, then the Java-style methods), the same sandbox check before every name
(`vtlsandbox.is_reachable`), the same quirks (a condition that is null is true, `||` evaluates
both sides, operands are evaluated in airspeed's order). tests/localstack/apiexec/test_vtlcompile.py
renders every template both ways and compares.

Directives this does not compile (#macro, #define, #include, #parse, #stop, #evaluate, #return,
macro calls) make `compile_tree` return None, and the template is rendered by airspeed itself.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Mapping

import airspeed
from airspeed import operators as ops

from streamlab.localstack.apiexec.vtlsandbox import is_reachable

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


def compile_tree(template: airspeed.Template) -> Renderer | None:
    """A function rendering `template` from a namespace, or None when it uses what is not compiled."""
    template.ensure_compiled()
    try:
        block = _block(template.root_element.block)
    except _Unsupported:
        return None

    def render(namespace: Mapping[str, Any]) -> str:
        out: list[str] = []
        try:
            block(out.append, Namespace(namespace))
        except (airspeed.TemplateError, json.JSONDecodeError):
            raise
        except Exception as exc:
            raise CompiledTemplateError(f"{type(exc).__name__}: {exc}") from exc
        return "".join(out)

    return render


# -- output nodes ------------------------------------------------------------------------------

def _block(node: ops.Block) -> Emit:
    emits = [_emit(child) for child in node.children]
    emits = [e for e in emits if e is not None]
    if len(emits) == 1:
        return emits[0]

    def emit(write: Write, ns: Namespace) -> None:
        for child in emits:
            child(write, ns)

    return emit


def _emit(node: Any) -> Emit | None:
    return None if type(node) is ops.Comment else _compile(_EMITTERS, node)


def _compile(compilers: dict[type, Callable[[Any], Any]], node: Any) -> Any:
    try:
        compile_node = compilers[type(node)]
    except KeyError:
        raise _Unsupported(type(node).__name__) from None
    return compile_node(node)


def _text(node: ops.Text | ops.FallthroughHashText) -> Emit:
    text = node.text
    return lambda write, ns: write(text)


def _reference(node: ops.FormalReference) -> Emit:
    reference = _variable(node.expression) if node.expression is not None else None
    alternate = _value(node.alternate.expression) if node.alternate is not None else None
    as_written = node.my_text()
    quiet = node.silent and reference is not None

    def emit(write: Write, ns: Namespace) -> None:
        value = reference(ns, ns) if reference is not None else None
        if value == ops.REPLACE_FORMAL_TEXT:
            value = as_written
        elif value is None:
            if alternate is not None:
                value = alternate(ns) or ""
            else:
                value = "" if quiet else as_written
        write(value if isinstance(value, str) else ops.value_to_string(value))

    return emit


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
            ns.set_inherited(root, value(ns))
        return emit
    *path, last = [_value(term.term) for term in node.terms]

    def emit_into(write: Write, ns: Namespace) -> None:
        result = value(ns)
        target = ns[root]
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
        if hasattr(iterable, "keys"):
            iterable = iterable.keys()
        try:
            iter(iterable)
        except TypeError:
            raise ValueError(f"value for ${name} is not iterable in #foreach: {iterable}") from None
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


# -- values ------------------------------------------------------------------------------------

def _value(node: Any) -> Calc:
    return _compile(_VALUES, node)


def _constant(node: Any) -> Calc:
    constant = node.value
    return lambda ns: constant


def _value_reference(node: ops.FormalReference) -> Calc:
    if node.expression is None:
        raise _Unsupported("a bare $ as a value")
    reference = _variable(node.expression)
    return lambda ns: reference(ns, ns)


def _interpolated(node: ops.InterpolatedStringLiteral) -> Calc:
    block = _block(node.block)

    def calc(ns: Any) -> str:
        out: list[str] = []
        block(out.append, ns)
        return "".join(out)

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

def _variable(node: ops.VariableExpression) -> Step:
    """The whole chain of a reference as one step: plain names resolved in a loop, calls and
    indexes through their own steps."""
    segments: list[str | Step] = []
    while node is not None:
        segments.append(_name(node.part))
        sub, node = node.subexpression, None
        while sub is not None and isinstance(sub.expression, ops.ArrayIndex):
            segments.append(_indexed(sub))
            sub = sub.subexpression
        if sub is not None:
            node = sub.expression
    if len(segments) == 1 and isinstance(segments[0], str):
        name = segments[0]
        return lambda current, top: _resolve(current, name)

    def step(current: Any, top: Any) -> Any:
        for segment in segments:
            if segment.__class__ is str:
                current = _resolve(current, segment)  # type: ignore[arg-type]
            else:
                current = segment(current, top)  # type: ignore[operator]
        return current

    return step


def _indexed(node: ops.SubExpression) -> Step:
    # airspeed computes this index in the object being indexed, not in the template's namespace.
    index = _value(node.expression.index)
    return lambda current, top: current[index(current)]


def _name(node: ops.NameOrCall) -> str | Step:
    """A plain name as itself (resolved by the chain's loop), a call or an index as a step."""
    name = node.name
    if node.parameters is None and node.index is None:
        return name
    arguments = _list(node.parameters.values) if node.parameters is not None else None
    index = _value(node.index.index) if node.index is not None else None

    def step(current: Any, top: Any) -> Any:
        result = _resolve(current, name)
        if result is None:
            return None
        if arguments is not None:
            return result(*arguments(top))
        if index is not None:
            key = index(top)
            if isinstance(result, list) and not isinstance(key, int):
                raise ValueError(f"expected integer for array index, got '{key}'")
            try:
                return result[key]
            except Exception:
                return None
        return result

    return step


def _resolve(current: Any, name: str) -> Any:
    """`current.name` as airspeed resolves it behind the sandbox: an item, an attribute (not of
    the namespace), or a Java-style method of its type; None when nothing is there."""
    if not is_reachable(current, name):
        return None
    try:
        result = current[name]
    except (KeyError, TypeError, AttributeError):
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


_EMITTERS: dict[type, Callable[[Any], Emit]] = {
    ops.Text: _text, ops.FallthroughHashText: _text, ops.FormalReference: _reference, ops.IfDirective: _if,
    ops.SetDirective: lambda node: _set(node.assignment), ops.ForeachDirective: _foreach,
}
_VALUES: dict[type, Callable[[Any], Calc]] = {
    **dict.fromkeys((ops.NullLiteral, ops.IntegerLiteral, ops.FloatingPointLiteral, ops.BooleanLiteral,
                     ops.StringLiteral, ops.DotDictAccessTerm), _constant),
    ops.Value: lambda node: _value(node.expression), ops.AlternateValue: lambda node: _value(node.expression),
    ops.InterpolatedStringLiteral: _interpolated, ops.FormalReference: _value_reference,
    # airspeed keeps only a parenthesized expression's bound `calculate`
    ops.ParenthesizedExpression: lambda node: _expression(node.calculate.__self__),
    ops.Expression: _expression, ops.UnaryOperatorValue: _unary, ops.ArrayLiteral: lambda node: _list(node.values),
    ops.DictionaryLiteral: _dict, ops.BracketedValueTerm: lambda node: _value(node.value), ops.Range: _range,
}
