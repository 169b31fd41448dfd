"""What a mapping template can reach: API Gateway's documented VTL surface, none of Python's.

airspeed resolves `$a.b` by item lookup, then by `getattr` on any object, and accepts identifiers
that start with `_`; unchecked, a template could walk from `$util` to Python's builtins inside
the front door (`$util.__class__.__init__.__globals__`). Here every name lookup is checked first:

- names starting with `_` never resolve (no dunders, no private attributes);
- plain JSON-like data (str, numbers, lists, maps) keeps its Java-style methods, except
  `str.format`/`format_map`, whose format specs walk attributes of their arguments;
- objects of the classes registered with `template_surface` (`$input`, `$util`) expose only the
  public names their class defines;
- anything else (functions, methods, modules, ...) exposes nothing.

A reference that does not resolve prints as written, as Velocity does.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, TypeVar

from airspeed import operators as _airspeed_ops

T = TypeVar("T", bound=type)

_DATA_TYPES = (str, int, float, bool, list, tuple, dict, type(None))
_UNSAFE_DATA_METHODS = frozenset({"format", "format_map"})
_SURFACES: dict[type, frozenset[str]] = {}
_LISTENERS: list[Callable[[], None]] = []


def template_surface(cls: T) -> T:
    """Register `cls` as something templates see: its own public methods and slots, nothing else."""
    names = {name for name in vars(cls) if not name.startswith("_")}
    names.update(name for name in getattr(cls, "__slots__", ()) if not name.startswith("_"))
    _SURFACES[cls] = frozenset(names)
    is_reachable_on.cache_clear()
    for forget in _LISTENERS:
        forget()
    return cls


def on_change(forget: Callable[[], None]) -> None:
    """Call `forget` whenever what templates may reach changes (what it learnt from `is_reachable_on`)."""
    _LISTENERS.append(forget)


def is_reachable(obj: Any, name: str) -> bool:
    """May a template resolve `name` on `obj`?"""
    return is_reachable_on(type(obj), name)


@lru_cache(maxsize=4096)
def is_reachable_on(cls: type, name: str) -> bool:
    """May a template resolve `name` on an object of type `cls`?"""
    # Depends only on the type and the name, and a template asks it for every step of every reference.
    if name.startswith("_"):
        return False
    surface = _SURFACES.get(cls)
    if surface is not None:
        return name in surface
    if issubclass(cls, _DATA_TYPES):  # LocalNamespace (the variables) is a dict too
        return name not in _UNSAFE_DATA_METHODS
    return False


def install() -> None:
    """Check every name lookup of every airspeed template in this process (idempotent)."""
    name_or_call = _airspeed_ops.NameOrCall
    if getattr(name_or_call.calculate, "_sandboxed", False):
        return
    resolve = name_or_call.calculate

    def calculate(self: Any, current_object: Any, loader: Any, top_namespace: Any) -> Any:
        if not is_reachable(current_object, self.name):
            return None
        return resolve(self, current_object, loader, top_namespace)

    calculate._sandboxed = True  # type: ignore[attr-defined]
    name_or_call.calculate = calculate
