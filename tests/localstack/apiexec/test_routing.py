"""Resource and method matching (A1): literals over {param} over {proxy+}, ANY, fallback to a greedy proxy."""
from __future__ import annotations

from streamlab.localstack.apiexec import routing

TREE = routing.build_tree([
    ("/", {}),
    ("/requests", {"POST": "post-requests"}),
    ("/requests/{id}", {"GET": "get-one"}),
    ("/requests/latest", {"GET": "get-latest"}),
    ("/files/{proxy+}", {"ANY": "files"}),
    ("/{proxy+}", {"DELETE": "catch-all-delete"}),
])


def _match(verb, path):
    return routing.match(TREE, verb, [s for s in path.split("/") if s])


def test_a1_literal_wins_over_param():
    assert _match("GET", "/requests/latest").method == "get-latest"
    found = _match("GET", "/requests/abc")
    assert (found.method, found.path_params, found.resource_path) == ("get-one", {"id": "abc"}, "/requests/{id}")


def test_a1_greedy_proxy_takes_the_rest_and_any_serves_every_verb():
    found = _match("PUT", "/files/a/b/c.txt")
    assert (found.method, found.path_params) == ("files", {"proxy": "a/b/c.txt"})


def test_a1_unknown_path_or_verb_has_no_match():
    assert _match("GET", "/nothing/here") is None
    assert _match("PUT", "/requests") is None
    assert _match("GET", "/") is None


def test_a1_resource_without_the_verb_falls_through_to_a_proxy_that_serves_it():
    found = _match("DELETE", "/requests/abc")
    assert (found.method, found.path_params) == ("catch-all-delete", {"proxy": "requests/abc"})


def test_a1_path_parameter_keeps_a_decoded_slash():
    found = routing.match(TREE, "GET", ["requests", "a/b"])
    assert found.path_params == {"id": "a/b"}
