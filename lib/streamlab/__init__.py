"""streamlab: learn and measure the fire-and-forget API pattern.

API Gateway writes each request straight into DynamoDB and answers at once; DynamoDB Streams
drives a Lambda StreamProcessor that does the slow work. The package is grouped by concern:

    connect, target  which account to work on (the embedded local stack or AWS), boto3 clients
    errors           the one exception tree for users of the library and the command line
    schema           the request table's item shape, shared by the API, the functions and the audit
    paths            where the checkout's infra/, notebooks/ and build/ are
    strict_json      results files as strict JSON: a missing number is null, never NaN

    localstack/      the embedded stack: MiniStack + our front door, API executor (apiexec/) and
                     event source mapping (esm/), their processes and state
    provision/       the pipeline, step by step with boto3, the same calls for local and AWS
    functions/       code bundled into the Lambda functions (failure switches)
    load/            open-loop load: schedules, the generator, honest results
    observe/         what happened: lag, metrics, on-failure records, the no-loss audit
    experiment/      load + observe + audit + charts in one run; designs compared
    notebook/        the notebook suite (papermill), JupyterLab, results and client helpers
    bench/           `streamlab bench`: api, esm, load, pipeline
    aws/             working on a real account safely: opt-in, cost guard, template, teardown
    cli/             the `streamlab` command line, one module per command group

The public surface is re-exported here: `connect()`, `Target` and the errors.
"""
from streamlab.connect import connect
from streamlab.errors import (
    ConfigError,
    CostGuardError,
    MissingPrerequisite,
    NotebookFailed,
    PortInUseError,
    ProvisionError,
    StackError,
    StackNotRunningError,
    StreamlabError,
    WaitTimeout,
)
from streamlab.target import Target

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "CostGuardError",
    "MissingPrerequisite",
    "NotebookFailed",
    "PortInUseError",
    "ProvisionError",
    "StackError",
    "StackNotRunningError",
    "StreamlabError",
    "Target",
    "WaitTimeout",
    "connect",
]
