"""DynamoDB Streams with several shards per stream, over MiniStack's single shard.

`layout` decides how many shards a stream has and which shard a record is in; `tail` reads
MiniStack's stream once for every shard; `view` answers the Streams API per shard; `wire` puts
the view on the wire (in the ESM process, reached through the front door) and in-process for
the ESM's pollers.
"""
