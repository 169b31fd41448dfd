"""Scripts of the AWS calls `streamlab.provision` makes for the default stack, one function per step.

Parameters are written out literally (not computed by the code under test), so a changed call or
parameter in the library fails the Stubber. `new=True` scripts the first deploy (nothing exists,
resources are created and waited for); `new=False` a re-run (everything exists, nothing is created).
"""
from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from pathlib import Path

from .stubbed import ACCOUNT, REGION, Script

from streamlab.provision.package import build_zip, code_sha256
from streamlab.provision.protection import ACCESS_LOG_FORMAT

STACK = "streamlab"
TAGS = {"streamlab:stack": STACK}
TAG_LIST = [{"Key": "streamlab:stack", "Value": STACK}]
TABLE = "streamlab-requests"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}"
STREAM_ARN = f"{TABLE_ARN}/stream/2026-11-27T18:00:00.000"
QUEUE = "streamlab-on-failure"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"
API_ROLE = "streamlab-api-role"
PROC_ROLE = "streamlab-processor-role"
FUNCTION = "streamlab-StreamProcessor"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{FUNCTION}"
LOG_GROUP = f"/aws/lambda/{FUNCTION}"
MAPPING = "11111111-2222-3333-4444-555555555555"
API_ID = "a1b2c3d4e5"
API_NAME = "streamlab-api"
API_DIR = Path(__file__).resolve().parents[2] / "infra" / "api"
NOW = dt.datetime(2026, 11, 27, 18, 0, tzinfo=dt.timezone.utc)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


# -- table ----------------------------------------------------------------------------------------


def table_description(status: str = "ACTIVE") -> dict:
    return {"Table": {
        "TableName": TABLE, "TableArn": TABLE_ARN, "TableStatus": status, "LatestStreamArn": STREAM_ARN,
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }}


def table(aws: Script, *, new: bool) -> None:
    if new:
        aws.error("dynamodb", "describe_table", "ResourceNotFoundException", TableName=TABLE)
        aws.ok("dynamodb", "create_table", {"TableDescription": table_description("CREATING")["Table"]},
               TableName=TABLE,
               AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
               KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
               BillingMode="PAY_PER_REQUEST",
               StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
               Tags=TAG_LIST)
        aws.ok("dynamodb", "describe_table", table_description("CREATING"), TableName=TABLE)  # waiter: retry
        aws.ok("dynamodb", "describe_table", table_description("ACTIVE"), TableName=TABLE)    # waiter: done
        aws.ok("dynamodb", "describe_table", table_description("ACTIVE"), TableName=TABLE)
    else:
        for _ in range(3):  # describe, waiter (already ACTIVE), read back
            aws.ok("dynamodb", "describe_table", table_description(), TableName=TABLE)
        aws.ok("dynamodb", "tag_resource", {}, ResourceArn=TABLE_ARN, Tags=TAG_LIST)


# -- queue ----------------------------------------------------------------------------------------


def queue_description(aws: Script) -> None:
    aws.ok("sqs", "get_queue_url", {"QueueUrl": QUEUE_URL}, QueueName=QUEUE)
    aws.ok("sqs", "get_queue_attributes", {"Attributes": {"QueueArn": QUEUE_ARN, "MessageRetentionPeriod": "1209600",
                                                          "SqsManagedSseEnabled": "true"}},
           QueueUrl=QUEUE_URL, AttributeNames=["All"])
    aws.ok("sqs", "list_queue_tags", {"Tags": TAGS}, QueueUrl=QUEUE_URL)


