"""Every IAM policy document of the pipeline, built from ARNs in one place.

Least privilege: each statement names the exact table, stream, queue and log group. The only
pattern is `table/<name>/stream/*` for ListStreams, which AWS's own stream-only policy example
uses because the stream's label is unknown until the table exists.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/iam-policy-read-stream-only.html

A CloudFormation template and the tests compare against these functions.
"""
from __future__ import annotations

VERSION = "2012-10-17"
API_POLICY_NAME = "streamlab-api-access"
PROCESSOR_POLICY_NAME = "streamlab-processor-access"

API_TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem")
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")


def trust_policy(service: str) -> dict:
    """Who may assume the role: `apigateway.amazonaws.com` or `lambda.amazonaws.com`."""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def api_access_policy(table_arn: str) -> dict:
    """The API role: write and read request items of this one table, nothing else."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "RequestItems", "Effect": "Allow", "Action": list(API_TABLE_ACTIONS), "Resource": table_arn},
        ],
    }


def stream_pattern(table_arn: str) -> str:
    return f"{table_arn}/stream/*"


def log_group_arn(region: str, account_id: str, function_name: str) -> str:
    return f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{function_name}"


def processor_access_policy(
    *, table_arn: str, stream_arn: str, queue_arn: str, region: str, account_id: str, function_name: str
) -> dict:
    """The processor role: read this stream, mark items of this table, report failures, write its logs."""
    log_group = log_group_arn(region, account_id, function_name)
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "ReadStream", "Effect": "Allow", "Action": list(STREAM_READ_ACTIONS), "Resource": stream_arn},
            {"Sid": "ListTableStreams", "Effect": "Allow", "Action": "dynamodb:ListStreams",
             "Resource": stream_pattern(table_arn)},
            {"Sid": "MarkProcessed", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": table_arn},
            {"Sid": "OnFailureDestination", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
            {"Sid": "CreateLogGroup", "Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group + ":*"},
            {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": log_group + ":log-stream:*"},
        ],
    }


def resources_of(policy: dict) -> list[str]:
    """Every Resource the policy's statements name (for checks like "no bare '*'")."""
    out: list[str] = []
    for statement in policy["Statement"]:
        res = statement.get("Resource", [])
        out.extend([res] if isinstance(res, str) else res)
    return out
