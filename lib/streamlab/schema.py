"""The request table's item shape: one contract for the API templates, both functions and the audit.

An item's life (the states a client sees through `GET /requests/{id}`):

    ACCEPTED --StreamProcessor--> PROCESSED
        └──retries spent / too old--> on-failure queue --FailureHandler--> FAILED --redrive--> PROCESSED

The API's VTL template writes ID, BODY, ACCEPTED_AT and STATUS=ACCEPTED; the StreamProcessor
sets STATUS=PROCESSED, PROCESSED_AT, bumps ATTEMPTS and records LAST_ERROR when an attempt
fails; the FailureHandler sets STATUS=FAILED, FAILED_AT, FAILURE_REASON (the on-failure
condition, E10) and FAILED_ATTEMPTS, and never touches a PROCESSED item. Lag per record is
PROCESSED_AT - ACCEPTED_AT (both epoch milliseconds).
"""

ID = "id"                    # S, partition key: the Idempotency-Key if the client sent one, else $context.extendedRequestId
BODY = "body"                # S, the request body exactly as sent
ACCEPTED_AT = "accepted_at"  # N, $context.requestTimeEpoch (ms)
STATUS = "status"            # S, ACCEPTED, then PROCESSED or FAILED
PROCESSED_AT = "processed_at"  # N, epoch ms when the processor finished the record
ATTEMPTS = "attempts"        # N, how many times the processor saw the record (at-least-once delivery)
LAST_ERROR = "last_error"    # S, the processor's last failure: "<ExceptionType>: <message>" (shortened)
FAILED_AT = "failed_at"      # N, epoch ms when the FailureHandler first marked the item FAILED
FAILURE_REASON = "failure_reason"  # S, the on-failure condition: RetryAttemptsExhausted, RecordAgeExceeded
FAILED_ATTEMPTS = "failed_attempts"  # N, the mapping's approximateInvokeCount for the dropped batch

ACCEPTED = "ACCEPTED"
PROCESSED = "PROCESSED"
FAILED = "FAILED"
KNOWN_OUTCOMES = (PROCESSED, FAILED)  # final for the client (a redrive may still turn FAILED into PROCESSED)
