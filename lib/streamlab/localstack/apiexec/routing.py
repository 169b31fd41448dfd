"""Which resource and method of a REST API answer a request path (A1).

Literal path parts win over `{param}` parts, which win over a greedy `{proxy+}`. A resource
that matches the path but does not serve the verb (nor ANY) gives the request to the most
specific `{proxy+}` that does, as API Gateway routes on the resource+method pair.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

M = TypeVar("M")


@dataclass
class Node(Generic[M]):
    """One resource of the tree: its path part, its methods, its children by kind."""

    path: str
    methods: dict[str, M] = field(default_factory=dict)
    literals: dict[str, "Node[M]"] = field(default_factory=dict)
    param: tuple[str, "Node[M]"] | None = None
    greedy: tuple[str, "Node[M]"] | None = None

    def method(self, verb: str) -> M | None:
        return self.methods.get(verb) or self.methods.get("ANY")


def build_tree(resources: list[tuple[str, dict[str, M]]]) -> Node[M]:
    """The tree of `(path, methods)` resources, e.g. ("/requests/{id}", {"GET": ...})."""
    root: Node[M] = Node("/")
    for path, methods in sorted(resources, key=lambda r: r[0].count("/")):
        node = root
        parts = [p for p in path.split("/") if p]
        for i, part in enumerate(parts):
            sub_path = "/" + "/".join(parts[: i + 1])
            if part.startswith("{") and part.endswith("+}"):
                if node.greedy is None:
                    node.greedy = (part[1:-2], Node(sub_path))
                node = node.greedy[1]
            elif part.startswith("{") and part.endswith("}"):
                if node.param is None:
                    node.param = (part[1:-1], Node(sub_path))
                node = node.param[1]
            else:
                node = node.literals.setdefault(part, Node(sub_path))
        node.methods.update(methods)
    return root


@dataclass(frozen=True)
class Match(Generic[M]):
    resource_path: str
    method: M
    path_params: dict[str, str]


def match(root: Node[M], verb: str, segments: list[str]) -> Match[M] | None:
    """The resource and method serving `verb` on the path `segments` (each already URL-decoded,
    empty ones dropped), or None (API Gateway then answers 403)."""
    exact = _walk(root, segments, 0, {})
    if exact is not None:
        node, params = exact
        method = node.method(verb)
        if method is not None:
            return Match(node.path, method, params)
    fallback = _greedy_fallback(root, verb, segments, 0, {})
    if fallback is not None:
        node, params = fallback
        return Match(node.path, node.method(verb), params)  # type: ignore[arg-type]
    return None


def _walk(node: Node[M], segments: list[str], i: int, params: dict[str, str]):
    if i == len(segments):
        return node, params
    segment = segments[i]
    child = node.literals.get(segment)
    if child is not None:
        found = _walk(child, segments, i + 1, params)
        if found is not None:
            return found
    if node.param is not None:
        name, child = node.param
        found = _walk(child, segments, i + 1, {**params, name: segment})
        if found is not None:
            return found
    if node.greedy is not None:
        name, child = node.greedy
        return child, {**params, name: "/".join(segments[i:])}
    return None


def _greedy_fallback(node: Node[M], verb: str, segments: list[str], i: int, params: dict[str, str]):
    """The deepest `{proxy+}` serving `verb` whose prefix matches (it takes at least one segment)."""
    if i >= len(segments):
        return None
    best = None
    segment = segments[i]
    child = node.literals.get(segment)
    if child is not None:
        best = _greedy_fallback(child, verb, segments, i + 1, params)
    if best is None and node.param is not None:
        name, child = node.param
        best = _greedy_fallback(child, verb, segments, i + 1, {**params, name: segment})
    if best is None and node.greedy is not None and node.greedy[1].method(verb) is not None:
        name, child = node.greedy
        best = child, {**params, name: "/".join(segments[i:])}
    return best
