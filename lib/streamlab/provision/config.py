"""What to deploy (`PipelineConfig`, `EsmSettings`, `ProcessorSettings`) and what was deployed (`Pipeline`).

Every resource name is derived once, here, from the stack name, so later code reads names and
ARNs from a `Pipeline` instead of re-deriving them.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from streamlab.errors import ConfigError
from streamlab.provision.protection import API_KEY_HEADER, ProtectionSettings

STACK_TAG = "streamlab:stack"
STACK_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,39}$")
# Only INSERTs are requests to process; the processor's own UpdateItem emits MODIFY records.
INSERTS_ONLY = {"eventName": ["INSERT"]}
MAX_RECORD_CONCURRENCY = 10  # botocore's default connection pool per client


@dataclass(frozen=True)
class EsmSettings:
    """The event source mapping's knobs, passed to Lambda as-is (docs/aws-semantics.md §2, E2–E11).

    These defaults are the suite's choices for its experiments (bounded retries, bisect, partial
    batch responses, an on-failure queue, INSERTs only, ESM metrics). What AWS gives a mapping
    created without settings is `AWS_ESM_DEFAULTS`, kept apart so the two are never confused.
    """

    batch_size: int = 100
    maximum_batching_window_in_seconds: int = 0
    parallelization_factor: int = 1
    maximum_retry_attempts: int = 2
    maximum_record_age_in_seconds: int = -1
    bisect_batch_on_function_error: bool = True
    report_batch_item_failures: bool = True
    on_failure: bool = True
    filter_patterns: tuple[dict, ...] = (INSERTS_ONLY,)
    metrics: tuple[str, ...] = ("EventCount",)
    enabled: bool = True

    def to_api(self, *, queue_arn: str | None) -> dict[str, Any]:
        """The CreateEventSourceMapping/UpdateEventSourceMapping arguments these settings mean."""
        params: dict[str, Any] = {
            "BatchSize": self.batch_size,
            "MaximumBatchingWindowInSeconds": self.maximum_batching_window_in_seconds,
            "ParallelizationFactor": self.parallelization_factor,
            "MaximumRetryAttempts": self.maximum_retry_attempts,
            "MaximumRecordAgeInSeconds": self.maximum_record_age_in_seconds,
            "BisectBatchOnFunctionError": self.bisect_batch_on_function_error,
            "FunctionResponseTypes": ["ReportBatchItemFailures"] if self.report_batch_item_failures else [],
            "DestinationConfig": {"OnFailure": {"Destination": queue_arn}} if self.on_failure and queue_arn else {},
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(p, sort_keys=True)} for p in self.filter_patterns]},
            "MetricsConfig": {"Metrics": list(self.metrics)},
            "Enabled": self.enabled,
        }
        return params


# What CreateEventSourceMapping gives a DynamoDB stream mapping when no knob is set (E2, E4-E11).
AWS_ESM_DEFAULTS = EsmSettings(
    batch_size=100, maximum_batching_window_in_seconds=0, parallelization_factor=1, maximum_retry_attempts=-1,
    maximum_record_age_in_seconds=-1, bisect_batch_on_function_error=False, report_batch_item_failures=False,
    on_failure=False, filter_patterns=(), metrics=(),
)


@dataclass(frozen=True)
class ProcessorSettings:
    """The StreamProcessor's configuration, including its per-function failure switches."""

    timeout_seconds: int = 30
    memory_mb: int = 256
    failure_rate: float = 0.0      # 0..1: share of record attempts that raise (transient failures)
    failure_seed: int = 0          # makes the failure draws reproducible
    partial_failures: bool = True  # report failures as batchItemFailures instead of raising
    # 1..10: items of one batch processed at once, each item's records still in order (handler.py)
    record_concurrency: int = 1
    # mark plain records with one TransactWriteItems per 100 items (handler.py; 2 WCU per item on AWS)
    batch_writes: bool = False

    def environment(self, table_name: str) -> dict[str, str]:
        return {
            "TABLE_NAME": table_name,
            "RECORD_CONCURRENCY": str(int(self.record_concurrency)),
            "BATCH_WRITES": "true" if self.batch_writes else "false",
            "FAILURE_RATE": repr(float(self.failure_rate)),
            "FAILURE_SEED": str(int(self.failure_seed)),
            "PARTIAL_FAILURES": "true" if self.partial_failures else "false",
        }


