"""PipelineConfig / EsmSettings: derived names, validation, and the ESM arguments they mean."""
from __future__ import annotations

import json

import pytest

from streamlab.errors import ConfigError
from streamlab.provision.config import STACK_TAG, EsmSettings, PipelineConfig


def test_names_derive_from_the_stack_name_unless_given():
    cfg = PipelineConfig(stack="lab2", table_name="my-table")
    assert cfg.table_name == "my-table"
    assert cfg.function_name == "lab2-StreamProcessor"
    assert cfg.queue_name == "lab2-on-failure"
    assert cfg.api_name == "lab2-api"
    assert {cfg.api_role_name, cfg.processor_role_name} == {"lab2-api-role", "lab2-processor-role"}
    assert cfg.tags == {STACK_TAG: "lab2"}


@pytest.mark.parametrize("stack", ["", "2lab", "lab_x", "a" * 41, "lab x"])
def test_unusable_stack_name_is_a_config_error_with_an_example(stack):
    with pytest.raises(ConfigError, match="for example"):
        PipelineConfig(stack=stack)


@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_failure_rate_outside_0_1_is_refused(rate):
    with pytest.raises(ConfigError, match="between 0 and 1"):
        PipelineConfig().with_processor(failure_rate=rate)


def test_bad_stage_name_is_refused():
    with pytest.raises(ConfigError, match="stage"):
        PipelineConfig(stage="dev/1")


def test_esm_settings_pass_every_failure_handling_parameter_through():
    settings = EsmSettings(
        batch_size=7, maximum_batching_window_in_seconds=2, parallelization_factor=3,
        maximum_retry_attempts=4, maximum_record_age_in_seconds=120, bisect_batch_on_function_error=True,
        report_batch_item_failures=True, filter_patterns=({"eventName": ["INSERT"]},), metrics=("EventCount",),
    )
    args = settings.to_api(queue_arn="arn:aws:sqs:us-east-1:000000000000:q")
    assert args == {
        "BatchSize": 7,
        "MaximumBatchingWindowInSeconds": 2,
        "ParallelizationFactor": 3,
        "MaximumRetryAttempts": 4,
        "MaximumRecordAgeInSeconds": 120,
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:000000000000:q"}},
        "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]})}]},
        "MetricsConfig": {"Metrics": ["EventCount"]},
        "Enabled": True,
    }


def test_esm_settings_without_destination_or_partial_failures():
    args = EsmSettings(on_failure=False, report_batch_item_failures=False, filter_patterns=()).to_api(queue_arn="q")
    assert args["DestinationConfig"] == {}
    assert args["FunctionResponseTypes"] == []
    assert args["FilterCriteria"] == {"Filters": []}


def test_processor_environment_carries_the_failure_switches():
    env = PipelineConfig(stack="x").with_processor(failure_rate=0.25, failure_seed=7, partial_failures=False)
    assert env.processor.environment("tbl") == {
        "TABLE_NAME": "tbl", "FAILURE_RATE": "0.25", "FAILURE_SEED": "7", "PARTIAL_FAILURES": "false",
        "RECORD_CONCURRENCY": "1", "BATCH_WRITES": "false",
    }


def test_record_concurrency_and_stream_shards_are_bounded():
    assert PipelineConfig().with_processor(record_concurrency=4).processor.environment("t")["RECORD_CONCURRENCY"] == "4"
    with pytest.raises(ConfigError, match="record_concurrency=11"):
        PipelineConfig().with_processor(record_concurrency=11)
    with pytest.raises(ConfigError, match="stream_shards=0"):
        PipelineConfig(stream_shards=0)


def test_partial_failures_without_report_batch_item_failures_is_refused_E9():
    with pytest.raises(ConfigError, match="report_batch_item_failures"):
        PipelineConfig().with_esm(report_batch_item_failures=False)
    config = PipelineConfig().with_processor(partial_failures=False).with_esm(report_batch_item_failures=False)
    assert config.esm.to_api(queue_arn="q")["FunctionResponseTypes"] == []


def test_aws_esm_defaults_are_kept_apart_from_the_suite_choices_E2_E5():
    from streamlab.provision.config import AWS_ESM_DEFAULTS

    aws = AWS_ESM_DEFAULTS.to_api(queue_arn="arn:q")
    assert (aws["BatchSize"], aws["ParallelizationFactor"], aws["MaximumRetryAttempts"]) == (100, 1, -1)
    assert aws["BisectBatchOnFunctionError"] is False and aws["FunctionResponseTypes"] == []
    assert aws["DestinationConfig"] == {} and aws["FilterCriteria"] == {"Filters": []}
    assert EsmSettings().maximum_retry_attempts != AWS_ESM_DEFAULTS.maximum_retry_attempts  # the suite's pick
