"""The AWS code path of `streamlab.provision`, offline: every call and parameter each step makes on
an AWS target, waiting for resources to become active, and idempotent re-runs that create nothing.

Each test scripts the exact calls (tests/aws/pipeline_script.py); Stubber fails on a missing,
extra, reordered or changed call, and the `aws` fixture fails if a scripted call was not made.
"""
from __future__ import annotations

import pytest

from . import pipeline_script as s
from streamlab.errors import ProvisionError
from streamlab.provision import (
    PipelineConfig, create_api, create_api_role, create_function, create_mapping, create_processor_role,
    create_queue, create_table, deploy, teardown,
)

CONFIG = PipelineConfig()


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_table_waits_for_active_and_reruns_create_nothing(aws, aws_target, offline, new):
    s.table(aws, new=new)
    info = create_table(aws_target, CONFIG)
    assert (info.name, info.arn, info.stream_arn, info.status, info.created) == (
        s.TABLE, s.TABLE_ARN, s.STREAM_ARN, "ACTIVE", new)
    assert len(offline) == (1 if new else 0)  # one wait between CREATING and ACTIVE


def test_a_table_being_deleted_is_a_clear_error(aws, aws_target):
    aws.ok("dynamodb", "describe_table", s.table_description("DELETING"), TableName=s.TABLE)
    with pytest.raises(ProvisionError, match="being deleted"):
        create_table(aws_target, CONFIG)


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_queue(aws, aws_target, new):
    s.queue(aws, new=new)
    info = create_queue(aws_target, CONFIG)
    assert (info.url, info.arn, info.created) == (s.QUEUE_URL, s.QUEUE_ARN, new)


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_api_role_waits_until_it_exists(aws, aws_target, new):
    s.role(aws, s.API_ROLE, new=new)
    info = create_api_role(aws_target, CONFIG, table_arn=s.TABLE_ARN)
    assert (info.arn, info.policy, info.created) == (s.role_arn(s.API_ROLE), s.API_POLICY, new)


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_processor_role_names_the_account_from_sts(aws, aws_target, new):
    s.role(aws, s.PROC_ROLE, new=new)
    info = create_processor_role(aws_target, CONFIG, table_arn=s.TABLE_ARN, stream_arn=s.STREAM_ARN,
                                 queue_arn=s.QUEUE_ARN)
    assert (info.arn, info.policy, info.created) == (s.role_arn(s.PROC_ROLE), s.PROC_POLICY, new)


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_function_waits_for_active(aws, aws_target, offline, new):
    s.function(aws, new=new)
    info = create_function(aws_target, CONFIG, role_arn=s.role_arn(s.PROC_ROLE))
    assert (info.arn, info.state, info.created, info.updated) == (s.FUNCTION_ARN, "Active", new, False)
    assert len(offline) == (1 if new else 0)


def test_function_retries_while_a_new_role_is_not_assumable_yet(aws, aws_target, offline):
    s.function(aws, new=True, role_not_ready=True)
    assert create_function(aws_target, CONFIG, role_arn=s.role_arn(s.PROC_ROLE)).created
    assert offline[0] == 3  # waited before retrying CreateFunction


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_mapping_waits_for_enabled(aws, aws_target, offline, new):
    s.mapping(aws, new=new)
    info = create_mapping(aws_target, CONFIG, stream_arn=s.STREAM_ARN, queue_arn=s.QUEUE_ARN)
    assert (info.uuid, info.state, info.created, info.updated) == (s.MAPPING, "Enabled", new, ())
    assert len(offline) == (1 if new else 0)


def test_mapping_rerun_with_other_settings_updates_in_place(aws, aws_target):
    aws.ok("lambda", "list_event_source_mappings", {"EventSourceMappings": [s.mapping_description()]},
           FunctionName=s.FUNCTION)
    aws.ok("lambda", "get_event_source_mapping", s.mapping_description(), UUID=s.MAPPING)
    aws.ok("lambda", "update_event_source_mapping", s.mapping_description("Updating"),
           UUID=s.MAPPING, BatchSize=10, MaximumRetryAttempts=0)
    aws.ok("lambda", "get_event_source_mapping", s.mapping_description("Enabled"), UUID=s.MAPPING)
    info = create_mapping(aws_target, CONFIG.with_esm(batch_size=10, maximum_retry_attempts=0),
                          stream_arn=s.STREAM_ARN, queue_arn=s.QUEUE_ARN)
    assert (info.created, sorted(info.updated)) == (False, ["BatchSize", "MaximumRetryAttempts"])


@pytest.mark.parametrize("new", [True, False], ids=["create", "rerun"])
def test_rest_api_from_infra_api_and_rerun_makes_no_deployment(aws, aws_target, new):
    s.api(aws, new=new)
    info = create_api(aws_target, CONFIG, table_name=s.TABLE, api_role_arn=s.role_arn(s.API_ROLE))
    assert info.invoke_url == f"https://{s.API_ID}.execute-api.us-east-1.amazonaws.com/dev/requests"
    assert (info.created, bool(info.changed), info.deployment_id) == (new, new, "dep-1")


def test_whole_deploy_then_rerun_creates_nothing_the_second_time(aws, aws_target, offline):
    s.deploy(aws, new=True)
    s.deploy(aws, new=False)
    lines: list[str] = []
    first = deploy(CONFIG, target=aws_target, log=lines.append)
    second = deploy(CONFIG, target=aws_target, log=lines.append)
    assert first == second
    assert first.invoke_url == f"https://{s.API_ID}.execute-api.us-east-1.amazonaws.com/dev/requests"
    assert all("created" in line for line in lines[:7])
    assert all("exists, unchanged" in line for line in lines[7:])
    assert first.api_key == s.KEY["value"] and first.request_headers == {"x-api-key": s.KEY["value"]}


def test_teardown_deletes_in_order_waits_and_a_second_run_finds_nothing(aws, aws_target):
    s.teardown(aws, exists=True)
    s.teardown(aws, exists=False)
    first = teardown(CONFIG, target=aws_target, log=lambda _: None)
    second = teardown(CONFIG, target=aws_target, log=lambda _: None)
    assert first.clean and second.clean
    assert first.deleted == {"protection": [s.PLAN["name"], s.KEY["name"], s.ACCESS_LOG_GROUP],
                             "api": [s.API_ID], "mapping": [s.MAPPING], "function": [s.FUNCTION],
                             "roles": [s.PROC_ROLE, s.API_ROLE], "queue": [s.QUEUE], "table": [s.TABLE]}
    assert all(v == [] for v in second.deleted.values())


def test_an_aws_error_becomes_a_provision_error_that_says_what_failed(aws, aws_target):
    aws.error("dynamodb", "describe_table", "AccessDeniedException", TableName=s.TABLE)
    with pytest.raises(ProvisionError, match="describing table streamlab-requests failed: AccessDeniedException"):
        create_table(aws_target, CONFIG)
