"""Mapping templates rendered with $input, $context, $stageVariables, $util (A2)."""
from __future__ import annotations

import json

from streamlab.localstack.apiexec import vtl
from tests.localstack.apiexec.sample_api import PUT_TEMPLATE

PARAMS = {"path": {"id": "p1"}, "querystring": {"q": "v", "id": "shadowed"}, "header": {"X-Trace": "t"}}


def _render(text, body="", context=None, stage=None):
    return vtl.render(vtl.compile_template(text), input=vtl.Input(body, PARAMS),
                      context=context or {}, stage_variables=stage or {})


def test_a2_input_json_path_and_params():
    body = '{"a": {"b": [1, "two"]}, "s": "x\\"y"}'
    assert _render("$input.json('$.a')", body) == '{"b": [1, "two"]}'
    assert _render("$input.path('$.a.b').size() $input.path('$.s')", body) == '2 x"y'
    assert _render("$input.params('id') $input.params('q') $input.params('x-trace') [$input.params('none')]") == "p1 v t []"
    assert _render("$input.params().path.id") == "p1"


def test_a2_context_stage_variables_and_quiet_missing_values():
    ctx = {"requestTimeEpoch": 1700000000123, "identity": {"sourceIp": "127.0.0.1"}}
    assert _render("$context.requestTimeEpoch $context.identity.sourceIp [$context.nothing] $stageVariables.t",
                   context=ctx, stage={"t": "tbl"}) == "1700000000123 127.0.0.1 [] tbl"


def test_a2_body_is_data_never_template():
    body = "#set($x = 1)${x} $context.requestId #if(true)x#end"
    out = _render('{"S": "$util.escapeJavaScript($input.body)"}', body)
    assert json.loads(out)["S"] == body


def test_a2_replace_all_uses_java_replacement_syntax():
    assert _render("""#set($s = "a-b-c")$s.replaceAll("-(\\w)", "+$1")""") == "a+b+c"


def test_a2_put_template_renders_valid_json_for_awkward_bodies():
    body = 'it\'s "quoted" \\ back\nslash\t😀 $x #set( ${y}'
    out = _render(PUT_TEMPLATE, body, context={"extendedRequestId": "id1", "requestTimeEpoch": 5},
                  stage={"tableName": "T"})
    doc = json.loads(out)
    assert doc["TableName"] == "T"
    assert doc["Item"]["body"]["S"] == body
    assert doc["Item"]["accepted_at"]["N"] == "5"


def test_templates_are_compiled_once():
    assert vtl.compile_template("x $a") is vtl.compile_template("x $a")
