"""The embedded local stack: MiniStack plus our front door, API executor and event source mapping."""
