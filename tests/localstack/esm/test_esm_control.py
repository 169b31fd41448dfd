"""Control plane of the ESM at the front door: AWS's shapes, states, validation (E2-E6, E12, E13)."""
from __future__ import annotations

import json

import boto3
import pytest
from botocore.config import Config

from .esm_helpers import wait_for, wait_state
from streamlab.localstack.state import StackPaths


@pytest.fixture
def raw_lambda(target):
    """A client that skips botocore's own range checks, so the server's validation is what answers."""
    return target.client("lambda", config=Config(parameter_validation=False, retries={"max_attempts": 1}))


def test_E13_create_echoes_parameters_and_goes_creating_to_enabled(pipeline_factory):
    pipe = pipeline_factory()
    resp = pipe.lam.create_event_source_mapping(
        EventSourceArn=pipe.stream_arn, FunctionName=pipe.function, StartingPosition="LATEST", BatchSize=7,
        MaximumBatchingWindowInSeconds=2, ParallelizationFactor=3, MaximumRetryAttempts=4,
        MaximumRecordAgeInSeconds=120, BisectBatchOnFunctionError=True,
        FunctionResponseTypes=["ReportBatchItemFailures"], TumblingWindowInSeconds=0,
    )
    pipe.mappings.append(resp["UUID"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert resp["State"] == "Creating"
    assert resp["StateTransitionReason"] == "USER_INITIATED"
    assert resp["LastProcessingResult"] == "No records processed"
    assert resp["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{pipe.function}"
    expected = {"StartingPosition": "LATEST", "BatchSize": 7, "MaximumBatchingWindowInSeconds": 2,
                "ParallelizationFactor": 3, "MaximumRetryAttempts": 4, "MaximumRecordAgeInSeconds": 120,
                "BisectBatchOnFunctionError": True, "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "TumblingWindowInSeconds": 0, "EventSourceArn": pipe.stream_arn, "DestinationConfig": {"OnFailure": {}}}
    assert {k: resp[k] for k in expected} == expected
    assert resp["EventSourceMappingArn"].endswith(f":event-source-mapping:{resp['UUID']}")
    got = wait_state(pipe.lam, resp["UUID"], "Enabled")
    assert {k: got[k] for k in expected} == expected
    assert got["LastModified"].year >= 2024


def test_E2_defaults_are_aws_defaults(pipeline_factory):
    pipe = pipeline_factory()
    resp = pipe.lam.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName=pipe.function,
                                                StartingPosition="TRIM_HORIZON")
    pipe.mappings.append(resp["UUID"])
    assert (resp["BatchSize"], resp["MaximumBatchingWindowInSeconds"], resp["ParallelizationFactor"]) == (100, 0, 1)
    assert (resp["MaximumRetryAttempts"], resp["MaximumRecordAgeInSeconds"]) == (-1, -1)
    assert resp["BisectBatchOnFunctionError"] is False


@pytest.mark.parametrize("field,value", [
    ("BatchSize", 0), ("BatchSize", 10_001),
    ("MaximumBatchingWindowInSeconds", -1), ("MaximumBatchingWindowInSeconds", 301),
    ("ParallelizationFactor", 0), ("ParallelizationFactor", 11),
    ("MaximumRetryAttempts", -2), ("MaximumRetryAttempts", 10_001),
    ("MaximumRecordAgeInSeconds", 0), ("MaximumRecordAgeInSeconds", 59), ("MaximumRecordAgeInSeconds", 604_801),
    ("TumblingWindowInSeconds", 901),
    ("StartingPosition", "AT_TIMESTAMP"), ("FunctionResponseTypes", ["Bogus"]),
])
def test_E2_E6_E12_out_of_range_is_invalid_parameter_value(pipeline_factory, raw_lambda, field, value):
    pipe = pipeline_factory()
    args = {"EventSourceArn": pipe.stream_arn, "FunctionName": pipe.function, "StartingPosition": "LATEST", field: value}
    with pytest.raises(raw_lambda.exceptions.InvalidParameterValueException) as err:
        raw_lambda.create_event_source_mapping(**args)
    assert field in str(err.value) or "starting position" in str(err.value)
    assert raw_lambda.list_event_source_mappings(EventSourceArn=pipe.stream_arn)["EventSourceMappings"] == []


def test_E6_record_age_message_is_aws_text(pipeline_factory, raw_lambda):
    pipe = pipeline_factory()
    with pytest.raises(raw_lambda.exceptions.InvalidParameterValueException) as err:
        raw_lambda.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName=pipe.function,
                                               StartingPosition="LATEST", MaximumRecordAgeInSeconds=30)
    assert "MaximumRecordAgeInSeconds must be either -1 (forever) or between 60 and 604800 (inclusive)" in str(err.value)


def test_E3_starting_position_is_required(pipeline_factory, raw_lambda):
    pipe = pipeline_factory()
    with pytest.raises(raw_lambda.exceptions.InvalidParameterValueException):
        raw_lambda.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName=pipe.function)


def test_unknown_function_and_stream_are_refused(pipeline_factory):
    pipe = pipeline_factory()
    with pytest.raises(pipe.lam.exceptions.ResourceNotFoundException):
        pipe.lam.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName="no-such-fn",
                                             StartingPosition="LATEST")
    with pytest.raises(pipe.lam.exceptions.InvalidParameterValueException):
        pipe.lam.create_event_source_mapping(
            EventSourceArn=pipe.stream_arn.replace(pipe.table, "no-such-table"), FunctionName=pipe.function,
            StartingPosition="LATEST")


