"""A small fire-and-forget REST API, defined through the ordinary API Gateway control-plane calls.

Used by the executor's tests: the templates streamlab deploys (infra/api/) in the shape the
provisioning code deploys (POST /requests → UpdateItem answering 202, GET /requests/{id} →
GetItem), with knobs for the behaviours under test. Works against any Target (local stack or AWS).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from streamlab import schema
from streamlab.provision.paths import api_dir
from streamlab.target import Target


def _template(name: str) -> str:
    return (api_dir() / "templates" / name).read_text(encoding="utf-8").strip()


# The templates streamlab deploys (infra/api/templates): the executor is tested on the real ones.
PUT_TEMPLATE = _template("put_request.vtl")
ACCEPTED_TEMPLATE = _template("put_response.vtl")
GET_TEMPLATE = _template("get_request.vtl")
ITEM_TEMPLATE = _template("get_response.vtl")
ERROR_TEMPLATE = _template("error_response.vtl")


@dataclass
class SampleApi:
    target: Target
    api_id: str
    stage: str
    table: str
    post_resource_id: str = ""
    get_resource_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The invoke URL of the stage on the local stack (base; append /requests)."""
        return f"{self.target.endpoint_url}/restapis/{self.api_id}/{self.stage}/_user_request_"

    def delete(self) -> None:
        ag = self.target.client("apigateway")
        ag.delete_rest_api(restApiId=self.api_id)
        self.target.client("dynamodb").delete_table(TableName=self.table)


def create_table(target: Target, name: str) -> None:
    ddb = target.client("dynamodb")
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": schema.ID, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": schema.ID, "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def define(
    target: Target,
    *,
    name: str | None = None,
    table: str | None = None,
    stage: str = "dev",
    request_templates: dict[str, str] | None = None,
    passthrough: str = "WHEN_NO_TEMPLATES",
    error_patterns: bool = True,
    model: dict[str, Any] | None = None,
    timeout_ms: int | None = None,
    with_get: bool = True,
    api_key_required: bool = False,
    action: str | None = None,
    accepted_template: str = ACCEPTED_TEMPLATE,
) -> SampleApi:
    """Create the table and the API, deploy it to `stage` with stage variable tableName.

    `action`: the POST's DynamoDB action; UpdateItem for infra/api's own template, PutItem for
    `request_templates` of a test's own (which write whole items) unless said otherwise."""
    action = action or ("UpdateItem" if request_templates is None else "PutItem")
    suffix = uuid.uuid4().hex[:8]
    table = table or f"streamlab-requests-{suffix}"
    create_table(target, table)
    ag = target.client("apigateway")
    api_id = ag.create_rest_api(name=name or f"streamlab-api-{suffix}")["id"]
    root = next(r["id"] for r in ag.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
    role = f"arn:aws:iam::{target.account_id()}:role/streamlab-apigw-dynamodb"
    region = target.region

    requests_id = ag.create_resource(restApiId=api_id, parentId=root, pathPart="requests")["id"]
    method_args: dict[str, Any] = {}
    if model is not None:
        ag.create_model(restApiId=api_id, name="RequestBody", contentType="application/json", schema=json.dumps(model))
        validator = ag.create_request_validator(restApiId=api_id, name="body", validateRequestBody=True,
                                                validateRequestParameters=False)
        method_args = {"requestValidatorId": validator["id"], "requestModels": {"application/json": "RequestBody"}}
    ag.put_method(restApiId=api_id, resourceId=requests_id, httpMethod="POST", authorizationType="NONE",
                  apiKeyRequired=api_key_required, **method_args)
    integration_args: dict[str, Any] = {}
    if timeout_ms is not None:
        integration_args["timeoutInMillis"] = timeout_ms
    ag.put_integration(
        restApiId=api_id, resourceId=requests_id, httpMethod="POST", type="AWS", integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{region}:dynamodb:action/{action}", credentials=role,
        requestTemplates={"application/json": PUT_TEMPLATE} if request_templates is None else request_templates,
        passthroughBehavior=passthrough, **integration_args,
    )
    _responses(ag, api_id, requests_id, "POST", ok="202", ok_template=accepted_template, error_patterns=error_patterns)

    item_id = ""
    if with_get:
        item_id = ag.create_resource(restApiId=api_id, parentId=requests_id, pathPart="{id}")["id"]
        ag.put_method(restApiId=api_id, resourceId=item_id, httpMethod="GET", authorizationType="NONE",
                      requestParameters={"method.request.path.id": True})
        ag.put_integration(
            restApiId=api_id, resourceId=item_id, httpMethod="GET", type="AWS", integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{region}:dynamodb:action/GetItem", credentials=role,
            requestTemplates={"application/json": GET_TEMPLATE}, passthroughBehavior="WHEN_NO_TEMPLATES",
        )
        _responses(ag, api_id, item_id, "GET", ok="200", ok_template=ITEM_TEMPLATE, error_patterns=True)

    ag.create_deployment(restApiId=api_id, stageName=stage, variables={"tableName": table})
    return SampleApi(target, api_id, stage, table, requests_id, item_id)


def _responses(ag: Any, api_id: str, resource_id: str, verb: str, *, ok: str, ok_template: str,
               error_patterns: bool) -> None:
    statuses = [ok] + (["400", "500"] if error_patterns else [])
    for status in statuses:
        ag.put_method_response(restApiId=api_id, resourceId=resource_id, httpMethod=verb, statusCode=status)
    ag.put_integration_response(restApiId=api_id, resourceId=resource_id, httpMethod=verb, statusCode=ok,
                                selectionPattern="", responseTemplates={"application/json": ok_template})
    if error_patterns:
        for status, pattern in (("400", r"4\d{2}"), ("500", r"5\d{2}")):
            ag.put_integration_response(restApiId=api_id, resourceId=resource_id, httpMethod=verb, statusCode=status,
                                        selectionPattern=pattern, responseTemplates={"application/json": ERROR_TEMPLATE})
