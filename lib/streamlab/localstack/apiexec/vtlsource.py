"""Mapping templates compiled to Python source: one function per template, for renders from a plain dict.

A template `vtlcompile` covers is also generated as Python source (`generate`): one function of straight-line code, the variables' scopes as locals, maps read with
dict.get, a name on any other object resolved as learnt for its class (`_resolve_on_value`), a
Java-style method called without a wrapper, what is written between two directives written at
once. It computes what the closures compute, in the same order; the template's text reaches its
source only as repr()'d string constants, never as an identifier. Renders from a plain dict run
it; a namespace of another type, or a template Python will not compile (nesting deeper than its
limits), runs the closures. tests/localstack/apiexec/test_vtl_generated.py checks both.
"""
from __future__ import annotations

import operator
import warnings
import weakref
from typing import Any, Callable

import airspeed
from airspeed import operators as ops

from streamlab.localstack.apiexec import vtlsandbox
from streamlab.localstack.apiexec.vtlcompile import (
    _ABSENT, _LITERALS, Namespace, Renderer, _holds_items, _item, _joined, _literal, _loop_items, _resolve,
    _Unsupported, _value, compile_tree,
)
from streamlab.localstack.apiexec.vtlsandbox import is_reachable_on

# One Python function per template, straight-line code over local variables, compiled once. The
# template's text reaches the source only as repr()'d string constants (or as objects bound to
# generated global names); every identifier in it is generated here (t1, v2, k3, _R, ...), never
# taken from the template, and the function sees no builtins but the few bound below.
#
# The variables' scopes are locals: a slot per (scope, name) the template #sets in that scope,
# holding _ABSENT while the scope does not hold the name. A #foreach makes one scope per iteration
# (its slots reset each time), so a name is looked up slot by slot, innermost first, and then in
# the caller's dict, exactly as `_find` walks LocalNamespaces. Which slots exist is found by
# generating twice: the first pass only records which names each scope sets.

class _Scope:
    __slots__ = ("key", "parent", "slots", "present")

    def __init__(self, key: Any, parent: "_Scope | None"):
        self.key, self.parent = key, parent
        self.slots: dict[str, str] = {}  # template name -> generated local
        self.present: set[str] = set()  # names this scope surely holds at this point of the code

    def chain(self) -> list["_Scope"]:
        scopes, scope = [], self
        while scope is not None:
            scopes.append(scope)
            scope = scope.parent
        return scopes


class _Tree:
    """An operand of `_Source.expression`: a term not generated yet, or two combined by an operator."""

    __slots__ = ("node", "op", "left", "right", "computed_early")

    def __init__(self, node: Any = None, op: Any = None, left: Any = None, right: Any = None):
        self.node, self.op, self.left, self.right = node, op, left, right
        self.computed_early = op is not None


_INFIX = {operator.gt: ">", operator.ge: ">=", operator.lt: "<", operator.le: "<=", operator.eq: "==",
          operator.ne: "!=", operator.mod: "%", operator.add: "+", operator.sub: "-", operator.mul: "*",
          operator.floordiv: "//"}  # airspeed's operators Python writes as such (the others are called)