def queue(aws: Script, *, new: bool) -> None:
    if new:
        aws.error("sqs", "get_queue_url", "AWS.SimpleQueueService.NonExistentQueue", QueueName=QUEUE)
        aws.ok("sqs", "create_queue", {"QueueUrl": QUEUE_URL}, QueueName=QUEUE,
               Attributes={"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}, tags=TAGS)
    else:
        queue_description(aws)
        aws.ok("sqs", "tag_queue", {}, QueueUrl=QUEUE_URL, Tags=TAGS)
    queue_description(aws)


# -- roles ----------------------------------------------------------------------------------------

def trust(service: str) -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


API_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "RequestItems", "Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": TABLE_ARN},
]}
_LOGS = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}"
PROC_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "ReadStream", "Effect": "Allow",
     "Action": ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"], "Resource": STREAM_ARN},
    {"Sid": "ListTableStreams", "Effect": "Allow", "Action": "dynamodb:ListStreams", "Resource": f"{TABLE_ARN}/stream/*"},
    {"Sid": "MarkProcessed", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE_ARN},
    {"Sid": "OnFailureDestination", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN},
    {"Sid": "CreateLogGroup", "Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": f"{_LOGS}:*"},
    {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
     "Resource": f"{_LOGS}:log-stream:*"},
]}
ROLES = {
    API_ROLE: ("apigateway.amazonaws.com", "streamlab-api-access", API_POLICY),
    PROC_ROLE: ("lambda.amazonaws.com", "streamlab-processor-access", PROC_POLICY),
}


def _role(name: str) -> dict:
    service = ROLES[name][0]
    return {"Role": {"Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLEROLEID0001", "Arn": role_arn(name),
                     "CreateDate": NOW, "AssumeRolePolicyDocument": urllib.parse.quote(json.dumps(trust(service)))}}


def role_description(aws: Script, name: str) -> None:
    _, policy_name, policy = ROLES[name]
    aws.ok("iam", "get_role", _role(name), RoleName=name)
    aws.ok("iam", "list_role_policies", {"PolicyNames": [policy_name]}, RoleName=name)
    aws.ok("iam", "get_role_policy", {"RoleName": name, "PolicyName": policy_name,
                                      "PolicyDocument": urllib.parse.quote(json.dumps(policy))},
           RoleName=name, PolicyName=policy_name)


