"""The IAM policy a person or CI job needs to deploy, inspect and tear down one stack.

Scoped to the stack's names (`<stack>-*`, all derived by PipelineConfig) in one account and region;
the few calls AWS does not scope to a resource (ListRoles, tag:GetResources, DescribeLogGroups,
CreateEventSourceMapping/ListEventSourceMappings) get "*". `sts:GetCallerIdentity` needs no permission.
A test checks every call the library makes against this document.
"""
from __future__ import annotations

from streamlab.provision.policies import VERSION

ROLE_ACTIONS = (
    "iam:CreateRole", "iam:GetRole", "iam:TagRole", "iam:ListRoleTags", "iam:UpdateAssumeRolePolicy",
    "iam:PutRolePolicy", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:DeleteRolePolicy",
    "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy", "iam:DeleteRole",
)
FUNCTION_ACTIONS = (
    "lambda:CreateFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration", "lambda:TagResource", "lambda:DeleteFunction",
    "lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency",
)
MAPPING_ACTIONS = ("lambda:GetEventSourceMapping", "lambda:UpdateEventSourceMapping",
                   "lambda:DeleteEventSourceMapping", "lambda:TagResource")
UNSCOPED_ACTIONS = ("iam:ListRoles", "tag:GetResources", "logs:DescribeLogGroups",
                    "lambda:CreateEventSourceMapping", "lambda:ListEventSourceMappings")
TABLE_ACTIONS = ("dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:DeleteTable", "dynamodb:TagResource")
QUEUE_ACTIONS = ("sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ListQueueTags",
                 "sqs:TagQueue", "sqs:SetQueueAttributes", "sqs:DeleteQueue")
LOG_GROUP_ACTIONS = ("logs:CreateLogGroup", "logs:TagResource", "logs:PutRetentionPolicy", "logs:DeleteLogGroup")
API_ACTIONS = ("apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")


def deployer_policy(*, region: str, account_id: str, stack: str) -> dict:
    """What `streamlab deploy`, `streamlab teardown` and the tag inventory need, and no more."""
    arn = lambda service, rest: f"arn:aws:{service}:{region}:{account_id}:{rest}"  # noqa: E731
    roles = f"arn:aws:iam::{account_id}:role/{stack}-*"
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "Table", "Effect": "Allow", "Action": list(TABLE_ACTIONS), "Resource": arn("dynamodb", f"table/{stack}-*")},
            {"Sid": "Queue", "Effect": "Allow", "Action": list(QUEUE_ACTIONS), "Resource": arn("sqs", f"{stack}-*")},
            {"Sid": "Roles", "Effect": "Allow", "Action": list(ROLE_ACTIONS), "Resource": roles},
            {"Sid": "PassRolesToTheirServices", "Effect": "Allow", "Action": "iam:PassRole", "Resource": roles,
             "Condition": {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com", "apigateway.amazonaws.com"]}}},
            {"Sid": "Function", "Effect": "Allow", "Action": list(FUNCTION_ACTIONS), "Resource": arn("lambda", f"function:{stack}-*")},
            {"Sid": "Mapping", "Effect": "Allow", "Action": list(MAPPING_ACTIONS), "Resource": arn("lambda", "event-source-mapping:*")},
            {"Sid": "LogGroup", "Effect": "Allow", "Action": list(LOG_GROUP_ACTIONS),
             "Resource": [arn("logs", f"log-group:/aws/lambda/{stack}-*"),
                          arn("logs", f"log-group:/aws/apigateway/{stack}-*")]},
            {"Sid": "RestApi", "Effect": "Allow", "Action": list(API_ACTIONS),
             "Resource": [f"arn:aws:apigateway:{region}::/restapis", f"arn:aws:apigateway:{region}::/restapis/*",
                          f"arn:aws:apigateway:{region}::/tags/*", f"arn:aws:apigateway:{region}::/apikeys",
                          f"arn:aws:apigateway:{region}::/apikeys/*", f"arn:aws:apigateway:{region}::/usageplans",
                          f"arn:aws:apigateway:{region}::/usageplans/*"]},
            {"Sid": "ListAndInventory", "Effect": "Allow", "Action": list(UNSCOPED_ACTIONS), "Resource": "*"},
        ],
    }
