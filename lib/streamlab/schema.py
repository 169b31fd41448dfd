"""The request table's item shape: one contract for the API template, the processor and the audit.

The API's VTL template writes ID, BODY, ACCEPTED_AT and STATUS=ACCEPTED; the StreamProcessor
sets STATUS=PROCESSED, PROCESSED_AT and bumps ATTEMPTS. Lag per record is
PROCESSED_AT - ACCEPTED_AT (both epoch milliseconds).
"""

ID = "id"                    # S, partition key: the gateway-made request id ($context.extendedRequestId)
BODY = "body"                # S, the request body exactly as sent
ACCEPTED_AT = "accepted_at"  # N, $context.requestTimeEpoch (ms)
STATUS = "status"            # S, ACCEPTED then PROCESSED
PROCESSED_AT = "processed_at"  # N, epoch ms when the processor finished the record
ATTEMPTS = "attempts"        # N, how many times the processor saw the record (at-least-once delivery)

ACCEPTED = "ACCEPTED"
PROCESSED = "PROCESSED"
