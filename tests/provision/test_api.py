"""Step 6: the REST API definition read back with the ordinary API Gateway calls (A1, A3, A4, A5)."""
from __future__ import annotations

import dataclasses
import json

from streamlab.provision import api, roles, table
from streamlab.provision.apispec import load_api_spec
from streamlab.provision.paths import api_dir
from streamlab.target import Target


def _deps(target, config):
    t = table.create_table(target, config)
    role = roles.create_api_role(target, config, table_arn=t.arn)
    return t, role


def test_invoke_urls_for_both_targets():
    local = Target(name="local", region="us-east-1", endpoint_url="http://127.0.0.1:4566")
    assert api.invoke_url(local, "abc123", "dev") == "http://127.0.0.1:4566/restapis/abc123/dev/_user_request_/requests"
    aws = Target(name="aws", region="eu-west-1")
    assert api.invoke_url(aws, "abc123", "dev") == "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/requests"


def test_definition_reads_back_as_specified(target, config):
    t, role = _deps(target, config)
    info = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn)
    assert info.created and info.invoke_url == api.invoke_url(target, info.id, config.stage)
    client = target.client("apigateway")
    rid = info.resource_ids

    post = client.get_method(restApiId=info.id, resourceId=rid["/requests"], httpMethod="POST")
    integ = client.get_integration(restApiId=info.id, resourceId=rid["/requests"], httpMethod="POST")
    assert (integ["type"], integ["httpMethod"]) == ("AWS", "POST")
    assert integ["uri"] == f"arn:aws:apigateway:{target.region}:dynamodb:action/UpdateItem"
    assert integ["credentials"] == role.arn
    assert integ["passthroughBehavior"] == "NEVER"
    assert integ["requestTemplates"] == {"application/json": (api_dir() / "templates/put_request.vtl").read_text()}
    responses = {s: r.get("selectionPattern", "") for s, r in integ["integrationResponses"].items()}
    assert responses == {"202": "", "400": "4\\d{2}", "503": "5\\d{2}"}
    assert integ["integrationResponses"]["202"]["responseTemplates"] == {
        "application/json": (api_dir() / "templates/put_response.vtl").read_text()
    }
    assert set(post["methodResponses"]) == {"202", "400", "422", "429", "500", "503"}
    validator = client.get_request_validator(restApiId=info.id, requestValidatorId=post["requestValidatorId"])
    assert validator["validateRequestBody"] is True
    assert post["requestModels"] == {"application/json": "RequestBody"}
    model = client.get_model(restApiId=info.id, modelName="RequestBody")
    assert json.loads(model["schema"]) == json.loads((api_dir() / "models/request_body.json").read_text())

    get = client.get_integration(restApiId=info.id, resourceId=rid["/requests/{id}"], httpMethod="GET")
    assert get["uri"].endswith("dynamodb:action/GetItem") and get["credentials"] == role.arn
    get_method = client.get_method(restApiId=info.id, resourceId=rid["/requests/{id}"], httpMethod="GET")
    assert set(get_method["methodResponses"]) == {"200", "400", "404", "429", "500", "503"}

    stage = client.get_stage(restApiId=info.id, stageName=config.stage)
    assert stage["variables"] == {"tableName": t.name} and stage["deploymentId"] == info.deployment_id
    api_arn = f"arn:aws:apigateway:{target.region}::/restapis/{info.id}"
    assert client.get_tags(resourceArn=api_arn)["tags"].get("streamlab:stack") == config.stack


def test_rerun_changes_nothing_and_a_changed_template_redeploys(target, config, tmp_path):
    t, role = _deps(target, config)
    first = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn)
    again = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn)
    assert (again.id, again.deployment_id, again.created, again.changed) == (first.id, first.deployment_id, False, ())
    assert [a["id"] for a in api.find_apis(target, config)] == [first.id]
    client = target.client("apigateway")
    assert len(client.get_request_validators(restApiId=first.id)["items"]) == 1

    spec = load_api_spec()
    post = next(m for m in spec.methods if m.http_method == "POST")
    edited = dataclasses.replace(post, responses=(
        dataclasses.replace(post.responses[0], response_templates={"application/json": '{"requestId": "$context.extendedRequestId"}'}),
        *post.responses[1:],
    ))
    spec = dataclasses.replace(spec, methods=tuple(edited if m is post else m for m in spec.methods))
    moved = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn, spec=spec)
    assert moved.id == first.id and moved.deployment_id != first.deployment_id
    assert "method POST /requests" in moved.changed
    # the old deployment is gone; only the stage's current one is left
    assert [d["id"] for d in client.get_deployments(restApiId=first.id)["items"]] == [moved.deployment_id]


def test_delete_removes_the_api(target, config):
    t, role = _deps(target, config)
    info = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn)
    assert api.delete_api(target, config) == [info.id]
    assert api.describe_api(target, config) is None
    assert api.delete_api(target, config) == []


def test_a_changed_integration_timeout_is_put_back_A6(target, config):
    t, role = _deps(target, config)
    first = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn)
    client = target.client("apigateway")
    rid = first.resource_ids["/requests"]
    client.update_integration(restApiId=first.id, resourceId=rid, httpMethod="POST",
                              patchOperations=[{"op": "replace", "path": "/timeoutInMillis", "value": "1000"}])
    again = api.create_api(target, config, table_name=t.name, api_role_arn=role.arn)
    assert "method POST /requests" in again.changed
    assert client.get_integration(restApiId=first.id, resourceId=rid, httpMethod="POST")["timeoutInMillis"] == 29000
