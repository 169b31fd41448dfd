"""On-failure records (E10): what is sent when a batch is dropped, and sending it to SQS, SNS or S3."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

from streamlab.localstack.esm import chosen
from streamlab.localstack.esm.event import created_at, iso_millis, iso_seconds, sequence_number
from streamlab.localstack.esm.upstream import InvokeResult, Upstream


def failure_record(
    *, records: list[dict], condition: str, function_arn: str, invoke_count: int,
    last_result: InvokeResult | None, shard_id: str, stream_arn: str,
) -> dict:
    """The metadata of a dropped batch, in AWS's field order. SQS/SNS get no records (E10)."""
    if last_result is None:
        response = dict(chosen.NO_INVOCATION_RESPONSE_CONTEXT)
    else:
        response = {"statusCode": last_result.status, "executedVersion": last_result.executed_version}
        if last_result.function_error:
            response["functionError"] = last_result.function_error
    return _metadata(condition, function_arn, invoke_count, response, {
        "shardId": shard_id,
        "startSequenceNumber": sequence_number(records[0]),
        "endSequenceNumber": sequence_number(records[-1]),
        "approximateArrivalOfFirstRecord": iso_seconds(created_at(records[0])),
        "approximateArrivalOfLastRecord": iso_seconds(created_at(records[-1])),
        "batchSize": len(records),
        "streamArn": stream_arn,
    })


def _metadata(condition: str, function_arn: str, invoke_count: int, response: dict, batch_info: dict) -> dict:
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_millis(time.time()),
        "DDBStreamBatchInfo": batch_info,
    }


def trimmed_record(*, function_arn: str, shard_id: str, stream_arn: str, after_sequence_number: str) -> dict:
    """The on-failure record of a checkpoint beyond retention: what was lost starts after that sequence number."""
    return _metadata(chosen.CONDITION_CHECKPOINT_TRIMMED, function_arn, 0, dict(chosen.NO_INVOCATION_RESPONSE_CONTEXT), {
        "shardId": shard_id,
        "startSequenceNumber": after_sequence_number,
        "endSequenceNumber": None,
        "approximateArrivalOfFirstRecord": None,
        "approximateArrivalOfLastRecord": None,
        "batchSize": 0,
        "streamArn": stream_arn,
    })


async def send(upstream: Upstream, destination: str, record: dict, event: dict, esm_uuid: str) -> None:
    """Deliver `record` to the destination ARN; raises on failure (the caller retries)."""
    service = destination.split(":")[2]
    if service == "sqs":
        _, _, _, region, account, name = destination.split(":", 5)
        url = (await upstream.call("sqs", "get_queue_url", QueueName=name, QueueOwnerAWSAccountId=account))["QueueUrl"]
        await upstream.call("sqs", "send_message", QueueUrl=url, MessageBody=json.dumps(record))
    elif service == "sns":
        await upstream.call("sns", "publish", TopicArn=destination, Message=json.dumps(record))
    elif service == "s3":
        bucket = destination.split(":::", 1)[-1]
        shard = record["DDBStreamBatchInfo"]["shardId"]
        now = datetime.now(timezone.utc)
        key = f"aws/lambda/{esm_uuid}/{shard}/{now:%Y/%m/%d}/{now:%Y-%m-%dT%H.%M.%S}-{uuid.uuid4()}"
        body = json.dumps({**record, "payload": json.dumps(event)})
        await upstream.call("s3", "put_object", Bucket=bucket, Key=key, Body=body.encode())
    else:
        raise ValueError(f"unsupported on-failure destination {destination}")
