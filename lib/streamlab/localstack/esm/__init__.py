"""Our event source mapping (ESM) for DynamoDB streams on the local stack.

Rows E1-E14 and M1-M3 of shared/reference/aws-semantics.md. Where AWS is silent the pick
lives in `chosen`. The service runs as its own process (`service`), serves the Lambda
event-source-mapping API on an internal loopback port (the front door proxies to it through
`routes`), and runs one poller per shard (`shard`).
"""
