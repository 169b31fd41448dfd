"""Least privilege: every policy the library and the template create names its actions and its
resources; the only wildcards are the stream pattern and the function's own log group."""
from __future__ import annotations

import pytest

from .cfn_eval import ACCOUNT, CONFIG, QUEUE_ARN, REGION, STREAM_ARN, TABLE_ARN, load_template, resolve, resources_of_type
from streamlab.aws.privilege import allowed_wildcards, find_broad_grants
from streamlab.provision import policies

ALLOWED = allowed_wildcards(table_arn=TABLE_ARN, region=REGION, account_id=ACCOUNT, function_name=CONFIG.function_name)
# The FailureHandler writes its own log group, the one other pattern.
HANDLER_ALLOWED = allowed_wildcards(table_arn=TABLE_ARN, region=REGION, account_id=ACCOUNT,
                                    function_name=CONFIG.failure_handler_name)
DLQ_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{CONFIG.dead_letter_queue_name}"


def library_policies() -> dict[str, dict]:
    return {
        "api trust": policies.trust_policy("apigateway.amazonaws.com"),
        "processor trust": policies.trust_policy("lambda.amazonaws.com"),
        "api access": policies.api_access_policy(TABLE_ARN),
        "processor access": policies.processor_access_policy(
            table_arn=TABLE_ARN, stream_arn=STREAM_ARN, queue_arn=QUEUE_ARN, region=REGION, account_id=ACCOUNT,
            function_name=CONFIG.function_name),
        "failure handler access": policies.failure_handler_access_policy(
            table_arn=TABLE_ARN, stream_arn=STREAM_ARN, queue_arn=QUEUE_ARN, dead_letter_queue_arn=DLQ_ARN,
            region=REGION, account_id=ACCOUNT, function_name=CONFIG.failure_handler_name),
    }


def template_policies() -> dict[str, dict]:
    found = {}
    for logical, role in resolve(resources_of_type(load_template(), "AWS::IAM::Role")).items():
        found[f"{logical} trust"] = role["Properties"]["AssumeRolePolicyDocument"]
        for p in role["Properties"].get("Policies", []):
            found[f"{logical} {p['PolicyName']}"] = p["PolicyDocument"]
        assert not role["Properties"].get("ManagedPolicyArns"), f"{logical}: managed policies are not least privilege"
    return found


@pytest.mark.parametrize("source, count", [(library_policies, 5), (template_policies, 6)], ids=["library", "template"])
def test_no_policy_grants_wildcard_actions_or_resources(source, count):
    docs = source()
    assert len(docs) == count
    assert {name: find_broad_grants(doc, allowed=ALLOWED | HANDLER_ALLOWED)
            for name, doc in docs.items()} == {n: [] for n in docs}


def test_the_allowed_wildcards_are_exactly_the_stream_and_log_group_patterns():
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{CONFIG.function_name}"
    assert ALLOWED == {f"{TABLE_ARN}/stream/*", f"{log_group}:*", f"{log_group}:log-stream:*"}
    used = {r for doc in library_policies().values() if "Principal" not in str(doc)
            for r in policies.resources_of(doc) if "*" in r}
    # every allowance is needed by some statement, none is spare; the FailureHandler lists no streams
    assert used == ALLOWED | (HANDLER_ALLOWED - {f"{TABLE_ARN}/stream/*"})


@pytest.mark.parametrize("statement, problem", [
    ({"Effect": "Allow", "Action": "*", "Resource": TABLE_ARN}, "wildcard action '*'"),
    ({"Effect": "Allow", "Action": "dynamodb:*", "Resource": TABLE_ARN}, "wildcard action 'dynamodb:*'"),
    ({"Effect": "Allow", "Action": ["dynamodb:Get*"], "Resource": TABLE_ARN}, "wildcard action 'dynamodb:Get*'"),
    ({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}, "Resource '*'"),
    ({"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/*"},
     "wildcard resource"),
    ({"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"},
     "wildcard resource"),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": TABLE_ARN}, "NotAction"),
    ({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, "any principal"),
    ({"Effect": "Allow", "Action": "dynamodb:PutItem"}, "no Resource"),
])
def test_each_kind_of_broad_grant_is_found(statement, problem):
    found = find_broad_grants({"Version": "2012-10-17", "Statement": [statement]}, allowed=ALLOWED)
    assert len(found) == 1 and problem in found[0], found
