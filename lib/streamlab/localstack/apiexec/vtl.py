"""Mapping templates: parsed once (airspeed-ext), compiled (`vtlcompile`, `vtlsource`), rendered with API
Gateway's variables (A2).

airspeed gives Velocity syntax, `#set/#if/#foreach`, quiet and formal references, and a few Java
string methods; it lacks `$input`, `$context`, `$util`, `$stageVariables` (supplied here) and
Java's replacement syntax in `replaceAll` (patched below).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Mapping

import airspeed
from airspeed import operators as _airspeed_ops

from streamlab.localstack.apiexec import jsonpath, vtlcompile, vtlsandbox, vtlsource
from streamlab.localstack.apiexec.vtlutil import UTIL, to_text
from streamlab.localstack.limits import API_MAX_JSON_DEPTH, load_json

TemplateError = airspeed.TemplateError

_JAVA_GROUP = re.compile(r"\\(.)|\$(\d+)|\$\{(\w+)\}", re.S)


def _java_replacement(repl: str) -> str:
    """Java's Matcher replacement syntax ($1, ${name}, \\x literal) in Python's re syntax."""
    def convert(m: re.Match[str]) -> str:
        literal, number, name = m.groups()
        if literal is not None:
            return literal.replace("\\", "\\\\")
        return f"\\g<{number or name}>"
    parts, last = [], 0
    for m in _JAVA_GROUP.finditer(repl):
        parts.append(repl[last:m.start()].replace("\\", "\\\\"))
        parts.append(convert(m))
        last = m.end()
    parts.append(repl[last:].replace("\\", "\\\\"))
    return "".join(parts)


@lru_cache(maxsize=512)
def _compiled_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _replace_all(text: str, pattern: str, repl: str) -> str:
    return _compiled_regex(pattern).sub(_java_replacement_cached(repl), text)


@lru_cache(maxsize=512)
def _java_replacement_cached(repl: str) -> str:
    return _java_replacement(repl)


# String.replaceAll with Java semantics for every template in this process (the front door runs
# nothing else on airspeed).
_airspeed_ops.__additional_methods__[str]["replaceAll"] = _replace_all
_airspeed_ops.__additional_methods__[str]["replace"] = lambda self, old, new: self.replace(old, new)
_airspeed_ops.__additional_methods__[str]["toString"] = lambda self: self
_airspeed_ops.__additional_methods__[str]["trim"] = lambda self: self.strip()
_airspeed_ops.__additional_methods__[str]["toLowerCase"] = lambda self: self.lower()
_airspeed_ops.__additional_methods__[str]["toUpperCase"] = lambda self: self.upper()
_airspeed_ops.__additional_methods__[str]["isEmpty"] = lambda self: not self
_airspeed_ops.__additional_methods__[str]["equals"] = lambda self, other: self == other
# Print maps and lists as Java does ({a=1}), not as Python reprs.
_airspeed_ops.value_to_string = to_text
# Templates come from whoever can call the control plane: they reach only the documented surface.
vtlsandbox.install()


@dataclass(frozen=True)
class MappingTemplate:
    """A template parsed once and, where `vtlcompile` covers it, compiled; reused for every request."""

    content: str
    parsed: airspeed.Template = field(repr=False)
    compiled: vtlcompile.Renderer | None = field(repr=False)


@lru_cache(maxsize=1024)
def compile_template(text: str) -> MappingTemplate:
    """Parse a template (TemplateError when it is not valid VTL) and compile it."""
    parsed = airspeed.Template(text)
    parsed.ensure_compiled()
    return MappingTemplate(text, parsed, vtlsource.compile_template(parsed))


@vtlsandbox.template_surface
class Input:
    """`$input`: the body and parameters of the request (or, in a response template, the backend's body)."""

    __slots__ = ("body", "_params", "_parsed")

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]]):
        self.body = body
        self._params = params
        self._parsed: Any = jsonpath.MISSING

    def _document(self) -> Any:
        if self._parsed is jsonpath.MISSING:
            # AWS treats an empty body as {} for $input.json/$input.path.
            self._parsed = load_json(self.body, API_MAX_JSON_DEPTH) if self.body.strip() else {}
        return self._parsed

    def json(self, path: str) -> str:
        value = jsonpath.evaluate(self._document(), path)
        return "" if value is jsonpath.MISSING else json.dumps(value, ensure_ascii=False)

    def path(self, path: str) -> Any:
        value = jsonpath.evaluate(self._document(), path)
        return "" if value is jsonpath.MISSING else value

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for where in ("path", "querystring"):
            value = self._params[where].get(name)
            if value is not None:
                return value
        lowered = name.lower()
        for key, value in self._params["header"].items():
            if key.lower() == lowered:
                return value
        return ""


def render(template: MappingTemplate, *, input: Input, context: Mapping[str, Any],
           stage_variables: Mapping[str, str]) -> str:
    """Render a template; TemplateError or ValueError when it cannot be evaluated."""
    namespace = {"input": input, "context": context, "stageVariables": stage_variables, "util": UTIL}
    if template.compiled is not None:
        return template.compiled(namespace)
    return interpret(template.parsed, namespace)


def interpret(parsed: airspeed.Template, namespace: Mapping[str, Any]) -> str:
    """Render with airspeed's own interpreter; failures as a compiled template's: JSONDecodeError
    for a body that is not JSON, TemplateError for anything else."""
    try:
        return parsed.merge(namespace)
    except airspeed.TemplateExecutionError as exc:
        cause = exc.__cause__
        while isinstance(cause, airspeed.TemplateExecutionError):
            cause = cause.__cause__
        if isinstance(cause, json.JSONDecodeError):
            raise cause from exc  # the body is not JSON: the client's fault (400), not the template's
        raise


__all__ = ["Input", "MappingTemplate", "TemplateError", "compile_template", "interpret", "render", "to_text"]
