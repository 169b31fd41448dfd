"""Handlers nobody here wrote: Powertools for AWS Lambda's DynamoDB-stream parser and batch processor.

The event our ESM sends must validate against Powertools' `DynamoDBStreamModel` (S1-S3); the
partial-failure answer its `BatchProcessor` builds is held to E9 beside our own handler's in
test_esm_failures.py (test_E9_partial_failure_retries_from_lowest_failed_record).
"""
from __future__ import annotations

from .esm_helpers import wait_for

POWERTOOLS = """
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

DynamoDBStreamModel(**event)  # raises (and so fails the invocation) if the event has the wrong shape

def record_handler(record):
    if record.dynamodb.keys["id"] == "bad":
        raise ValueError("bad record")

answer = process_partial_response(event=event, record_handler=record_handler,
                                  processor=BatchProcessor(event_type=EventType.DynamoDBStreams), context=context)
"""


def test_S1_S3_powertools_parses_every_event_shape_we_send(pipeline_factory):
    """INSERT, MODIFY and REMOVE records, all through Powertools' pydantic model."""
    pipe = pipeline_factory(POWERTOOLS)
    pipe.put("x", n=1)
    pipe.put("x", n=2)
    pipe.ddb.delete_item(TableName=pipe.table, Key={"id": {"S": "x"}})
    pipe.mapping(BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"])
    invocations = wait_for(lambda: len(pipe.delivered_ids()) >= 3 and pipe.invocations(), what="three records")
    events = [r["eventName"] for inv in invocations for r in inv["event"]["Records"]]
    assert events == ["INSERT", "MODIFY", "REMOVE"]
    assert all(inv["error"] == "" for inv in invocations)
