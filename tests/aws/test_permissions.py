"""The deployer's policy (docs/aws.md) covers every call the library makes on AWS, and nothing spare."""
from __future__ import annotations

import copy
import fnmatch

from . import pipeline_script as s
from .stubbed import ACCOUNT, REGION, Script
from streamlab.aws.inventory import delete_resource, exists, list_tagged, parse_arn
from streamlab.aws.permissions import deployer_policy
from streamlab.aws.privilege import find_broad_grants
from streamlab.provision import PipelineConfig, deploy, teardown

# IAM calls that need the named permission in addition to their own action.
PASSES_ROLE = {("lambda", "create_function"), ("lambda", "update_function_configuration"), ("apigateway", "put_integration")}
# Granted for convergence paths (a changed function, trust policy, attached policy), never reached by a
# default deploy/teardown; the lambda:TagResource / dynamodb:TagResource of creation are asked by Create*.
NOT_SCRIPTED = {"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:UpdateEventSourceMapping",
                "iam:UpdateAssumeRolePolicy", "iam:DetachRolePolicy", "lambda:TagResource",
                "apigateway:PATCH",  # UpdateModel/UpdateRequestValidator/UpdateStage: a changed API
                "sqs:SetQueueAttributes",  # encrypting a queue made before queues were encrypted
                "logs:TagResource"}  # CreateLogGroup with tags needs it besides logs:CreateLogGroup
KINDS = {
    s.TABLE_ARN: [("dynamodb", "describe_table", s.table_description()), ("dynamodb", "delete_table", {})],
    s.QUEUE_ARN: [("sqs", "get_queue_url", {"QueueUrl": s.QUEUE_URL})] * 2 + [("sqs", "delete_queue", {})],
    s.FUNCTION_ARN: [("lambda", "get_function", {}), ("lambda", "delete_function", {})],
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{s.MAPPING}":
        [("lambda", "get_event_source_mapping", {}), ("lambda", "delete_event_source_mapping", {})],
    f"arn:aws:apigateway:{REGION}::/restapis/{s.API_ID}": [("apigateway", "get_rest_api", {}), ("apigateway", "delete_rest_api", {})],
    f"arn:aws:apigateway:{REGION}::/restapis/{s.API_ID}/stages/dev":
        [("apigateway", "get_stage", {}), ("apigateway", "delete_stage", {})],
    s.role_arn(s.API_ROLE): [("iam", "get_role", s._role(s.API_ROLE))] * 2 + [
        ("iam", "list_role_policies", {"PolicyNames": []}), ("iam", "list_attached_role_policies", {"AttachedPolicies": []}),
        ("iam", "delete_role", {})],
    f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{s.LOG_GROUP}":
        [("logs", "describe_log_groups", {"logGroups": []}), ("logs", "delete_log_group", {})],
}


def _iam_actions(script: Script) -> set[str]:
    actions = set()
    for service, operation, _ in script.calls:
        client = script.client(service)
        op_name = client.meta.method_to_api_mapping[operation]
        if service == "apigateway":
            actions.add("apigateway:" + client.meta.service_model.operation_model(op_name).http["method"])
        elif service == "resourcegroupstaggingapi":
            actions.add("tag:" + op_name)
        elif service != "sts":  # GetCallerIdentity needs no permission
            actions.add(f"{service}:{op_name}")
        if (service, operation) in PASSES_ROLE:
            actions.add("iam:PassRole")
    return actions


def _everything(aws: Script, aws_target) -> None:
    """Run deploy (new, re-run), teardown (full, empty), the tag inventory and a delete of every kind."""
    s.deploy(aws, new=True)
    s.deploy(aws, new=False)
    s.teardown(aws, exists=True)
    s.teardown(aws, exists=False)
    for _ in range(2):
        deploy(PipelineConfig(), target=aws_target, log=lambda _: None)
    for _ in range(2):
        teardown(PipelineConfig(), target=aws_target, log=lambda _: None)
    aws.ok("resourcegroupstaggingapi", "get_resources", {"ResourceTagMappingList": []},
           TagFilters=[{"Key": "streamlab:stack", "Values": [s.STACK]}])
    aws.ok("iam", "list_roles", {"Roles": [{"Path": "/", "RoleName": "other", "RoleId": "AROAEXAMPLEROLEID0002",
                                            "Arn": s.role_arn("other"), "CreateDate": s.NOW}]})
    aws.ok("iam", "list_role_tags", {"Tags": []}, RoleName="other")
    list_tagged(aws_target, s.STACK)
    for arn, calls in KINDS.items():
        for service, operation, response in calls:
            aws.stub(service).add_response(operation, copy.deepcopy(response))  # botocore decodes in place
            aws.calls.append((service, operation, {}))
        resource = parse_arn(arn)
        exists(aws_target, resource)
        delete_resource(aws_target, resource)


def _allowed(policy: dict, action: str) -> bool:
    for st in policy["Statement"]:
        granted = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if any(fnmatch.fnmatchcase(action, g) for g in granted):
            return True
    return False


def test_every_call_of_deploy_teardown_and_inventory_is_allowed_and_nothing_is_spare(aws, aws_target):
    _everything(aws, aws_target)
    used = _iam_actions(aws)
    policy = deployer_policy(region=REGION, account_id=ACCOUNT, stack=s.STACK)
    assert sorted(a for a in used if not _allowed(policy, a)) == []
    granted = {a for st in policy["Statement"] for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]])}
    assert sorted(granted - used - NOT_SCRIPTED) == []


def test_deployer_policy_is_scoped_to_the_stack_except_for_list_calls():
    policy = deployer_policy(region=REGION, account_id=ACCOUNT, stack="lab")
    broad = find_broad_grants(policy, allowed=())
    unscoped = next(st for st in policy["Statement"] if st["Sid"] == "ListAndInventory")
    assert all("ListAndInventory" in p or "lab-*" in p or "event-source-mapping:*" in p or "/restapis" in p
               or "/tags/*" in p or "/apikeys" in p or "/usageplans" in p for p in broad), broad
    assert sorted(unscoped["Action"]) == ["iam:ListRoles", "lambda:CreateEventSourceMapping",
                                          "lambda:ListEventSourceMappings", "logs:DescribeLogGroups", "tag:GetResources"]
    assert not any("*" in a for st in policy["Statement"] for a in (st["Action"] if isinstance(st["Action"], list) else [st["Action"]]))
