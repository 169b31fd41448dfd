"""What a notebook needs from the ones before it, checked at its start.

A notebook opened on its own must not wait a minute and then mislead: it checks, before it
creates anything, that what earlier notebooks create is there, and otherwise stops at once
naming the notebook (or command) that creates it.
"""
from __future__ import annotations

from streamlab.errors import MissingPrerequisite
from streamlab.provision import function, mapping, table
from streamlab.provision.calls import require_parts
from streamlab.provision.config import PipelineConfig
from streamlab.target import Target


def require_stream_processing(target: Target, config: PipelineConfig) -> None:
    """The table, the StreamProcessor and the mapping that feeds it from the table's stream
    (what `02_stream_processor` creates); MissingPrerequisite naming what is missing otherwise."""
    t = table.describe_table(target, config)
    stream_arn = (t or {}).get("LatestStreamArn", "")
    mappings = [m for m in mapping.list_mappings(target, config) if m.get("EventSourceArn") == stream_arn] if t else []
    require_parts(
        {"table": t, "StreamProcessor function": function.describe_function(target, config),
         "event source mapping": mappings},
        f"the stream processing of stack {config.stack} (made by 01_table_and_stream and 02_stream_processor)",
        "Run 02_stream_processor first (it creates what it needs), or `streamlab deploy` for the whole pipeline.",
        error=MissingPrerequisite,
    )
