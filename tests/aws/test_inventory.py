"""Tag-based inventory: the tagging API plus IAM roles, each entry confirmed by a direct call."""
from __future__ import annotations

import pytest

from . import pipeline_script as s
from .stubbed import ACCOUNT, REGION
from streamlab.aws.inventory import Resource, find_stack_resources, list_tagged, parse_arn

TAG_FILTER = [{"Key": "streamlab:stack", "Values": [s.STACK]}]
STAGE = f"arn:aws:apigateway:{REGION}::/restapis/{s.API_ID}/stages/dev"


@pytest.mark.parametrize("arn, kind, name", [
    (s.TABLE_ARN, "dynamodb:table", s.TABLE),
    (s.STREAM_ARN, "dynamodb:stream", s.TABLE),
    (s.QUEUE_ARN, "sqs:queue", s.QUEUE),
    (s.FUNCTION_ARN, "lambda:function", s.FUNCTION),
    (f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{s.MAPPING}", "lambda:event-source-mapping", s.MAPPING),
    (f"arn:aws:apigateway:{REGION}::/restapis/{s.API_ID}", "apigateway:restapi", s.API_ID),
    (STAGE, "apigateway:stage", f"{s.API_ID}/dev"),
    (f"arn:aws:iam::{ACCOUNT}:role/service/{s.API_ROLE}", "iam:role", s.API_ROLE),
    (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{s.LOG_GROUP}:*", "logs:log-group", s.LOG_GROUP),
    (f"arn:aws:s3:::some-bucket", "s3:unknown", "some-bucket"),
    ("not-an-arn", "unknown", "not-an-arn"),
])
def test_parse_arn(arn, kind, name):
    assert parse_arn(arn) == Resource(kind, name, arn)


def _roles(aws, tagged: dict[str, str]) -> None:
    aws.ok("iam", "list_roles", {"Roles": [
        {"Path": "/", "RoleName": n, "RoleId": "AROAEXAMPLEROLEID0001", "Arn": s.role_arn(n), "CreateDate": s.NOW}
        for n in tagged]})
    for name, stack in tagged.items():
        aws.ok("iam", "list_role_tags", {"Tags": [{"Key": "streamlab:stack", "Value": stack}]}, RoleName=name)


def test_inventory_pages_through_the_tagging_api_adds_roles_and_drops_what_is_already_gone(aws, aws_target):
    aws.ok("resourcegroupstaggingapi", "get_resources", {
        "ResourceTagMappingList": [{"ResourceARN": s.TABLE_ARN}, {"ResourceARN": STAGE}], "PaginationToken": "p2"},
        TagFilters=TAG_FILTER)
    aws.ok("resourcegroupstaggingapi", "get_resources", {
        "ResourceTagMappingList": [{"ResourceARN": s.QUEUE_ARN}, {"ResourceARN": s.FUNCTION_ARN}], "PaginationToken": ""},
        TagFilters=TAG_FILTER, PaginationToken="p2")
    _roles(aws, {s.API_ROLE: s.STACK, "someone-elses-role": "other", s.PROC_ROLE: s.STACK})
    # Every entry is confirmed with its own service (sorted by kind): the function is already gone.
    aws.ok("apigateway", "get_stage", {"stageName": "dev"}, restApiId=s.API_ID, stageName="dev")
    aws.ok("dynamodb", "describe_table", s.table_description(), TableName=s.TABLE)
    aws.ok("iam", "get_role", s._role(s.API_ROLE), RoleName=s.API_ROLE)
    aws.ok("iam", "get_role", s._role(s.PROC_ROLE), RoleName=s.PROC_ROLE)
    aws.error("lambda", "get_function", "ResourceNotFoundException", 404, FunctionName=s.FUNCTION)
    aws.ok("sqs", "get_queue_url", {"QueueUrl": s.QUEUE_URL}, QueueName=s.QUEUE, QueueOwnerAWSAccountId=ACCOUNT)

    found = find_stack_resources(aws_target, s.STACK)
    assert [(r.kind, r.name) for r in found] == [
        ("apigateway:stage", f"{s.API_ID}/dev"), ("dynamodb:table", s.TABLE),
        ("iam:role", s.API_ROLE), ("iam:role", s.PROC_ROLE), ("sqs:queue", s.QUEUE),
    ]


def test_an_empty_account_has_an_empty_inventory(aws, aws_target):
    aws.ok("resourcegroupstaggingapi", "get_resources", {"ResourceTagMappingList": []}, TagFilters=TAG_FILTER)
    _roles(aws, {})
    assert list_tagged(aws_target, s.STACK) == []