def role(aws: Script, name: str, *, new: bool) -> None:
    service, policy_name, policy = ROLES[name]
    if name == PROC_ROLE:
        aws.ok("sts", "get_caller_identity", {"Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/me", "UserId": "AIDAEXAMPLE"})
    if new:
        aws.error("iam", "get_role", "NoSuchEntity", 404, RoleName=name)
        aws.ok("iam", "create_role", _role(name), RoleName=name, AssumeRolePolicyDocument=json.dumps(trust(service)),
               Description=f"streamlab stack {STACK}: trusted by {service}", Tags=TAG_LIST)
        aws.error("iam", "get_role", "NoSuchEntity", 404, RoleName=name)  # waiter: not visible yet
        # The role_exists waiter succeeds on HTTP 200, which only a response with metadata shows.
        aws.ok("iam", "get_role", {**_role(name), "ResponseMetadata": {"HTTPStatusCode": 200}}, RoleName=name)
    else:
        role_description(aws, name)
        aws.ok("iam", "tag_role", {}, RoleName=name, Tags=TAG_LIST)
    aws.ok("iam", "put_role_policy", {}, RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    role_description(aws, name)


# -- function -------------------------------------------------------------------------------------

PACKAGE = build_zip()
ENVIRONMENT = {"Variables": {"TABLE_NAME": TABLE, "FAILURE_RATE": "0.0", "FAILURE_SEED": "0", "PARTIAL_FAILURES": "true",
                             "RECORD_CONCURRENCY": "1", "BATCH_WRITES": "false"}}
FUNCTION_SETTINGS = {
    "Runtime": "python3.12", "Handler": "handler.handler", "Role": role_arn(PROC_ROLE), "Timeout": 30,
    "MemorySize": 256, "Environment": ENVIRONMENT,
    "Description": f"streamlab stack {STACK}: marks accepted requests processed",
}


def function_configuration(state: str = "Active", update: str = "Successful") -> dict:
    return {"FunctionName": FUNCTION, "FunctionArn": FUNCTION_ARN, "CodeSha256": code_sha256(PACKAGE),
            "State": state, "LastUpdateStatus": update, **FUNCTION_SETTINGS}


def function(aws: Script, *, new: bool, role_not_ready: bool = False) -> None:
    get = lambda state="Active": aws.ok("lambda", "get_function", {  # noqa: E731
        "Configuration": function_configuration(state), "Tags": TAGS}, FunctionName=FUNCTION)
    if new:
        aws.error("lambda", "get_function", "ResourceNotFoundException", 404, FunctionName=FUNCTION)
        create = dict(FunctionName=FUNCTION, Code={"ZipFile": PACKAGE}, Tags=TAGS, Publish=False, PackageType="Zip",
                      **FUNCTION_SETTINGS)
        if role_not_ready:  # IAM is eventually consistent: a brand-new role is refused for a few seconds
            aws.stub("lambda").add_client_error(
                "create_function", service_error_code="InvalidParameterValueException",
                service_message="The role defined for the function cannot be assumed by Lambda.",
                http_status_code=400, expected_params=create)
        aws.ok("lambda", "create_function", function_configuration("Pending"), **create)
        get("Pending")  # waiter function_active_v2: retry
        get("Active")   # waiter: done
    else:
        get()  # describe
        get()  # waiter function_updated_v2
        get()  # waiter function_active_v2
    aws.ok("lambda", "get_function_configuration", function_configuration(), FunctionName=FUNCTION)


# -- event source mapping -------------------------------------------------------------------------

ESM_SETTINGS = {
    "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
    "MaximumRetryAttempts": 2, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": True,
    "FunctionResponseTypes": ["ReportBatchItemFailures"],
    "DestinationConfig": {"OnFailure": {"Destination": QUEUE_ARN}},
    "FilterCriteria": {"Filters": [{"Pattern": '{"eventName": ["INSERT"]}'}]},
    "MetricsConfig": {"Metrics": ["EventCount"]},
    "Enabled": True,
}


def mapping_description(state: str = "Enabled") -> dict:
    settings = {k: v for k, v in ESM_SETTINGS.items() if k != "Enabled"}
    return {"UUID": MAPPING, "EventSourceArn": STREAM_ARN, "FunctionArn": FUNCTION_ARN, "State": state,
            "StartingPosition": "TRIM_HORIZON", **settings}


def mapping(aws: Script, *, new: bool) -> None:
    if new:
        aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": []}, FunctionName=FUNCTION)
        aws.ok("lambda", "create_event_source_mapping", mapping_description("Creating"),
               EventSourceArn=STREAM_ARN, FunctionName=FUNCTION, StartingPosition="TRIM_HORIZON", Tags=TAGS,
               **ESM_SETTINGS)
        aws.ok("lambda", "get_event_source_mapping", mapping_description("Creating"), UUID=MAPPING)
        aws.ok("lambda", "get_event_source_mapping", mapping_description("Enabled"), UUID=MAPPING)
    else:
        aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": [mapping_description()]},
               FunctionName=FUNCTION)
        aws.ok("lambda", "get_event_source_mapping", mapping_description(), UUID=MAPPING)  # settled?
        aws.ok("lambda", "get_event_source_mapping", mapping_description(), UUID=MAPPING)  # enabled?


# -- REST API -------------------------------------------------------------------------------------


def _text(relative: str) -> str:
    return (API_DIR / relative).read_text(encoding="utf-8")


ERROR_VTL = {"application/json": _text("templates/error_response.vtl")}
# (path, verb, resource id, method arguments, method responses, action, request template, integration responses)
METHODS = [
    ("/requests", "POST", "res-requests",
     {"authorizationType": "NONE", "apiKeyRequired": True, "requestValidatorId": "val-body", "requestModels": {"application/json": "RequestBody"}},
     ["202", "400", "500"], "PutItem", "templates/put_request.vtl",
     [("202", "", {"application/json": _text("templates/put_response.vtl")}),
      ("400", "4\\d{2}", ERROR_VTL), ("500", "5\\d{2}", ERROR_VTL)]),
    ("/requests/{id}", "GET", "res-id",
     {"authorizationType": "NONE", "apiKeyRequired": True, "requestParameters": {"method.request.path.id": True}},
     ["200", "400", "404", "500"], "GetItem", "templates/get_request.vtl",
     [("200", "", {"application/json": _text("templates/get_response.vtl")}),
      ("400", "4\\d{2}", ERROR_VTL), ("500", "5\\d{2}", ERROR_VTL)]),
]
API_RESOURCES = [{"id": "root", "path": "/"}, {"id": "res-requests", "parentId": "root", "pathPart": "requests", "path": "/requests"},
                 {"id": "res-id", "parentId": "res-requests", "pathPart": "{id}", "path": "/requests/{id}"}]
