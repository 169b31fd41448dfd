"""Benchmarks behind `streamlab bench KIND`; each returns a JSON-ready report.

    api       the API path (front door, VTL, PutItem integration) against a raw PutItem   run
    esm       stream lag and IteratorAge: our event source mapping against MiniStack's    run
    load      the open-loop generator's accuracy against a trivial local server          bench_load
    pipeline  sustained rates through the whole local pipeline, with the no-loss audit    run, find_knee

How results are judged and measured:

    keepup    does the pipeline keep up at a rate (lag p99, lag slope, drain capacity), the knee
    cpu       CPU seconds per process of the local stack while a benchmark runs
    snapshots the API's service time while MiniStack wrote a snapshot, and otherwise
"""
