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
FAILURE_HANDLER_POLICY_NAME = "streamlab-failure-handler-access"

API_TABLE_ACTIONS = ("dynamodb:UpdateItem", "dynamodb:GetItem")
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
# What Lambda's SQS event source mapping needs on the queue, with the function's role.
QUEUE_CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


def trust_policy(service: str) -> dict:
    """Who may assume the role: `apigateway.amazonaws.com` or `lambda.amazonaws.com`."""
    return {
        "Version": VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def api_access_policy(table_arn: str) -> dict:
    """The API role: store (UpdateItem, conditional) and read request items of this one table, nothing else."""
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


def _log_statements(region: str, account_id: str, function_name: str) -> list[dict]:
    log_group = log_group_arn(region, account_id, function_name)
    return [
        {"Sid": "CreateLogGroup", "Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group + ":*"},
        {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": log_group + ":log-stream:*"},
    ]


def processor_access_policy(
    *, table_arn: str, stream_arn: str, queue_arn: str, region: str, account_id: str, function_name: str
) -> dict:
    """The processor role: read this stream, mark items of this table, report failures, write its logs."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "ReadStream", "Effect": "Allow", "Action": list(STREAM_READ_ACTIONS), "Resource": stream_arn},
            {"Sid": "ListTableStreams", "Effect": "Allow", "Action": "dynamodb:ListStreams",
             "Resource": stream_pattern(table_arn)},
            {"Sid": "MarkProcessed", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": table_arn},
            {"Sid": "OnFailureDestination", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue_arn},
            *_log_statements(region, account_id, function_name),
        ],
    }


def failure_handler_access_policy(
    *, table_arn: str, stream_arn: str, queue_arn: str, dead_letter_queue_arn: str, region: str, account_id: str,
    function_name: str,
) -> dict:
    """The FailureHandler role: consume this on-failure queue, read this stream back, mark items of
    this table FAILED, park unusable messages on its own dead-letter queue, write its logs."""
    return {
        "Version": VERSION,
        "Statement": [
            {"Sid": "ConsumeOnFailureQueue", "Effect": "Allow", "Action": list(QUEUE_CONSUME_ACTIONS),
             "Resource": queue_arn},
            {"Sid": "ReadStreamBack", "Effect": "Allow", "Action": list(STREAM_READ_ACTIONS), "Resource": stream_arn},
            {"Sid": "MarkFailed", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": table_arn},
            {"Sid": "DeadLetter", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": dead_letter_queue_arn},
            *_log_statements(region, account_id, function_name),
        ],
    }


def resources_of(policy: dict) -> list[str]:
    """Every Resource the policy's statements name (for checks like "no bare '*'")."""
    out: list[str] = []
    for statement in policy["Statement"]:
        res = statement.get("Resource", [])
        out.extend([res] if isinstance(res, str) else res)
    return out