REST_API = {"id": API_ID, "name": API_NAME, "createdDate": NOW, "tags": TAGS}
STAGE_ARN = f"arn:aws:apigateway:{REGION}::/restapis/{API_ID}/stages/dev"


def _integration(action: str, template: str) -> dict:
    return {"type": "AWS", "httpMethod": "POST", "uri": f"arn:aws:apigateway:{REGION}:dynamodb:action/{action}",
            "credentials": role_arn(API_ROLE), "passthroughBehavior": "NEVER", "timeoutInMillis": 29000,
            "requestTemplates": {"application/json": _text(template)}}


def get_method_response(verb: str) -> dict:
    _, _, _, args, statuses, action, template, responses = next(m for m in METHODS if m[1] == verb)
    integration = _integration(action, template)
    integration["integrationResponses"] = {
        s: {"statusCode": s, "responseTemplates": t, **({"selectionPattern": p} if p else {})} for s, p, t in responses}
    return {"httpMethod": verb, **args, "methodResponses": {s: {"statusCode": s} for s in statuses},
            "methodIntegration": integration}


def api(aws: Script, *, new: bool) -> None:
    ok = lambda op, response=None, **p: aws.ok("apigateway", op, response, **p)  # noqa: E731
    if new:
        ok("get_rest_apis", {"items": []})
        ok("create_rest_api", REST_API, name=API_NAME,
           description="The fire-and-forget request API: POST writes the request into the table, GET reads its status.",
           endpointConfiguration={"types": ["REGIONAL"]}, tags=TAGS)
        aws.error("apigateway", "get_model", "NotFoundException", 404, restApiId=API_ID, modelName="RequestBody")
        ok("create_model", {}, restApiId=API_ID, name="RequestBody", contentType="application/json",
           schema=_text("models/request_body.json"))
        ok("get_request_validators", {"items": []}, restApiId=API_ID, limit=500)
        ok("create_request_validator", {"id": "val-body"}, restApiId=API_ID, name="body",
           validateRequestBody=True, validateRequestParameters=False)
        ok("get_resources", {"items": API_RESOURCES[:1]}, restApiId=API_ID)
        ok("create_resource", {"id": "res-requests"}, restApiId=API_ID, parentId="root", pathPart="requests")
        ok("create_resource", {"id": "res-id"}, restApiId=API_ID, parentId="res-requests", pathPart="{id}")
        for path, verb, rid, args, statuses, action, template, responses in METHODS:
            where = dict(restApiId=API_ID, resourceId=rid, httpMethod=verb)
            aws.error("apigateway", "get_method", "NotFoundException", 404, **where)
            ok("put_method", {}, **where, **args)
            for status in statuses:
                ok("put_method_response", {}, **where, statusCode=status)
            integ = _integration(action, template)
            ok("put_integration", {}, **where, type="AWS", integrationHttpMethod="POST", uri=integ["uri"],
               credentials=integ["credentials"], passthroughBehavior="NEVER", requestTemplates=integ["requestTemplates"],
               timeoutInMillis=29000)
            for status, pattern, templates in responses:
                ok("put_integration_response", {}, **where, statusCode=status, responseTemplates=templates,
                   **({"selectionPattern": pattern} if pattern else {}))
        aws.error("apigateway", "get_stage", "NotFoundException", 404, restApiId=API_ID, stageName="dev")
        ok("create_deployment", {"id": "dep-1"}, restApiId=API_ID, description=f"streamlab deploy {STACK}")
        ok("create_stage", {}, restApiId=API_ID, stageName="dev", deploymentId="dep-1",
           variables={"tableName": TABLE}, tags=TAGS)
        ok("get_deployments", {"items": [{"id": "dep-1"}]}, restApiId=API_ID, limit=500)
    else:
        ok("get_rest_apis", {"items": [REST_API]})
        ok("tag_resource", {}, resourceArn=f"arn:aws:apigateway:{REGION}::/restapis/{API_ID}", tags=TAGS)
        ok("get_model", {"name": "RequestBody", "schema": _text("models/request_body.json")},
           restApiId=API_ID, modelName="RequestBody")
        ok("get_request_validators", {"items": [{"id": "val-body", "name": "body", "validateRequestBody": True,
                                                 "validateRequestParameters": False}]}, restApiId=API_ID, limit=500)
        ok("get_resources", {"items": API_RESOURCES}, restApiId=API_ID)
        for path, verb, rid, *_ in METHODS:
            ok("get_method", get_method_response(verb), restApiId=API_ID, resourceId=rid, httpMethod=verb)
        ok("get_stage", {"stageName": "dev", "deploymentId": "dep-1", "variables": {"tableName": TABLE}},
           restApiId=API_ID, stageName="dev")
    ok("tag_resource", {}, resourceArn=STAGE_ARN, tags=TAGS)
    ok("get_rest_api", REST_API, restApiId=API_ID)