class _Source:
    """Python source for one template. `assigned` maps a scope's key to the names it sets (from a
    first pass), or is None in that first pass."""

    def __init__(self, assigned: dict[Any, list[str]] | None):
        self.assigned = assigned
        self.recorded: dict[Any, list[str]] = {}
        self.lines: list[str] = []
        self.indent = 1
        self.count = 0
        self.constants: dict[str, Any] = {}
        self.ways: dict[str, str] = {}  # name -> the constant holding its `_Ways`

    # -- plumbing

    def line(self, text: str) -> None:
        self.lines.append("    " * self.indent + text)

    def temp(self, prefix: str = "t") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def constant(self, value: Any) -> str:
        """A Python expression for a value fixed when compiling."""
        if value is None or value is True or value is False:
            return repr(value)
        if type(value) is str:
            return repr(value)  # a str's repr is a literal that evaluates to an equal str
        if type(value) is int and -(1 << 62) < value < (1 << 62):
            return repr(value)
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name

    def local(self, expression: str) -> str:
        """`expression` as a local, for what Python would not take a literal in (`1 is None`)."""
        if expression.isidentifier() and expression not in ("None", "True", "False"):
            return expression
        t = self.temp()
        self.line(f"{t} = {expression}")
        return t

    def scope(self, key: Any, parent: _Scope | None) -> _Scope:
        scope = _Scope(key, parent)
        for name in (self.assigned or {}).get(key, ()):
            self.slot(scope, name)
        return scope

    def slot(self, scope: _Scope, name: str) -> str:
        local = scope.slots.get(name)
        if local is None:
            local = scope.slots[name] = self.temp("v")
            self.recorded.setdefault(scope.key, []).append(name)
        return local

    def branch(self, scope: _Scope, emit: Callable[[], None], indented: bool = True) -> list[set[str]]:
        """Generate a block that may not run; what it makes present is returned, and forgotten here."""
        chain = scope.chain()
        before = [set(s.present) for s in chain]
        length = len(self.lines)
        self.indent += indented
        emit()
        if len(self.lines) == length:
            self.line("pass")
        self.indent -= indented
        after = [set(s.present) for s in chain]
        for s, present in zip(chain, before):
            s.present = present
        return after

    def read(self, scope: _Scope, name: str, target: str, otherwise: str) -> None:
        """`target` = the value of `name` in the innermost scope holding it, else `otherwise`."""
        first = True
        for s in scope.chain():
            local = s.slots.get(name)
            if local is None:
                continue
            if name in s.present:
                otherwise = local
                break
            self.line(f"{'if' if first else 'elif'} {local} is not _A:")
            self.line(f"    {target} = {local}")
            first = False
        if first:
            self.line(f"{target} = {otherwise}")
        else:
            self.line("else:")
            self.line(f"    {target} = {otherwise}")

    # -- output

    def block(self, node: ops.Block, scope: _Scope, out: str) -> None:
        """Generate what `node` writes into the list `out`: what is written between two
        directives in one go (nothing but the output reads it, and only at the end)."""
        pending: list[str] = []
        for part in _joined(node.children):
            if isinstance(part, str):
                pending.append(self.constant(part))
                continue
            kind = type(part)
            if kind is ops.FormalReference:
                pending.append(self.printed(part, scope))
            elif kind is ops.SetDirective:
                self.set_(part.assignment, scope)
            elif kind is ops.IfDirective or kind is ops.ForeachDirective:
                self.flush(out, pending)
                if kind is ops.IfDirective:
                    self.if_(part, scope, out)
                else:
                    self.foreach(part, scope, out)
            else:
                raise _Unsupported(kind.__name__)
        self.flush(out, pending)

    def flush(self, out: str, pending: list[str]) -> None:
        if len(pending) == 1:
            self.line(f"{out}.append({pending[0]})")
        elif pending:
            self.line(f"{out} += ({', '.join(pending)},)")
        pending.clear()

    def printed(self, node: ops.FormalReference, scope: _Scope) -> str:
        t = self.temp()
        if node.expression is not None:
            self.line(f"{t} = {self.variable(node.expression, scope)}")
        else:
            self.line(f"{t} = None")
        as_written = self.constant(node.my_text())
        self.line(f"if {t}.__class__ is not _str:")
        self.indent += 1
        self.line(f"if {t} == _RFT:")
        self.line(f"    {t} = {as_written}")
        self.line(f"elif {t} is None:")
        self.indent += 1
        if node.alternate is not None:
            alternate = self.value(node.alternate.expression, scope)
            self.line(f"{t} = {alternate} or ''")
        elif node.silent and node.expression is not None:
            self.line(f"{t} = ''")
        else:
            self.line(f"{t} = {as_written}")
        self.indent -= 1
        self.line(f"if not _isinstance({t}, _str):")
        self.line(f"    {t} = _ops.value_to_string({t})")
        self.indent -= 1
        self.line(f"elif {t} == _RFT:")
        self.line(f"    {t} = {as_written}")
        return t

    def if_(self, node: ops.IfDirective, scope: _Scope, out: str) -> None:
        branches = [(node.condition, node.block)] + [(e.condition, e.block) for e in node.elseifs]
        otherwise = node.else_block.block if isinstance(node.else_block, ops.ElseBlock) else None
        outcomes: list[list[set[str]]] = []
        indent = self.indent
        for index, (condition, block) in enumerate(branches):
            c = self.local(self.value(condition.expression, scope))
            self.line(f"if {c} is None or {c}:")
            outcomes.append(self.branch(scope, lambda b=block: self.block(b, scope, out)))
            if index + 1 < len(branches) or otherwise is not None:
                self.line("else:")
                self.indent += 1
        if otherwise is not None:
            outcomes.append(self.branch(scope, lambda: self.block(otherwise, scope, out), indented=False))
            # present after the #if: what every branch made present
            for i, s in enumerate(scope.chain()):
                s.present = set.intersection(*(outcome[i] for outcome in outcomes))
        self.indent = indent

    def set_(self, node: ops.Assignment, scope: _Scope) -> None:
        value = self.expression(node.value, scope)
        root = node.root_term
        if not node.terms:
            self.slot(scope, root)
            chain = [s for s in scope.chain() if root in s.slots]
            self.assign(chain, root, value)
            if chain == [scope]:
                scope.present.add(root)
            return
        target = self.temp()
        self.find(scope, root, target)
        *path, last = node.terms
        for term in path:
            key = self.value(term.term, scope)
            self.line(f"{target} = {target}[{key}]")
        key = self.value(last.term, scope)
        self.line(f"{target}[{key}] = {value}")

    def assign(self, chain: list[_Scope], name: str, value: str) -> None:
        """`_assign`: into the innermost scope holding `name`, else into the innermost."""
        innermost = chain[0].slots[name]
        if len(chain) == 1:  # the innermost holds it, or it goes there
            self.line(f"{innermost} = {value}")
            return
        for index, s in enumerate(chain):
            local = s.slots[name]
            if name in s.present:
                if index == 0:
                    self.line(f"{local} = {value}")
                else:
                    self.line("else:")
                    self.line(f"    {local} = {value}")
                return
            self.line(f"{'if' if index == 0 else 'elif'} {local} is not _A:")
            self.line(f"    {local} = {value}")
        self.line("else:")
        self.line(f"    {innermost} = {value}")

    def find(self, scope: _Scope, name: str, target: str) -> None:
        """`_find`: the innermost scope holding `name`, then the caller's dict (KeyError if not there)."""
        self.read(scope, name, target, f"_U[{self.constant(name)}]")

    def foreach(self, node: ops.ForeachDirective, scope: _Scope, out: str) -> None:
        items = self.local(self.value(node.value, scope))
        name = node.loop_var_name
        iterable, length, count, item = self.temp(), self.temp("n"), self.temp("i"), self.temp("x")
        inner = self.scope(id(node), scope)
        loop_names = ["velocityCount", "velocityHasNext", "foreach", name]
        for loop_name in loop_names:
            self.slot(inner, loop_name)
        self.line(f"if {items} is not None:")
        self.indent += 1
        self.line(f"{iterable} = _loop_items({items}, {self.constant(name)})")
        self.line(f"{length} = _len({iterable})")
        self.line(f"for {count}, {item} in _enumerate({iterable}, 1):")
        self.indent += 1
        body_start = len(self.lines)
        self.lines.append("")  # the slots' reset, written once the body has been generated
        s = inner.slots
        self.line(f"{s['velocityCount']} = {count}")
        self.line(f"{s['velocityHasNext']} = {count} < {length}")
        self.line(f"{s['foreach']} = {{'count': {count}, 'index': {count} - 1, 'hasNext': {count} < {length}, "
                  f"'first': {count} == 1, 'last': {count} == {length}}}")
        self.line(f"{s[name]} = {item}")
        inner.present = set(loop_names)
        self.branch(scope, lambda: self.block(node.block, inner, out), indented=False)
        others = [local for n, local in inner.slots.items() if n not in loop_names]
        self.lines[body_start] = ("    " * self.indent + " = ".join(others + ["_A"])) if others else ""
        self.indent -= 2

    # -- values

    def value(self, node: Any, scope: _Scope) -> str:
        """Generate what computes `node`; returns a local or a constant holding its value."""
        kind = type(node)
        if kind in _LITERALS:
            return self.constant(node.value)
        if kind is ops.Value or kind is ops.AlternateValue:
            return self.value(node.expression, scope)
        if kind is ops.BracketedValueTerm:
            return self.value(node.value, scope)
        if kind is ops.FormalReference:
            if node.expression is None:
                raise _Unsupported("a bare $ as a value")
            return self.variable(node.expression, scope)
        if kind is ops.Expression:
            return self.expression(node, scope)
        if kind is ops.ParenthesizedExpression:
            return self.expression(node.calculate.__self__, scope)
        if kind is ops.InterpolatedStringLiteral:
            return self.interpolated(node, scope)
        if kind is ops.UnaryOperatorValue:
            operand = self.local(self.value(node.value, scope))
            t = self.temp()
            if node.op is _NOT:
                self.line(f"{t} = False if {operand} is None else not {operand}")
            else:
                self.line(f"{t} = False if {operand} is None else {self.constant(node.op)}({operand})")
            return t
        if kind is ops.ArrayLiteral:
            return self.list_(node.values, scope)
        if kind is ops.Range:
            return self.range_(node, scope)
        if kind is ops.DictionaryLiteral:
            parts = []
            for k, v in node.local_data.items():
                key = self.value(k, scope)
                parts.append(f"{key}: {self.value(v, scope)}")
            t = self.temp()
            self.line(f"{t} = {{{', '.join(parts)}}}")
            return t
        raise _Unsupported(kind.__name__)

    def list_(self, node: Any, scope: _Scope) -> str:
        if isinstance(node, ops.Range):
            return self.range_(node, scope)
        values = [self.value(v, scope) for v in getattr(node, "values", ())]
        t = self.temp()
        self.line(f"{t} = [{', '.join(values)}]")
        return t

    def range_(self, node: ops.Range, scope: _Scope) -> str:
        first = self.value(node.value1, scope)
        last = self.value(node.value2, scope)
        t = self.temp()
        self.line(f"{t} = _range({first}, {last} - 1, -1) if {last} < {first} else _range({first}, {last} + 1)")
        return t

    def interpolated(self, node: ops.InterpolatedStringLiteral, scope: _Scope) -> str:
        literal = _literal(node)
        if literal is not None:
            return self.constant(literal[0])
        parts = _joined(node.block.children)
        t = self.temp()
        if all(isinstance(part, str) or type(part) is ops.FormalReference for part in parts):
            pieces = [self.constant(part) if isinstance(part, str) else self.printed(part, scope) for part in parts]
            if len(pieces) == 1:
                return pieces[0]
            self.line(f"{t} = ''.join(({', '.join(pieces)},))")
            return t
        out = self.temp("o")
        self.line(f"{out} = []")
        saved = [set(s.present) for s in scope.chain()]  # what runs inside a value may not run
        self.block(node.block, scope, out)
        for s, present in zip(scope.chain(), saved):
            s.present = present
        self.line(f"{t} = ''.join({out})")
        return t

    def expression(self, node: ops.Expression, scope: _Scope) -> str:
        """`_expression`'s operator tree, operands generated in the order airspeed computes them."""
        terms = node.expression
        values: list[_Tree] = [_Tree(terms[0])]
        operators: list[ops.BinaryOperator] = []
        rest = terms[1:]

        def combine() -> None:
            right, left = values.pop(), values.pop()
            values.append(_Tree(op=operators.pop().apply_to, left=left, right=right))

        while rest:
            if not operators or rest[0].greater_precedence_than(operators[-1]):
                operators.append(rest[0])
                values.append(_Tree(rest[1]))
                rest = rest[2:]
            else:
                combine()
        while operators:
            combine()
        return self.tree(values[0], scope)

    def tree(self, tree: _Tree, scope: _Scope) -> str:
        if tree.op is None:
            return self.value(tree.node, scope)
        if tree.left.computed_early:
            a = self.tree(tree.left, scope)
            b = self.tree(tree.right, scope)
        else:  # a plain term: airspeed computes the right operand first
            b = self.tree(tree.right, scope)
            a = self.tree(tree.left, scope)
        t = self.temp()
        symbol = _INFIX.get(tree.op)
        if symbol is not None:
            self.line(f"{t} = {a} {symbol} {b}")
        else:
            self.line(f"{t} = {self.constant(tree.op)}({a}, {b})")
        return t

    # -- references

    def variable(self, node: ops.VariableExpression, scope: _Scope) -> str:
        """`_variable`: the chain of a reference, from the variables' scopes."""
        current: str | None = None  # None: the namespace itself
        while node is not None:
            current = self.part(node.part, current, scope)
            sub, node = node.subexpression, None
            while sub is not None and isinstance(sub.expression, ops.ArrayIndex):
                # airspeed computes this index in the object being indexed: the closure does that
                t = self.temp()
                index = self.constant(_value(sub.expression.index))
                self.line(f"{t} = {current}[{index}({current})]")
                current = t
                sub = sub.subexpression
            if sub is not None:
                node = sub.expression
        assert current is not None
        return current

    def part(self, node: ops.NameOrCall, current: str | None, scope: _Scope) -> str:
        name = node.name
        t = self.temp()
        receiver = None
        if current is None:
            self.lookup(scope, name, t)
        else:
            receiver = self.temp("r") if node.parameters is not None else None
            self.resolve(current, name, t, receiver)
        if node.parameters is not None:
            parameters = node.parameters.values
            if isinstance(parameters, ops.Range):
                raise _Unsupported("a range as parameters")
            literals = [_literal(v) for v in getattr(parameters, "values", ())]
            self.line(f"if {t} is not None:")
            self.indent += 1
            if None not in literals:
                arguments = [self.constant(literal[0]) for literal in literals]  # type: ignore[index]
            else:
                arguments = [self.value(v, scope) for v in parameters.values]
            if receiver is None:
                self.line(f"{t} = {t}({', '.join(arguments)})")
            else:
                self.line(f"{t} = {t}({', '.join(arguments)}) if {receiver} is _A else {t}({', '.join([receiver] + arguments)})")
            self.indent -= 1
        elif node.index is not None:
            self.line(f"if {t} is not None:")
            self.indent += 1
            key = self.value(node.index.index, scope)
            self.line(f"{t} = _item({t}, {key})")
            self.indent -= 1
        return t

    def lookup(self, scope: _Scope, name: str, target: str) -> None:
        """A name in the variables' scopes, innermost first, then in the caller's dict."""
        if not is_reachable_on(Namespace, name):
            self.line(f"{target} = None")
        else:
            self.read(scope, name, target, f"_U.get({self.constant(name)})")

    def resolve(self, current: str, name: str, target: str, receiver: str | None = None) -> None:
        """`_resolve(current, name)`: maps first (a plain name's shortcut in `_names`), then as
        learnt for the class. For a call, `receiver` is set to what a Java-style method is called
        on (with `target` the method itself, not wrapped in a lambda), else to _A."""
        key = self.constant(name)
        ways = self.ways.get(name)
        if ways is None:
            ways = self.ways[name] = self.constant(_new_ways())
        if is_reachable_on(dict, name):
            self.line(f"if {current}.__class__ is _dict:")
            self.line(f"    {target} = {current}.get({key})")
            self.line(f"    if {target} is None:")
            self.line(f"        {target} = _R({current}, {key})")
            if receiver is not None:
                self.line(f"    {receiver} = _A")
            self.line("else:")
            self.indent += 1
        way = receiver or self.temp("r")
        self.line(f"{way} = {ways}.get({current}.__class__)")
        self.line(f"if {way} is _GETATTR:")
        self.line(f"    {target} = _getattr({current}, {key}, None)")
        self.line(f"    if {target} is None:")
        self.line(f"        {target} = _R({current}, {key})")
        if receiver is not None:
            self.line(f"    {receiver} = _A")
            self.line(f"elif {receiver} is _EXTRA:")
            self.line(f"    {receiver} = _ops.__additional_methods__.get({current}.__class__)")
            self.line(f"    if {receiver} and {key} in {receiver}:")
            self.line(f"        {target} = {receiver}[{key}]")
            self.line(f"        {receiver} = {current}")
            self.line("    else:")
            self.line(f"        {target} = None")
        self.line("else:")
        self.line(f"    {target} = _RA({current}, {key}, {ways})")
        if receiver is not None:
            self.line(f"    {receiver} = _A")
        if is_reachable_on(dict, name):
            self.indent -= 1


