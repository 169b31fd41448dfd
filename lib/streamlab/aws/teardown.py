"""Verified teardown: delete the stack, then prove by its tag that nothing of it remains.

`streamlab.provision.teardown` deletes by name and checks by name. This adds the check that does not
trust names: everything tagged `streamlab:stack=<stack>` (the tagging API plus IAM roles) is
confirmed gone with direct describe calls; tagged leftovers (a resource made under another name,
a half-finished deploy) are deleted too, and the check repeats until nothing remains or time runs out.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from streamlab.aws.inventory import Resource, delete_resource, exists, list_tagged
from streamlab.errors import ProvisionError
from streamlab.provision import pipeline
from streamlab.provision.config import STACK_TAG, PipelineConfig
from streamlab.target import Target

# Dependents first: an API before its stage's table, a mapping before its function, roles late.
DELETE_ORDER = ("apigateway:restapi", "apigateway:stage", "lambda:event-source-mapping", "lambda:function",
                "logs:log-group", "iam:role", "sqs:queue", "dynamodb:table")


@dataclass(frozen=True)
class TeardownProof:
    stack: str
    deleted_by_name: dict[str, list[str]]
    deleted_by_tag: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # every tagged ARN seen, each confirmed gone
    remaining: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.remaining


def _order(resource: Resource) -> int:
    return DELETE_ORDER.index(resource.kind) if resource.kind in DELETE_ORDER else len(DELETE_ORDER)


def verified_teardown(
    config: PipelineConfig,
    *,
    target: Target,
    log: Callable[[str], None] = print,
    timeout: float = 600.0,
    interval: float = 10.0,
) -> TeardownProof:
    """Tear the stack down and prove nothing tagged with it is left; ProvisionError if something is."""
    try:
        by_name = pipeline.teardown(config, target=target, log=log).deleted
        named_clean = True
    except ProvisionError as exc:
        log(f"teardown by name was not clean ({exc}); deleting by tag")
        by_name, named_clean = {}, False
    deadline = time.monotonic() + timeout
    by_tag: list[str] = []
    checked: set[str] = set()
    while True:
        tagged = list_tagged(target, config.stack)
        checked.update(r.arn for r in tagged)
        present = sorted((r for r in tagged if exists(target, r)), key=_order)
        if not present:
            break
        if time.monotonic() >= deadline:
            left = ", ".join(r.arn for r in present)
            raise ProvisionError(
                f"resources tagged {STACK_TAG}={config.stack} still exist after {timeout:.0f}s: {left}. "
                f"Run the teardown again, or delete them in the console."
            )
        for r in present:
            log(f"deleting tagged leftover {r.kind} {r.name}")
            delete_resource(target, r)
            if r.arn not in by_tag:
                by_tag.append(r.arn)
        time.sleep(interval)
    if not named_clean:
        # Untagged leftovers (the log group Lambda re-creates on a late invocation) are only found by
        # name: a second by-name teardown deletes them, and raises if anything still remains.
        by_name = pipeline.teardown(config, target=target, log=log).deleted
    log(f"stack {config.stack}: verified, nothing tagged {STACK_TAG}={config.stack} remains "
        f"({len(checked)} tagged resource(s) checked gone)")
    return TeardownProof(config.stack, by_name, by_tag, sorted(checked), [])
