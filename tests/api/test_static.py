"""Issue #2 — the console's static files (server.static_dir): content types, ETag and 304,
pre-compressed siblings, the single-page-app fallback, API paths never answered with the
console, and no path ever escaping the directory."""

import gzip
import pathlib

import pytest

from conftest import Server, assert_problem, fresh_db_url, parse_raw_response

INDEX = b"<!doctype html><html><head><title>Custos</title></head><body>console</body></html>\n"
APP_JS = b"export function hello() { return 'custos console'; }\n" * 40
SECRET = b"TOP-SECRET-OUTSIDE-THE-STATIC-DIR\n"


@pytest.fixture(scope="module")
def static_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("static")
    root = tmp / "www" / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "app.js").write_bytes(APP_JS)
    (root / "assets" / "app.js.gz").write_bytes(gzip.compress(APP_JS))
    (root / "assets" / "style.css").write_bytes(b"body{margin:0}\n")
    # Canaries next to and above the static dir: never served.
    (tmp / "www" / "secret.txt").write_bytes(SECRET)
    (tmp / "secret.txt").write_bytes(SECRET)
    s = Server(tmp / "srv", fresh_db_url(tmp / "db"), sets={"server.static_dir": str(root)})
    s.start()
    yield s
    s.stop_and_check()


def _etag(r):
    etag = r.header("ETag")
    assert etag, r.headers
    return etag


def test_index(static_server):
    for path in ["/", "/index.html"]:
        r = static_server.get(path)
        assert r.status == 200, (path, r)
        assert r.content_type == "text/html; charset=utf-8", r.content_type
        assert r.body == INDEX
        _etag(r)
        assert r.header("X-Content-Type-Options") == "nosniff"


def test_javascript_asset(static_server):
    r = static_server.get("/assets/app.js")
    assert r.status == 200, r
    assert r.content_type.split(";")[0] == "text/javascript", r.content_type
    assert r.body == APP_JS
    assert r.header("Content-Encoding") is None
    assert "immutable" in (r.header("Cache-Control") or ""), r.headers
    r = static_server.get("/assets/style.css")
    assert r.status == 200 and r.content_type.startswith("text/css"), r


def test_etag_and_if_none_match(static_server):
    for path in ["/", "/assets/app.js"]:
        etag = _etag(static_server.get(path))
        r = static_server.get(path, headers={"If-None-Match": etag})
        assert r.status == 304, (path, r)
        assert r.body == b""
        assert r.header("ETag") == etag
        # A different tag: the full answer.
        r = static_server.get(path, headers={"If-None-Match": '"0000000000000000"'})
        assert r.status == 200 and r.body


def test_304_keeps_the_connection_usable(static_server):
    conn = static_server.connection()
    try:
        etag = _etag(static_server.get("/assets/app.js", conn=conn))
        r = static_server.get("/assets/app.js", headers={"If-None-Match": etag}, conn=conn)
        assert r.status == 304
        r = static_server.get("/healthz", conn=conn)
        assert r.status == 200 and r.json() == {"status": "ok"}
    finally:
        conn.close()


def test_if_none_match_list(static_server):
    """If-None-Match is a list of entity tags (RFC 9110 §13.1.2): a list containing the current
    tag, or its weak form, means "not modified"."""
    etag = _etag(static_server.get("/assets/app.js"))
    for inm in [f'"aaaa", {etag}', f"{etag}, \"bbbb\"", f"W/{etag}"]:
        r = static_server.get("/assets/app.js", headers={"If-None-Match": inm})
        assert r.status == 304, (inm, r.status)


def test_gzip_sibling(static_server):
    r = static_server.get("/assets/app.js", headers={"Accept-Encoding": "gzip, deflate"})
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip", r.headers
    assert "Accept-Encoding" in (r.header("Vary") or ""), r.headers
    assert gzip.decompress(r.body) == APP_JS
    assert r.content_type.split(";")[0] == "text/javascript"
    # Refused with q=0, or not offered: the identity body.
    for ae in ["gzip;q=0", "identity", "br;q=0, gzip;q=0"]:
        r = static_server.get("/assets/app.js", headers={"Accept-Encoding": ae})
        assert r.header("Content-Encoding") is None and r.body == APP_JS, ae


def test_gzip_representation_has_its_own_etag(static_server):
    """A strong ETag names one representation (RFC 9110 §8.8.3): the gzip-coded body and the
    identity body are different representations, so they must not share a strong tag (a cache
    could otherwise revalidate one with the other)."""
    plain = _etag(static_server.get("/assets/app.js"))
    zipped = _etag(static_server.get("/assets/app.js", headers={"Accept-Encoding": "gzip"}))
    assert plain != zipped or plain.startswith("W/"), (plain, zipped)


def test_head_asset(static_server):
    r = static_server.request("HEAD", "/assets/app.js")
    assert r.status == 200 and r.body == b""
    assert r.header("Content-Length") == str(len(APP_JS)), r.headers


def test_spa_fallback(static_server):
    for path in ["/registry/customers", "/registry/customers/42", "/settings"]:
        r = static_server.get(path)
        assert r.status == 200, (path, r)
        assert r.body == INDEX, path
        assert r.content_type == "text/html; charset=utf-8"


def test_missing_asset_is_404(static_server):
    for path in ["/assets/missing.js", "/missing.css", "/assets/app.js.map"]:
        r = static_server.get(path)
        assert_problem(r, 404, "route_not_found")
        assert INDEX not in r.body


def test_api_paths_never_get_the_console(static_server):
    for path in ["/api/v1/unknown", "/api/v1/no-such-register/1", "/api", "/api/"]:
        r = static_server.get(path)
        assert_problem(r, 404, "route_not_found")
        assert INDEX not in r.body
    # API routes still work with the console on.
    assert static_server.get("/healthz").json() == {"status": "ok"}
    r = static_server.post("/api/v1/diagnostics/echo", json_body={"a": 1})
    assert r.status == 200 and r.json() == {"a": 1}


def test_writes_to_static_paths_are_not_served(static_server):
    r = static_server.post("/registry/customers", body=b"x", headers={"Content-Type": "text/plain"})
    assert r.status in (404, 405), r
    assert INDEX not in r.body


TRAVERSALS = [
    "/../etc/passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/assets/..%2f..%2fetc/passwd",
    "/assets/..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "/assets/../../../../etc/passwd",
    "/..%5c..%5c..%5cetc/passwd",
    "/%252e%252e/%252e%252e/etc/passwd",
    "/....//....//etc/passwd",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "//etc/passwd",
    "/etc/passwd%00.html",
    "/index.html%00",
    "/assets/app.js%00.png",
    "/%00/../etc/passwd",
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/assets/..%2f..%2fsecret.txt",
    "/assets/%2e%2e/%2e%2e/%2e%2e/secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_path_traversal_never_escapes(static_server, target):
    passwd = pathlib.Path("/etc/passwd").read_bytes()
    data = static_server.raw(b"GET " + target.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n")
    assert b"root:" not in data and passwd[:40] not in data, (target, data[:300])
    assert SECRET.strip() not in data, (target, data[:300])
    r = parse_raw_response(data)
    if r is not None:
        assert r.status in (200, 400, 404), (target, r)
        if r.status == 200:
            assert r.body in (INDEX, APP_JS), (target, r)  # at most a console file
    assert static_server.get("/healthz").status == 200