ACCESS_LOG_GROUP = f"/aws/apigateway/{STACK}-access"
KEY = {"id": "key-1", "name": f"{STACK}-key", "value": "k" * 30, "enabled": True}
PLAN = {"id": "plan-1", "name": f"{STACK}-usage-plan", "apiStages": [{"apiId": API_ID, "stage": "dev"}]}


def _log_group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"


def protection(aws: Script, *, new: bool) -> None:
    """The guard rails (streamlab.provision.guard.protect): concurrency, log retention, stage, key, plan."""
    ok = lambda service, op, response=None, **p: aws.ok(service, op, response, **p)  # noqa: E731
    ok("lambda", "get_function_concurrency", {} if new else {"ReservedConcurrentExecutions": 50}, FunctionName=FUNCTION)
    if new:
        ok("lambda", "put_function_concurrency", {"ReservedConcurrentExecutions": 50}, FunctionName=FUNCTION,
           ReservedConcurrentExecutions=50)
    for group in (LOG_GROUP, ACCESS_LOG_GROUP):
        found = {"logGroupName": group, "arn": _log_group_arn(group)}
        if new:
            ok("logs", "describe_log_groups", {"logGroups": []}, logGroupNamePrefix=group)
            ok("logs", "create_log_group", {}, logGroupName=group, tags=TAGS)
            ok("logs", "describe_log_groups", {"logGroups": [found]}, logGroupNamePrefix=group)
            ok("logs", "put_retention_policy", {}, logGroupName=group, retentionInDays=14)
        else:
            ok("logs", "describe_log_groups", {"logGroups": [{**found, "retentionInDays": 14}]}, logGroupNamePrefix=group)
    access = {"destinationArn": _log_group_arn(ACCESS_LOG_GROUP).removesuffix(":*"), "format": ACCESS_LOG_FORMAT}
    throttle = {"throttlingRateLimit": 1000.0, "throttlingBurstLimit": 2000, "metricsEnabled": True}
    if new:
        ok("apigateway", "get_stage", {"stageName": "dev"}, restApiId=API_ID, stageName="dev")
        ok("apigateway", "update_stage", {}, restApiId=API_ID, stageName="dev", patchOperations=[
            {"op": "replace", "path": "/*/*/throttling/rateLimit", "value": "1000.0"},
            {"op": "replace", "path": "/*/*/throttling/burstLimit", "value": "2000"},
            {"op": "replace", "path": "/*/*/metrics/enabled", "value": "true"},
            {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": access["destinationArn"]},
            {"op": "replace", "path": "/accessLogSettings/format", "value": ACCESS_LOG_FORMAT}])
        ok("apigateway", "get_api_keys", {"items": []}, nameQuery=KEY["name"], includeValues=True, limit=500)
        ok("apigateway", "create_api_key", KEY, name=KEY["name"], enabled=True, tags=TAGS,
           description=f"streamlab stack {STACK}: send as x-api-key")
        ok("apigateway", "get_usage_plans", {"items": []}, limit=500)
        ok("apigateway", "create_usage_plan", PLAN, name=PLAN["name"], tags=TAGS,
           throttle={"rateLimit": 1000.0, "burstLimit": 2000}, quota={"limit": 1_000_000, "period": "DAY"},
           apiStages=[{"apiId": API_ID, "stage": "dev"}])
        ok("apigateway", "get_usage_plan_keys", {"items": []}, usagePlanId=PLAN["id"], limit=500)
        ok("apigateway", "create_usage_plan_key", {}, usagePlanId=PLAN["id"], keyId=KEY["id"], keyType="API_KEY")
    else:
        ok("apigateway", "get_stage", {"stageName": "dev", "methodSettings": {"*/*": throttle},
                                       "accessLogSettings": access}, restApiId=API_ID, stageName="dev")
        ok("apigateway", "get_api_keys", {"items": [KEY]}, nameQuery=KEY["name"], includeValues=True, limit=500)
        ok("apigateway", "get_usage_plans", {"items": [PLAN]}, limit=500)
        ok("apigateway", "get_usage_plan_keys", {"items": [{"id": KEY["id"]}]}, usagePlanId=PLAN["id"], limit=500)


def protection_teardown(aws: Script, *, exists: bool) -> None:
    if exists:
        aws.ok("apigateway", "get_usage_plans", {"items": [PLAN]}, limit=500)
        aws.ok("apigateway", "get_usage_plan_keys", {"items": [{"id": KEY["id"]}]}, usagePlanId=PLAN["id"], limit=500)
        aws.ok("apigateway", "delete_usage_plan_key", {}, usagePlanId=PLAN["id"], keyId=KEY["id"])
        aws.ok("apigateway", "update_usage_plan", {}, usagePlanId=PLAN["id"],
               patchOperations=[{"op": "remove", "path": "/apiStages", "value": f"{API_ID}:dev"}])
        aws.ok("apigateway", "delete_usage_plan", {}, usagePlanId=PLAN["id"])
        aws.ok("apigateway", "get_api_keys", {"items": [KEY]}, nameQuery=KEY["name"], includeValues=True, limit=500)
        aws.ok("apigateway", "delete_api_key", {}, apiKey=KEY["id"])
        aws.ok("logs", "delete_log_group", {}, logGroupName=ACCESS_LOG_GROUP)
    else:
        aws.ok("apigateway", "get_usage_plans", {"items": []}, limit=500)
        aws.ok("apigateway", "get_api_keys", {"items": []}, nameQuery=KEY["name"], includeValues=True, limit=500)
        aws.error("logs", "delete_log_group", "ResourceNotFoundException", logGroupName=ACCESS_LOG_GROUP)


def deploy(aws: Script, *, new: bool) -> None:
    """Every call of `streamlab.provision.deploy` for the default stack, in order."""
    table(aws, new=new)
    queue(aws, new=new)
    role(aws, API_ROLE, new=new)
    role(aws, PROC_ROLE, new=new)
    # Does the mapping have to learn partial batch responses before the function sends them?
    aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": [mapping_description()] if not new else []},
           FunctionName=FUNCTION)
    function(aws, new=new)
    mapping(aws, new=new)
    api(aws, new=new)
    protection(aws, new=new)


