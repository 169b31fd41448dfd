"""The VTL files of infra/api rendered with the API executor's renderer (pure, no stack).

The property: whatever JSON text a client sends, the UpdateItem request the template makes is valid
JSON and stores the body exactly as sent (the escapeJavaScript + replaceAll workaround, A2), once
per id: the Idempotency-Key when valid, else the gateway-made id.
"""
from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from streamlab import schema
from streamlab.localstack.apiexec import vtl
from streamlab.provision.paths import api_dir

CONTEXT = {"extendedRequestId": "Ab12Cd=", "requestTimeEpoch": 1795800000123, "httpMethod": "POST",
           "responseOverride": {"status": None, "header": {}}}
STAGE = {"tableName": "lab-requests"}


def _render(name: str, body: str, path_params: dict | None = None, context: dict | None = None,
            headers: dict | None = None) -> str:
    template = vtl.compile_template((api_dir() / "templates" / name).read_text())
    params = {"path": path_params or {}, "querystring": {}, "header": headers or {}}
    context = context if context is not None else {**CONTEXT, "responseOverride": {"status": None, "header": {}}}
    return vtl.render(template, input=vtl.Input(body, params), context=context, stage_variables=STAGE)


def _override() -> dict:
    return {**CONTEXT, "responseOverride": {"status": None, "header": {}}}


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
    assert request["TableName"] == "lab-requests" and request["Key"] == {schema.ID: {"S": "Ab12Cd="}}
    assert request["ExpressionAttributeValues"] == {
        ":b": {"S": body}, ":a": {"N": "1795800000123"}, ":s": {"S": schema.ACCEPTED}}
    names = request["ExpressionAttributeNames"]
    assert {names["#b"], names["#a"], names["#s"], names["#id"]} == {
        schema.BODY, schema.ACCEPTED_AT, schema.STATUS, schema.ID}
    # Stored once: a new id, or the same body again (then nothing changes and the first stays).
    assert request["ConditionExpression"] == "attribute_not_exists(#id) OR #b = :b"
    assert request["UpdateExpression"] == "SET #b = :b, #a = if_not_exists(#a, :a), #s = if_not_exists(#s, :s)"
    assert request["ReturnValues"] == "ALL_NEW"


def test_put_request_keeps_quotes_backslashes_and_vtl_sequences():
    body = '{"q": "it\'s \\\\\' \\"x\\" $input.body #set($a = 1) ${x} \\u2028 \u00e9"}'
    assert json.loads(_render("put_request.vtl", body))["ExpressionAttributeValues"][":b"]["S"] == body


def test_put_request_takes_a_valid_idempotency_key_as_the_id_and_blanks_a_bad_one():
    def key_of(header: str) -> str:
        return json.loads(_render("put_request.vtl", "{}", headers={"Idempotency-Key": header}))["Key"]["id"]["S"]

    assert key_of("order-42_A") == "order-42_A" and key_of("k" * 64) == "k" * 64
    # A blank key makes DynamoDB refuse the write (ValidationException): nothing is stored, 400.
    for bad in ("k" * 65, "has space", 'quo"te', "a.b", "é", "x\\y"):
        assert key_of(bad) == "", bad


def test_put_response_gives_the_id_its_location_and_whether_it_was_a_repeat():
    stored = {"Attributes": {schema.ID: {"S": "Ab12Cd="}, schema.STATUS: {"S": "ACCEPTED"},
                             schema.ACCEPTED_AT: {"N": "1795800000123"}}}
    context = _override()
    first = json.loads(_render("put_response.vtl", json.dumps(stored), context=context))
    assert first == {"id": "Ab12Cd=", "status": "ACCEPTED", "location": "requests/Ab12Cd=",
                     "accepted_at": 1795800000123, "duplicate": False}
    assert context["responseOverride"]["header"] == {"Location": "requests/Ab12Cd="}
    earlier = {"Attributes": {**stored["Attributes"], schema.STATUS: {"S": "PROCESSED"},
                              schema.ACCEPTED_AT: {"N": "1795800000000"}}}
    repeat = json.loads(_render("put_response.vtl", json.dumps(earlier)))
    assert repeat["duplicate"] is True and repeat["status"] == "PROCESSED"


def _item(**extra) -> dict:
    return {"Item": {schema.ID: {"S": "r1"}, schema.ACCEPTED_AT: {"N": "100"}, schema.BODY: {"S": "{}"}, **extra}}


