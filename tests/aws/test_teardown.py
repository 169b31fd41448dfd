"""Verified teardown: delete by name, then prove by tag that nothing of the stack remains."""
from __future__ import annotations

import pytest

from . import pipeline_script as s
from .stubbed import ACCOUNT
from streamlab.aws.teardown import verified_teardown
from streamlab.errors import ProvisionError
from streamlab.provision import PipelineConfig

TAG_FILTER = [{"Key": "streamlab:stack", "Values": [s.STACK]}]
LEFTOVER = f"arn:aws:sqs:us-east-1:{ACCOUNT}:streamlab-experiment-2"
LEFTOVER_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/streamlab-experiment-2"


def _tag_inventory(aws, arns: list[str]) -> None:
    aws.ok("resourcegroupstaggingapi", "get_resources",
           {"ResourceTagMappingList": [{"ResourceARN": a} for a in arns]}, TagFilters=TAG_FILTER)
    aws.ok("iam", "list_roles", {"Roles": []})


def test_teardown_then_the_tag_inventory_confirms_every_listed_resource_is_gone(aws, aws_target):
    s.teardown(aws, exists=True)
    # The tagging index still lists the table for a while after it is deleted: a direct call decides.
    _tag_inventory(aws, [s.TABLE_ARN])
    aws.error("dynamodb", "describe_table", "ResourceNotFoundException", TableName=s.TABLE)
    lines: list[str] = []
    proof = verified_teardown(PipelineConfig(), target=aws_target, log=lines.append)
    assert proof.clean and proof.checked == [s.TABLE_ARN] and proof.deleted_by_tag == []
    assert proof.deleted_by_name["table"] == [s.TABLE]
    assert "verified, nothing tagged streamlab:stack=streamlab remains" in lines[-1]


def test_tagged_leftovers_unknown_by_name_are_deleted_and_checked_again(aws, aws_target, offline):
    s.teardown(aws, exists=False)
    _tag_inventory(aws, [LEFTOVER])
    aws.ok("sqs", "get_queue_url", {"QueueUrl": LEFTOVER_URL}, QueueName="streamlab-experiment-2",
           QueueOwnerAWSAccountId=ACCOUNT)                                 # exists
    aws.ok("sqs", "get_queue_url", {"QueueUrl": LEFTOVER_URL}, QueueName="streamlab-experiment-2",
           QueueOwnerAWSAccountId=ACCOUNT)                                 # delete: find the URL
    aws.ok("sqs", "delete_queue", {}, QueueUrl=LEFTOVER_URL)
    _tag_inventory(aws, [LEFTOVER])                                        # second round: still indexed
    aws.error("sqs", "get_queue_url", "AWS.SimpleQueueService.NonExistentQueue", QueueName="streamlab-experiment-2",
              QueueOwnerAWSAccountId=ACCOUNT)                              # but gone
    proof = verified_teardown(PipelineConfig(), target=aws_target, log=lambda _: None, interval=5)
    assert proof.clean and proof.deleted_by_tag == [LEFTOVER]
    assert offline == [5]


def test_something_that_will_not_go_away_is_an_error_naming_it(aws, aws_target):
    s.teardown(aws, exists=False)
    _tag_inventory(aws, [LEFTOVER])
    aws.ok("sqs", "get_queue_url", {"QueueUrl": LEFTOVER_URL}, QueueName="streamlab-experiment-2",
           QueueOwnerAWSAccountId=ACCOUNT)
    with pytest.raises(ProvisionError, match=f"still exist after 0s: {LEFTOVER}"):
        verified_teardown(PipelineConfig(), target=aws_target, log=lambda _: None, timeout=0)


def test_an_untagged_leftover_found_by_name_is_deleted_by_a_second_pass(aws, aws_target):
    """Lambda re-creates its log group on a late invocation; it carries no tag, so names find it."""
    s.teardown(aws, exists=False, log_group_left=True)   # first pass: the log group reappeared
    _tag_inventory(aws, [])
    s.teardown(aws, exists=False, log_group_found=True)  # second pass deletes it; nothing remains
    lines: list[str] = []
    proof = verified_teardown(PipelineConfig(), target=aws_target, log=lines.append)
    assert proof.clean and any("deleting by tag" in line for line in lines)


def test_a_leftover_that_survives_the_second_pass_is_an_error_naming_it(aws, aws_target):
    s.teardown(aws, exists=False, log_group_left=True)
    _tag_inventory(aws, [])
    s.teardown(aws, exists=False, log_group_left=True)
    with pytest.raises(ProvisionError, match=f"left resources behind \\(log group: {s.LOG_GROUP}\\)"):
        verified_teardown(PipelineConfig(), target=aws_target, log=lambda _: None)
