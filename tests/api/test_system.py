"""Issue #2 — system endpoints and the request pipeline: liveness, readiness, Prometheus
metrics, request ids, the access log, security headers and keep-alive."""

import json
import re
import socket
import uuid

from conftest import ENGINE, SLOW, parse_raw_response

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_healthz(server):
    r = server.get("/healthz")
    assert r.status == 200, r
    assert r.content_type.startswith("application/json"), r
    assert r.json() == {"status": "ok"}


def test_head_healthz_has_length_but_no_body(server):
    r = server.request("HEAD", "/healthz")
    assert r.status == 200, r
    assert r.body == b""
    assert r.header("Content-Length") == str(len(b'{"status":"ok"}'))


def test_readyz_names_the_engine(server):
    r = server.get("/readyz")
    assert r.status == 200, r
    body = r.json()
    assert body["status"] == "ready", body
    assert body["database"] == {"sqlite": "sqlite", "postgres": "postgresql"}[ENGINE], body


def test_metrics_prometheus_text(server):
    for _ in range(3):
        assert server.get("/healthz").status == 200
    r = server.get("/metrics")
    assert r.status == 200, r
    assert r.content_type.startswith("text/plain"), r
    text = r.body.decode()
    m = re.search(r'^custos_http_requests_total\{route="GET /healthz",status="200"\} (\d+)$', text,
                  re.M)
    assert m, text[:2000]
    assert int(m.group(1)) >= 3
    assert "# TYPE custos_http_requests_total counter" in text
    assert "# TYPE custos_http_request_duration_seconds histogram" in text
    assert re.search(r'^custos_http_request_duration_seconds_bucket\{route="GET /healthz",'
                     r'le="[^"]+"\} \d+$', text, re.M), text[:2000]
    assert re.search(r'^custos_http_request_duration_seconds_bucket\{route="GET /healthz",'
                     r'le="\+Inf"\} \d+$', text, re.M), text[:2000]
    assert re.search(r"^custos_db_pool_connections \d+$", text, re.M), text
    # Every sample line is "name{labels} value" or "name value".
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfa]+$', line), line


def test_metrics_counter_increases(server):
    def count():
        text = server.metrics()
        m = re.search(r'^custos_http_requests_total\{route="GET /readyz",status="200"\} (\d+)$',
                      text, re.M)
        return int(m.group(1)) if m else 0

    before = count()
    for _ in range(5):
        assert server.get("/readyz").status == 200
    assert count() == before + 5


def test_metrics_count_errors_by_status(server):
    assert server.get("/api/v1/no-such-thing").status == 404
    text = server.metrics()
    assert re.search(r'^custos_http_requests_total\{route="[^"]+",status="404"\} [1-9]\d*$', text,
                     re.M), text


def test_request_id_generated_when_absent(server):
    a = server.get("/healthz").header("X-Request-Id")
    b = server.get("/healthz").header("X-Request-Id")
    assert a and HEX32.match(a), a
    assert b and HEX32.match(b), b
    assert a != b


def test_request_id_echoed_when_valid(server):
    for rid in ["abc-123", "A.b_c-9", "x" * 64]:
        r = server.get("/healthz", headers={"X-Request-Id": rid})
        assert r.header("X-Request-Id") == rid, (rid, r.header("X-Request-Id"))


def test_request_id_replaced_when_invalid(server):
    for rid in ["a" * 200, "x" * 65, "has spaces in it", "semi;colon", "quote\"d", "ünï"]:
        r = server.get("/healthz", headers={"X-Request-Id": rid.encode().decode("latin-1")})
        got = r.header("X-Request-Id")
        assert got != rid and HEX32.match(got or ""), (rid, got)


def test_request_id_in_error_body_matches_header(server):
    r = server.get("/api/v1/nope", headers={"X-Request-Id": "err-id-1"})
    assert r.status == 404
    assert r.header("X-Request-Id") == "err-id-1"
    assert r.json()["request_id"] == "err-id-1"


