"""Step 2: the two IAM roles, each with one inline policy from `policies`.

The API role is trusted by API Gateway and may only UpdateItem/GetItem on the table; the processor
role is trusted by Lambda and may read the stream, mark items, report failures and write logs.
"""
from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field

from streamlab.provision import policies
from streamlab.provision.calls import get_or_none, provisioning
from streamlab.provision.config import PipelineConfig
from streamlab.target import Target


@dataclass(frozen=True)
class RoleInfo:
    name: str
    arn: str
    trust_policy: dict
    policy_name: str
    policy: dict
    created: bool
    response: dict = field(repr=False, compare=False)


def _document(value: str | dict) -> dict:
    # IAM returns policy documents URL-encoded; botocore decodes some of them, emulators vary.
    if isinstance(value, dict):
        return value
    return json.loads(urllib.parse.unquote(value))


def describe_role(target: Target, role_name: str) -> dict | None:
    """GetRole's `Role` plus its inline policies as {name: document}, or None if there is no such role."""
    iam = target.client("iam")
    with provisioning(f"describing role {role_name}"):
        found = get_or_none(iam.get_role, RoleName=role_name)
        if found is None:
            return None
        role = dict(found["Role"])
        role["AssumeRolePolicyDocument"] = _document(role["AssumeRolePolicyDocument"])
        names = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
        role["InlinePolicies"] = {
            n: _document(iam.get_role_policy(RoleName=role_name, PolicyName=n)["PolicyDocument"]) for n in names
        }
    return role


def ensure_role(
    target: Target, config: PipelineConfig, role_name: str, service: str, policy_name: str, policy: dict
) -> RoleInfo:
    iam = target.client("iam")
    trust = policies.trust_policy(service)
    existing = describe_role(target, role_name)
    tags = [{"Key": k, "Value": v} for k, v in config.tags.items()]
    with provisioning(f"creating role {role_name}"):
        if existing is None:
            iam.create_role(
                RoleName=role_name,
                AssumeRolePolicyDocument=json.dumps(trust),
                Description=f"streamlab stack {config.stack}: trusted by {service}",
                Tags=tags,
            )
            iam.get_waiter("role_exists").wait(RoleName=role_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        else:
            if existing["AssumeRolePolicyDocument"] != trust:
                iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust))
            iam.tag_role(RoleName=role_name, Tags=tags)
        # PutRolePolicy overwrites: re-running converges on the current ARNs.
        iam.put_role_policy(RoleName=role_name, PolicyName=policy_name, PolicyDocument=json.dumps(policy))
    role = describe_role(target, role_name)
    assert role is not None
    return RoleInfo(
        role_name, role["Arn"], role["AssumeRolePolicyDocument"], policy_name,
        role["InlinePolicies"][policy_name], existing is None, role,
    )


def create_api_role(target: Target, config: PipelineConfig, *, table_arn: str) -> RoleInfo:
    """The role API Gateway assumes to call UpdateItem (store a request, once per key) and GetItem on the table."""
    return ensure_role(
        target, config, config.api_role_name, "apigateway.amazonaws.com",
        policies.API_POLICY_NAME, policies.api_access_policy(table_arn),
    )


def create_processor_role(
    target: Target, config: PipelineConfig, *, table_arn: str, stream_arn: str, queue_arn: str
) -> RoleInfo:
    """The StreamProcessor's execution role (also what the event source mapping reads the stream with)."""
    policy = policies.processor_access_policy(
        table_arn=table_arn, stream_arn=stream_arn, queue_arn=queue_arn,
        region=target.region, account_id=target.account_id(), function_name=config.function_name,
    )
    return ensure_role(
        target, config, config.processor_role_name, "lambda.amazonaws.com", policies.PROCESSOR_POLICY_NAME, policy
    )


def delete_role(target: Target, role_name: str) -> bool:
    """Delete the role and its policies. True if there was one to delete."""
    iam = target.client("iam")
    with provisioning(f"deleting role {role_name}"):
        if get_or_none(iam.get_role, RoleName=role_name) is None:
            return False
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
            get_or_none(iam.delete_role_policy, RoleName=role_name, PolicyName=name)
        for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            get_or_none(iam.detach_role_policy, RoleName=role_name, PolicyArn=attached["PolicyArn"])
        get_or_none(iam.delete_role, RoleName=role_name)
    return True
