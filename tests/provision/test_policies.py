"""The IAM documents: each scoped to the ARNs it is built from, no bare '*'."""
from __future__ import annotations

from streamlab.provision import policies

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/lab-requests"
STREAM = TABLE + "/stream/2026-01-01T00:00:00.000"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:lab-on-failure"


def _actions(statement) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def processor_policy() -> dict:
    return policies.processor_access_policy(
        table_arn=TABLE, stream_arn=STREAM, queue_arn=QUEUE, region="us-east-1",
        account_id="123456789012", function_name="lab-StreamProcessor",
    )


def test_api_policy_allows_only_update_and_get_item_on_the_table():
    doc = policies.api_access_policy(TABLE)
    assert [(s["Effect"], sorted(_actions(s)), s["Resource"]) for s in doc["Statement"]] == [
        ("Allow", ["dynamodb:GetItem", "dynamodb:UpdateItem"], TABLE)
    ]


def test_failure_handler_policy_is_this_queue_this_stream_this_table_its_dlq_and_logs():
    dlq = "arn:aws:sqs:us-east-1:123456789012:lab-failure-handler-dlq"
    doc = policies.failure_handler_access_policy(
        table_arn=TABLE, stream_arn=STREAM, queue_arn=QUEUE, dead_letter_queue_arn=dlq, region="us-east-1",
        account_id="123456789012", function_name="lab-FailureHandler")
    granted = {(a, s["Resource"]) for s in doc["Statement"] for a in _actions(s)}
    log_group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/lab-FailureHandler"
    assert granted == {
        ("sqs:ReceiveMessage", QUEUE), ("sqs:DeleteMessage", QUEUE), ("sqs:GetQueueAttributes", QUEUE),
        ("dynamodb:DescribeStream", STREAM), ("dynamodb:GetRecords", STREAM), ("dynamodb:GetShardIterator", STREAM),
        ("dynamodb:UpdateItem", TABLE),
        ("sqs:SendMessage", dlq),
        ("logs:CreateLogGroup", log_group + ":*"),
        ("logs:CreateLogStream", log_group + ":log-stream:*"), ("logs:PutLogEvents", log_group + ":log-stream:*"),
    }
    assert all(s["Effect"] == "Allow" and "*" != s["Resource"] for s in doc["Statement"])


def test_processor_policy_grants_exactly_the_listed_actions_per_resource():
    granted = {(a, s["Resource"]) for s in processor_policy()["Statement"] for a in _actions(s)}
    log_group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/lab-StreamProcessor"
    assert granted == {
        ("dynamodb:DescribeStream", STREAM),
        ("dynamodb:GetRecords", STREAM),
        ("dynamodb:GetShardIterator", STREAM),
        ("dynamodb:ListStreams", TABLE + "/stream/*"),
        ("dynamodb:UpdateItem", TABLE),
        ("sqs:SendMessage", QUEUE),
        ("logs:CreateLogGroup", log_group + ":*"),
        ("logs:CreateLogStream", log_group + ":log-stream:*"),
        ("logs:PutLogEvents", log_group + ":log-stream:*"),
    }


def test_no_statement_uses_a_bare_wildcard():
    for doc in (policies.api_access_policy(TABLE), processor_policy()):
        for resource in policies.resources_of(doc):
            assert resource != "*" and resource.startswith("arn:aws:"), resource
        assert all(s["Effect"] == "Allow" and "*" not in _actions(s) for s in doc["Statement"])


def test_trust_policy_names_one_service():
    doc = policies.trust_policy("apigateway.amazonaws.com")
    assert doc["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