_NOT = ops.UnaryOperatorValue.OPERATORS["!"]

# How `_resolve` finds a name on an object of a class, learnt on first use (per name, per class):
_GETATTR = "getattr"  # an attribute, live: no item lookup for this class (None: `_resolve` again)
_EXTRA = "extra"  # a Java-style method or nothing: a built-in class without that attribute
_NOTHING = "nothing"  # the sandbox says no
_GENERIC = "generic"  # anything else: `_resolve`


class _Ways(dict):  # type: ignore[type-arg]
    """class -> way, for one name in one generated template (weakly referenced: it lives as long
    as the template's function)."""

    __slots__ = ("__weakref__",)
    __hash__ = object.__hash__  # one per site, in a WeakSet: by identity
    __eq__ = object.__eq__  # type: ignore[assignment]


_ALL_WAYS: "weakref.WeakSet[_Ways]" = weakref.WeakSet()


def _new_ways() -> _Ways:
    ways = _Ways()
    _ALL_WAYS.add(ways)
    return ways


def _forget_ways() -> None:
    """What the sandbox allows has changed (a class registered): learn again."""
    for ways in list(_ALL_WAYS):
        ways.clear()


vtlsandbox.on_change(_forget_ways)


def _way(kind: type, name: str) -> str:
    if not is_reachable_on(kind, name):
        return _NOTHING
    if kind is dict or kind is Namespace or _holds_items(kind):
        return _GENERIC
    if kind.__flags__ & _HEAPTYPE:  # a Python class: its attributes may change, so look every time
        return _GETATTR
    if any(name in vars(klass) for klass in kind.__mro__):  # not `hasattr`: that sees the metaclass
        return _GETATTR
    return _EXTRA  # a built-in class's instances have no other attributes


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


