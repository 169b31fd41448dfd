"""Fixtures for ESM conformance tests (helpers in esm_helpers)."""
from __future__ import annotations

import uuid

import pytest

from streamlab.localstack.streams.layout import SHARDS_TAG
from tests.cleanup import Cleanup

from .esm_helpers import Pipeline, handler_zip, wait_for


@pytest.fixture
def pipeline_factory(target, local_stack, request):
    made: list[Pipeline] = []
    lam, ddb = target.client("lambda"), target.client("dynamodb")

    def make(behaviour: str = "pass", timeout: int = 10, view: str = "NEW_AND_OLD_IMAGES", key_only: bool = False,
             shards: int = 1) -> Pipeline:
        name = f"esm{uuid.uuid4().hex[:10]}"
        table, log_table = f"{name}-t", f"{name}-log"
        ddb.create_table(
            TableName=table, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
            # One shard unless a test asks for more: most tests pin per-shard semantics (docs/streams.md: the layout).
            Tags=[{"Key": SHARDS_TAG, "Value": str(shards)}],
        )
        ddb.create_table(
            TableName=log_table, AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST",
        )
        stream_arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Handler="handler.handler", Timeout=timeout,
            Role="arn:aws:iam::000000000000:role/lambda-role", Code={"ZipFile": handler_zip(behaviour)},
            Environment={"Variables": {"LOG_TABLE": log_table, "LOG_ENDPOINT": local_stack.endpoint_url}},
        )
        wait_for(lambda: lam.get_function(FunctionName=name)["Configuration"].get("State", "Active") == "Active",
                 what="function Active")
        pipe = Pipeline(target, name, table, stream_arn, name, log_table)
        made.append(pipe)
        return pipe

    yield make
    cleanup = Cleanup()
    for pipe in made:
        for esm_uuid in pipe.mappings:
            cleanup.run(f"deleting mapping {esm_uuid}", lambda: lam.delete_event_source_mapping(UUID=esm_uuid),
                        expected=(lam.exceptions.ResourceNotFoundException,))
        cleanup.run(f"deleting function {pipe.function}", lambda: lam.delete_function(FunctionName=pipe.function))
        for table in (pipe.table, pipe.log_table):
            cleanup.run(f"deleting table {table}", lambda: ddb.delete_table(TableName=table))
    cleanup.report()
