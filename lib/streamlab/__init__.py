"""streamlab: learn and measure the fire-and-forget API pattern.

API Gateway writes each request straight into DynamoDB and answers at once; DynamoDB Streams
drives a Lambda StreamProcessor that does the slow work.
"""
from streamlab.connect import connect
from streamlab.errors import (
    ConfigError,
    CostGuardError,
    MissingPrerequisite,
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
    "PortInUseError",
    "ProvisionError",
    "StackError",
    "StackNotRunningError",
    "StreamlabError",
    "Target",
    "WaitTimeout",
    "connect",
]
