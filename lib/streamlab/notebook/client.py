"""One timed HTTP call to the pipeline's API, for notebooks: `streamlab.load.client`, where the
load layer (which follows requests to their outcome) keeps it, re-exported under the name notebooks use."""
from streamlab.load.client import Reply, call

__all__ = ["Reply", "call"]
