"""The API executor over the wire: a REST API defined with boto3, invoked at the front door (A1–A7)."""
from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from streamlab import schema
from tests.localstack.apiexec import sample_api

pytestmark = pytest.mark.integration


def test_a1_post_writes_the_item_and_answers_202(target, requests_api, invoke, get_item):
    before = int(time.time() * 1000)
    reply = invoke("POST", requests_api.url + "/requests", '{"order": 1}')
    assert reply.status == 202, reply.body
    item_id = reply.json()["id"]
    assert reply.headers["x-amz-apigw-id"] == item_id
    assert reply.headers["x-amzn-RequestId"]
    item = get_item(requests_api.table, item_id)
    assert item[schema.BODY] == {"S": '{"order": 1}'}
    assert item[schema.STATUS] == {"S": schema.ACCEPTED}
    assert before <= int(item[schema.ACCEPTED_AT]["N"]) <= int(time.time() * 1000)


def test_a1_every_request_gets_its_own_gateway_made_id(requests_api, invoke):
    ids = {invoke("POST", requests_api.url + "/requests", "{}").json()["id"] for _ in range(20)}
    assert len(ids) == 20


def test_a1_get_with_path_parameter_reads_the_item(requests_api, invoke):
    item_id = invoke("POST", requests_api.url + "/requests", '{"k": "v"}').json()["id"]
    reply = invoke("GET", requests_api.url + "/requests/" + urllib.parse.quote(item_id, safe=""), content_type=None)
    assert reply.status == 200, reply.body
    answer = reply.json()
    assert answer == {"id": item_id, "status": schema.ACCEPTED, "accepted_at": answer["accepted_at"],
                      "processed_at": None, "failed_at": None, "attempts": 0}
    assert reply.headers["Retry-After"] == "1"  # ACCEPTED: ask again in a second
    assert answer["accepted_at"] > 1_700_000_000_000
    missing = invoke("GET", requests_api.url + "/requests/no-such-id", content_type=None)
    assert missing.status == 404 and missing.json() == {"message": "no request with this id", "id": "no-such-id"}


@pytest.mark.parametrize("method,path", [("GET", "/nowhere"), ("PUT", "/requests"), ("GET", "/requests/a/b")])
def test_a1_unknown_resource_or_method_is_403_missing_authentication_token(requests_api, invoke, method, path):
    reply = invoke(method, requests_api.url + path, content_type=None)
    assert (reply.status, reply.body) == (403, b'{"message":"Missing Authentication Token"}')
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a1_unknown_stage_is_403_and_unknown_api_404(target, requests_api, invoke):
    base = f"{target.endpoint_url}/restapis"
    assert invoke("POST", f"{base}/{requests_api.api_id}/nostage/_user_request_/requests", "{}").status == 403
    assert invoke("POST", f"{base}/doesnotexist/dev/_user_request_/requests", "{}").status == 404


