"""The embedded local stack: MiniStack plus our front door, API executor and event source mapping.

    stack       bring the stack up, find it, take it down (streamlab up / down / status / restart)
    processes   start and stop child processes by pid (with their create time), never by name
    state       STREAMLAB_HOME: the state file (pids, ports), logs, data, the lock
    service     the command line and serving loop every service process shares
    eventloop   the event loop they run on: uvloop by default (STREAMLAB_EVENT_LOOP=asyncio for asyncio's own)
    frontdoor   the public endpoint on 127.0.0.1: our routes first, everything else to MiniStack
    frontdoor_http  the front door's connections: ordinary API invocations on a lean lane, the rest on aiohttp
    proxy       what the front door and its services share: routes, context, answers, forwarding
    awserror    the emulated services' error base (AWS status, code, message); no plain-text answer
    guard       who may call the front door (loopback Host, no web pages on the control plane), no admin paths
    forwardcheck  AWS-shaped 400s for malformed calls, before they are forwarded to MiniStack
    modelcheck  JSON-protocol requests checked against botocore's service models
    expression_cache  MiniStack's DynamoDB expressions parsed (and UpdateItem's size charge planned) once per text
    expression_plans  MiniStack's conditions and updates run as plans made once per expression
    limits      timeouts, connection cap, JSON depth, large work off the event loop
    childenv    the minimal explicit environment of the stack's processes (and MiniStack's Lambdas)
    private     STREAMLAB_HOME private (0700/0600) whatever the umask
    logrotate   size-capped logs (copy-and-truncate)
    cloudwatch  the per-second CloudWatch publisher both services use
    apiexec/    the API Gateway integration executor (REST API invocations)
    esm/        the event source mapping for DynamoDB streams (its own process)
    streams/    DynamoDB Streams with several shards per stream over MiniStack's one (served by the ESM process)
    durable/    MiniStack's state across down/up and crashes: snapshots, the journal, recovery
    faults      inject faults into the stack's own processes, by pid; throttle the API's DynamoDB writes
    throttle_switch  the DynamoDB throttling switch: a share of the API's writes answered as throttled

How the processes fit together: docs/architecture.md.
"""
