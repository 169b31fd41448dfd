"""Code that runs inside the Lambda functions, bundled into each zip beside the handler.

    failure_switches   injected failures and the DynamoDB client both handlers share
    stream_range       a shard's sequence-number range read back, through empty pages

The handlers themselves live in `infra/functions/` (what gets deployed).
"""
