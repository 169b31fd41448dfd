"""Our picks where AWS documents nothing (the CHOSEN rows of docs/aws-semantics.md), in one place.

Change a behaviour here, not in the poller.
"""
from __future__ import annotations

# E8: split a failing batch of >= 2 records on every function error, down to single records.
BISECT_MIN_RECORDS = 2
# E8: after a split the first half runs before the second half (keeps shard order).
BISECT_FIRST_HALF_FIRST = True
# E8: each half starts with a fresh retry count (splitting never spends the retry quota).
BISECT_RESETS_RETRY_COUNT = True

# E9: a batchItemFailures identifier that is not a sequence number of the batch = full failure.
UNKNOWN_ITEM_IDENTIFIER_IS_FULL_FAILURE = True
# E9: a partial failure spends one retry attempt of the records retried.
PARTIAL_FAILURE_COUNTS_AS_ATTEMPT = True

# E10: `condition` of the on-failure record when records are discarded for their age.
CONDITION_RETRIES_EXHAUSTED = "RetryAttemptsExhausted"  # documented by AWS
CONDITION_RECORD_AGE_EXCEEDED = "RecordAgeExceeded"  # CHOSEN (undocumented)
# E7/E10: a stream record that cannot be turned into a Lambda record (no AWS equivalent) is
# dropped at once with this condition, so it never stalls its shard.
CONDITION_UNCONVERTIBLE = "RecordConversionFailed"
# S5/E10: the checkpoint fell out of the stream's 24 h retention. The records between it and the
# oldest record left were never delivered and cannot be named: one on-failure record with this
# condition (batchSize 0, endSequenceNumber null), the metric below, and an error in the log.
CONDITION_CHECKPOINT_TRIMMED = "CheckpointTrimmed"
TRIMMED_CHECKPOINT_METRIC = "TrimmedCheckpointCount"

# E14: wait between two attempts of a failing batch: the next poll tick.
RETRY_INTERVAL_SECONDS = 0.25

# E5/E7: an Invoke Lambda refuses before the function runs (deleted function, access denied,
# payload too large) spends no attempt; the records wait for MaximumRecordAgeInSeconds like
# throttles do. A batch refused as too large is split in two first (AWS is silent).
# Throttles and an unreachable function are retried without spending attempts (E5); we back
# off from the retry interval, doubling up to this cap, so a dead MiniStack is not hammered.
UNREACHABLE_BACKOFF_MAX_SECONDS = 5.0

# E3/E13: LATEST is fixed when CreateEventSourceMapping answers (saved as a checkpoint), so
# every write after Create is delivered; AWS fixes it later and can miss early writes.

# Control plane: AWS takes minutes to move Creating -> Enabled (E13); we take one supervisor
# tick so tests and notebooks need not wait.
SUPERVISOR_TICK_SECONDS = 0.2

# E10: responseContext of an on-failure record for records discarded by age before any invocation.
NO_INVOCATION_RESPONSE_CONTEXT = {"statusCode": 0, "executedVersion": "$LATEST"}

# A failed on-failure delivery is retried (blocking the shard, so nothing is lost), waiting this long.
DESTINATION_RETRY_SECONDS = 1.0
