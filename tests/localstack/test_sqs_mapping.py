"""What the outcome loop relies on from the stack's own SQS event source mapping (MiniStack's),
held with a handler nobody here wrote: Powertools for AWS Lambda's SQS parser and batch processor.

- the event validates against Powertools' `SqsModel` (else every record would fail);
- a `batchItemFailures` answer deletes the good messages and leaves the failed one;
- the failed one comes back after the visibility timeout, and the queue's redrive policy moves
  it to the dead-letter queue after maxReceiveCount receives.
"""
from __future__ import annotations

import io
import json
import time
import uuid
import zipfile

import pytest

POWERTOOLS_SQS = """
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsModel


def record_handler(record):
    if record.body == "bad":
        raise ValueError("bad message")


def handler(event, context):
    SqsModel(**event)  # raises (the whole batch fails) if the event has the wrong shape
    return process_partial_response(event=event, record_handler=record_handler,
                                    processor=BatchProcessor(event_type=EventType.SQS), context=context)
"""
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture
def sqs_mapping(target):
    name = "sqsesm" + uuid.uuid4().hex[:8]
    sqs, lam, iam = target.client("sqs"), target.client("lambda"), target.client("iam")
    made: dict[str, str] = {}
    try:
        dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        made["dlq"] = dlq
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        source = sqs.create_queue(QueueName=name, Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]
        made["source"] = source
        source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        made["role"] = name
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("handler.py", POWERTOOLS_SQS)
        lam.create_function(FunctionName=name, Runtime="python3.12", Handler="handler.handler", Role=role,
                            Code={"ZipFile": buf.getvalue()}, Timeout=10)
        made["function"] = name
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        uuid_ = lam.create_event_source_mapping(EventSourceArn=source_arn, FunctionName=name, BatchSize=10,
                                                FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
        made["mapping"] = uuid_
        yield sqs, source, dlq
    finally:
        if "mapping" in made:
            lam.delete_event_source_mapping(UUID=made["mapping"])
        if "function" in made:
            lam.delete_function(FunctionName=made["function"])
        if "role" in made:
            iam.delete_role(RoleName=made["role"])
        for key in ("source", "dlq"):
            if key in made:
                sqs.delete_queue(QueueUrl=made[key])


def _count(sqs, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_partial_batch_failures_retry_then_redrive_only_the_failed_message(sqs_mapping):
    sqs, source, dlq = sqs_mapping
    sqs.send_message_batch(QueueUrl=source, Entries=[
        {"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "bad", "ok-2"])])
    deadline = time.monotonic() + 90
    parked: list[dict] = []
    while time.monotonic() < deadline and not parked:
        parked = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                     AttributeNames=["All"]).get("Messages", [])
    assert [m["Body"] for m in parked] == ["bad"]
    assert int(parked[0]["Attributes"]["ApproximateReceiveCount"]) >= 2
    assert _count(sqs, source) == 0  # the good ones were deleted, never redriven