def test_get_response_for_each_state_and_for_none():
    processed = _item(**{schema.STATUS: {"S": "PROCESSED"}, schema.PROCESSED_AT: {"N": "175"}, schema.ATTEMPTS: {"N": "1"}})
    context = _override()
    assert json.loads(_render("get_response.vtl", json.dumps(processed), {"id": "r1"}, context)) == {
        "id": "r1", "status": "PROCESSED", "accepted_at": 100, "processed_at": 175, "failed_at": None, "attempts": 1}
    assert context["responseOverride"] == {"status": None, "header": {}}

    context = _override()
    accepted = json.loads(_render("get_response.vtl", json.dumps(_item(**{schema.STATUS: {"S": "ACCEPTED"}})),
                                  {"id": "r1"}, context))
    assert accepted["processed_at"] is None and accepted["attempts"] == 0
    assert context["responseOverride"]["header"] == {"Retry-After": "1"}  # ask again in a second

    failed = _item(**{schema.STATUS: {"S": "FAILED"}, schema.ATTEMPTS: {"N": "3"}, schema.FAILED_AT: {"N": "900"},
                      schema.FAILURE_REASON: {"S": "RetryAttemptsExhausted"}, schema.FAILED_ATTEMPTS: {"N": "3"},
                      schema.LAST_ERROR: {"S": "ValueError: it's \"bad\"\n"}})
    assert json.loads(_render("get_response.vtl", json.dumps(failed), {"id": "r1"})) == {
        "id": "r1", "status": "FAILED", "accepted_at": 100, "processed_at": None, "failed_at": 900, "attempts": 3,
        "reason": "RetryAttemptsExhausted", "failed_attempts": 3, "error": "ValueError: it's \"bad\"\n"}

    context = _override()
    missing = json.loads(_render("get_response.vtl", "{}", {"id": "r-2"}, context))
    assert missing["id"] == "r-2" and context["responseOverride"]["status"] == 404


def test_get_request_blanks_an_id_that_cannot_be_one():
    request = json.loads(_render("get_request.vtl", "", {"id": "Ab12_-Cd="}))
    assert request["Key"] == {schema.ID: {"S": "Ab12_-Cd="}} and request["TableName"] == "lab-requests"
    for bad in ('a"b\\c', "x" * 65, "a/b", ""):
        assert json.loads(_render("get_request.vtl", "", {"id": bad}))["Key"][schema.ID]["S"] == "", bad


def _error(name: str, error: dict, method: str = "POST", key: str = "") -> tuple[dict, dict]:
    context = {**_override(), "httpMethod": method}
    headers = {"Idempotency-Key": key} if key else {}
    return json.loads(_render(name, json.dumps(error), context=context, headers=headers)), context["responseOverride"]


def _dynamodb_error(kind: str) -> dict:
    return {"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": f"raw {kind} text"}


def test_dynamodb_errors_become_answers_a_client_can_act_on_without_their_raw_text():
    cases = {
        "ProvisionedThroughputExceededException": (429, "1"),
        "ThrottlingException": (429, "1"),
        "RequestLimitExceeded": (429, "1"),
        "ConditionalCheckFailedException": (422, None),
        "ValidationException": (None, None),  # the 400 of the integration response
        "SerializationException": (None, None),  # a body passed through that is not DynamoDB JSON
        "ResourceNotFoundException": (500, None),
        "AccessDeniedException": (500, None),
    }
    for kind, (status, retry_after) in cases.items():
        body, override = _error("error_response.vtl", _dynamodb_error(kind), key="order-1")
        assert override["status"] == status, kind
        assert override["header"].get("Retry-After") == retry_after, kind
        assert "raw" not in json.dumps(body) and body["message"], kind
    conflict, override = _error("error_response.vtl", _dynamodb_error("ConditionalCheckFailedException"), key="order-1")
    assert conflict["id"] == "order-1" and "first request stands" in conflict["message"]
    assert override["header"]["Location"] == "requests/order-1"


def test_a_bad_key_and_a_bad_get_id_are_named_as_such():
    bad_key, override = _error("error_response.vtl", _dynamodb_error("ValidationException"), key="no spaces")
    assert "Idempotency-Key" in bad_key["message"] and override["status"] is None  # 400
    bad_id, override = _error("error_response.vtl", _dynamodb_error("ValidationException"), method="GET")
    assert override["status"] == 404 and bad_id == {"message": "no request with this id"}


def test_a_dynamodb_5xx_is_503_with_retry_after_and_says_the_outcome_is_unknown():
    body, override = _error("unavailable_response.vtl", _dynamodb_error("InternalServerError"))
    assert override["header"] == {"Retry-After": "1"} and "may or may not be stored" in body["message"]
    assert "Idempotency-Key" in body["message"] and "raw" not in json.dumps(body)