# -- teardown -------------------------------------------------------------------------------------


def find_remaining_nothing(aws: Script, *, log_group_left: bool = False) -> None:
    """`provision.find_remaining` when everything is gone (but the log group, if asked)."""
    aws.ok("apigateway", "get_rest_apis", {"items": []})
    aws.ok("apigateway", "get_usage_plans", {"items": []}, limit=500)
    aws.ok("apigateway", "get_api_keys", {"items": []}, nameQuery=KEY["name"], includeValues=True, limit=500)
    aws.ok("logs", "describe_log_groups", {"logGroups": []}, logGroupNamePrefix=ACCESS_LOG_GROUP)
    aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": []}, FunctionName=FUNCTION)
    aws.error("lambda", "get_function", "ResourceNotFoundException", 404, FunctionName=FUNCTION)
    aws.ok("logs", "describe_log_groups", {"logGroups": [{"logGroupName": LOG_GROUP}] if log_group_left else []},
           logGroupNamePrefix=LOG_GROUP)
    aws.error("sqs", "get_queue_url", "AWS.SimpleQueueService.NonExistentQueue", QueueName=QUEUE)
    for name in (API_ROLE, PROC_ROLE):
        aws.error("iam", "get_role", "NoSuchEntity", 404, RoleName=name)
    aws.error("dynamodb", "describe_table", "ResourceNotFoundException", TableName=TABLE)


