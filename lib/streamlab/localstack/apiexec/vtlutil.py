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
_NEEDS_ESCAPE = re.compile(r"[\x00-\x1f'\"\\/\x80-\U0010ffff]")


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    short = _SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return "\\u%04X\\u%04X" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF))
    return "\\u%04X" % code


def escape_javascript(value: Any) -> str:
    if value is None:
        return ""
    return _NEEDS_ESCAPE.sub(_escape_char, to_text(value))


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
