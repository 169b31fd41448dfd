"""Helpers for ESM conformance tests: a table with a stream, a deployed handler, a mapping.

Every test gets its own table and function names so tests never see each other's records.
The handler logs each invocation (its record ids and what it answered) into a log table,
so tests read what the ESM really delivered.
"""
from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from typing import Any, Callable

# The handler: `behaviour` (a Python expression over `ids`, `event`) decides the answer.
HANDLER = textwrap.dedent('''
    import json, os, time, uuid
    import boto3

    _log = boto3.client("dynamodb", endpoint_url=os.environ["LOG_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")

    def _ids(event):
        out = []
        for r in event.get("Records", []):
            img = r["dynamodb"].get("NewImage") or r["dynamodb"].get("Keys")
            out.append(img["id"]["S"])
        return out

    def handler(event, context):
        t0 = time.time()
        ids = _ids(event)
        seqs = [r["dynamodb"]["SequenceNumber"] for r in event.get("Records", [])]
        answer, error = None, None
        try:
    {behaviour}
        except Exception as exc:
            error = repr(exc)
        _log.put_item(TableName=os.environ["LOG_TABLE"], Item={{
            "k": {{"S": str(uuid.uuid4())}}, "at": {{"N": repr(time.time())}}, "t0": {{"N": repr(t0)}},
            "ids": {{"S": json.dumps(ids)}}, "seqs": {{"S": json.dumps(seqs)}},
            "event": {{"S": json.dumps(event)}}, "error": {{"S": error or ""}},
        }})
        if error:
            raise RuntimeError(error)
        return answer
''')


# A behaviour: the first batch holding a record of version `v` fails, every later one passes (a
# marker item in the log table remembers, so it holds across Lambda workers). Deterministic: a
# random failure can miss every batch of a short test (seen in CI: "failures did happen" failed).
FAIL_ONCE_ON = """
for r in event["Records"]:
    if r["dynamodb"]["NewImage"]["v"]["N"] == "{v}":
        try:
            _log.put_item(TableName=os.environ["LOG_TABLE"], ConditionExpression="attribute_not_exists(k)",
                          Item={{"k": {{"S": "failed-once " + r["dynamodb"]["SequenceNumber"]}}}})
        except _log.exceptions.ConditionalCheckFailedException:
            continue
        raise RuntimeError("fails once")
"""


def handler_zip(behaviour: str) -> bytes:
    body = textwrap.indent(textwrap.dedent(behaviour).strip() or "pass", " " * 8)
    source = HANDLER.format(behaviour=body)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", source)
    return buf.getvalue()


@dataclass
class Pipeline:
    """One table + stream, one function, one log table; `mapping()` wires them."""

    target: Any
    name: str
    table: str
    stream_arn: str
    function: str
    log_table: str
    mappings: list[str] = field(default_factory=list)

    @property
    def lam(self):
        return self.target.client("lambda")

    @property
    def ddb(self):
        return self.target.client("dynamodb")

    def mapping(self, **kwargs: Any) -> dict:
        args = {"EventSourceArn": self.stream_arn, "FunctionName": self.function, "StartingPosition": "TRIM_HORIZON",
                "BatchSize": 10}
        args.update(kwargs)
        resp = self.lam.create_event_source_mapping(**args)
        self.mappings.append(resp["UUID"])
        wait_state(self.lam, resp["UUID"], "Enabled" if args.get("Enabled", True) else "Disabled")
        return resp

    def put(self, item_id: str, **attrs: Any) -> None:
        item = {"id": {"S": item_id}}
        for key, value in attrs.items():
            item[key] = {"N": str(value)} if isinstance(value, (int, float)) else {"S": str(value)}
        self.ddb.put_item(TableName=self.table, Item=item)

    def invocations(self) -> list[dict]:
        items = []
        kwargs = {"TableName": self.log_table, "ConsistentRead": True}
        while True:
            page = self.ddb.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out = [
            {"at": float(i["at"]["N"]), "t0": float(i["t0"]["N"]), "ids": json.loads(i["ids"]["S"]), "seqs": json.loads(i["seqs"]["S"]),
             "event": json.loads(i["event"]["S"]), "error": i["error"]["S"]}
            for i in items if "at" in i  # not a marker of FAIL_ONCE_ON
        ]
        return sorted(out, key=lambda inv: inv["at"])

    def delivered_ids(self) -> list[str]:
        return [i for inv in self.invocations() for i in inv["ids"]]


def wait_for(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.3, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; generous deadlines for a loaded machine."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}")


def wait_state(lam: Any, esm_uuid: str, state: str, timeout: float = 30.0) -> dict:
    return wait_for(lambda: (m := lam.get_event_source_mapping(UUID=esm_uuid))["State"] == state and m,
                    timeout=timeout, what=f"mapping {esm_uuid} to be {state}")


def until_sentinel(pipe: Pipeline, timeout: float = 60.0) -> list[dict]:
    """The invocations that came before a sentinel record written now, after the records in question.

    A shard is delivered in order (S5, E4: the next round waits for the last), so once the
    sentinel has been delivered nothing written before it can still arrive: this shows that
    "nothing more happened" without sleeping. The sentinel is left out of what is returned, and so
    is everything after its invocation. (`pipeline_factory` makes one shard unless asked for more;
    with several, the sentinel would need a key in the same shard.)
    """
    mark = f"sentinel-{uuid.uuid4().hex[:8]}"
    pipe.put(mark)
    invocations = wait_for(lambda: (invs := pipe.invocations()) and any(mark in inv["ids"] for inv in invs) and invs,
                           timeout=timeout, what=f"the sentinel record {mark}")
    before = []
    for inv in invocations:
        if mark in inv["ids"]:
            rest = [i for i in inv["ids"] if i != mark]
            return before + ([{**inv, "ids": rest}] if rest else [])
        before.append(inv)
    return before


def make_queue(target: Any, name: str) -> tuple[str, str]:
    """A standard SQS queue: (url, arn)."""
    sqs = target.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_all(target: Any, url: str, expected: int, timeout: float = 60.0) -> list[dict]:
    """Bodies of `expected` messages (JSON-decoded), waiting up to `timeout`."""
    sqs = target.client("sqs")
    got: list[dict] = []

    def more():
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for msg in resp.get("Messages", []):
            got.append(json.loads(msg["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        return len(got) >= expected

    wait_for(more, timeout=timeout, interval=0.0, what=f"{expected} messages on {url}")
    return got


def run_poller_until(poller: Any, until: Callable[[], Any], ticks: int = 400) -> Any:
    """Run a ShardPoller on its own event loop until `until()` holds (or `ticks` x 20 ms pass)."""
    import asyncio

    async def main() -> None:
        task = asyncio.create_task(poller.run())
        for _ in range(ticks):
            if until():
                break
            await asyncio.sleep(0.02)
        task.cancel()

    asyncio.run(main())
    return poller
