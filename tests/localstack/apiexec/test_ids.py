"""The invocation ids: version 4 UUIDs and API Gateway-shaped extended ids, every byte random and
used once, a getrandom call per pool rather than per id, and none repeated by a forked child."""
from __future__ import annotations

import base64
import os
import uuid

from streamlab.localstack.apiexec import ids


def test_request_ids_are_version_4_uuids_and_extended_ids_eleven_bytes_of_url_safe_base64():
    pool = ids.RandomPool()
    for _ in range(500):
        request_id = ids.new_request_id(pool)
        parsed = uuid.UUID(request_id)
        assert str(parsed) == request_id and parsed.version == 4 and parsed.variant == uuid.RFC_4122
        extended = ids.new_extended_request_id(pool)
        assert len(base64.urlsafe_b64decode(extended)) == 11 and "+" not in extended and "/" not in extended


def test_each_random_byte_is_used_once_and_read_a_pool_at_a_time(monkeypatch):
    reads = []

    def urandom(count: int) -> bytes:
        reads.append(count)
        return bytes((len(reads) * 7 + i) % 256 for i in range(count))

    monkeypatch.setattr(ids.os, "urandom", urandom)
    pool = ids.RandomPool(size=64)
    taken = [pool.take(11) for _ in range(12)]  # 5 from each 64 bytes, the last 9 of each left
    assert reads == [64, 64, 64] and len(set(taken)) == 12
    assert taken[0] == bytes((7 + i) % 256 for i in range(11))  # the first bytes of the first read
    assert pool.take(100) and reads[-1] == 100  # more than a pool's worth still comes whole


def test_many_ids_are_distinct():
    pool = ids.RandomPool()
    made = {ids.new_request_id(pool) for _ in range(20_000)} | {ids.new_extended_request_id(pool) for _ in range(20_000)}
    assert len(made) == 40_000


def test_a_forked_child_does_not_repeat_its_parents_ids():
    ids.new_request_id()  # the pool is filled before the fork
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next id and leave at once
        os.write(write_end, ids.new_request_id().encode())
        os._exit(0)
    os.close(write_end)
    child_id = os.read(read_end, 64).decode()
    os.close(read_end)
    os.waitpid(pid, 0)
    assert uuid.UUID(child_id).version == 4 and child_id != ids.new_request_id()
