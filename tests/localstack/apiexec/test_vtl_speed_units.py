"""The shortcuts that make mapping templates cheap to render change no output: the deployed
templates byte for byte, the variables' scopes, literal arguments and strings, text joined at
compile time, the two-pass `escapeJavaScript` and the JSONPath walk without wildcards."""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, strategies as st

from streamlab.localstack.apiexec import jsonpath, vtl, vtlutil
from streamlab.provision.paths import api_dir
from tests.localstack.apiexec.test_vtlcompile import _namespace, assert_same

_TRICKY = json.dumps({"data": "it's \"q\" \\ /x\n\t\x01é😀\u2028"}, ensure_ascii=False)


def _render(name: str, body: str, context: dict[str, Any]) -> str:
    template = vtl.compile_template((api_dir() / "templates" / name).read_text(encoding="utf-8"))
    params = {"path": {}, "querystring": {}, "header": {"Idempotency-Key": "k-1"}}
    return vtl.render(template, input=vtl.Input(body, params), context=context, stage_variables={"tableName": "T"})


def _context() -> dict[str, Any]:
    return {"extendedRequestId": "Mf2JqF5aoAMF1Tw=", "requestTimeEpoch": 1700000000123, "httpMethod": "POST",
            "responseOverride": {"status": None, "header": {}}}


def test_the_post_request_template_renders_byte_for_byte():
    # As rendered before the shortcuts: quotes, backslash, slash, controls, non-ASCII, astral.
    expected = (
        '{"TableName": "T", "Key": {"id": {"S": "k-1"}}, "UpdateExpression": "SET #b = :b, #a = if_not_exists(#a, :a), '
        '#s = if_not_exists(#s, :s)", "ConditionExpression": "attribute_not_exists(#id) OR #b = :b", '
        '"ExpressionAttributeNames": {"#id": "id", "#b": "body", "#a": "accepted_at", "#s": "status"}, '
        '"ExpressionAttributeValues": {":b": {"S": "{\\"data\\": \\"it\'s \\\\\\"q\\\\\\" \\\\\\\\ \\/x\\\\n\\\\t'
        '\\\\u0001\\u00E9\\uD83D\\uDE00\\u2028\\"}"}, ":a": {"N": "1700000000123"}, ":s": {"S": "ACCEPTED"}}, '
        '"ReturnValues": "ALL_NEW"}\n'
    )
    assert _render("put_request.vtl", _TRICKY, _context()) == expected


def test_the_post_response_template_renders_byte_for_byte_and_sets_its_header():
    answer = json.dumps({"Attributes": {"id": {"S": "k-1"}, "status": {"S": "ACCEPTED"},
                                        "accepted_at": {"N": "1700000000999"}, "body": {"S": _TRICKY}}})
    context = _context()
    assert _render("put_response.vtl", answer, context) == (
        '{"id": "k-1", "status": "ACCEPTED", "location": "requests/k-1", "accepted_at": 1700000000999, '
        '"duplicate": true}\n')
    assert context["responseOverride"] == {"status": None, "header": {"Location": "requests/k-1"}}


def _with_odd_values() -> dict[str, Any]:
    namespace = _namespace()
    namespace.update(od=OrderedDict(k="v"), tp=(1, "x"), n=7, b=True, nul=None)
    return namespace


@pytest.mark.parametrize("text", [
    # #set in a #foreach: a name only the caller gave stays in the loop's scope, one set before goes out
    "#foreach($i in [1, 2])#set($a = $i)#set($t = $i)#end$a $t",
    "#set($t = 0)#foreach($i in [1, 2])#set($t = $i)#set($a = $t)#end$a $t",
    "#foreach($i in [1])#foreach($j in [2])#set($i = $j)$i#end$i#end$!i",
    # a variable set to null in a scope hides nothing outside it
    "#foreach($i in [1])#set($s = $nothing)[$!s]#end$s",
    "#set($a = $nothing)$a $!a ${a|'alt'}",
    # names on what has no items, has items of its own, or is not there
    "$tp $tp.size() $tp.nothing $n.toString() $n.nothing $b $nul $!nul $od.k $od.nothing $od.keySet()",
    "$input.nothing $util.nothing $s.nothing() $m.nothing.k $input.params.size() $input.body.length()",
    # calls with literal arguments, computed ones, and both
    "$s.replace('-', '+') $s.replace(\"-\", \"$a\") $s.replace('-', $s) $s.substring(1) $s.substring($a, 5)",
    "$s.replaceAll(\"(\\w+)-\", '$1+') $util.escapeJavaScript(\"it's\") $util.escapeJavaScript(null)",
    # strings: text only, one reference, text and references, a directive, an alternate, not found
    "#set($x = \"plain\")$x #set($x = \"$a\")$x #set($x = \"r/$s/$a\")$x #set($x = \"#if($a)y#{else}n#end\")$x",
    "#set($x = \"${nothing|'d'}$!nothing$nothing\")$x #set($x = \"\")[$x] #set($x = \"a ## c\")$x",
    # text runs split by comments and '#' are written as before
    "a ## one\nb#* two *#c #d #e $a## f\ng #{a}x",
])
def test_lookups_and_strings_render_the_same_compiled(text):
    assert_same(text, _with_odd_values)


def _escaped_by_the_rule(text: str) -> str:
    out = []
    for ch in text:
        if ch in vtlutil._SHORT:
            out.append(vtlutil._SHORT[ch])
        elif ord(ch) < 0x20 or 0x80 <= ord(ch) <= 0xFFFF:
            out.append("\\u%04X" % ord(ch))
        elif ord(ch) > 0xFFFF:
            code = ord(ch) - 0x10000
            out.append("\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out)


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_escape_javascript_follows_the_per_character_rule(text):
    assert vtlutil.escape_javascript(text) == _escaped_by_the_rule(text)


@pytest.mark.parametrize("text", [
    "", "plain", "\x7f", "'\"\\/", "\\'", "\n\x00é", "é\n", "\x1f\x80", "a\U0010ffff\tz",
])
def test_escape_javascript_at_the_joints_of_its_two_passes(text):
    assert vtlutil.escape_javascript(text) == _escaped_by_the_rule(text)


def test_escape_javascript_of_a_lone_surrogate_still_fails():
    # What a JSON body's "\ud800" becomes: Java would escape it, Python's encoder refuses it (a 500).
    with pytest.raises(UnicodeEncodeError):
        vtlutil.escape_javascript("a\n\ud800")


def _evaluated_generally(document: Any, path: str) -> Any:
    # The walk wildcard paths take, a set of values per step, works for every path.
    return jsonpath._evaluate_wild(document, jsonpath.compile_path(path))


_DOCUMENT = {"a": {"b": [10, {"c": "x"}, []], "0": "zero"}, "l": [[1, 2], {"a": None}], "n": None, "s": "str"}


@given(st.lists(st.sampled_from([".a", ".b", ".c", ".0", "[0]", "[1]", "[-1]", "[-4]", "[2]", "['a']", ".l",
                                 ".n", ".s", "[*]", ".*"]), max_size=4))
def test_jsonpath_without_wildcards_walks_as_the_general_walk(steps):
    path = "$" + "".join(steps)
    assert jsonpath.evaluate(_DOCUMENT, path) == _evaluated_generally(_DOCUMENT, path)
