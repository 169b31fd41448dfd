"""Durable local state: MiniStack's data survives `down`/`up` and a crash.

    snapshot        the on-disk snapshots of MiniStack (one folder each, switched atomically)
    ministack_main  MiniStack run under our supervision: restore at boot, snapshot while it runs
    streamlog       stream records on disk, append-only: each snapshot adds only what is new
    encode          the writer's JSON (orjson: fast, and it leaves the forked state's pages unwritten)
    journal         the front door's record of acknowledged writes since the last snapshot
    idempotent      which UpdateItem calls are safe to replay (applied twice = applied once)
    recovery        after a crash: replay the journal, rewind the ESM, say what was lost

How the pieces fit (also in docs/architecture.md): MiniStack keeps everything in memory and
only saves at a graceful shutdown, and never its stream records. We run it through
`ministack_main`, which takes a consistent snapshot of every service, the stream records and
our ESM checkpoints at most every `SNAPSHOT_INTERVAL_SECONDS` while anything changed, and a
final one on SIGTERM. After a SIGKILL the next `up` starts from the latest snapshot, replays
the acknowledged item writes the front door journalled since, rewinds the ESM to its
checkpoints as of the snapshot (so records whose effects were lost are delivered again), and
writes a recovery report that `status` shows until `streamlab deploy` has run.
"""
