"""Step 3: the on-failure destination, a standard SQS queue."""
from __future__ import annotations

from dataclasses import dataclass, field

from streamlab.provision.calls import get_or_none, provisioning
from streamlab.provision.config import PipelineConfig
from streamlab.target import Target

# AWS keeps on-failure records 4 days by default; the maximum gives an experiment time to be audited.
RETENTION_SECONDS = 14 * 24 * 3600
# Encrypted at rest with SQS managed keys (no KMS permissions needed by the mapping that sends).
ENCRYPTED = {"SqsManagedSseEnabled": "true"}


@dataclass(frozen=True)
class QueueInfo:
    name: str
    url: str
    arn: str
    created: bool
    response: dict = field(repr=False, compare=False)


def describe_queue(target: Target, config: PipelineConfig) -> dict | None:
    """The queue's URL, attributes and tags, or None if there is no such queue."""
    sqs = target.client("sqs")
    with provisioning(f"describing queue {config.queue_name}"):
        found = get_or_none(sqs.get_queue_url, QueueName=config.queue_name)
        if found is None:
            return None
        url = found["QueueUrl"]
        attrs = get_or_none(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"])
        if attrs is None:
            return None
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    return {"QueueUrl": url, "Attributes": attrs["Attributes"], "Tags": tags}


def create_queue(target: Target, config: PipelineConfig) -> QueueInfo:
    """Create the queue, or reuse it (CreateQueue with the same attributes returns the existing one)."""
    sqs = target.client("sqs")
    existing = describe_queue(target, config)
    with provisioning(f"creating queue {config.queue_name}"):
        if existing is None:
            sqs.create_queue(
                QueueName=config.queue_name,
                Attributes={"MessageRetentionPeriod": str(RETENTION_SECONDS), **ENCRYPTED},
                tags=config.tags,
            )
        else:
            sqs.tag_queue(QueueUrl=existing["QueueUrl"], Tags=config.tags)
            if existing["Attributes"].get("SqsManagedSseEnabled") != "true":
                sqs.set_queue_attributes(QueueUrl=existing["QueueUrl"], Attributes=ENCRYPTED)
    queue = describe_queue(target, config)
    assert queue is not None
    return QueueInfo(config.queue_name, queue["QueueUrl"], queue["Attributes"]["QueueArn"], existing is None, queue)


def delete_queue(target: Target, config: PipelineConfig) -> bool:
    """Delete the queue and whatever failure records it holds. True if there was one to delete."""
    sqs = target.client("sqs")
    with provisioning(f"deleting queue {config.queue_name}"):
        existing = describe_queue(target, config)
        if existing is None:
            return False
        get_or_none(sqs.delete_queue, QueueUrl=existing["QueueUrl"])
    return True
