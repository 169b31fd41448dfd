"""The stream log: each snapshot appends only new records; what a snapshot names is never rewritten."""
from __future__ import annotations

import json
from types import SimpleNamespace

from ministack.core.responses import AccountRegionScopedDict

from streamlab.localstack.durable import streamlog
from streamlab.localstack.durable.streamlog import Stream

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026"


def _records(first: int, last: int, tag: str = "e") -> list[dict]:
    return [{"eventID": f"{tag}{n}", "dynamodb": {"SequenceNumber": str(n)}} for n in range(first, last)]


def _file(tmp_path, index) -> bytes:
    (entry,) = index["streams"].values()
    return (streamlog.log_folder(tmp_path) / entry["file"]).read_bytes()


def test_a_second_snapshot_appends_only_the_new_records_and_both_read_back(tmp_path):
    records = _records(0, 100)
    first = streamlog.write(tmp_path, [Stream(ARN, records, 0)], None, tag="1")
    written = _file(tmp_path, first)
    records.extend(_records(100, 103))
    second = streamlog.write(tmp_path, [Stream(ARN, records, 0)], first, tag="2")
    grown = _file(tmp_path, second)
    assert [e["file"] for e in first["streams"].values()] == [e["file"] for e in second["streams"].values()]
    assert grown.startswith(written) and grown.count(b"\n") == 103  # the same file, three lines more
    (old,) = streamlog.read(tmp_path, first)
    (new,) = streamlog.read(tmp_path, second)
    assert old.records == _records(0, 100) and new.records == records


def test_bytes_an_unfinished_writer_left_are_never_read_and_cut_before_the_next_append(tmp_path):
    records = _records(0, 5)
    index = streamlog.write(tmp_path, [Stream(ARN, records, 0)], None, tag="1")
    (entry,) = index["streams"].values()
    with open(streamlog.log_folder(tmp_path) / entry["file"], "ab") as fh:
        fh.write(b'{"eventID": "torn", "dyn')
    assert streamlog.read(tmp_path, index)[0].records == records
    records.append(_records(5, 6)[0])
    index = streamlog.write(tmp_path, [Stream(ARN, records, 0)], index, tag="2")
    assert b"torn" not in _file(tmp_path, index)
    assert streamlog.read(tmp_path, index)[0].records == records


def test_a_stream_reset_under_the_same_arn_starts_a_new_file_and_leaves_the_old_one(tmp_path):
    before = streamlog.write(tmp_path, [Stream(ARN, _records(0, 3), 0)], None, tag="1")
    after = streamlog.write(tmp_path, [Stream(ARN, _records(0, 5, tag="reset"), 0)], before, tag="2")
    assert [e["file"] for e in before["streams"].values()] != [e["file"] for e in after["streams"].values()]
    assert streamlog.read(tmp_path, before)[0].records == _records(0, 3)  # still what that snapshot holds
    assert streamlog.read(tmp_path, after)[0].records == _records(0, 5, tag="reset")


def test_records_expired_at_the_front_are_skipped_on_read_and_the_file_goes_on(tmp_path):
    index = streamlog.write(tmp_path, [Stream(ARN, _records(0, 10), 0)], None, tag="1")
    index = streamlog.write(tmp_path, [Stream(ARN, _records(4, 12), 4)], index, tag="2")
    (stream,) = streamlog.read(tmp_path, index)
    assert stream.trimmed == 4 and stream.records == _records(4, 12)
    assert _file(tmp_path, index).count(b"\n") == 12


def test_live_and_closed_streams_go_back_where_ministack_keeps_them(tmp_path):
    def module() -> SimpleNamespace:
        return SimpleNamespace(_stream_records=AccountRegionScopedDict(), _stream_trimmed=AccountRegionScopedDict(),
                               _closed_streams=AccountRegionScopedDict(), _tables=AccountRegionScopedDict())

    scope = ("000000000000", "us-east-1", "t")
    ddb = module()
    ddb._tables._data[scope] = {"LatestStreamArn": ARN}
    ddb._stream_records._data[scope] = _records(3, 6)
    ddb._stream_trimmed._data[scope] = 3
    ddb._closed_streams._data[("000000000000", "us-east-1", ARN + "-old")] = {
        "TableName": "t", "ClosedAt": 1.0, "records": _records(0, 2, tag="old"), "trimmed": 0}
    index = json.loads(json.dumps(streamlog.write(tmp_path, streamlog.collect(ddb), None, tag="1")))
    restored = module()
    streamlog.install(restored, streamlog.read(tmp_path, index))
    assert restored._stream_records._data == ddb._stream_records._data
    assert restored._stream_trimmed._data == ddb._stream_trimmed._data
    assert restored._closed_streams._data == ddb._closed_streams._data


def test_files_the_current_index_does_not_name_are_removed(tmp_path):
    old = streamlog.write(tmp_path, [Stream(ARN, _records(0, 2), 0)], None, tag="1")
    new = streamlog.write(tmp_path, [Stream(ARN, _records(0, 2, tag="x"), 0)], old, tag="2")
    streamlog.prune(tmp_path, new)
    assert sorted(p.name for p in streamlog.log_folder(tmp_path).iterdir()) == \
        [e["file"] for e in new["streams"].values()]


def test_a_stream_with_nothing_new_is_not_written_or_synced_again(tmp_path, monkeypatch):
    index = streamlog.write(tmp_path, [Stream(ARN, _records(0, 3), 0)], None, tag="1")
    synced: list[int] = []
    monkeypatch.setattr(streamlog.os, "fsync", synced.append)
    again = streamlog.write(tmp_path, [Stream(ARN, _records(0, 3), 0)], index, tag="2")
    assert synced == [] and again["streams"] == index["streams"]
    assert streamlog.read(tmp_path, again)[0].records == _records(0, 3)
