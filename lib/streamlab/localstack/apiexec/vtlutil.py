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
# Runs of characters above 0x7f are escaped in one go (their UTF-16 units in hex, split every two
# bytes by bytes.hex itself), so a large non-ASCII body costs no Python work per character.
_NEEDS_ESCAPE = re.compile(r"[\x00-\x1f'\"\\/]|[\x80-\U0010ffff]+")


def _escape_match(match: re.Match[str]) -> str:
    text = match.group()
    if text[0] >= "\x80":
        return "\\u" + text.encode("utf-16-be").hex(" ", 2).upper().replace(" ", "\\u")
    return _SHORT.get(text) or "\\u%04X" % ord(text)


_SLICE = 1 << 16


def escape_javascript(value: Any) -> str:
    if value is None:
        return ""
    text = to_text(value)
    if len(text) <= _SLICE:
        return _NEEDS_ESCAPE.sub(_escape_match, text)
    # Slice by slice, each holding the GIL briefly: a large body escaped on a worker thread must
    # not starve the event loop (escaping is per character, so any cut is safe).
    return "".join(_NEEDS_ESCAPE.sub(_escape_match, text[i:i + _SLICE]) for i in range(0, len(text), _SLICE))


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
