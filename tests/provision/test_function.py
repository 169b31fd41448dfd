"""Step 4 against the local stack: the StreamProcessor is created, kept in line, and deleted."""
from __future__ import annotations

from streamlab.provision import function, package, queue, roles, table


def _role(target, config) -> str:
    t = table.create_table(target, config)
    q = queue.create_queue(target, config)
    return roles.create_processor_role(target, config, table_arn=t.arn, stream_arn=t.stream_arn, queue_arn=q.arn).arn


def test_create_reuse_update_delete(target, config):
    role_arn = _role(target, config)
    first = function.create_function(target, config, role_arn=role_arn)
    assert first.created and first.state == "Active"
    described = function.describe_function(target, config)
    assert (described["Runtime"], described["Handler"], described["Role"]) == ("python3.12", "handler.handler", role_arn)
    assert described["Environment"]["Variables"] == config.processor.environment(config.table_name)
    assert described["CodeSha256"] == package.code_sha256(package.build_zip())
    assert described["Tags"].get("streamlab:stack") == config.stack

    again = function.create_function(target, config, role_arn=role_arn)
    assert (again.created, again.updated, again.arn) == (False, False, first.arn)

    changed = config.with_processor(failure_rate=0.5, timeout_seconds=5)
    updated = function.create_function(target, changed, role_arn=role_arn)
    assert updated.updated and not updated.created
    described = function.describe_function(target, config)
    assert described["Timeout"] == 5 and described["Environment"]["Variables"]["FAILURE_RATE"] == "0.5"

    assert function.delete_function(target, config) is True
    assert function.describe_function(target, config) is None
    assert function.delete_function(target, config) is False
