"""What happened to the requests: lag per record, CloudWatch metrics, on-failure records and the
no-loss audit.

    items     the request table read back: items, lag per record, waiting for PROCESSED
    metrics   the pipeline's CloudWatch metrics (AWS/ApiGateway, AWS/Lambda) as frames
    failures  on-failure records drained from the SQS destination, and the ids they name
    audit     every acknowledged request: processed, on-failure, pending or lost
    saved     one run's observations, saved beside its load data and read back
    stats     the one percentile helper for plain samples
"""
from streamlab.observe.audit import AuditResult, audit, classify, settle
from streamlab.observe.failures import OnFailureRecord, drain_on_failure, ids_in_batch, parse_on_failure
from streamlab.observe.items import get_items, items_frame, read_lag, scan_items, wait_processed
from streamlab.observe.metrics import get_metrics, has_series, pipeline_metrics, pipeline_queries
from streamlab.observe.saved import Observations, load_observations, observe_run, save_observations

__all__ = [
    "AuditResult", "OnFailureRecord", "audit", "classify", "drain_on_failure", "get_items", "get_metrics",
    "has_series", "ids_in_batch", "items_frame", "parse_on_failure", "pipeline_metrics", "pipeline_queries", "read_lag",
    "scan_items", "settle", "wait_processed", "Observations", "load_observations", "observe_run", "save_observations",
]
