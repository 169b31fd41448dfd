"""Front-door routes of the API executor."""
from __future__ import annotations


def routes(ctx):  # filled in by the API executor work
    return []
