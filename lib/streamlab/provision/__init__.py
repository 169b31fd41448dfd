"""Provisioning the pipeline with boto3: the same calls for the local stack and for AWS.

One small module per step, each with create (idempotent: finds and reuses), describe and delete:

    table     the request table with its stream          create_table / describe_table / delete_table
    queue     the on-failure SQS queue                   create_queue / describe_queue / delete_queue
    roles     API and processor IAM roles (policies)     create_api_role / create_processor_role / ...
    function  the StreamProcessor Lambda                 create_function / describe_function / ...
    mapping   stream -> function event source mapping    create_mapping / describe_mapping / ...
    api       the REST API from infra/api/               create_api / describe_api / delete_api
    guard     key, usage plan, throttles, retention      protect / describe_key / delete_protection
    sync_api  the synchronous design of notebook 07      deploy_sync / describe_sync / teardown_sync

Checked, never created: `prerequisites` (what a notebook needs from earlier ones, with the
notebook to run named when it is missing).

Shared by the steps: `config` (names, settings, tags), `calls` (AWS errors as ProvisionError,
idempotent helpers), `policies` (least-privilege IAM documents), `protection` (API key, throttles,
retention, encryption and concurrency settings the template and deploy share), `apispec` (infra/api/ read into
a spec), `package` (the function zips), `paths` (where infra/ is).

`deploy(config)` runs them in order and returns a `Pipeline`; `describe_pipeline(config)` reads
the same `Pipeline` back without changing anything; `teardown(config)` deletes everything in
reverse and proves nothing is left.
"""
from streamlab.provision.api import create_api, delete_api, describe_api, invoke_url
from streamlab.provision.config import EsmSettings, Pipeline, PipelineConfig, ProcessorSettings
from streamlab.provision.function import create_function, delete_function, describe_function
from streamlab.provision.mapping import create_mapping, delete_mapping, delete_mappings, describe_mapping, list_mappings
from streamlab.provision.pipeline import TeardownReport, deploy, describe_pipeline, find_remaining, teardown
from streamlab.provision.queue import create_queue, delete_queue, describe_queue
from streamlab.provision.roles import create_api_role, create_processor_role, delete_role, describe_role
from streamlab.provision.table import create_table, delete_table, describe_table

__all__ = [
    "EsmSettings", "Pipeline", "PipelineConfig", "ProcessorSettings", "TeardownReport",
    "create_api", "create_api_role", "create_function", "create_mapping", "create_processor_role",
    "create_queue", "create_table", "delete_api", "delete_function", "delete_mapping", "delete_mappings",
    "delete_queue", "delete_role", "delete_table", "deploy", "describe_api", "describe_function",
    "describe_mapping", "describe_pipeline", "describe_queue", "describe_role", "describe_table", "find_remaining",
    "invoke_url", "list_mappings", "teardown",
]