def test_request_id_in_access_log(server):
    rid = "log-" + uuid.uuid4().hex
    assert server.get("/healthz", headers={"X-Request-Id": rid}).status == 200
    line = server.wait_log(rid, timeout=5)
    rec = json.loads(line)
    assert rec["request_id"] == rid, rec
    assert rec["path"] == "/healthz", rec
    assert rec["status"] == 200, rec
    assert rec["method"] == "GET", rec


def test_log_lines_are_json(server):
    rid = "json-" + uuid.uuid4().hex
    server.get("/api/v1/nope", headers={"X-Request-Id": rid})
    server.wait_log(rid, timeout=5)
    lines = [l for l in server.log_text().splitlines() if l.strip()]
    assert lines
    for line in lines:
        rec = json.loads(line)  # every line is one JSON object
        assert {"ts", "level", "logger"} <= rec.keys(), rec
    app = [json.loads(l) for l in lines if "listening on" in l]
    assert app and app[0]["logger"] == "app" and "listening on" in app[0]["msg"], app


def test_security_headers(server):
    for path in ["/healthz", "/api/v1/nope"]:
        r = server.get(path)
        assert r.header("X-Content-Type-Options") == "nosniff", (path, r.headers)
        assert r.header("X-Frame-Options") == "DENY", (path, r.headers)
        assert r.header("Referrer-Policy") == "no-referrer", (path, r.headers)
        assert r.header("Cache-Control") == "no-store", (path, r.headers)
        # Plain HTTP: no HSTS (it is only meaningful over TLS).
        assert r.header("Strict-Transport-Security") is None, (path, r.headers)


def test_keep_alive_reuses_one_connection(server):
    conn = server.connection()
    try:
        server.get("/healthz", conn=conn)
        sock = conn.sock
        assert sock is not None
        for i in range(5):
            r = server.get("/healthz", conn=conn)
            assert r.status == 200
            assert (r.header("Connection") or "").lower() != "close", r.headers
            r = server.post("/api/v1/diagnostics/echo", json_body={"i": i}, conn=conn)
            assert r.status == 200 and r.json() == {"i": i}, r
            r = server.get("/api/v1/nope", conn=conn)  # an error keeps the connection too
            assert r.status == 404
            assert conn.sock is sock, "the server closed a keep-alive connection"
    finally:
        conn.close()


def test_pipelined_requests_on_one_connection(server):
    """Two requests in one write: both are answered, in order."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5 * SLOW)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-1\r\n\r\n"
                  b"GET /readyz HTTP/1.1\r\nHost: x\r\nX-Request-Id: pipe-2\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    first = parse_raw_response(data)
    assert first and first.status == 200 and first.header("X-Request-Id") == "pipe-1", data
    rest = data[data.find(b"\r\n\r\n") + 4 + len(first.body):]
    second = parse_raw_response(rest)
    assert second and second.status == 200 and second.header("X-Request-Id") == "pipe-2", data
    assert json.loads(second.body)["status"] == "ready"


def test_http10_request(server):
    data = server.raw(b"GET /healthz HTTP/1.0\r\n\r\n")
    r = parse_raw_response(data)
    assert r and r.status == 200 and r.body == b'{"status":"ok"}', data


def test_expect_100_continue(server):
    """RFC 9110 §10.1.1: a request with "Expect: 100-continue" and a body gets an immediate
    100 (Continue) (or a final answer) before the client sends the body; clients such as curl
    and HttpURLConnection otherwise stall or give up."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=2 * SLOW)
    try:
        s.sendall(b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 8\r\n\r\n")
        try:
            interim = s.recv(4096)
        except socket.timeout:
            interim = b""
        assert interim.startswith(b"HTTP/1.1 100"), f"no 100 Continue within 2 s: {interim[:200]!r}"
        s.sendall(b'{"a": 1}')
        data = interim[interim.find(b"\r\n\r\n") + 4:]
        s.settimeout(5 * SLOW)
        while parse_raw_response(data) is None:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        r = parse_raw_response(data)
        assert r is not None and r.status == 200 and json.loads(r.body) == {"a": 1}, data[:300]
    finally:
        s.close()


def test_query_string_is_not_part_of_the_route(server):
    r = server.get("/healthz?probe=1&x=%20")
    assert r.status == 200 and r.json() == {"status": "ok"}
