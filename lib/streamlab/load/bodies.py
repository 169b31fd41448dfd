"""Request bodies: a factory is any picklable callable `seq -> bytes` (workers rebuild nothing)."""
from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from typing import Callable, Union

from streamlab.errors import ConfigError

BodyFactory = Callable[[int], Union[bytes, str, dict]]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class JsonBodies:
    """`{"seq": n, "pad": "..."}` padded to `size` bytes; the padding comes from a seeded RNG,
    so body n is the same in every run with the same seed (and in every worker process).

    The StreamProcessor's per-record switches ride along for experiments: `sleep_ms` (work per
    record), every `poison_every`-th request `{"fail": "poison"}` (fails on every attempt) and
    every `fail_once_every`-th `{"fail": "once"}` (fails its first attempt only).
    """

    size: int = 128
    seed: int = 0
    sleep_ms: int = 0
    poison_every: int = 0
    fail_once_every: int = 0

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ConfigError(f"body size must be zero or more bytes, got {self.size}.")
        for name in ("sleep_ms", "poison_every", "fail_once_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be zero (off) or more, got {getattr(self, name)}.")

    def switches(self, seq: int) -> dict:
        out: dict = {"sleep_ms": self.sleep_ms} if self.sleep_ms else {}
        if self.poison_every and seq % self.poison_every == self.poison_every - 1:
            out["fail"] = "poison"
        elif self.fail_once_every and seq % self.fail_once_every == self.fail_once_every - 1:
            out["fail"] = "once"
        return out

    def __call__(self, seq: int) -> bytes:
        fields = {"seq": seq, **self.switches(seq)}
        head = json.dumps({**fields, "pad": ""}, separators=(",", ":"))
        room = max(0, self.size - len(head))
        rng = random.Random(self.seed * 1_000_003 + seq)
        pad = "".join(rng.choices(_ALPHABET, k=room))
        return json.dumps({**fields, "pad": pad}, separators=(",", ":")).encode()


def encode_body(value: bytes | str | dict) -> bytes:
    """What a factory returned, as the bytes to send (dicts become compact JSON)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":")).encode()
    raise ConfigError(f"a body factory must return bytes, str or dict, not {type(value).__name__}.")