def _resolve_on_value(current: Any, name: str, ways: dict[type, str]) -> Any:
    """`_resolve(current, name)` for what a reference reaches (never the variables' scopes), the
    way it is found learnt per class."""
    cls = current.__class__
    way = ways.get(cls)
    if way is None:
        way = ways[cls] = _way(cls, name)
    if way is _GETATTR:
        result = getattr(current, name, None)
        if result is not None:
            return result
    elif way is _EXTRA:
        methods = ops.__additional_methods__.get(cls)
        if methods and name in methods:
            method = methods[name]
            return lambda *args: method(current, *args)
        return None
    elif way is _NOTHING:
        return None
    return _resolve(current, name)


_GLOBALS = {
    "_A": _ABSENT, "_R": _resolve, "_RA": _resolve_on_value, "_GETATTR": _GETATTR, "_EXTRA": _EXTRA, "_getattr": getattr, "_str": str, "_dict": dict, "_isinstance": isinstance, "_ops": ops,
    "_RFT": ops.REPLACE_FORMAL_TEXT, "_len": len, "_enumerate": enumerate, "_range": range,
    "_loop_items": _loop_items, "_item": _item,
}


def generate(block: ops.Block) -> tuple[str, dict[str, Any]]:
    """The source of a function `template(_U)` rendering `block` from the caller's dict `_U`, and
    the constants it refers to by name. _Unsupported when the block holds what is not generated."""
    first = _Source(None)
    first.block(block, first.scope("top", None), "_o")
    source = _Source(first.recorded)
    top = source.scope("top", None)
    source.block(block, top, "_o")
    head = ["def template(_U):", "    _o = []"]
    if top.slots:
        head.append("    " + " = ".join([*top.slots.values(), "_A"]))
    return "\n".join(head + [line for line in source.lines if line] + ["    return ''.join(_o)", ""]), source.constants


def _generated(block: ops.Block) -> Callable[[dict[str, Any]], str] | None:
    """The generated function for `block`, or None when it cannot be (what is not generated, or
    nesting deeper than Python compiles)."""
    try:
        text, constants = generate(block)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = compile(text, "<vtl template>", "exec")
    except (_Unsupported, RecursionError, SyntaxError, MemoryError, ValueError):
        return None
    namespace: dict[str, Any] = {"__builtins__": {}, **_GLOBALS, **constants}
    exec(code, namespace)
    return namespace["template"]


def compile_template(template: airspeed.Template) -> Renderer | None:
    """`vtlcompile.compile_tree`, with the generated function for renders from a plain dict."""
    template.ensure_compiled()
    return compile_tree(template, _generated(template.root_element.block))
