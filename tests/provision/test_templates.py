"""The VTL files of infra/api rendered with the API executor's renderer (pure, no stack).

The property: whatever JSON text a client sends, the PutItem request the template makes is valid
JSON and stores the body exactly as sent (the escapeJavaScript + replaceAll workaround, A2).
"""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab import schema
from streamlab.localstack.apiexec import vtl
from streamlab.provision.paths import api_dir

CONTEXT = {"extendedRequestId": "Ab12Cd=", "requestTimeEpoch": 1795800000123, "responseOverride": {"status": None}}
STAGE = {"tableName": "lab-requests"}


def _render(name: str, body: str, path_params: dict | None = None, context: dict | None = None) -> str:
    template = vtl.compile_template((api_dir() / "templates" / name).read_text())
    params = {"path": path_params or {}, "querystring": {}, "header": {}}
    return vtl.render(template, input=vtl.Input(body, params), context=context or dict(CONTEXT), stage_variables=STAGE)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), json_values, max_size=5), st.booleans())
def test_put_request_stores_any_json_object_byte_exact(obj, ascii_only):
    body = json.dumps(obj, ensure_ascii=ascii_only)
    request = json.loads(_render("put_request.vtl", body))
    assert request == {
        "TableName": "lab-requests",
        "Item": {
            schema.ID: {"S": "Ab12Cd="},
            schema.BODY: {"S": body},
            schema.ACCEPTED_AT: {"N": "1795800000123"},
            schema.STATUS: {"S": schema.ACCEPTED},
        },
    }


def test_put_request_keeps_quotes_backslashes_and_vtl_sequences():
    body = '{"q": "it\'s \\\\\' \\"x\\" $input.body #set($a = 1) ${x} \\u2028 \u00e9"}'
    assert json.loads(_render("put_request.vtl", body))["Item"][schema.BODY]["S"] == body


def test_put_response_is_the_gateway_made_id():
    assert json.loads(_render("put_response.vtl", "{}")) == {"id": "Ab12Cd="}


def test_get_response_for_an_item_and_for_none():
    item = {"Item": {schema.ID: {"S": "r1"}, schema.STATUS: {"S": "PROCESSED"},
                     schema.ACCEPTED_AT: {"N": "100"}, schema.PROCESSED_AT: {"N": "175"}, schema.BODY: {"S": "{}"}}}
    found = json.loads(_render("get_response.vtl", json.dumps(item), {"id": "r1"}))
    assert found == {"id": "r1", "status": "PROCESSED", "accepted_at": 100, "processed_at": 175}

    accepted = {"Item": {k: v for k, v in item["Item"].items() if k != schema.PROCESSED_AT}}
    accepted["Item"][schema.STATUS] = {"S": "ACCEPTED"}
    assert json.loads(_render("get_response.vtl", json.dumps(accepted), {"id": "r1"}))["processed_at"] is None

    context = dict(CONTEXT, responseOverride={"status": None})
    missing = json.loads(_render("get_response.vtl", "{}", {"id": 'we"ird'}, context))
    assert missing["id"] == 'we"ird' and context["responseOverride"]["status"] == 404


def test_get_request_escapes_the_path_id():
    request = json.loads(_render("get_request.vtl", "", {"id": 'a"b\\c'}))
    assert request["Key"] == {schema.ID: {"S": 'a"b\\c'}} and request["TableName"] == "lab-requests"


def test_error_response_carries_the_backend_error():
    error = {"__type": "com.amazonaws.dynamodb.v20120810#ValidationException", "message": "Item size too large"}
    rendered = json.loads(_render("error_response.vtl", json.dumps(error)))
    assert rendered["error"] == error