def test_duplicate_mapping_is_a_conflict(pipeline_factory):
    pipe = pipeline_factory()
    first = pipe.mapping()
    with pytest.raises(pipe.lam.exceptions.ResourceConflictException) as err:
        pipe.lam.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName=pipe.function,
                                             StartingPosition="LATEST")
    assert first["UUID"] in str(err.value)


def test_get_update_delete_unknown_uuid_is_not_found(target):
    lam = target.client("lambda")
    missing = "00000000-0000-4000-8000-000000000000"
    for call in (lambda: lam.get_event_source_mapping(UUID=missing),
                 lambda: lam.update_event_source_mapping(UUID=missing, BatchSize=5),
                 lambda: lam.delete_event_source_mapping(UUID=missing)):
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            call()


def test_E13_update_and_disable_move_through_aws_states(pipeline_factory):
    pipe = pipeline_factory()
    made = pipe.mapping()
    resp = pipe.lam.update_event_source_mapping(UUID=made["UUID"], BatchSize=3, MaximumRetryAttempts=1)
    assert resp["State"] == "Updating" and resp["BatchSize"] == 3 and resp["MaximumRetryAttempts"] == 1
    wait_state(pipe.lam, made["UUID"], "Enabled")
    resp = pipe.lam.update_event_source_mapping(UUID=made["UUID"], Enabled=False)
    assert resp["State"] == "Disabling"
    wait_state(pipe.lam, made["UUID"], "Disabled")
    resp = pipe.lam.update_event_source_mapping(UUID=made["UUID"], Enabled=True)
    assert resp["State"] == "Enabling"
    got = wait_state(pipe.lam, made["UUID"], "Enabled")
    assert got["BatchSize"] == 3


def test_bad_update_is_refused_and_changes_nothing(pipeline_factory, raw_lambda):
    pipe = pipeline_factory()
    made = pipe.mapping(BatchSize=5)
    with pytest.raises(raw_lambda.exceptions.InvalidParameterValueException):
        raw_lambda.update_event_source_mapping(UUID=made["UUID"], BatchSize=0, MaximumRetryAttempts=3)
    got = pipe.lam.get_event_source_mapping(UUID=made["UUID"])
    assert (got["BatchSize"], got["MaximumRetryAttempts"], got["State"]) == (5, -1, "Enabled")


