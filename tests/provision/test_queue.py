"""Step 3 against the local stack: the on-failure queue."""
from __future__ import annotations

from streamlab.provision import queue


def test_create_describe_reuse_delete(target, config):
    first = queue.create_queue(target, config)
    assert first.created and first.arn.endswith(":" + config.queue_name)
    described = queue.describe_queue(target, config)
    assert described["QueueUrl"] == first.url
    assert described["Tags"] == config.tags
    assert "FifoQueue" not in described["Attributes"]  # a standard queue (E10)

    again = queue.create_queue(target, config)
    assert not again.created and again.url == first.url
    urls = target.client("sqs").list_queues(QueueNamePrefix=config.queue_name).get("QueueUrls", [])
    assert urls == [first.url]

    assert queue.delete_queue(target, config) is True
    assert queue.describe_queue(target, config) is None
    assert queue.delete_queue(target, config) is False
