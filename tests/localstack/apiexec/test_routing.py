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


NESTED = routing.build_tree([
    ("/{proxy+}", {"ANY": "root-any"}),
    ("/a/{proxy+}", {"GET": "a-get"}),
    ("/a/b/{proxy+}", {"POST": "ab-post"}),
    ("/a/{id}/c", {"PUT": "a-id-c-put"}),
    ("/a/{id}/c/{rest+}", {"PATCH": "a-id-c-patch"}),
])


def _nested(verb, path):
    found = routing.match(NESTED, verb, [s for s in path.split("/") if s])
    return found and (found.method, found.resource_path, found.path_params)


def test_a1_nested_proxies_the_deepest_serving_the_verb_wins():
    assert _nested("POST", "/a/b/x/y") == ("ab-post", "/a/b/{proxy+}", {"proxy": "x/y"})
    # /a/b/{proxy+} matches the path but serves no GET: the next proxy out that does takes it
    assert _nested("GET", "/a/b/x/y") == ("a-get", "/a/{proxy+}", {"proxy": "b/x/y"})
    assert _nested("DELETE", "/a/b/x") == ("root-any", "/{proxy+}", {"proxy": "a/b/x"})


def test_a1_a_fallback_proxy_below_a_path_parameter_keeps_the_parameter():
    assert _nested("PUT", "/a/9/c") == ("a-id-c-put", "/a/{id}/c", {"id": "9"})
    assert _nested("PATCH", "/a/9/c/d/e") == ("a-id-c-patch", "/a/{id}/c/{rest+}", {"id": "9", "rest": "d/e"})
    # /a/{id}/c serves PUT only; a PATCH for it falls back through {id} to a proxy serving PATCH? none: root ANY
    assert _nested("PATCH", "/a/9/c") == ("root-any", "/{proxy+}", {"proxy": "a/9/c"})
    # a GET below {id} falls back to the /a/{proxy+} that serves GET, whole rest as its value
    assert _nested("GET", "/a/9/c/d") == ("a-get", "/a/{proxy+}", {"proxy": "9/c/d"})


def test_a1_fallback_reaches_a_proxy_under_a_parameter():
    tree = routing.build_tree([("/u/{id}/x", {"GET": "x-get"}), ("/u/{id}/{proxy+}", {"DELETE": "user-delete"})])
    found = routing.match(tree, "DELETE", ["u", "7", "x"])
    assert (found.method, found.resource_path, found.path_params) == (
        "user-delete", "/u/{id}/{proxy+}", {"id": "7", "proxy": "x"})
