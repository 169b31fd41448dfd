"""Compiled mapping templates compute exactly what airspeed computes (vtlcompile).

Every case renders one template twice, compiled and through airspeed's own interpreter, from
fresh copies of the same namespace, and compares what was written, what the template changed in
the namespace and, when it fails, how it failed.
"""
from __future__ import annotations

import json
from typing import Any

import airspeed
import pytest
from hypothesis import assume, given, settings, strategies as st

from streamlab.localstack.apiexec import vtl, vtlcompile, vtlsource
from streamlab.localstack.apiexec.vtlutil import UTIL
from streamlab.provision.paths import api_dir

DEPLOYED = sorted((api_dir() / "templates").glob("*.vtl"))


def _namespace(body: str = '{"a": {"b": [1, "two"]}, "n": null}', headers: dict[str, str] | None = None,
               method: str = "POST") -> dict[str, Any]:
    params = {"path": {"id": "p-1"}, "querystring": {"q": "v"}, "header": headers or {"Idempotency-Key": "k-1"}}
    return {
        "input": vtl.Input(body, params),
        "context": {"requestTimeEpoch": 1700000000123, "extendedRequestId": "Mf2JqF5aoAMF1Tw=", "httpMethod": method,
                    "responseOverride": {"status": None, "header": {}}, "identity": {"sourceIp": "127.0.0.1"}},
        "stageVariables": {"tableName": "T"},
        "util": UTIL,
        "a": 3, "s": "Hello-World", "l": [1, 2, "x"], "fixed": [4, "y"], "m": {"k": "v", "n": {"x": 1}, "e": ""}, "z": None,
    }


def _outcome(render, namespace: dict[str, Any]) -> tuple[str, str]:
    """What a render wrote (or how it failed), and the namespace's data afterwards."""
    try:
        written = "wrote " + render(namespace)
    except json.JSONDecodeError:
        written = "the body is not JSON"
    except airspeed.TemplateError:
        written = "the template failed"
    after = {k: v for k, v in namespace.items() if k not in ("input", "util")}
    return written, repr(after)


def assert_same(text: str, make_namespace=_namespace) -> tuple[str, str]:
    parsed = airspeed.Template(text)
    parsed.ensure_compiled()
    compiled = vtlsource.compile_template(parsed)  # a plain dict runs the generated source, others the closures
    assert compiled is not None, f"not compiled: {text!r}"
    expected = _outcome(lambda namespace: vtl.interpret(parsed, namespace), make_namespace())
    assert _outcome(compiled, make_namespace()) == expected, text
    return expected


@pytest.mark.parametrize("path", DEPLOYED, ids=lambda p: p.name)
@pytest.mark.parametrize("body", [
    '{"data": "it\'s \\"q\\" \\\\ $x #set( ${y} 😀"}',
    '{"Attributes": {"id": {"S": "k-1"}, "status": {"S": "ACCEPTED"}, "accepted_at": {"N": "1700000000123"}}}',
    '{"Item": {"id": {"S": "k-1"}, "status": {"S": "FAILED"}, "attempts": {"N": "3"}, "failure_reason": {"S": "it\'s"},'
    ' "last_error": {"S": "boom"}}}',
    '{"Item": {"id": {"S": "k-1"}, "status": {"S": "ACCEPTED"}}}',
    '{"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}',
    '{"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}',
    '{"__type": "com.amazon.coral.validate#ValidationException"}',
    "{}", "", "not json",
])
@pytest.mark.parametrize("key", ["k-1", "", "bad key!"])
def test_the_deployed_templates_render_the_same_compiled(path, body, key):
    text = path.read_text(encoding="utf-8")
    for method in ("POST", "GET"):
        assert_same(text, lambda: _namespace(body, {"Idempotency-Key": key} if key else {}, method))


def test_the_deployed_templates_are_compiled():
    for path in DEPLOYED:
        assert vtl.compile_template(path.read_text(encoding="utf-8")).compiled is not None, path.name


@pytest.mark.parametrize("text", [
    # references: items, attributes, Java-style methods, calls, indexes, quiet and alternate forms
    "$a $s $s.length() $s.toUpperCase() $l $l.size() $l[0] $l.get(2) $m $m.k $m.n.x $m['k'] $z $nothing",
    "${a} $!{s} $!nothing ${nothing|'alt'} ${z|$a} $m.nothing.deeper $l[7] $l.get(0).length()",
    "$input.params('id') $input.params('Q') $input.params() $input.json('$.a') $input.path('$.a.b')[1]",
    "$input.path('$.a.b').size() $input.body $context.identity.sourceIp $stageVariables.tableName",
    "$util.escapeJavaScript($s) $util.urlEncode('a b') $util.base64Encode('x') $util.parseJson('[1]')[0]",
    "$s.replaceAll('(\\w+)-(\\w+)', '$2-$1') $s.substring(1, 3) $s.matches('[A-Za-z-]+') $s.contains('W')",
    # #set: variables, into maps, bracketed keys, inherited from #foreach
    "#set($x = $a + 1)$x #set($m.k = 'w')$m.k #set($m.n.x = [1..3])$m.n.x #set($m['q'] = $x)$m",
    "#set($context.responseOverride.status = 404)#set($context.responseOverride.header.Location = \"r/$a\")",
    "#set($t = 0)#foreach($i in [1..4])#set($t = $t + $i)#end$t",
    # #if / #elseif / #else, null conditions, operators and precedence, side effects in order
    "#if($a > 2)big#elseif($a == 2)two#{else}small#end #if($nothing)null-is-true#end #if(!$z)not-z#end",
    "#if($a == 3 && $s != '' || false)y#end #if($a eq 3 and $a ne 4)y#end #if($a ge 3 or $a lt 0)y#end",
    "${a}: $a + $a * 2 - 1 #set($r = $a + $a * 2 - 1 / 1 % 2)$r #set($q = ($a + $a) * 2)$q",
    "#set($e = $l.add(1) || $l.add(2) && $l.add(3))$l #set($f = $l.add($l.size()) == $l.add($l.size()))$l",
    "#set($g = $m.put('p', 1) + $m.put('p', 2) * $m.put('p', 3))$m #set($h = ($l.add(8) && $l.add(9)) || $l.add(7))$l",
    # #foreach over lists, maps, ranges, nothing; its counters
    "#foreach($i in $l)$i:$velocityCount:$velocityHasNext:$foreach.index:$foreach.first:$foreach.last,#end",
    "#foreach($k in $m)$k=$m[$k];#end #foreach($i in [3..1])$i#end #foreach($i in $nothing)x#end",
    "#foreach($i in [1, 'b', 2.5, true, null, [1], {'k': 'v'}])[$i]#end",
    # comments, escapes, text that only looks like VTL
    "## a comment\n#* a block\ncomment *#\\$a \\#set #ffffff $ 100% {\"a\": 1} $1",
    # failures: the same kind of failure both ways
    "$a / 0", "#set($x = $s - 1)", "#foreach($i in 5)x#end", "$input.json('$.a')", "#set($nothing.x = 1)",
])
def test_templates_render_the_same_compiled(text):
    assert_same(text)