def is_gone(lam, esm_uuid: str) -> bool:
    try:
        lam.get_event_source_mapping(UUID=esm_uuid)
    except lam.exceptions.ResourceNotFoundException:
        return True
    return False


def test_delete_goes_deleting_then_gone(pipeline_factory):
    pipe = pipeline_factory()
    made = pipe.mapping()
    resp = pipe.lam.delete_event_source_mapping(UUID=made["UUID"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 202 and resp["State"] == "Deleting"
    wait_for(lambda: is_gone(pipe.lam, made["UUID"]), what="mapping deleted")


def test_a_deleted_mapping_is_gone_only_after_its_running_batch_returns(pipeline_factory):
    # Otherwise a teardown deletes the function's log group while the batch still runs, and the
    # batch's log lines bring the group back after the teardown said nothing was left.
    pipe = pipeline_factory("""
        _log.put_item(TableName=os.environ["LOG_TABLE"], Item={"k": {"S": "started"}})
        time.sleep(3)
    """)
    made = pipe.mapping()
    pipe.put("a")
    wait_for(lambda: "Item" in pipe.ddb.get_item(TableName=pipe.log_table, Key={"k": {"S": "started"}}),
             what="the batch started")
    assert pipe.lam.delete_event_source_mapping(UUID=made["UUID"])["State"] == "Deleting"
    wait_for(lambda: is_gone(pipe.lam, made["UUID"]), what="mapping deleted", interval=0.1)
    finished = [i for i in pipe.ddb.scan(TableName=pipe.log_table, ConsistentRead=True)["Items"] if "ids" in i]
    assert [json.loads(i["ids"]["S"]) for i in finished] == [["a"]]


def test_list_filters_and_merges_ministack_mappings(pipeline_factory, target, local_stack):
    pipe = pipeline_factory()
    other = pipeline_factory()
    ours = pipe.mapping()
    other.mapping()
    sqs = target.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName=f"{pipe.name}-q")["QueueUrl"],
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs_mapping = pipe.lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=pipe.function,
                                                       Enabled=False)
    try:
        by_function = pipe.lam.list_event_source_mappings(FunctionName=pipe.function)["EventSourceMappings"]
        assert {m["UUID"] for m in by_function} == {ours["UUID"], sqs_mapping["UUID"]}
        by_source = pipe.lam.list_event_source_mappings(EventSourceArn=pipe.stream_arn)["EventSourceMappings"]
        assert [m["UUID"] for m in by_source] == [ours["UUID"]]
        # The SQS mapping is MiniStack's: get answers from there unchanged.
        assert pipe.lam.get_event_source_mapping(UUID=sqs_mapping["UUID"])["EventSourceArn"] == queue_arn
        # MiniStack itself never learns of the stream mapping, so it never polls the stream too.
        direct = boto3.client("lambda", endpoint_url=local_stack.ministack_url, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")
        theirs = {m["UUID"] for m in direct.list_event_source_mappings()["EventSourceMappings"]}
        assert ours["UUID"] not in theirs and sqs_mapping["UUID"] in theirs
    finally:
        pipe.lam.delete_event_source_mapping(UUID=sqs_mapping["UUID"])


def test_mapping_config_is_durable_in_state_folder(pipeline_factory, stack_home):
    pipe = pipeline_factory()
    made = pipe.mapping(BatchSize=9)
    saved = json.loads((StackPaths(stack_home).data / "esm" / "mappings.json").read_text())
    assert saved[made["UUID"]]["BatchSize"] == 9
    assert saved[made["UUID"]]["EventSourceArn"] == pipe.stream_arn


def test_function_alias_and_arn_resolve_to_a_qualified_function_arn(pipeline_factory):
    pipe = pipeline_factory()
    version = pipe.lam.publish_version(FunctionName=pipe.function)["Version"]
    pipe.lam.create_alias(FunctionName=pipe.function, Name="live", FunctionVersion=version)
    made = pipe.mapping(FunctionName=f"{pipe.function}:live")
    assert made["FunctionArn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{pipe.function}:live"
    pipe.put("a")
    wait_for(lambda: pipe.delivered_ids() == ["a"], what="delivery through the alias")
    listed = pipe.lam.list_event_source_mappings(FunctionName=made["FunctionArn"])["EventSourceMappings"]
    assert [m["UUID"] for m in listed] == [made["UUID"]]


def test_update_function_name_redirects_delivery(pipeline_factory):
    pipe = pipeline_factory()
    other = pipeline_factory()
    made = pipe.mapping()
    resp = pipe.lam.update_event_source_mapping(UUID=made["UUID"], FunctionName=other.function)
    assert resp["FunctionArn"].endswith(f":function:{other.function}")
    wait_state(pipe.lam, made["UUID"], "Enabled")
    pipe.put("a")
    wait_for(lambda: other.delivered_ids() == ["a"], what="delivery to the new function")
    assert pipe.delivered_ids() == []


def test_a_deleted_mapping_is_gone_for_every_call(pipeline_factory):
    # Deleting lasts one supervisor tick, too short to hit over the wire on purpose: the conflict
    # while Deleting is held in test_esm_units (E13); here, once gone, every call is NotFound.
    pipe = pipeline_factory()
    made = pipe.lam.create_event_source_mapping(EventSourceArn=pipe.stream_arn, FunctionName=pipe.function,
                                                StartingPosition="LATEST")
    pipe.mappings.append(made["UUID"])
    assert pipe.lam.delete_event_source_mapping(UUID=made["UUID"])["State"] == "Deleting"

    def gone() -> bool:
        try:
            pipe.lam.get_event_source_mapping(UUID=made["UUID"])
            return False
        except pipe.lam.exceptions.ResourceNotFoundException:
            return True

    wait_for(gone, what="the mapping to be deleted")
    for call in (lambda: pipe.lam.update_event_source_mapping(UUID=made["UUID"], BatchSize=5),
                 lambda: pipe.lam.delete_event_source_mapping(UUID=made["UUID"])):
        with pytest.raises(pipe.lam.exceptions.ResourceNotFoundException):
            call()
    assert made["UUID"] not in {m["UUID"] for m in pipe.lam.list_event_source_mappings()["EventSourceMappings"]}


def test_malformed_body_is_refused(target, local_stack):
    import urllib.request

    req = urllib.request.Request(local_stack.endpoint_url + "/2015-03-31/event-source-mappings/", data=b"{not json",
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("a malformed body was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 400
        assert err.headers["x-amzn-ErrorType"] == "InvalidParameterValueException"


def test_tags_on_create_and_through_the_tagging_api(pipeline_factory):
    pipe = pipeline_factory()
    made = pipe.mapping(Tags={"stack": "streamlab"})
    arn = made["EventSourceMappingArn"]
    assert "Tags" not in pipe.lam.get_event_source_mapping(UUID=made["UUID"])
    assert pipe.lam.list_tags(Resource=arn)["Tags"] == {"stack": "streamlab"}
    pipe.lam.tag_resource(Resource=arn, Tags={"owner": "me"})
    pipe.lam.untag_resource(Resource=arn, TagKeys=["stack"])
    assert pipe.lam.list_tags(Resource=arn)["Tags"] == {"owner": "me"}
    # A function's tags are still MiniStack's.
    function_arn = pipe.lam.get_function(FunctionName=pipe.function)["Configuration"]["FunctionArn"]
    pipe.lam.tag_resource(Resource=function_arn, Tags={"f": "1"})
    assert pipe.lam.list_tags(Resource=function_arn)["Tags"] == {"f": "1"}
