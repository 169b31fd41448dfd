"""Step 1: the request table: `id` (S) hash key, on-demand, stream NEW_AND_OLD_IMAGES."""
from __future__ import annotations

from dataclasses import dataclass, field

from streamlab import schema
from streamlab.errors import ProvisionError
from streamlab.provision.calls import get_or_none, provisioning, strip_metadata
from streamlab.provision.config import PipelineConfig
from streamlab.target import STREAM_SHARDS_TAG, Target

STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


@dataclass(frozen=True)
class TableInfo:
    name: str
    arn: str
    stream_arn: str
    status: str
    created: bool
    response: dict = field(repr=False, compare=False)


def describe_table(target: Target, config: PipelineConfig) -> dict | None:
    """DescribeTable's `Table`, or None if there is no such table."""
    ddb = target.client("dynamodb")
    with provisioning(f"describing table {config.table_name}"):
        found = get_or_none(ddb.describe_table, TableName=config.table_name)
    return found["Table"] if found else None


def _info(table: dict, created: bool) -> TableInfo:
    stream_arn = table.get("LatestStreamArn")
    spec = table.get("StreamSpecification") or {}
    if not stream_arn or not spec.get("StreamEnabled") or spec.get("StreamViewType") != STREAM_VIEW_TYPE:
        raise ProvisionError(
            f"table {table['TableName']} exists without a {STREAM_VIEW_TYPE} stream (view types are fixed "
            f"once a stream exists). Delete it (`streamlab teardown`) or pick another table name."
        )
    return TableInfo(table["TableName"], table["TableArn"], stream_arn, table["TableStatus"], created, table)


def create_table(target: Target, config: PipelineConfig) -> TableInfo:
    """Create the table, or reuse it; returns once it is ACTIVE."""
    ddb = target.client("dynamodb")
    existing = describe_table(target, config)
    with provisioning(f"creating table {config.table_name}"):
        if existing is None:
            ddb.create_table(
                TableName=config.table_name,
                AttributeDefinitions=[{"AttributeName": schema.ID, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": schema.ID, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                StreamSpecification={"StreamEnabled": True, "StreamViewType": STREAM_VIEW_TYPE},
                Tags=[{"Key": k, "Value": v} for k, v in {**config.tags, **_shard_tags(target, config)}.items()],
            )
        elif existing.get("TableStatus") == "DELETING":
            raise ProvisionError(f"table {config.table_name} is being deleted; wait a minute and deploy again.")
        ddb.get_waiter("table_exists").wait(TableName=config.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})
        table = strip_metadata(ddb.describe_table(TableName=config.table_name))["Table"]
        if existing is not None:
            ddb.tag_resource(ResourceArn=table["TableArn"], Tags=[{"Key": k, "Value": v} for k, v in config.tags.items()])
    return _info(table, created=existing is None)


def delete_table(target: Target, config: PipelineConfig) -> bool:
    """Delete the table (and so its stream). True if there was one to delete."""
    ddb = target.client("dynamodb")
    with provisioning(f"deleting table {config.table_name}"):
        existing = describe_table(target, config)
        if existing is None:
            return False
        if existing.get("TableStatus") != "DELETING":
            get_or_none(ddb.delete_table, TableName=config.table_name)
        ddb.get_waiter("table_not_exists").wait(
            TableName=config.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 300}
        )
    return True


def _shard_tags(target: Target, config: PipelineConfig) -> dict[str, str]:
    """The local stack's stream shard count, when the config sets one (AWS sizes shards itself)."""
    if config.stream_shards is None or not getattr(target, "is_local", False):
        return {}
    return {STREAM_SHARDS_TAG: str(config.stream_shards)}