def teardown(aws: Script, *, exists: bool, log_group_left: bool = False, log_group_found: bool = False) -> None:
    """Every call of `streamlab.provision.teardown`; `exists=False` is the second run that finds nothing."""
    protection_teardown(aws, exists=exists)
    if exists:
        aws.ok("apigateway", "get_rest_apis", {"items": [REST_API]})
        aws.ok("apigateway", "delete_rest_api", {}, restApiId=API_ID)
        aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": [mapping_description()]},
               FunctionName=FUNCTION)
        aws.ok("lambda", "get_event_source_mapping", mapping_description(), UUID=MAPPING)
        aws.ok("lambda", "delete_event_source_mapping", mapping_description("Deleting"), UUID=MAPPING)
        aws.ok("lambda", "get_event_source_mapping", mapping_description("Deleting"), UUID=MAPPING)  # poll: still there
        aws.error("lambda", "get_event_source_mapping", "ResourceNotFoundException", 404, UUID=MAPPING)  # gone
        aws.ok("lambda", "delete_function", {}, FunctionName=FUNCTION)
        aws.ok("logs", "delete_log_group", {}, logGroupName=LOG_GROUP)
        for name in (PROC_ROLE, API_ROLE):
            _, policy_name, _ = ROLES[name]
            aws.ok("iam", "get_role", _role(name), RoleName=name)
            aws.ok("iam", "list_role_policies", {"PolicyNames": [policy_name]}, RoleName=name)
            aws.ok("iam", "delete_role_policy", {}, RoleName=name, PolicyName=policy_name)
            aws.ok("iam", "list_attached_role_policies", {"AttachedPolicies": []}, RoleName=name)
            aws.ok("iam", "delete_role", {}, RoleName=name)
        queue_description(aws)
        aws.ok("sqs", "delete_queue", {}, QueueUrl=QUEUE_URL)
        aws.ok("dynamodb", "describe_table", table_description(), TableName=TABLE)
        aws.ok("dynamodb", "delete_table", {"TableDescription": table_description("DELETING")["Table"]}, TableName=TABLE)
        aws.ok("dynamodb", "describe_table", table_description("DELETING"), TableName=TABLE)  # waiter: retry
        aws.error("dynamodb", "describe_table", "ResourceNotFoundException", TableName=TABLE)  # waiter: gone
    else:
        aws.ok("apigateway", "get_rest_apis", {"items": []})
        aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": []}, FunctionName=FUNCTION)
        aws.error("lambda", "delete_function", "ResourceNotFoundException", 404, FunctionName=FUNCTION)
        if log_group_found:
            aws.ok("logs", "delete_log_group", {}, logGroupName=LOG_GROUP)
        else:
            aws.error("logs", "delete_log_group", "ResourceNotFoundException", logGroupName=LOG_GROUP)
        for name in (PROC_ROLE, API_ROLE):
            aws.error("iam", "get_role", "NoSuchEntity", 404, RoleName=name)
        aws.error("sqs", "get_queue_url", "AWS.SimpleQueueService.NonExistentQueue", QueueName=QUEUE)
        aws.error("dynamodb", "describe_table", "ResourceNotFoundException", TableName=TABLE)
    find_remaining_nothing(aws, log_group_left=log_group_left)
