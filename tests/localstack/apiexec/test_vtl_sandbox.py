"""Templates see API Gateway's documented VTL surface and nothing of Python (A2, security)."""
from __future__ import annotations

import pytest

from streamlab.localstack.apiexec import vtl

PARAMS = {"path": {}, "querystring": {}, "header": {}}


def _render(text, body='{"a": "b"}'):
    return vtl.render(vtl.compile_template(text), input=vtl.Input(body, PARAMS),
                      context={"requestId": "r1"}, stage_variables={"t": "tbl"})


@pytest.mark.parametrize("escape", [
    "$util.__class__",
    "$util.__class__.__init__.__globals__",
    "$util.escapeJavaScript.__globals__",
    "$input.__class__",
    "$input._params",
    "$input.body.__class__.__mro__",
    "$context.__class__",
    "$stageVariables.__len__()",
    "$input.json.__self__",
    "$input.json.__func__.__globals__",
])
def test_python_internals_do_not_resolve(escape):
    # An unresolved reference prints nothing, as an unknown one does on API Gateway ([$context.nothing] -> []).
    assert _render(f"[{escape}]") == "[]"


def test_format_strings_cannot_walk_attributes_of_their_arguments():
    template = '#set($f = "{0.__class__.__init__.__globals__}")$f.format($util)'
    assert _render(f"[{template}]") == "[]"


def test_functions_and_methods_expose_nothing():
    assert _render("[$util.escapeJavaScript.call][$input.json.im_func][$util.urlEncode.x]") == "[][][]"


def test_the_documented_surface_still_works():
    out = _render("$input.json('$.a') $input.path('$.a').length() $util.urlEncode('a b') $context.requestId "
                  "$stageVariables.t $input.body.replaceAll('a', 'x')")
    assert out == '"b" 1 a+b r1 tbl {"x": "b"}'
