"""deploy / teardown of the whole pipeline: idempotent, tagged, and nothing left afterwards."""
from __future__ import annotations

import uuid

import pytest

from streamlab.errors import ProvisionError
from streamlab.provision import deploy, describe_pipeline, find_remaining, teardown
from streamlab.provision.config import STACK_TAG, PipelineConfig


def _tags_of_every_resource(target, pipeline) -> dict[str, dict]:
    ddb, sqs, iam = target.client("dynamodb"), target.client("sqs"), target.client("iam")
    lam, apigw = target.client("lambda"), target.client("apigateway")
    return {
        "table": {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=pipeline.table_arn)["Tags"]},
        "queue": sqs.list_queue_tags(QueueUrl=pipeline.queue_url).get("Tags", {}),
        "api role": {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=pipeline.api_role_arn.rsplit("/", 1)[1])["Tags"]},
        "processor role": {t["Key"]: t["Value"]
                           for t in iam.list_role_tags(RoleName=pipeline.processor_role_arn.rsplit("/", 1)[1])["Tags"]},
        "function": lam.list_tags(Resource=pipeline.function_arn)["Tags"],
        "mapping": lam.list_tags(
            Resource=lam.get_event_source_mapping(UUID=pipeline.mapping_uuid)["EventSourceMappingArn"])["Tags"],
        "api": apigw.get_tags(resourceArn=f"arn:aws:apigateway:{target.region}::/restapis/{pipeline.api_id}")["tags"],
        "stage": apigw.get_tags(
            resourceArn=f"arn:aws:apigateway:{target.region}::/restapis/{pipeline.api_id}/stages/{pipeline.stage}")["tags"],
    }


def test_deploy_twice_is_the_same_pipeline_then_teardown_leaves_nothing(target, config):
    lines: list[str] = []
    first = deploy(config, target=target, log=lines.append)
    assert [line.split(" ", 1)[0] for line in lines] == [f"[{i}/8]" for i in range(1, 9)]
    assert first.invoke_url.endswith(f"/restapis/{first.api_id}/{config.stage}/_user_request_/requests")
    assert first.function_name == config.function_name and first.stream_arn.startswith(first.table_arn + "/stream/")
    for kind, tags in _tags_of_every_resource(target, first).items():
        assert tags.get(STACK_TAG) == config.stack, kind

    assert describe_pipeline(config, target=target) == first

    lines.clear()
    second = deploy(config, target=target, log=lines.append)
    assert second == first
    assert all("created" not in line for line in lines), lines
    assert {k: len(v) for k, v in find_remaining(config, target=target).items()} == {
        "api": 1, "api key and usage plan": 3, "mapping": 1, "function": 1, "log group": 1, "queue": 1, "roles": 2,
        "table": 1,
        "failure handler mapping": 1, "failure handler": 1, "failure handler role": 1, "dead-letter queue": 1,
    }

    report = teardown(config, target=target, log=lines.append)
    assert report.clean and lines[-1] == f"stack {config.stack}: nothing left"
    assert report.deleted == {
        "outcome loop": [first.failure_mapping_uuid, config.failure_handler_name, config.failure_handler_role_name,
                         config.dead_letter_queue_name],
        "protection": [f"{config.stack}-usage-plan", f"{config.stack}-key", f"/aws/apigateway/{config.stack}-access"],
        "api": [first.api_id], "mapping": [first.mapping_uuid], "function": [config.function_name],
        "roles": [config.processor_role_name, config.api_role_name], "queue": [config.queue_name],
        "table": [config.table_name],
    }
    assert all(v == [] for v in find_remaining(config, target=target).values())
    assert all(v == [] for v in teardown(config, target=target, log=lambda _: None).deleted.values())


def test_teardown_of_a_partial_deploy_removes_what_exists(target, config):
    from streamlab.provision import queue, table

    table.create_table(target, config)
    queue.create_queue(target, config)
    report = teardown(config, target=target, log=lambda _: None)
    assert report.deleted["table"] == [config.table_name] and report.deleted["queue"] == [config.queue_name]
    assert report.deleted["api"] == [] and report.clean


