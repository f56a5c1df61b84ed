"""Issue #2 — the OpenAPI document (GET /api/v1/openapi.json) is the full, true description of
the API: every documented operation exists, every route the server answers is documented, and
every operation carries an operationId, a summary and the problem+json default response."""

import json
import re

import pytest

KNOWN_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/diagnostics/echo"),
    ("POST", "/api/v1/diagnostics/writes"),
    ("GET", "/api/v1/diagnostics/writes/{id}"),
}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def doc(server):
    r = server.get("/api/v1/openapi.json")
    assert r.status == 200, r
    assert r.content_type.startswith("application/json"), r
    return r.json()


def _operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def test_document_header(doc):
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["paths"], "no paths"
    assert "Problem" in doc["components"]["schemas"]


def test_every_operation_is_described(doc):
    seen_ids = set()
    for path, method, op in _operations(doc):
        where = f"{method.upper()} {path}"
        assert op.get("operationId"), where
        assert op["operationId"] not in seen_ids, f"duplicate operationId at {where}"
        seen_ids.add(op["operationId"])
        assert op.get("summary"), where
        default = op["responses"].get("default")
        assert default, f"{where} has no default (problem) response"
        schema = default["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}, where
        assert any(re.fullmatch(r"[23]\d\d", k) for k in op["responses"]), where
        params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert params == set(re.findall(r"\{([^}]+)\}", path)), where


def test_every_ref_resolves(doc):
    refs = re.findall(r'"\$ref":\s*"([^"]+)"', json.dumps(doc))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node = doc
        for part in ref[2:].split("/"):
            assert part in node, f"dangling $ref {ref}"
            node = node[part]


def test_every_documented_operation_exists(server, doc):
    for path, method, op in _operations(doc):
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        kw = {}
        if "requestBody" in op:
            kw = {"body": b"{}", "headers": {"Content-Type": "application/json"}}
        r = server.request(method.upper(), concrete, **kw)
        if r.content_type.startswith("application/problem+json"):
            code = r.json()["code"]
            assert code not in ("route_not_found", "method_not_allowed"), \
                f"documented {method.upper()} {path} answers {r.status} {code}"
        assert r.status < 500, (method, path, r)


def test_every_served_route_is_documented(server, doc):
    # Exercise the documented operations (see above) and the known ones, then read every route
    # the server has counted from /metrics.
    for method, path in KNOWN_ROUTES:
        server.request(method, re.sub(r"\{[^}]+\}", "1", path), body=b"{}",
                       headers={"Content-Type": "application/json"})
    for path, method, op in _operations(doc):
        server.request(method.upper(), re.sub(r"\{[^}]+\}", "1", path))
    text = server.metrics()
    labels = set(re.findall(r'route="([^"]+)"', text)) - {"unmatched"}
    served = set()
    for label in labels:
        method, _, path = label.partition(" ")
        served.add((method, path))
    assert KNOWN_ROUTES <= served, KNOWN_ROUTES - served
    documented = {(m.upper(), p) for p, m, _ in _operations(doc)}
    missing = (served | KNOWN_ROUTES) - documented
    assert not missing, f"routes served but not in the OpenAPI document: {sorted(missing)}"


def test_request_schemas_match_the_server(server, doc):
    """The documented body of POST /api/v1/diagnostics/writes says what the server checks."""
    op = doc["paths"]["/api/v1/diagnostics/writes"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert "payload" in schema.get("required", []), schema
    assert schema["properties"]["payload"]["type"] == "string"
    limit = schema["properties"]["payload"].get("maxLength")
    assert limit, schema
    ok = server.post("/api/v1/diagnostics/writes", json_body={"payload": "x" * limit})
    assert ok.status == int(next(k for k in op["responses"] if k.startswith("2"))), ok
    too_long = server.post("/api/v1/diagnostics/writes", json_body={"payload": "x" * (limit + 1)})
    assert too_long.status == 422, too_long


def test_problem_codes_are_listed(server, doc):
    codes = set(doc["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    for c in ["route_not_found", "method_not_allowed", "validation_failed", "not_found",
              "invalid_json", "invalid_utf8", "unsupported_media_type", "payload_too_large",
              "header_too_large", "bad_request", "internal_error"]:
        assert c in codes, c
    assert server.get("/api/v1/nope").json()["code"] in codes
