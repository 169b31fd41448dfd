"""The `streamlab` command line: a thin layer over the library, one module per command group.

    main       the parser, built from each group's COMMANDS table; `streamlab = streamlab.cli:main`
    base       Command, messages on stderr, shared arguments
    stack      up | down | status | restart            (streamlab.localstack.stack)
    pipeline   deploy | teardown                       (streamlab.provision)
    measure    burst | report                          (streamlab.experiment)
    notebooks  suite | lab                             (streamlab.notebook)
    bench      bench api | esm | load | pipeline       (streamlab.bench)
    aws        aws template | package | policy | inventory | teardown | redact   (streamlab.aws)
"""
from streamlab.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
