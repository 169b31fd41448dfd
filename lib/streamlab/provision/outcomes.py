"""Step 7: the outcome loop, so a request whose processing fails for good ends FAILED, not ACCEPTED.

    on-failure queue ──SQS event source mapping──> FailureHandler ──UpdateItem──> item FAILED (reason)
          └─ redrive policy (a message failing MAX_RECEIVES times) ─┐
    FailureHandler: malformed, foreign or out-of-stream messages ───┴──> the handler's dead-letter queue

The SQS event source mapping is the stack's own (MiniStack's locally; its delivery, partial
batch responses and retry-after-visibility-timeout are held by tests/provision/test_outcomes.py).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from streamlab.provision import function, mapping, policies, queue, roles
from streamlab.provision.calls import provisioning
from streamlab.provision.config import PipelineConfig
from streamlab.provision.paths import function_dir
from streamlab.target import Target

SOURCE = "failure_handler"
TIMEOUT_SECONDS = 10
MEMORY_MB = 128
BATCH_SIZE = 10
# Lambda's advice for an SQS source: a visibility timeout of at least 6x the function's timeout.
VISIBILITY_TIMEOUT_SECONDS = 6 * TIMEOUT_SECONDS
MAX_RECEIVES = 5  # a message that keeps failing (not a transient error) moves to the dead-letter queue


@dataclass(frozen=True)
class OutcomeLoop:
    function_name: str
    function_arn: str
    role_arn: str
    mapping_uuid: str
    dead_letter_queue_url: str
    dead_letter_queue_arn: str
    created: bool


def desired_configuration(config: PipelineConfig, role_arn: str, *, table_name: str, dead_letter_queue_url: str,
                          streams_endpoint_url: str | None = None) -> dict:
    """The FailureHandler's settings; `streams_endpoint_url` only on the local stack, whose stream
    shards are served by its front door (inside a function AWS_ENDPOINT_URL is MiniStack itself)."""
    variables = {"TABLE_NAME": table_name, "DEAD_LETTER_QUEUE_URL": dead_letter_queue_url}
    if streams_endpoint_url:
        variables["STREAMS_ENDPOINT_URL"] = streams_endpoint_url
    return {
        "Runtime": function.RUNTIME,
        "Handler": function.HANDLER,
        "Role": role_arn,
        "Timeout": TIMEOUT_SECONDS,
        "MemorySize": MEMORY_MB,
        "Environment": {"Variables": variables},
        "Description": f"streamlab stack {config.stack}: marks requests FAILED from on-failure records",
    }


def list_queue_mappings(target: Target, config: PipelineConfig) -> list[dict]:
    """The event source mappings that invoke the FailureHandler."""
    return mapping.list_mappings(target, config, config.failure_handler_name)


def _ensure_queue_mapping(target: Target, config: PipelineConfig, queue_arn: str) -> str:
    lam = target.client("lambda")
    existing = [m for m in list_queue_mappings(target, config) if m.get("EventSourceArn") == queue_arn]
    with provisioning(f"creating event source mapping {queue_arn} -> {config.failure_handler_name}"):
        if existing:
            current = existing[0]
            if ("ReportBatchItemFailures" not in (current.get("FunctionResponseTypes") or [])
                    or not current.get("State", "Enabled").startswith("Enabl")):
                lam.update_event_source_mapping(UUID=current["UUID"], FunctionResponseTypes=["ReportBatchItemFailures"],
                                                BatchSize=BATCH_SIZE, Enabled=True)
            return current["UUID"]
        created = lam.create_event_source_mapping(
            EventSourceArn=queue_arn, FunctionName=config.failure_handler_name, BatchSize=BATCH_SIZE,
            FunctionResponseTypes=["ReportBatchItemFailures"], Enabled=True, Tags=config.tags,
        )
        return created["UUID"]


def create_outcome_loop(target: Target, config: PipelineConfig, *, table_name: str, table_arn: str, stream_arn: str,
                        queue_arn: str) -> OutcomeLoop:
    """The FailureHandler with its dead-letter queue, role and SQS mapping (idempotent)."""
    dlq = queue.create_queue(target, config, config.dead_letter_queue_name)
    queue.create_queue(target, config, attributes={
        "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": str(MAX_RECEIVES)}),
    })
    role = roles.ensure_role(
        target, config, config.failure_handler_role_name, "lambda.amazonaws.com",
        policies.FAILURE_HANDLER_POLICY_NAME,
        policies.failure_handler_access_policy(
            table_arn=table_arn, stream_arn=stream_arn, queue_arn=queue_arn, dead_letter_queue_arn=dlq.arn,
            region=target.region, account_id=target.account_id(), function_name=config.failure_handler_name,
        ),
    )
    fn = function.ensure_function(
        target, config, config.failure_handler_name, function_dir(SOURCE),
        desired_configuration(config, role.arn, table_name=table_name, dead_letter_queue_url=dlq.url,
                              streams_endpoint_url=target.endpoint_url if target.is_local else None),
    )
    uuid = _ensure_queue_mapping(target, config, queue_arn)
    return OutcomeLoop(fn.name, fn.arn, role.arn, uuid, dlq.url, dlq.arn, fn.created)


def describe_outcome_loop(target: Target, config: PipelineConfig) -> OutcomeLoop | None:
    """The deployed loop, or None when any part of it is missing."""
    fn = function.describe_function(target, config, config.failure_handler_name)
    role = roles.describe_role(target, config.failure_handler_role_name)
    dlq = queue.describe_queue(target, config, config.dead_letter_queue_name)
    mappings = list_queue_mappings(target, config)
    if not (fn and role and dlq and mappings):
        return None
    return OutcomeLoop(fn["FunctionName"], fn["FunctionArn"], role["Arn"], mappings[0]["UUID"], dlq["QueueUrl"],
                       dlq["Attributes"]["QueueArn"], False)


def find_remaining_outcome_loop(target: Target, config: PipelineConfig) -> dict[str, list[str]]:
    return {
        "failure handler mapping": [m["UUID"] for m in list_queue_mappings(target, config)],
        "failure handler": [config.failure_handler_name]
        if function.describe_function(target, config, config.failure_handler_name) else [],
        "failure handler role": [config.failure_handler_role_name]
        if roles.describe_role(target, config.failure_handler_role_name) else [],
        "dead-letter queue": [config.dead_letter_queue_name]
        if queue.describe_queue(target, config, config.dead_letter_queue_name) else [],
    }


def delete_outcome_loop(target: Target, config: PipelineConfig) -> list[str]:
    """Delete the mapping, the function, its role and the dead-letter queue; the names deleted."""
    deleted = [m["UUID"] for m in list_queue_mappings(target, config) if mapping.delete_mapping(target, m["UUID"])]
    if function.delete_function(target, config, config.failure_handler_name):
        deleted.append(config.failure_handler_name)
    if roles.delete_role(target, config.failure_handler_role_name):
        deleted.append(config.failure_handler_role_name)
    if queue.delete_queue(target, config, config.dead_letter_queue_name):
        deleted.append(config.dead_letter_queue_name)
    return deleted
