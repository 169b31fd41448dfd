"""Working on a real AWS account safely.

    optin       the AWS target needs explicit opt-in      require_aws_opt_in / connect_aws
    burst       cost estimate and cap before a burst      guard_burst
    inventory   what exists with the stack's tag          find_stack_resources / list_tagged
    teardown    delete, then prove nothing tagged remains verified_teardown
    redact      scrub account ids, keys, endpoints        redact_text / redact_notebook_file
    privilege   least-privilege check of IAM documents    find_broad_grants
    template    infra/template.yaml, generated            build_template / write_template
    package     the function zip for the template route   write_package
    permissions the IAM policy a deployer needs           deployer_policy
    cost        what a burst costs on AWS, and the cap    estimate_cost / guard_cost
"""
from streamlab.aws.burst import guard_burst
from streamlab.aws.inventory import Resource, find_stack_resources, list_tagged
from streamlab.aws.optin import OPT_IN_ENV, aws_opted_in, connect_aws, require_aws_opt_in
from streamlab.aws.privilege import allowed_wildcards, find_broad_grants
from streamlab.aws.redact import redact_notebook, redact_notebook_file, redact_text
from streamlab.aws.teardown import TeardownProof, verified_teardown

__all__ = [
    "OPT_IN_ENV", "Resource", "TeardownProof", "allowed_wildcards", "aws_opted_in", "connect_aws",
    "find_broad_grants", "find_stack_resources", "guard_burst", "list_tagged", "redact_notebook",
    "redact_notebook_file", "redact_text", "require_aws_opt_in", "verified_teardown",
]