def test_describe_pipeline_names_what_is_missing_and_creates_nothing(target, config):
    from streamlab.provision import table

    table.create_table(target, config)
    before = find_remaining(config, target=target)
    assert before == {**{kind: [] for kind in before}, "table": [config.table_name]}
    with pytest.raises(ProvisionError, match=r"missing queue, api role, .*REST API.*streamlab deploy --stack"):
        describe_pipeline(config, target=target)
    assert find_remaining(config, target=target) == before


def test_turning_partial_responses_on_updates_the_mapping_before_the_function_E9(target, monkeypatch):
    """Otherwise, for a moment, the function reports failures the mapping ignores: records skipped."""
    from streamlab.provision import function as function_step
    from streamlab.provision import mapping as mapping_step
    from streamlab.provision import pipeline as pipeline_module

    base = PipelineConfig(stack="order" + uuid.uuid4().hex[:6])
    raising = base.with_processor(partial_failures=False).with_esm(report_batch_item_failures=False)
    order: list[str] = []
    for module, name, tag in ((function_step, "create_function", "function"), (mapping_step, "create_mapping", "mapping")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _real=real, _tag=tag, **k: (order.append(_tag), _real(*a, **k))[1])
    try:
        deploy(raising, target=target, log=lambda _: None)
        assert order == ["function", "mapping"]  # a new pipeline: the mapping needs the function
        order.clear()
        deploy(base, target=target, log=lambda _: None)  # partial responses on
        assert order == ["mapping", "function"]
        order.clear()
        deploy(raising, target=target, log=lambda _: None)  # and off again: the function stops first
        assert order == ["function", "mapping"]
        env = target.client("lambda").get_function_configuration(FunctionName=base.function_name)
        assert env["Environment"]["Variables"]["PARTIAL_FAILURES"] == "false"
    finally:
        pipeline_module.teardown(base, target=target, log=lambda _: None)


def test_describing_a_stack_that_is_not_deployed_names_what_is_missing_and_the_fix(target):
    with pytest.raises(ProvisionError, match=r"stack ghost on the local target is not \(fully\) deployed: "
                                             r"missing table, queue, .*REST API.*streamlab deploy --stack ghost"):
        describe_pipeline(PipelineConfig(stack="ghost"), target=target)


def test_deployed_api_needs_its_key_and_keeps_the_guard_rails(target, config):
    from streamlab.notebook.client import call
    from streamlab.provision.protection import ProtectionSettings

    pipeline = deploy(config, target=target, log=lambda _: None)
    guard = ProtectionSettings()
    try:
        def post(headers: dict) -> int:
            return call("POST", pipeline.invoke_url, {"payload": "x"}, headers=headers).status

        assert pipeline.request_headers == {"x-api-key": pipeline.api_key} and pipeline.api_key
        assert post({}) == 403 and post({"x-api-key": "wrong"}) == 403
        assert post(pipeline.request_headers) == 202
        stage = target.client("apigateway").get_stage(restApiId=pipeline.api_id, stageName=pipeline.stage)
        assert stage["methodSettings"]["*/*"]["throttlingRateLimit"] == guard.rate_limit
        assert stage["accessLogSettings"]["destinationArn"].endswith(f"/aws/apigateway/{config.stack}-access")
        lam = target.client("lambda")
        assert lam.get_function_concurrency(FunctionName=pipeline.function_name)["ReservedConcurrentExecutions"] == \
            guard.reserved_concurrency
        attributes = target.client("sqs").get_queue_attributes(QueueUrl=pipeline.queue_url, AttributeNames=["All"])
        assert attributes["Attributes"]["SqsManagedSseEnabled"] == "true"
    finally:
        teardown(config, target=target, log=lambda _: None)
