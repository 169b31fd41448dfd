"""Our event source mapping (ESM) for DynamoDB streams on the local stack.

Rows E1-E15 and M1-M3 of docs/aws-semantics.md; where AWS is silent the pick lives
in `chosen`. The ESM runs as its own process (`service`): it serves the Lambda
event-source-mapping API on an internal loopback port (the front door proxies to it through
`routes`) and runs one poller per shard (`shard`).

    service.py       the process: supervisor (mapping states), pollers per mapping, HTTP app
    control.py       Create/Get/List/Update/Delete; other sources and UUIDs go to MiniStack
    config.py        validation, defaults, state transitions, response shape
    mapping.py       the typed mapping (a frozen dataclass) and its AWS-shaped form
    store.py         mappings.json and per-mapping checkpoints in the stack's data folder
    shard.py         read -> filter -> batch -> invoke -> retry/bisect/drop -> checkpoint
    lanes.py         ParallelizationFactor > 1: independent lanes per shard, checkpoint past finished records
    event.py         Lambda record shape, batch cutting (size, 6 MB, lanes), timestamps
    outcome.py       what a function answer means (errors, batchItemFailures, window state)
    filters.py       FilterCriteria patterns
    destinations.py  on-failure records to SQS, SNS, S3
    metrics.py       AWS/Lambda metrics aggregated per second, flushed to CloudWatch
    upstream.py      boto3 calls to MiniStack in worker threads; invoke outcome classes
    chosen.py        every CHOSEN behaviour and tunable, in one place
"""
