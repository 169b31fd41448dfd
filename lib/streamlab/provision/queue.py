"""Step 2: the on-failure destination, a standard SQS queue (and, by name, any other queue of the stack).

The FailureHandler's dead-letter queue is made with the same calls (`streamlab.provision.outcomes`).
"""
from __future__ import annotations

import json
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


def describe_queue(target: Target, config: PipelineConfig, name: str | None = None) -> dict | None:
    """The on-failure queue's (or queue `name`'s) URL, attributes and tags, or None if there is no such queue."""
    sqs = target.client("sqs")
    name = name or config.queue_name
    with provisioning(f"describing queue {name}"):
        found = get_or_none(sqs.get_queue_url, QueueName=name)
        if found is None:
            return None
        url = found["QueueUrl"]
        attrs = get_or_none(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"])
        if attrs is None:
            return None
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
    return {"QueueUrl": url, "Attributes": attrs["Attributes"], "Tags": tags}


def create_queue(target: Target, config: PipelineConfig, name: str | None = None,
                 attributes: dict[str, str] | None = None) -> QueueInfo:
    """Create the on-failure queue (or queue `name`), or reuse it and converge its `attributes`."""
    sqs = target.client("sqs")
    name = name or config.queue_name
    wanted = {"MessageRetentionPeriod": str(RETENTION_SECONDS), **ENCRYPTED, **(attributes or {})}
    existing = describe_queue(target, config, name)
    with provisioning(f"creating queue {name}"):
        if existing is None:
            sqs.create_queue(QueueName=name, Attributes=wanted, tags=config.tags)
        else:
            changed = {k: v for k, v in wanted.items() if not _same_attribute(existing["Attributes"].get(k), v)}
            if changed:
                sqs.set_queue_attributes(QueueUrl=existing["QueueUrl"], Attributes=changed)
            sqs.tag_queue(QueueUrl=existing["QueueUrl"], Tags=config.tags)
    queue = describe_queue(target, config, name)
    assert queue is not None
    return QueueInfo(name, queue["QueueUrl"], queue["Attributes"]["QueueArn"], existing is None, queue)


def _same_attribute(current: str | None, wanted: str) -> bool:
    """Equal, or the same JSON policy in another spelling (SQS answers RedrivePolicy's count as a number)."""
    if current == wanted:
        return True
    try:
        now, want = json.loads(current or ""), json.loads(wanted)
    except ValueError:
        return False
    as_text = lambda doc: {k: str(v) for k, v in doc.items()} if isinstance(doc, dict) else doc  # noqa: E731
    return as_text(now) == as_text(want)


def delete_queue(target: Target, config: PipelineConfig, name: str | None = None) -> bool:
    """Delete the on-failure queue (or queue `name`) and whatever it holds. True if there was one to delete."""
    sqs = target.client("sqs")
    name = name or config.queue_name
    with provisioning(f"deleting queue {name}"):
        existing = describe_queue(target, config, name)
        if existing is None:
            return False
        get_or_none(sqs.delete_queue, QueueUrl=existing["QueueUrl"])
    return True
