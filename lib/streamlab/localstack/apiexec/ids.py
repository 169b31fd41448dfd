"""The two ids API Gateway gives each invocation: `requestId` (a random UUID) and `extendedRequestId`.

Both come from `os.urandom`, read 4 KB at a time rather than once per id: an invocation needs 27
random bytes, and a getrandom call for each id cost the front door more than making the id.
A forked child starts with a fresh pool, so it never repeats its parent's ids.
"""
from __future__ import annotations

import base64
import os

POOL_BYTES = 4096


class RandomPool:
    """Bytes from `os.urandom`, handed out once each."""

    def __init__(self, size: int = POOL_BYTES) -> None:
        self.size = size
        self._bytes = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        at = self._at
        if at + count > len(self._bytes):
            self._bytes, at = os.urandom(max(self.size, count)), 0
        self._at = at + count
        return self._bytes[at:at + count]

    def forget(self) -> None:
        self._bytes, self._at = b"", 0


_POOL = RandomPool()
os.register_at_fork(after_in_child=_POOL.forget)


def new_request_id(pool: RandomPool = _POOL) -> str:
    """A version 4 UUID, as `str(uuid.uuid4())` makes."""
    raw = bytearray(pool.take(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def new_extended_request_id(pool: RandomPool = _POOL) -> str:
    """Like API Gateway's "Mf2JqF5aoAMF1Tw=": 11 random bytes, base64."""
    # CHOSEN: the URL-safe alphabet, so the id can be used as a path parameter (GET /requests/{id}).
    return base64.urlsafe_b64encode(pool.take(11)).decode("ascii")
