"""Handlers nobody here wrote: Powertools for AWS Lambda's DynamoDB-stream parser and batch processor.

The event our ESM sends must validate against Powertools' `DynamoDBStreamModel` (S1-S3), and the
partial-failure answer its `BatchProcessor` builds must be honoured as E9 says: retry from the
lowest failed record, later records delivered again, the batch given up after the retry limit.
"""
from __future__ import annotations

from .esm_helpers import make_queue, receive_all, settle, wait_for

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


def test_E9_powertools_batch_processor_partial_failures_are_honoured(pipeline_factory, target):
    pipe = pipeline_factory(POWERTOOLS)
    url, arn = make_queue(target, f"{pipe.name}-dlq")
    for item in ("a", "b", "bad", "c"):
        pipe.put(item)
    pipe.mapping(BatchSize=4, MaximumRetryAttempts=1, FunctionResponseTypes=["ReportBatchItemFailures"],
                 DestinationConfig={"OnFailure": {"Destination": arn}})
    (record,) = receive_all(target, url, 1)
    invocations = settle(pipe.invocations, 1.5)
    assert [inv["error"] for inv in invocations] == ["", ""], "Powertools could not parse the event"
    assert [inv["ids"] for inv in invocations] == [["a", "b", "bad", "c"], ["bad", "c"]]
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 2


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