def test_a_body_that_is_not_json_fails_as_such_both_ways():
    assert assert_same("$input.path('$.a')", lambda: _namespace("{not json"))[0] == "the body is not JSON"


@pytest.mark.parametrize("escape", [
    "$util.__class__.__init__.__globals__", "$input._params", "$s.__class__.__mro__", "$m.__len__()",
    "$input.json.__func__", '#set($f = "{0.__class__}")$f.format($util)', "$util.escapeJavaScript.__globals__",
])
def test_the_sandbox_holds_compiled(escape):
    assert assert_same(f"[{escape}]")[0] == "wrote []"


@pytest.mark.parametrize("text", [
    "#macro(twice $x)$x$x#end#twice('a')", "#define($d)x#end$d", "#stop", "#evaluate('$a')",
])
def test_directives_it_does_not_compile_are_rendered_by_airspeed(text):
    template = vtl.compile_template(text)
    assert template.compiled is None
    namespace = {"input": vtl.Input("{}", {"path": {}, "querystring": {}, "header": {}}), "context": {},
                 "stageVariables": {}, "util": UTIL}
    assert vtl.render(template, input=namespace["input"], context={}, stage_variables={}) == template.parsed.merge(namespace)


# -- generated templates -------------------------------------------------------------------------

_ATOMS = st.sampled_from([
    "$a", "$s", "$l", "$m", "$z", "$nothing", "$m.k", "$m.n.x", "$m.e", "$l[1]", "$l.get(0)", "$l.size()",
    "$s.length()", "$s.toLowerCase()", "$m['k']", "$l.add($a)", "$m.put('k', 2)", "$input.path('$.a.b')",
    "$input.params('q')", "$context.httpMethod", "$util.escapeJavaScript($s)", "0", "1", "-2", "3.5", "'t'",
    '"i$a-${s}"', "true", "false", "null", "[1, $a]", "[1..3]", "{'k': $a}", "$foreach.count",
])
_OPERATORS = st.sampled_from(["+", "-", "*", "/", "%", "==", "!=", "<", ">", "<=", ">=", "&&", "||", "and", "or"])


def _expressions() -> st.SearchStrategy[str]:
    flat = st.builds(lambda first, rest: first + "".join(f" {op} {v}" for op, v in rest),
                     _ATOMS, st.lists(st.tuples(_OPERATORS, _ATOMS), max_size=4))
    return st.recursive(flat, lambda inner: st.one_of(
        inner.map(lambda e: f"({e})"), inner.map(lambda e: f"!({e})"),
        st.builds(lambda a, op, b: f"({a}) {op} {b}", inner, _OPERATORS, _ATOMS)), max_leaves=4)


_TEXT = st.sampled_from(["x", " ", "\n", '{"k": ', "}", "#", "$", "\\$a", "## note\n", "#* c *#", "100%"])


def _blocks() -> st.SearchStrategy[str]:
    leaf = st.one_of(
        _TEXT, _ATOMS, _ATOMS.map(lambda a: "$!{" + a[1:] + "}" if a.startswith("$") else a),
        st.builds(lambda e: f"#set($v = {e})$v", _expressions()),
        st.builds(lambda e: f"#set($m.w = {e})", _expressions()),
    )
    return st.recursive(leaf, lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map("".join),
        st.builds(lambda c, a, b: f"#if({c}){a}#else{b}#end", _expressions(), inner, inner),
        st.builds(lambda c, d, a, b: f"#if({c}){a}#elseif({d}){b}#end", _expressions(), _expressions(), inner, inner),
        st.builds(lambda src, body: f"#foreach($i in {src}){body}$i#end",
                  # not $l: templates append to it, and a #foreach over it would never end
                  st.sampled_from(["$fixed", "$m", "[1..3]", "$nothing", "$s", "[]"]), inner),
    ), max_leaves=8)


@settings(max_examples=300)
@given(_blocks())
def test_generated_templates_render_the_same_compiled(text):
    try:
        airspeed.Template(text).ensure_compiled()
    except airspeed.TemplateSyntaxError:
        assume(False)
    assert_same(text)
