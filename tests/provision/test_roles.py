"""Step 2 against the local stack: roles trusted by one service, with policies scoped to the ARNs."""
from __future__ import annotations

from streamlab.provision import policies, roles

TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/{}"


def _arns(config):
    table_arn = TABLE.format(config.table_name)
    return table_arn, table_arn + "/stream/2026-01-01T00:00:00.000", f"arn:aws:sqs:us-east-1:000000000000:{config.queue_name}"


def test_roles_carry_exactly_the_built_policies(target, config):
    table_arn, stream_arn, queue_arn = _arns(config)
    api_role = roles.create_api_role(target, config, table_arn=table_arn)
    proc_role = roles.create_processor_role(target, config, table_arn=table_arn, stream_arn=stream_arn, queue_arn=queue_arn)
    assert api_role.created and proc_role.created

    api = roles.describe_role(target, config.api_role_name)
    assert api["AssumeRolePolicyDocument"] == policies.trust_policy("apigateway.amazonaws.com")
    assert api["InlinePolicies"] == {policies.API_POLICY_NAME: policies.api_access_policy(table_arn)}

    proc = roles.describe_role(target, config.processor_role_name)
    assert proc["AssumeRolePolicyDocument"] == policies.trust_policy("lambda.amazonaws.com")
    expected = policies.processor_access_policy(
        table_arn=table_arn, stream_arn=stream_arn, queue_arn=queue_arn, region=target.region,
        account_id=target.account_id(), function_name=config.function_name,
    )
    assert proc["InlinePolicies"] == {policies.PROCESSOR_POLICY_NAME: expected}
    for doc in (api["InlinePolicies"][policies.API_POLICY_NAME], expected):
        assert "*" not in policies.resources_of(doc)

    iam = target.client("iam")
    for name in (config.api_role_name, config.processor_role_name):
        assert {"Key": "streamlab:stack", "Value": config.stack} in iam.list_role_tags(RoleName=name)["Tags"]


def test_rerun_reuses_and_converges_on_new_arns(target, config):
    table_arn, stream_arn, queue_arn = _arns(config)
    first = roles.create_api_role(target, config, table_arn=table_arn)
    moved = table_arn + "-v2"
    again = roles.create_api_role(target, config, table_arn=moved)
    assert not again.created and again.arn == first.arn
    assert again.policy == policies.api_access_policy(moved)
    names = [r["RoleName"] for r in target.client("iam").list_roles()["Roles"]]
    assert names.count(config.api_role_name) == 1


def test_delete_removes_role_and_policies(target, config):
    table_arn, _, _ = _arns(config)
    roles.create_api_role(target, config, table_arn=table_arn)
    assert roles.delete_role(target, config.api_role_name) is True
    assert roles.describe_role(target, config.api_role_name) is None
    assert roles.delete_role(target, config.api_role_name) is False
