"""Durable ESM data in the stack's state folder: mapping configs and per-shard checkpoints.

Every write replaces the whole file atomically, so a kill at any instant leaves either the old
or the new content, never a torn file.
"""
from __future__ import annotations

import json
from pathlib import Path

from streamlab.localstack.esm.mapping import Mapping, mappings_json
from streamlab.localstack.state import StackPaths, write_atomically


def esm_folder(paths: StackPaths) -> Path:
    return paths.data / "esm"


class Store:
    def __init__(self, paths: StackPaths) -> None:
        self.folder = esm_folder(paths)
        self.checkpoints = self.folder / "checkpoints"
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.mappings_file = self.folder / "mappings.json"

    def load_mappings(self) -> dict[str, Mapping]:
        try:
            return {uuid: Mapping.from_api(data) for uuid, data in json.loads(self.mappings_file.read_text()).items()}
        except FileNotFoundError:
            return {}

    def save_mappings(self, mappings: dict[str, Mapping]) -> None:
        write_atomically(self.mappings_file, mappings_json(mappings, indent=1))

    def _checkpoint_file(self, uuid: str) -> Path:
        return self.checkpoints / f"{uuid}.json"

    def load_checkpoints(self, uuid: str) -> dict[str, dict]:
        """shardId -> {"SequenceNumber": s, "Iterator": "AFTER_SEQUENCE_NUMBER" | "AT_SEQUENCE_NUMBER"}."""
        try:
            return json.loads(self._checkpoint_file(uuid).read_text())
        except FileNotFoundError:
            return {}

    def save_checkpoints(self, uuid: str, shards: dict[str, dict]) -> None:
        write_atomically(self._checkpoint_file(uuid), json.dumps(shards, sort_keys=True))

    def drop_checkpoints(self, uuid: str) -> None:
        self._checkpoint_file(uuid).unlink(missing_ok=True)
