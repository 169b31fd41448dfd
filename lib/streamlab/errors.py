"""The one exception tree of streamlab.

    StreamlabError
     ├── ConfigError          a setting or argument is wrong; the message says which
     ├── StackError           the embedded local stack could not start, stop or be found
     │    ├── PortInUseError
     │    └── StackNotRunningError
     ├── ProvisionError       an AWS call made while provisioning failed
     │    └── MissingPrerequisite  a step needs what an earlier one creates; names the step to run
     ├── WaitTimeout          something we waited for did not happen in time; the message says what
     ├── CostGuardError       an AWS burst was refused by the cost guard
     └── NotebookFailed       a notebook of the suite raised; the message names the notebook and cell

Every message says what happened and what to do about it. This tree is for users of the
library and the command line. The emulated AWS services of the local stack answer their clients
with AWS-shaped errors instead (`streamlab.localstack.awserror`), never with these.
"""


class StreamlabError(Exception):
    """Base class of every error streamlab raises on purpose."""


class ConfigError(StreamlabError):
    pass


class StackError(StreamlabError):
    pass


class PortInUseError(StackError):
    pass


class StackNotRunningError(StackError):
    pass


class ProvisionError(StreamlabError):
    pass


class CostGuardError(StreamlabError):
    pass


class WaitTimeout(StreamlabError):
    """A wait ran out of time; the message says what was awaited, what was seen, and what to check."""


class MissingPrerequisite(ProvisionError):
    """A step needs something another step creates; the message names the step to run first."""


class NotebookFailed(StreamlabError):
    pass
