"""`$util` of API Gateway mapping templates, with the Java behaviour AWS has (A2).

API Gateway runs Velocity on the JVM, so these mirror the Java functions behind them:
commons-lang `StringEscapeUtils.escapeJavaScript`, `java.net.URLEncoder/URLDecoder` (UTF-8),
`java.util.Base64`.
"""
from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from streamlab.localstack.apiexec.vtlsandbox import template_surface

# commons-lang 2.6 escapeJavaStyleString(str, escapeSingleQuote=true, escapeForwardSlash=true):
# ASCII controls get short escapes or \u00XX, everything above 0x7f becomes \uXXXX per UTF-16
# unit (so astral characters become a surrogate pair), and ' becomes \' — invalid in JSON, the
# well-known quirk templates undo with .replaceAll("\\'","'").
_SHORT = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r",
          "'": "\\'", '"': '\\"', "\\": "\\\\", "/": "\\/"}
# Each character is escaped on its own, so this goes in two passes: str.replace for the printable
# ones (backslash first, as the others' escapes add backslashes), then a regex for the controls
# and the characters above 0x7f, which most bodies do not have.
_PRINTABLE = "\\\"'/"
# A control or a character above 0x7f, then the run of characters above 0x7f after it: a run is
# escaped in one go (its UTF-16 units in hex, split every two bytes by bytes.hex itself), so a
# large non-ASCII body costs no Python work per character. Written [a][b]*, not as an alternation
# or [b]+, because re then looks for the first character in a tight loop, several times faster.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x1f\x80-\U0010ffff][\x80-\U0010ffff]*")


def _escape_match(match: re.Match[str]) -> str:
    text = match.group()
    if text[0] >= "\x80":
        return _escape_wide(text)
    return (_SHORT.get(text[0]) or "\\u%04X" % ord(text[0])) + _escape_wide(text[1:])


def _escape_wide(text: str) -> str:
    if not text:
        return ""
    return "\\u" + text.encode("utf-16-be").hex(" ", 2).upper().replace(" ", "\\u")


def _escape(text: str) -> str:
    for char in _PRINTABLE:
        text = text.replace(char, _SHORT[char])
    if text.isascii() and text.isprintable():  # no control, nothing above 0x7f: done
        return text
    return _NEEDS_ESCAPE.sub(_escape_match, text)


_SLICE = 1 << 16


def escape_javascript(value: Any) -> str:
    if value is None:
        return ""
    text = to_text(value)
    if len(text) <= _SLICE:
        return _escape(text)
    # Slice by slice, each holding the GIL briefly: a large body escaped on a worker thread must
    # not starve the event loop (escaping is per character, so any cut is safe).
    return "".join(_escape(text[i:i + _SLICE]) for i in range(0, len(text), _SLICE))


def url_encode(value: Any) -> str:
    # URLEncoder keeps only [A-Za-z0-9.*_-] and turns space into '+'; Python would keep '~'.
    return quote_plus(to_text(value), safe="*").replace("~", "%7E")


def url_decode(value: Any) -> str:
    return unquote_plus(to_text(value), errors="strict")


def base64_encode(value: Any) -> str:
    return base64.b64encode(to_text(value).encode("utf-8")).decode("ascii")


def base64_decode(value: Any) -> str:
    return base64.b64decode(to_text(value)).decode("utf-8", errors="replace")


def parse_json(value: Any) -> Any:
    return json.loads(to_text(value))


def to_text(value: Any) -> str:
    """How Velocity prints a value: Java's toString for the JSON-ish types templates meet."""
    if isinstance(value, str):
        return value
    if type(value) is int:  # the next most common ($context.requestTimeEpoch), and not a bool
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_text(k)}={to_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_text(v) for v in value) + "]"
    return str(value)


@template_surface
class Util:
    """The `$util` object templates see."""

    escapeJavaScript = staticmethod(escape_javascript)
    parseJson = staticmethod(parse_json)
    urlEncode = staticmethod(url_encode)
    urlDecode = staticmethod(url_decode)
    base64Encode = staticmethod(base64_encode)
    base64Decode = staticmethod(base64_decode)


UTIL = Util()
