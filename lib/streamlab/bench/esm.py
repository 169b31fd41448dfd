"""`streamlab bench esm`: stream lag and per-key order through our ESM against MiniStack's own mapping.

Open-loop writes at a fixed rate, sent by the load generator as raw DynamoDB PutItem calls
over a pool of keys (each write carries its sequence number; a key is written again every
`keys / rate` s); a trivial handler logs when it saw each record and its stream sequence number.
The lag is that moment minus the write's intended send time; an order violation is a record
processed after a later record of the same key (stream order, not send order, is the contract).
Each side gets its own table and its own run, one after the other, on an isolated local stack
started for the benchmark. Output: one JSON document.
"""
from __future__ import annotations

import io
import json
import shutil
import tempfile
import textwrap
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from streamlab.errors import ConfigError
from streamlab.load import LoadResult, constant, run_load
from streamlab.localstack import stack
from streamlab.localstack.apiexec.upstream import json_rpc_headers
from streamlab.localstack.cloudwatch import FLUSH_SECONDS as METRICS_FLUSH_SECONDS
from streamlab.observe.stats import percentile
from streamlab.target import Target, local_target

HANDLER = textwrap.dedent('''
    import json, os, time, uuid
    import boto3

    _log = boto3.client("dynamodb", endpoint_url=os.environ["LOG_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")

    def handler(event, context):
        now = time.time()
        seen = [[int(r["dynamodb"]["NewImage"]["seq"]["N"]), now, r["dynamodb"]["Keys"]["id"]["S"],
                 r["dynamodb"]["SequenceNumber"]] for r in event["Records"]]
        _log.put_item(TableName=os.environ["LOG_TABLE"], Item={
            "k": {"S": str(uuid.uuid4())}, "seen": {"S": json.dumps(seen)}})
''')


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", HANDLER)
    return buf.getvalue()


