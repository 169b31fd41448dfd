"""`streamlab bench esm`: stream lag through our ESM against MiniStack's own mapping, same load.

Open-loop writes at a fixed rate (each item carries its send time `w`); a trivial handler logs
`processing time - w` per record. Each side gets its own table and its own run, one after the
other, on an isolated local stack started for the benchmark. Output: one JSON document.
"""
from __future__ import annotations

import concurrent.futures
import io
import json
import math
import shutil
import tempfile
import textwrap
import threading
import time
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from streamlab.localstack import stack
from streamlab.localstack.esm.metrics import FLUSH_SECONDS as METRICS_FLUSH_SECONDS
from streamlab.target import Target, local_target

HANDLER = textwrap.dedent('''
    import json, os, time, uuid
    import boto3

    _log = boto3.client("dynamodb", endpoint_url=os.environ["LOG_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")

    def handler(event, context):
        now = time.time()
        lags = [now - float(r["dynamodb"]["NewImage"]["w"]["N"]) for r in event["Records"]]
        ids = [r["dynamodb"]["NewImage"]["id"]["S"] for r in event["Records"]]
        _log.put_item(TableName=os.environ["LOG_TABLE"], Item={
            "k": {"S": str(uuid.uuid4())}, "lags": {"S": json.dumps(lags)}, "ids": {"S": json.dumps(ids)}})
''')


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", HANDLER)
    return buf.getvalue()


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of unsorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _table(ddb: Any, name: str, key: str, stream: bool) -> str | None:
    args: dict[str, Any] = dict(
        TableName=name, AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    ddb.create_table(**args)
    return ddb.describe_table(TableName=name)["Table"].get("LatestStreamArn")


def _write_open_loop(ddb: Any, table: str, rate: float, duration: float) -> dict:
    """Send `rate` writes/s for `duration` s on a precomputed schedule; never wait for answers."""
    total = int(rate * duration)
    sched_lag: list[float] = []
    errors = 0
    lock = threading.Lock()

    def put(i: int) -> None:
        nonlocal errors
        try:
            ddb.put_item(TableName=table, Item={"id": {"S": f"i{i:07d}"}, "w": {"N": repr(time.time())}})
        except Exception:
            with lock:
                errors += 1

    start = time.perf_counter() + 0.2
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        for i in range(total):
            intended = start + i / rate
            delay = intended - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sched_lag.append(max(0.0, time.perf_counter() - intended))
            pool.submit(put, i)
    return {"intended": total, "errors": errors,
            "scheduler_lag_p99_ms": round(1000 * (percentile(sched_lag, 99) or 0), 2)}


def _collect(ddb: Any, log_table: str) -> tuple[list[float], list[str]]:
    lags, ids, kwargs = [], [], {"TableName": log_table}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            lags.extend(json.loads(item["lags"]["S"]))
            ids.extend(json.loads(item["ids"]["S"]))
        if "LastEvaluatedKey" not in page:
            return lags, ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _iterator_age(target: Target, function: str, since: datetime) -> dict | None:
    points = target.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="IteratorAge", Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=since, EndTime=datetime.now(timezone.utc) + timedelta(minutes=1), Period=1,
        Statistics=["Maximum", "Average", "SampleCount"])["Datapoints"]
    if not points:
        return None
    averages = [p["Average"] for p in points]
    return {"samples": int(sum(p["SampleCount"] for p in points)), "max_ms": max(p["Maximum"] for p in points),
            "p50_of_1s_averages_ms": percentile(averages, 50), "p99_of_1s_averages_ms": percentile(averages, 99)}


def _run_side(target: Target, mapping_client: Any, side: str, endpoint: str, rate: float, duration: float) -> dict:
    ddb, lam = target.client("dynamodb"), target.client("lambda")
    name = f"bench-{side}-{uuid.uuid4().hex[:6]}"
    stream_arn = _table(ddb, name, "id", stream=True)
    _table(ddb, f"{name}-log", "k", stream=False)
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="handler.handler", Timeout=30,
                        Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": _zip()},
                        Environment={"Variables": {"LOG_TABLE": f"{name}-log", "LOG_ENDPOINT": endpoint}})
    mapping_client.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=name,
                                               StartingPosition="TRIM_HORIZON", BatchSize=100)
    time.sleep(2.0)  # both sides settle to Enabled/polling before the clock starts
    since = datetime.now(timezone.utc)
    load = _write_open_loop(ddb, name, rate, duration)
    deadline = time.monotonic() + 120
    lags, ids = _collect(ddb, f"{name}-log")
    while len(set(ids)) < load["intended"] - load["errors"] and time.monotonic() < deadline:
        time.sleep(1.0)
        lags, ids = _collect(ddb, f"{name}-log")
    # The ESM flushes a second's metrics after that second ends, once a second.
    time.sleep(2 * METRICS_FLUSH_SECONDS + 0.5)
    return {
        "writes": load, "processed_unique": len(set(ids)), "deliveries": len(ids),
        "missing": load["intended"] - load["errors"] - len(set(ids)),
        "lag_ms": {q: _ms(percentile(lags, p)) for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
        "iterator_age": _iterator_age(target, name, since),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def run(rate: float = 200.0, duration: float = 60.0) -> dict:
    """Benchmark both mappings on an isolated local stack; returns the JSON-able result."""
    home = Path(tempfile.mkdtemp(prefix="streamlab-bench-esm-"))
    try:
        state = stack.up_on_free_port(home=home)
        target = local_target(state.endpoint_url)
        ministack = Target(name="local", region=target.region, endpoint_url=state.ministack_url)
        ours = _run_side(target, target.client("lambda"), "ours", state.endpoint_url, rate, duration)
        theirs = _run_side(target, ministack.client("lambda"), "ministack", state.endpoint_url, rate, duration)
    finally:
        stack.down(home=home)
        shutil.rmtree(home, ignore_errors=True)
    return {"benchmark": "esm", "rate_per_s": rate, "duration_s": duration,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ours": ours, "ministack": theirs,
            "notes": "lag = handler time - item send time; IteratorAge from the stack's CloudWatch "
                     "(MiniStack's own mapping emits none)."}
