"""What of a stack exists on AWS, found by its `streamlab:stack` tag rather than by name.

The Resource Groups Tagging API finds most resources, but it does not cover IAM roles and it can
list a resource for a while after it was deleted. So roles are listed directly, and every entry is
confirmed (or refuted) with a direct describe call before it counts as existing.
"""
from __future__ import annotations

from dataclasses import dataclass

from streamlab.provision.calls import error_code, get_or_none, provisioning
from streamlab.provision.config import STACK_TAG
from streamlab.target import Target


@dataclass(frozen=True, order=True)
class Resource:
    """One AWS resource by ARN, with its kind (`dynamodb:table`, `iam:role`, ...) and name or id."""

    kind: str
    name: str
    arn: str


def parse_arn(arn: str) -> Resource:
    """The kind and name of a resource from its ARN (`unknown` kinds are kept, never ignored)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return Resource("unknown", arn, arn)
    service, rest = parts[2], parts[5]
    if service == "dynamodb" and rest.startswith("table/"):
        bits = rest.split("/")
        return Resource("dynamodb:stream" if "stream" in bits else "dynamodb:table", bits[1], arn)
    if service == "sqs":
        return Resource("sqs:queue", rest, arn)
    if service == "lambda" and rest.startswith("function:"):
        return Resource("lambda:function", rest.split(":")[1], arn)
    if service == "lambda" and rest.startswith("event-source-mapping:"):
        return Resource("lambda:event-source-mapping", rest.split(":", 1)[1], arn)
    if service == "apigateway" and rest.startswith("/restapis/"):
        bits = rest.strip("/").split("/")
        if len(bits) == 2:
            return Resource("apigateway:restapi", bits[1], arn)
        if len(bits) == 4 and bits[2] == "stages":
            return Resource("apigateway:stage", f"{bits[1]}/{bits[3]}", arn)
    if service == "iam" and rest.startswith("role/"):
        return Resource("iam:role", rest.rsplit("/", 1)[1], arn)
    if service == "logs" and rest.startswith("log-group:"):
        name = rest[len("log-group:"):]
        return Resource("logs:log-group", name[:-2] if name.endswith(":*") else name, arn)
    return Resource(f"{service}:unknown", rest, arn)


def _tagged_by_api(target: Target, stack: str) -> list[str]:
    tagging = target.client("resourcegroupstaggingapi")
    pages = tagging.get_paginator("get_resources").paginate(TagFilters=[{"Key": STACK_TAG, "Values": [stack]}])
    return [m["ResourceARN"] for page in pages for m in page.get("ResourceTagMappingList", [])]


def _tagged_roles(target: Target, stack: str) -> list[str]:
    # ListRoles does not return tags: one ListRoleTags per role.
    iam = target.client("iam")
    found = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            tags = get_or_none(iam.list_role_tags, RoleName=role["RoleName"])
            if tags and {"Key": STACK_TAG, "Value": stack} in tags.get("Tags", []):
                found.append(role["Arn"])
    return found


def list_tagged(target: Target, stack: str) -> list[Resource]:
    """Every resource the tagging API or IAM lists with `streamlab:stack=<stack>` (may include ones
    being deleted; see `find_stack_resources`)."""
    with provisioning(f"listing resources tagged {STACK_TAG}={stack}"):
        arns = set(_tagged_by_api(target, stack)) | set(_tagged_roles(target, stack))
    return sorted(parse_arn(a) for a in arns)


def exists(target: Target, resource: Resource) -> bool:
    """Does the resource still exist? Asked of its own service; unknown kinds count as existing."""
    kind, name = resource.kind, resource.name
    with provisioning(f"checking {kind} {name}"):
        if kind == "dynamodb:table":
            return get_or_none(target.client("dynamodb").describe_table, TableName=name) is not None
        if kind == "dynamodb:stream":
            # A stream outlives nothing: it is listed by its table, which is checked on its own.
            return False
        if kind == "sqs:queue":
            account = resource.arn.split(":")[4]
            return get_or_none(target.client("sqs").get_queue_url, QueueName=name, QueueOwnerAWSAccountId=account) is not None
        if kind == "lambda:function":
            return get_or_none(target.client("lambda").get_function, FunctionName=name) is not None
        if kind == "lambda:event-source-mapping":
            return get_or_none(target.client("lambda").get_event_source_mapping, UUID=name) is not None
        if kind == "apigateway:restapi":
            return get_or_none(target.client("apigateway").get_rest_api, restApiId=name) is not None
        if kind == "apigateway:stage":
            api_id, stage = name.split("/", 1)
            return get_or_none(target.client("apigateway").get_stage, restApiId=api_id, stageName=stage) is not None
        if kind == "iam:role":
            return get_or_none(target.client("iam").get_role, RoleName=name) is not None
        if kind == "logs:log-group":
            groups = target.client("logs").describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
            return any(g["logGroupName"] == name for g in groups)
    return True


def find_stack_resources(target: Target, stack: str) -> list[Resource]:
    """The stack's inventory: every resource tagged with it that really exists."""
    return [r for r in list_tagged(target, stack) if exists(target, r)]


def delete_resource(target: Target, resource: Resource) -> None:
    """Delete one tagged resource by kind (for leftovers the name-based teardown does not know)."""
    from streamlab.provision.roles import delete_role

    kind, name = resource.kind, resource.name
    with provisioning(f"deleting {kind} {name}"):
        if kind == "dynamodb:table":
            get_or_none(target.client("dynamodb").delete_table, TableName=name)
        elif kind == "sqs:queue":
            sqs = target.client("sqs")
            found = get_or_none(sqs.get_queue_url, QueueName=name, QueueOwnerAWSAccountId=resource.arn.split(":")[4])
            if found:
                get_or_none(sqs.delete_queue, QueueUrl=found["QueueUrl"])
        elif kind == "lambda:function":
            get_or_none(target.client("lambda").delete_function, FunctionName=name)
        elif kind == "lambda:event-source-mapping":
            lam = target.client("lambda")
            try:
                get_or_none(lam.delete_event_source_mapping, UUID=name)
            except lam.exceptions.ResourceInUseException:
                pass  # mid-update; the next round deletes it
        elif kind == "apigateway:restapi":
            apigw = target.client("apigateway")
            try:
                get_or_none(apigw.delete_rest_api, restApiId=name)
            except Exception as exc:  # noqa: BLE001 - one DeleteRestApi per 30 s: the next round retries
                if error_code(exc) != "TooManyRequestsException":
                    raise
        elif kind == "apigateway:stage":
            api_id, stage = name.split("/", 1)
            get_or_none(target.client("apigateway").delete_stage, restApiId=api_id, stageName=stage)
        elif kind == "iam:role":
            delete_role(target, name)
        elif kind == "logs:log-group":
            logs = target.client("logs")
            try:
                logs.delete_log_group(logGroupName=name)
            except logs.exceptions.ResourceNotFoundException:
                pass