def _table(ddb: Any, name: str, key: str, stream: bool) -> str | None:
    args: dict[str, Any] = dict(
        TableName=name, AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    if stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    ddb.create_table(**args)
    return ddb.describe_table(TableName=name)["Table"].get("LatestStreamArn")


DEFAULT_KEYS = 50


@dataclass(frozen=True)
class PutItemBodies:
    """Body n: a DynamoDB PutItem of item `k{n mod keys}` carrying its sequence number n."""

    table: str
    keys: int = DEFAULT_KEYS

    def __call__(self, seq: int) -> dict:
        return {"TableName": self.table, "Item": {"id": {"S": f"k{seq % self.keys:05d}"}, "seq": {"N": str(seq)}}}


@dataclass(frozen=True)
class Delivery:
    """One record as the handler saw it: position `index` in a batch handled at `at` (epoch s)."""

    seq: int
    at: float
    index: int
    key: str
    sequence_number: str


def _write_open_loop(endpoint: str, region: str, table: str, rate: float, duration: float, keys: int) -> LoadResult:
    """`rate` PutItem calls a second for `duration` s, open loop, straight to the table's endpoint."""
    return run_load(endpoint + "/", constant(rate, duration), body=PutItemBodies(table, keys), progress=False,
                    headers=json_rpc_headers("DynamoDB_20120810.PutItem", "dynamodb", region))


def _collect(ddb: Any, log_table: str) -> list[Delivery]:
    """Every record the handler logged, retries and duplicates included."""
    deliveries: list[Delivery] = []
    kwargs = {"TableName": log_table}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            for index, (seq, at, key, number) in enumerate(json.loads(item["seen"]["S"])):
                deliveries.append(Delivery(seq, at, index, key, number))
        if "LastEvaluatedKey" not in page:
            return deliveries
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def first_seen(deliveries: list[Delivery]) -> dict[int, float]:
    """When the handler first saw each write (epoch seconds)."""
    seen: dict[int, float] = {}
    for d in deliveries:
        seen[d.seq] = min(d.at, seen.get(d.seq, d.at))
    return seen


def order_violations(deliveries: list[Delivery]) -> int:
    """Records processed for the first time after a record of the same key that is later in the stream.

    Processing order is batch time, then position in the batch; a key's records are in one shard,
    whose sequence numbers grow. A record delivered again (a retry) is not counted twice.
    """
    newest: dict[str, int] = {}
    done: set[str] = set()
    violations = 0
    for d in sorted(deliveries, key=lambda d: (d.at, d.index)):
        if d.sequence_number in done:
            continue
        done.add(d.sequence_number)
        number = int(d.sequence_number)
        if number < newest.get(d.key, -1):
            violations += 1
        newest[d.key] = max(number, newest.get(d.key, -1))
    return violations


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


def _run_side(target: Target, mapping_client: Any, side: str, endpoint: str, rate: float, duration: float,
              keys: int, parallelization: int) -> dict:
    ddb, lam = target.client("dynamodb"), target.client("lambda")
    name = f"bench-{side}-{uuid.uuid4().hex[:6]}"
    stream_arn = _table(ddb, name, "id", stream=True)
    _table(ddb, f"{name}-log", "k", stream=False)
    lam.create_function(FunctionName=name, Runtime="python3.12", Handler="handler.handler", Timeout=30,
                        Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": _zip()},
                        Environment={"Variables": {"LOG_TABLE": f"{name}-log", "LOG_ENDPOINT": endpoint}})
    mapping_client.create_event_source_mapping(EventSourceArn=stream_arn, FunctionName=name,
                                               StartingPosition="TRIM_HORIZON", BatchSize=100,
                                               ParallelizationFactor=parallelization)
    time.sleep(2.0)  # both sides settle to Enabled/polling before the clock starts
    since = datetime.now(timezone.utc)
    run = _write_open_loop(endpoint, target.region, name, rate, duration, keys)
    written = run.records[run.records["status"] == 200]
    intended = dict(zip(written["seq"].astype(int), run.summary["start_epoch"] + written["intended_s"]))
    deadline = time.monotonic() + 120
    deliveries = _collect(ddb, f"{name}-log")
    while len(first_seen(deliveries).keys() & intended.keys()) < len(intended) and time.monotonic() < deadline:
        time.sleep(1.0)
        deliveries = _collect(ddb, f"{name}-log")
    seen = first_seen(deliveries)
    shards = len(target.client("dynamodbstreams").describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"])
    # The ESM flushes a second's metrics after that second ends, once a second.
    time.sleep(2 * METRICS_FLUSH_SECONDS + 0.5)
    lags = [seen[seq] - at for seq, at in intended.items() if seq in seen]
    return {
        "writes": {"intended": len(run.records), "acknowledged": len(intended),
                   "errors": len(run.records) - len(intended),
                   "scheduler_lag_p99_ms": run.summary["lag_ms"]["p99"]},
        "processed": len(seen.keys() & intended.keys()),
        "missing": len(intended.keys() - seen.keys()),
        "lag_ms": {q: _ms(percentile(lags, p)) for q, p in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
        "per_key_order": {"keys": keys, "shards": shards, "parallelization_factor": parallelization,
                          "violations": order_violations(deliveries)},
        "iterator_age": _iterator_age(target, name, since),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def run(rate: float = 200.0, duration: float = 60.0, keys: int = DEFAULT_KEYS, parallelization: int = 1) -> dict:
    """Benchmark both mappings on an isolated local stack; returns the JSON-able result.

    `keys`: how many items the writes cycle over; `parallelization`: the mappings' ParallelizationFactor."""
    if keys < 1 or not 1 <= parallelization <= 10:
        raise ConfigError("--keys must be at least 1 and --parallelization 1-10.")
    home = Path(tempfile.mkdtemp(prefix="streamlab-bench-esm-"))
    try:
        state = stack.up_on_free_port(home=home)
        target = local_target(state.endpoint_url)
        ministack = Target(name="local", region=target.region, endpoint_url=state.ministack_url)
        sides = {"ours": target.client("lambda"), "ministack": ministack.client("lambda")}
        ours, theirs = (_run_side(target, client, side, state.endpoint_url, rate, duration, keys, parallelization)
                        for side, client in sides.items())
    finally:
        stack.down(home=home)
        shutil.rmtree(home, ignore_errors=True)
    return {"benchmark": "esm", "rate_per_s": rate, "duration_s": duration,
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "ours": ours, "ministack": theirs,
            "notes": "lag = handler time - the intended send time of the write; IteratorAge from the stack's CloudWatch "
                     "(MiniStack's own mapping emits none); per_key_order.violations = records processed after a "
                     "later record of the same key."}
