"""Front-door routes of the ESM process: the Lambda event-source-mapping paths and the sharded
DynamoDB Streams view (DescribeStream, GetShardIterator, GetRecords) go to the ESM process."""
from __future__ import annotations

import dataclasses

from aiohttp import web

from streamlab.localstack.awserror import aws_error
from streamlab.localstack.esm.control import PREFIX, TAGS_PREFIX
from streamlab.localstack.proxy import FrontDoorContext, Route, forward
from streamlab.localstack.state import read_state
from streamlab.localstack.streams.wire import is_streams_call


def routes(ctx: FrontDoorContext) -> list[Route]:
    def esm_url() -> str | None:
        state = read_state(ctx.paths)
        port = getattr(state, "esm_port", 0) if state else 0
        return f"http://127.0.0.1:{port}" if port else None

    async def handle(request: web.Request) -> web.StreamResponse:
        url = esm_url()
        if url is None:
            return aws_error(503, "ServiceException", "the ESM service is not running; restart the stack with "
                                                      "`streamlab down` then `streamlab up`.")
        # The ESM keeps its own state durable: only calls MiniStack answers belong in the journal.
        return await forward(request, dataclasses.replace(ctx, upstream=url, journal=None), unreachable_hint=(
            f"the ESM service at {url} is not answering; restart it with `streamlab restart esm` "
            "(MiniStack and its data stay as they are)."))

    def claims(request: web.Request) -> bool:
        path = request.path
        return path.startswith(PREFIX) or (path.startswith(TAGS_PREFIX) and ":event-source-mapping:" in path)

    # The sharded stream view lives in the ESM process, next to its main reader.
    return [Route("esm", claims, handle), Route("streams", is_streams_call, handle)]
