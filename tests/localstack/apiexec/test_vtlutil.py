"""$util functions (A2), checked against the Java behaviour API Gateway has."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from streamlab.localstack.apiexec import vtlutil


def test_a2_escape_javascript_matches_commons_lang():
    # The example of commons-lang's javadoc, plus the characters JSON cares about.
    assert vtlutil.escape_javascript('He didn\'t say, "Stop!"') == 'He didn\\\'t say, \\"Stop!\\"'
    assert vtlutil.escape_javascript("a/b\\c") == "a\\/b\\\\c"
    assert vtlutil.escape_javascript("\n\t\r\b\f\x01\x7f") == "\\n\\t\\r\\b\\f\\u0001\x7f"
    assert vtlutil.escape_javascript("é✓") == "\\u00E9\\u2713"


def test_a2_escape_javascript_writes_astral_characters_as_surrogate_pairs():
    assert vtlutil.escape_javascript("😀") == "\\uD83D\\uDE00"
    assert vtlutil.escape_javascript("\U00010000") == "\\uD800\\uDC00"
    assert vtlutil.escape_javascript("\U0010FFFF") == "\\uDBFF\\uDFFF"
    assert vtlutil.escape_javascript("\U0001F7FF") == "\\uD83D\\uDFFF"


@pytest.mark.parametrize("char, escaped", [
    ("\x00", "\\u0000"), ("\x1f", "\\u001F"), ("\x0b", "\\u000B"), (" ", " "), ("~", "~"), ("\x7f", "\x7f"),
    ("\x80", "\\u0080"), ("\u00ff", "\\u00FF"), ("\ufffe", "\\uFFFE"), ("\uffff", "\\uFFFF"),
])
def test_a2_escape_javascript_at_the_edges_of_each_range(char, escaped):
    # NUL and the other controls, the first non-ASCII character and the last of the BMP, by hand:
    # random inputs rarely hit these.
    assert vtlutil.escape_javascript(char) == escaped


def test_a2_escape_javascript_escapes_runs_of_non_ascii_unit_by_unit():
    assert vtlutil.escape_javascript("\x80\x81") == "\\u0080\\u0081"
    assert vtlutil.escape_javascript("aé😀b\uffff") == "a\\u00E9\\uD83D\\uDE00b\\uFFFF"


def test_a2_escape_javascript_of_null_is_empty():
    assert vtlutil.escape_javascript(None) == ""
    assert vtlutil.escape_javascript(True) == "true"


def test_a2_escape_javascript_single_quote_is_invalid_json_until_replaced():
    escaped = vtlutil.escape_javascript("it's")
    with pytest.raises(ValueError):
        json.loads(f'"{escaped}"')
    assert json.loads('"' + escaped.replace("\\'", "'") + '"') == "it's"


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_a2_escape_then_unquote_round_trips_through_json(text):
    escaped = vtlutil.escape_javascript(text)
    # The template workaround: .replaceAll("\\'", "'") on the escaped text.
    import re
    assert json.loads('"' + re.sub(r"\\'", "'", escaped) + '"') == text


def test_a2_url_encode_is_java_urlencoder():
    assert vtlutil.url_encode("a b~c*d.e-f_g/ä") == "a+b%7Ec*d.e-f_g%2F%C3%A4"
    assert vtlutil.url_decode("a+b%7Ec%2F%C3%A4") == "a b~c/ä"


def test_a2_base64_round_trip_and_parse_json():
    assert vtlutil.base64_encode("héllo") == "aMOpbGxv"
    assert vtlutil.base64_decode("aMOpbGxv") == "héllo"
    assert vtlutil.parse_json('{"a": [1, true]}') == {"a": [1, True]}


def test_values_print_like_java():
    assert vtlutil.to_text({"a": 1, "b": [True, "x"]}) == "{a=1, b=[true, x]}"
    assert vtlutil.to_text(None) == ""


def test_escape_javascript_of_a_large_mixed_body_matches_the_per_character_rule():
    from streamlab.localstack.apiexec.vtlutil import _SHORT, escape_javascript

    def one(ch: str) -> str:
        if ch in _SHORT:
            return _SHORT[ch]
        if ord(ch) < 0x20 or 0x80 <= ord(ch) <= 0xFFFF:
            return "\\u%04X" % ord(ch)
        if ord(ch) > 0xFFFF:
            code = ord(ch) - 0x10000
            return "\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
        return ch

    text = ("aé€漢😀'\"/\\\n\x01z" * 30_000)[:200_003]  # crosses the slices the escaper works in
    assert escape_javascript(text) == "".join(one(ch) for ch in text)
