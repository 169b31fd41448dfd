"""Step 1 against the local stack: the table is created once, reused, and deleted."""
from __future__ import annotations

import pytest

from streamlab import schema
from streamlab.errors import ProvisionError
from streamlab.provision import table


def test_create_describe_reuse_delete(target, config):
    first = table.create_table(target, config)
    assert first.created and first.status == "ACTIVE"
    described = table.describe_table(target, config)
    assert described["KeySchema"] == [{"AttributeName": schema.ID, "KeyType": "HASH"}]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert described["LatestStreamArn"] == first.stream_arn
    tags = target.client("dynamodb").list_tags_of_resource(ResourceArn=first.arn)["Tags"]
    assert {"Key": "streamlab:stack", "Value": config.stack} in tags

    again = table.create_table(target, config)
    assert not again.created and (again.arn, again.stream_arn) == (first.arn, first.stream_arn)
    assert target.client("dynamodb").list_tables()["TableNames"].count(config.table_name) == 1

    assert table.delete_table(target, config) is True
    assert table.describe_table(target, config) is None
    assert table.delete_table(target, config) is False


def test_existing_table_without_stream_is_refused_not_changed(target, config):
    ddb = target.client("dynamodb")
    ddb.create_table(
        TableName=config.table_name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    with pytest.raises(ProvisionError, match="without a NEW_AND_OLD_IMAGES stream"):
        table.create_table(target, config)
    assert "LatestStreamArn" not in ddb.describe_table(TableName=config.table_name)["Table"]


def test_unreachable_target_is_a_provision_error_saying_what_was_done(new_stack_name):
    from streamlab.localstack.stack import pick_free_port
    from streamlab.provision import PipelineConfig
    from streamlab.target import local_target

    nowhere = local_target(f"http://127.0.0.1:{pick_free_port()}")
    with pytest.raises(ProvisionError, match=r"describing table .*reachable"):
        table.create_table(nowhere, PipelineConfig(stack=new_stack_name()))