def test_a5_malformed_json_and_model_failures_are_400_and_write_nothing(target, make_api, invoke, item_count):
    api = make_api(model={"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                          "required": ["order"], "properties": {"order": {"type": "integer", "minimum": 1}}})
    for body in ('{"order": ', '{"order": 0}', '{"other": 1}', "[1]", ""):
        reply = invoke("POST", api.url + "/requests", body)
        assert (reply.status, reply.json()) == (400, {"message": "Invalid request body"}), body
    assert item_count(api.table) == 0
    assert invoke("POST", api.url + "/requests", '{"order": 3}').status == 202
    assert item_count(api.table) == 1


@pytest.mark.parametrize("passthrough,templates,expected", [
    ("NEVER", {"application/json": sample_api.PUT_TEMPLATE}, 415),
    ("WHEN_NO_TEMPLATES", {"application/json": sample_api.PUT_TEMPLATE}, 415),
    ("NEVER", {}, 415),
    # Passed through untransformed: DynamoDB refuses the raw text (400), mapped by 4\d{2}.
    ("WHEN_NO_MATCH", {"application/json": sample_api.PUT_TEMPLATE}, 400),
])
def test_a3_unsupported_content_type_follows_passthrough_behavior(target, make_api, invoke, passthrough, templates, expected, item_count):
    api = make_api(passthrough=passthrough, request_templates=templates, with_get=False)
    reply = invoke("POST", api.url + "/requests", "plain words", content_type="text/plain")
    assert reply.status == expected, reply.body
    if expected == 415:
        assert reply.json() == {"message": "Unsupported Media Type"}
    assert item_count(api.table) == 0


def test_a3_content_type_parameters_do_not_defeat_the_template(requests_api, invoke):
    reply = invoke("POST", requests_api.url + "/requests", "{}", content_type="Application/JSON; charset=utf-8")
    assert reply.status == 202, reply.body


def test_a6_item_over_400_kb_is_400_and_nothing_written(target, make_api, invoke, item_count):
    api = make_api(with_get=False)
    reply = invoke("POST", api.url + "/requests", json.dumps({"blob": "x" * 420_000}))
    assert reply.status == 400, reply.body
    # infra/api/templates/error_response.vtl: our words, never DynamoDB's
    assert reply.json()["message"] == "the table refused the request as invalid (an item is at most 400 KB)"
    assert item_count(api.table) == 0


def test_a6_payload_over_10_mb_is_413_and_nothing_written(target, make_api, invoke, item_count):
    api = make_api(with_get=False)
    reply = invoke("POST", api.url + "/requests", b"x" * (10 * 1024 * 1024 + 1))
    assert (reply.status, reply.json()) == (413, {"message": "Request Too Large"})
    assert item_count(api.table) == 0


def test_a4_without_error_patterns_a_dynamodb_error_reaches_the_client_as_success(make_api, invoke):
    # The AWS pitfall the 4\d{2}/5\d{2} responses exist for: the default response catches the 400.
    api = make_api(error_patterns=False, with_get=False)
    reply = invoke("POST", api.url + "/requests", json.dumps({"blob": "x" * 420_000}))
    assert reply.status == 202


def test_a4_mapped_status_without_method_response_is_500(target, make_api, invoke):
    api = make_api(with_get=False)
    ag = target.client("apigateway")
    ag.put_integration_response(restApiId=api.api_id, resourceId=api.post_resource_id, httpMethod="POST",
                                statusCode="418", selectionPattern=r"4\d{2}")
    ag.delete_integration_response(restApiId=api.api_id, resourceId=api.post_resource_id, httpMethod="POST",
                                   statusCode="400")
    # Not deployed yet: the stage still serves the old deployment (400 for an oversized item).
    big = json.dumps({"blob": "x" * 420_000})
    assert invoke("POST", api.url + "/requests", big).status == 400
    ag.create_deployment(restApiId=api.api_id, stageName=api.stage)
    reply = invoke("POST", api.url + "/requests", big)
    assert (reply.status, reply.json()) == (500, {"message": "Internal server error"})


def test_new_deployment_and_stage_variables_take_effect(target, make_api, invoke, get_item):
    api = make_api(with_get=False)
    ag = target.client("apigateway")
    other = f"{api.table}-b"
    sample_api.create_table(target, other)
    try:
        ag.update_stage(restApiId=api.api_id, stageName=api.stage,
                        patchOperations=[{"op": "replace", "path": "/variables/tableName", "value": other}])
        item_id = invoke("POST", api.url + "/requests", "{}").json()["id"]
        assert get_item(other, item_id)[schema.BODY] == {"S": "{}"}
        assert get_item(api.table, item_id) is None
    finally:
        target.client("dynamodb").delete_table(TableName=other)


AWKWARD = st.sampled_from(['"', "'", "\\", "\\'", "\n", "\t", "\r", "\x00", "é", "😀", "𝄞", "$", "#", "#set(",
                           "${x}", "$context.requestId", "#end", "##", "/", "</script>", "\u2028", "\ufeff"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(AWKWARD, st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=8)),
                max_size=12).map("".join))
def test_a2_awkward_bodies_are_stored_byte_exact(target, requests_api, invoke, get_item, text):
    reply = invoke("POST", requests_api.url + "/requests", text)
    assert reply.status == 202, reply.body
    item = get_item(requests_api.table, reply.json()["id"])
    assert item[schema.BODY]["S"] == text


def test_a5_request_validators_and_models_round_trip_through_the_control_plane(target, make_api):
    # MiniStack 1.5.33 stores them itself (checked in apigateway_v1.py); this guards an upgrade.
    api = make_api(model={"type": "object"}, with_get=False)
    ag = target.client("apigateway")
    method = ag.get_method(restApiId=api.api_id, resourceId=api.post_resource_id, httpMethod="POST")
    validator = ag.get_request_validator(restApiId=api.api_id, requestValidatorId=method["requestValidatorId"])
    assert validator["validateRequestBody"] is True
    assert method["requestModels"] == {"application/json": "RequestBody"}
    assert json.loads(ag.get_model(restApiId=api.api_id, modelName="RequestBody")["schema"]) == {"type": "object"}


def test_other_integration_types_are_left_to_ministack(target, make_api, invoke):
    api = make_api(with_get=False)  # its own API: the shared requests_api stays as other tests expect
    ag = target.client("apigateway")
    resource = ag.create_resource(restApiId=api.api_id, parentId=api.post_resource_id, pathPart="ping")
    ag.put_method(restApiId=api.api_id, resourceId=resource["id"], httpMethod="GET", authorizationType="NONE")
    ag.put_integration(restApiId=api.api_id, resourceId=resource["id"], httpMethod="GET", type="MOCK",
                       requestTemplates={"application/json": '{"statusCode": 200}'})
    ag.put_method_response(restApiId=api.api_id, resourceId=resource["id"], httpMethod="GET", statusCode="200")
    ag.put_integration_response(restApiId=api.api_id, resourceId=resource["id"], httpMethod="GET",
                                statusCode="200", responseTemplates={"application/json": '{"pong": true}'})
    ag.create_deployment(restApiId=api.api_id, stageName=api.stage)
    reply = invoke("GET", api.url + "/requests/ping", content_type=None)
    assert (reply.status, reply.json()) == (200, {"pong": True})


def test_a2_template_reading_malformed_json_is_400_and_writes_nothing(target, make_api, invoke, item_count):
    template = '{"TableName": "$stageVariables.tableName", "Item": {"id": {"S": "$context.requestId"}, "n": {"S": "$input.path(\'$.name\')"}}}'
    api = make_api(request_templates={"application/json": template}, with_get=False)
    reply = invoke("POST", api.url + "/requests", '{"name": ')
    assert reply.status == 400 and reply.json()["message"].startswith("Could not parse request body into json")
    assert item_count(api.table) == 0
    assert invoke("POST", api.url + "/requests", '{"name": "ok"}').status == 202


def test_a1_other_local_url_forms_reach_the_executor(target, requests_api, invoke, get_item):
    port = target.endpoint_url.rsplit(":", 1)[1]
    forms = [
        (f"{target.endpoint_url}/_aws/execute-api/{requests_api.api_id}/{requests_api.stage}/requests", {}),
        (f"{target.endpoint_url}/{requests_api.stage}/requests",
         {"Host": f"{requests_api.api_id}.execute-api.localhost:{port}"}),
    ]
    for url, headers in forms:
        reply = invoke("POST", url, '{"form": 1}', **headers)
        assert reply.status == 202, (url, reply.body)
        assert get_item(requests_api.table, reply.json()["id"])[schema.BODY] == {"S": '{"form": 1}'}


def test_a6_chunked_payload_over_10_mb_is_413_too(target, make_api, http, item_count):
    api = make_api(with_get=False)
    chunk = b"x" * (1024 * 1024)
    resp = http.request("POST", api.url + "/requests", body=iter([chunk] * 11), chunked=True,
                        headers={"Content-Type": "application/json"})
    assert (resp.status, resp.data) == (413, b'{"message":"Request Too Large"}')
    assert item_count(api.table) == 0


def test_a2_body_that_is_not_utf8_is_refused_with_400_not_mangled(requests_api, invoke, item_count):
    before = item_count(requests_api.table)
    reply = invoke("POST", requests_api.url + "/requests", b'{"x": "\xff\xfe"}')
    assert (reply.status, reply.json()) == (400, {"message": "Invalid request body"})
    assert item_count(requests_api.table) == before