@dataclass(frozen=True)
class PipelineConfig:
    """Names and settings of one pipeline. Leave a name empty to derive it from `stack`."""

    stack: str = "streamlab"
    table_name: str = ""
    function_name: str = ""
    queue_name: str = ""
    api_name: str = ""
    api_role_name: str = ""
    processor_role_name: str = ""
    stage: str = "dev"
    esm: EsmSettings = field(default_factory=EsmSettings)
    processor: ProcessorSettings = field(default_factory=ProcessorSettings)
    # Shards of the table's stream on the local stack (table tag streamlab:stream-shards); None:
    # as AWS sizes a new table (4 for on-demand). AWS itself decides this from the partitions.
    stream_shards: int | None = None
    # API key, throttles, retention, concurrency (STREAMLAB_OPEN_API=yes opens the API).
    protection: ProtectionSettings = field(default_factory=ProtectionSettings.from_env)

    def __post_init__(self) -> None:
        if not STACK_NAME_PATTERN.match(self.stack or ""):
            raise ConfigError(
                f"stack name {self.stack!r} is not usable in AWS resource names: use 1-40 letters, "
                f"digits or '-', starting with a letter (for example 'streamlab' or 'lab-2')."
            )
        if not re.match(r"^[A-Za-z0-9_]{1,128}$", self.stage):
            raise ConfigError(f"stage name {self.stage!r} must be letters, digits or '_' (for example 'dev').")
        if not 0.0 <= self.processor.failure_rate <= 1.0:
            raise ConfigError(f"processor.failure_rate={self.processor.failure_rate} must be between 0 and 1.")
        if not 1 <= self.processor.record_concurrency <= MAX_RECORD_CONCURRENCY:
            raise ConfigError(f"processor.record_concurrency={self.processor.record_concurrency} must be a whole "
                              f"number from 1 (one record at a time) to {MAX_RECORD_CONCURRENCY}.")
        if self.stream_shards is not None and not 1 <= self.stream_shards <= 64:
            raise ConfigError(f"stream_shards={self.stream_shards} must be from 1 to 64, or None for AWS's sizing "
                              "(4 for a new on-demand table).")
        if self.processor.partial_failures and not self.esm.report_batch_item_failures:
            # Lambda ignores a batchItemFailures answer unless the mapping asks for it (E9): the
            # failed records would count as processed and vanish from the pipeline's accounting.
            raise ConfigError(
                "processor.partial_failures=True needs esm.report_batch_item_failures=True (or the mapping "
                "ignores the reported failures and the records are lost); change one of the two."
            )
        defaults = {
            "table_name": f"{self.stack}-requests",
            "function_name": f"{self.stack}-StreamProcessor",
            "queue_name": f"{self.stack}-on-failure",
            "api_name": f"{self.stack}-api",
            "api_role_name": f"{self.stack}-api-role",
            "processor_role_name": f"{self.stack}-processor-role",
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)

    @property
    def tags(self) -> dict[str, str]:
        """The tags every resource of this stack carries."""
        return {STACK_TAG: self.stack}

    def with_esm(self, **changes: Any) -> "PipelineConfig":
        return replace(self, esm=replace(self.esm, **changes))

    def with_processor(self, **changes: Any) -> "PipelineConfig":
        return replace(self, processor=replace(self.processor, **changes))


@dataclass(frozen=True)
class Pipeline:
    """Everything a deployed pipeline is made of: names, ARNs, ids and the invoke URL."""

    target: str
    region: str
    stack: str
    table_name: str
    table_arn: str
    stream_arn: str
    api_role_arn: str
    processor_role_arn: str
    queue_url: str
    queue_arn: str
    function_name: str
    function_arn: str
    mapping_uuid: str
    api_id: str
    api_name: str
    stage: str
    invoke_url: str
    api_key: str = ""  # send as x-api-key ("" when the API was deployed open)

    @property
    def request_headers(self) -> dict[str, str]:
        """Headers every request to the API needs (its key, unless it is open)."""
        return {API_KEY_HEADER: self.api_key} if self.api_key else {}

    def status_url(self, request_id: str) -> str:
        """Where to GET one request's status."""
        return f"{self.invoke_url}/{request_id}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)
