"""Issue #2 — errors: every failure is an RFC 9457 application/problem+json body with a stable
code, a localised title and the request id; malformed or oversized input is refused without
taking the server down, and a refused request changes nothing in the database."""

import json
import socket
import threading
import time

import pytest

from conftest import SLOW, assert_problem, parse_raw_response, sql_exec

WRITES = "/api/v1/diagnostics/writes"
ECHO = "/api/v1/diagnostics/echo"
JSON = {"Content-Type": "application/json"}
MIB = 1024 * 1024


def test_unknown_route_is_404_route_not_found(server):
    for path in ["/api/v1/nope", "/api/v1/diagnostics/writes/1/extra", "/nope", "/healthz/",
                 "/api/v2/healthz"]:
        assert_problem(server.get(path), 404, "route_not_found")


def test_wrong_method_is_405_with_allow(server):
    cases = [("DELETE", "/healthz", {"GET"}), ("POST", "/healthz", {"GET"}),
             ("GET", WRITES, {"POST"}), ("PUT", WRITES + "/1", {"GET"}),
             ("GET", ECHO, {"POST"})]
    for method, path, allowed in cases:
        r = server.request(method, path)
        assert_problem(r, 405, "method_not_allowed")
        allow = {m.strip() for m in (r.header("Allow") or "").split(",") if m.strip()}
        assert allowed <= allow, (method, path, r.header("Allow"))
        assert method not in allow, (method, path, r.header("Allow"))


def test_unknown_method_is_405_or_400_never_500(server):
    r = server.request("BREW", "/healthz")
    assert r.status in (400, 405, 501), r
    assert r.json()["request_id"] == r.header("X-Request-Id")


def test_invalid_json_is_400(server):
    for body in [b"{not json", b"", b'{"payload": "x"', b'{"payload": "x"}}', b"\"just a string"]:
        r = server.post(WRITES, body=body, headers=JSON)
        assert_problem(r, 400, "invalid_json", "body")


def test_deeply_nested_json_is_refused_not_crashing(server):
    body = b'{"a":' * 5000 + b"1" + b"}" * 5000
    r = server.post(ECHO, body=body, headers=JSON)
    assert r.status == 400, r
    assert r.json()["code"] == "invalid_json"
    assert server.get("/healthz").status == 200


def test_invalid_utf8_is_400(server):
    r = server.post(WRITES, body=b'{"payload":"\xff\xfe"}', headers=JSON)
    assert_problem(r, 400, "invalid_utf8", "body")
    # An overlong encoding and a lone surrogate are invalid UTF-8 too.
    for bad in [b'{"payload":"\xc0\xaf"}', b'{"payload":"\xed\xa0\x80"}']:
        assert_problem(server.post(WRITES, body=bad, headers=JSON), 400, "invalid_utf8", "body")


def test_wrong_content_type_is_415(server):
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; b=x"]:
        r = server.post(ECHO, body=b'{"a":1}', headers={"Content-Type": ct})
        assert_problem(r, 415, "unsupported_media_type")
    r = server.post(ECHO, body=b'{"a":1}')  # no Content-Type at all
    assert_problem(r, 415, "unsupported_media_type")
    # application/json with parameters and +json types are fine.
    for ct in ["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"]:
        r = server.post(ECHO, body=b'{"a":1}', headers={"Content-Type": ct})
        assert r.status == 200 and r.json() == {"a": 1}, (ct, r)


@pytest.mark.parametrize("body", [{}, {"payload": 42}, {"payload": ""}, {"payload": None},
                                  {"payload": ["x"]}, {"payload": {"a": 1}},
                                  {"payload": "x" * 4001}, {"payload": "bell\x07"}])
def test_validation_failed_names_the_field(server, body):
    r = server.post(WRITES, json_body=body)
    b = assert_problem(r, 422, "validation_failed", "body.payload")
    assert b["detail"], b


def test_body_not_an_object_is_422(server):
    for body in [[], 1, "s", None]:
        r = server.post(WRITES, json_body=body) if body is not None else \
            server.post(WRITES, body=b"null", headers=JSON)
        assert_problem(r, 422, "validation_failed", "body")


def test_payload_at_max_length_is_accepted(server):
    payload = "字" * 4000  # 4000 characters (12000 bytes): the limit counts characters
    r = server.write(payload)
    assert r.status == 201, r
    assert server.get(r.header("Location")).json()["payload"] == payload


def _read_response(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if parse_raw_response(data):
                break
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def test_declared_oversize_body_is_413(server):
    """Content-Length over 1 MiB is refused on the header alone, before any body byte."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5 * SLOW)
    try:
        s.sendall(b"POST /api/v1/diagnostics/writes HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (MIB + 1))
        data = _read_response(s, 5 * SLOW)
    finally:
        s.close()
    r = parse_raw_response(data)
    assert r is not None, data
    assert_problem(r, 413, "payload_too_large")


def _send_while_reading(port, head, body, chunked=False):
    """Sends head+body from a thread while this thread reads the answer (the server may answer
    and close before the whole body is sent)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)

    def send():
        try:
            s.sendall(head)
            step = 64 * 1024
            for i in range(0, len(body), step):
                piece = body[i:i + step]
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError:
            pass

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        data = _read_response(s, 10 * SLOW)
    finally:
        t.join(10 * SLOW)
        s.close()
    return data


def test_sent_oversize_body_is_413(server):
    payload = json.dumps({"payload": "x" * (MIB + 10)}).encode()
    head = (b"POST /api/v1/diagnostics/writes HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(payload))
    r = parse_raw_response(_send_while_reading(server.port, head, payload))
    assert r is not None
    assert_problem(r, 413, "payload_too_large")


def test_chunked_oversize_body_is_413(server):
    payload = json.dumps({"payload": "x" * (MIB + 10)}).encode()
    head = (b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    r = parse_raw_response(_send_while_reading(server.port, head, payload, chunked=True))
    assert r is not None
    assert_problem(r, 413, "payload_too_large")


def test_body_of_exactly_the_limit_is_accepted(server):
    prefix, suffix = b'{"k":"', b'"}'
    body = prefix + b"x" * (MIB - len(prefix) - len(suffix)) + suffix
    assert len(body) == MIB
    r = server.post(ECHO, body=body, headers=JSON)
    assert r.status == 200, r
    assert len(r.json()["k"]) == MIB - 8


def test_oversize_refusal_echoes_client_request_id(server):
    """The header was read, so a valid client X-Request-Id is known and must be echoed, like on
    every other response (conventions: echoed when the client sends a valid one)."""
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5 * SLOW)
    try:
        s.sendall(b"POST /api/v1/diagnostics/writes HTTP/1.1\r\nHost: x\r\nX-Request-Id: big-1\r\n"
                  b"Accept-Language: en\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (2 * MIB))
        r = parse_raw_response(_read_response(s, 5 * SLOW))
    finally:
        s.close()
    assert r is not None
    body = assert_problem(r, 413, "payload_too_large")
    assert r.header("X-Request-Id") == "big-1", r.headers.pairs
    assert body["title"] == "The request body is too large", body


def test_header_of_64k_is_431(server):
    r = server.get("/healthz", headers={"X-Big": "a" * (64 * 1024)})
    assert_problem(r, 431, "header_too_large")
    assert server.get("/healthz").status == 200


def test_header_below_the_limit_is_accepted(server):
    """server.header_limit_bytes defaults to 16 KiB: a 12 KiB header (a big cookie, say) must be
    served, not refused."""
    r = server.get("/healthz", headers={"Cookie": "c=" + "a" * (12 * 1024)})
    assert r.status == 200, r


MALFORMED = [
    b"GARBAGE\r\n\r\n",
    b"GET /healthz HTTP/9.9\r\n\r\n",
    b"GET /healthz HTTP/1.1 extra\r\n\r\n",
    b"GET\r\n\r\n",
    b"\x00\x01\x02\x03\r\n\r\n",
    b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nNo colon here\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nBad Name: x\r\n\r\n",
    b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
    b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
    b"Content-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
    b"GET /\xff\xfe HTTP/1.1\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nX: \x01\x02\r\n\r\n",
    b"\r\n\r\n\r\n\r\n",
]


@pytest.mark.parametrize("data", MALFORMED, ids=[repr(m[:24]) for m in MALFORMED])
def test_malformed_request_is_400_or_closed_never_a_crash(server, data):
    out = server.raw(data, timeout=5)
    if out:
        r = parse_raw_response(out)
        assert r is not None, out[:500]
        assert r.status in (400, 404), out[:500]  # "GET /\xff\xfe" may be a plain 404
        if r.status == 400:
            assert_problem(r, 400, r.json()["code"])
            assert r.json()["code"] in ("bad_request", "invalid_utf8"), r
    assert server.alive(), "the server died"
    assert server.get("/healthz").status == 200


def test_half_request_then_close_does_not_hurt(server):
    for data in [b"GET /heal", b"POST /api/v1/diagnostics/writes HTTP/1.1\r\nContent-Length: 50\r\n"
                 b"Content-Type: application/json\r\n\r\n{\"payl"]:
        s = socket.create_connection(("127.0.0.1", server.port))
        s.sendall(data)
        s.close()
    time.sleep(0.1)
    assert server.alive()
    assert server.get("/healthz").status == 200


def test_accept_language(server):
    en = assert_problem(server.get("/api/v1/nope", headers={"Accept-Language": "en"}), 404,
                        "route_not_found")
    assert en["title"] == "No such endpoint", en
    en_us = server.get("/api/v1/nope", headers={"Accept-Language": "en-US,en;q=0.9"}).json()
    assert en_us["title"] == "No such endpoint", en_us
    zh = assert_problem(server.get("/api/v1/nope"), 404, "route_not_found")
    assert zh["title"] == "接口不存在", zh
    zh2 = server.get("/api/v1/nope", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).json()
    assert zh2["title"] == "接口不存在", zh2
    # Validation errors too: the title follows the language, the code does not.
    v_en = server.post(WRITES, json_body={}, headers={"Accept-Language": "en"}).json()
    v_zh = server.post(WRITES, json_body={}).json()
    assert v_en["code"] == v_zh["code"] == "validation_failed"
    assert v_en["title"] == "The input failed validation" and v_zh["title"] == "输入未通过校验"


NASTY = [
    "'; DROP TABLE diagnostic_writes; --",
    "Robert'); DROP TABLE organizations;--",
    "\" OR 1=1 --",
    "x' OR '1'='1",
    "$1 $2 ? ?? %s %d {} \\ \\\\ \\x00 \\'",
    "中文 😀 é\ttab\nnewline\r\n",
    "<script>alert(1)</script>",
]


def test_sql_metacharacters_are_stored_verbatim(server):
    ids = []
    for p in NASTY:
        r = server.write(p)
        assert r.status == 201, r
        assert r.json()["payload"] == p
        assert r.header("Location") == f"{WRITES}/{r.json()['id']}"
        ids.append((r.json()["id"], p))
    for wid, p in ids:
        r = server.get(f"{WRITES}/{wid}")
        assert r.status == 200, r
        body = r.json()
        assert body["payload"] == p and body["id"] == wid, body
    # The table is still there and still takes writes.
    assert server.write("after").status == 201


def test_read_back_shape(server):
    r = server.write("shape")
    assert r.status == 201 and r.content_type.startswith("application/json"), r
    body = r.json()
    assert isinstance(body["id"], str) and body["id"].isdigit(), body  # ids are strings
    assert body["created_at"].endswith("Z") and "T" in body["created_at"], body
    got = server.get(f"{WRITES}/{body['id']}").json()
    assert got == body, (got, body)


@pytest.mark.parametrize("wid", ["999999999", "abc", "0", "-1", "1.5", "1e3", "%20",
                                 "99999999999999999999999", "1%00", "0x10"])
def test_missing_or_malformed_id_is_404(server, wid):
    r = server.get(f"{WRITES}/{wid}")
    assert_problem(r, 404, "not_found", "path.id")


def test_other_organisations_row_is_404(server):
    """A row of another organisation is never visible: 404 not_found, like a missing one."""
    sql_exec(server.db_url, "INSERT INTO organizations (code, name, created_at) "
                            "VALUES ('other-org', 'Other', 0)")
    org = sql_exec(server.db_url, "SELECT id FROM organizations WHERE code = 'other-org'")
    sql_exec(server.db_url, f"INSERT INTO diagnostic_writes (org_id, payload, created_at) "
                            f"VALUES ({int(org)}, 'secret of another org', 0)")
    wid = sql_exec(server.db_url, "SELECT MAX(id) FROM diagnostic_writes")
    r = server.get(f"{WRITES}/{int(wid)}")
    assert_problem(r, 404, "not_found")
    assert b"secret of another org" not in r.body
    # ...while our own rows stay readable.
    mine = server.write("mine").json()
    assert server.get(f"{WRITES}/{mine['id']}").status == 200


def test_refused_requests_change_nothing(server):
    before = server.write("before").json()
    bad = [
        lambda: server.post(WRITES, body=b"{nope", headers=JSON),
        lambda: server.post(WRITES, body=b'{"payload":"\xff\xfe"}', headers=JSON),
        lambda: server.post(WRITES, body=b'{"payload":"x"}', headers={"Content-Type": "text/plain"}),
        lambda: server.post(WRITES, json_body={}),
        lambda: server.post(WRITES, json_body={"payload": 7}),
        lambda: server.post(WRITES, json_body={"payload": ""}),
        lambda: server.post(WRITES, json_body={"payload": "y" * 4001}),
        lambda: server.request("PUT", WRITES, json_body={"payload": "x"}),
        lambda: server.request("DELETE", f"{WRITES}/{before['id']}"),
        lambda: server.request("PATCH", f"{WRITES}/{before['id']}", json_body={"payload": "z"}),
    ]
    for i, call in enumerate(bad):
        r = call()
        assert 400 <= r.status < 500, (i, r)
        assert r.json()["request_id"] == r.header("X-Request-Id")
    head = (b"POST /api/v1/diagnostics/writes HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n")
    big = json.dumps({"payload": "x" * (MIB + 1)}).encode()
    server.raw(head % len(big))
    # Nothing was written: the next id follows directly, the earlier row is untouched.
    assert server.get(f"{WRITES}/{int(before['id']) + 1}").status == 404
    after = server.write("after").json()
    assert int(after["id"]) == int(before["id"]) + 1, (before, after)
    assert server.get(f"{WRITES}/{before['id']}").json() == before


def test_upload_routes_take_bodies_past_the_json_limit(server):
    """Imports and attachments (RouteDoc upload) read bodies up to server.max_upload_bytes
    (32 MiB by default): a 2 MiB file reaches the handler (here: 401, no credentials), while a
    declared 32 MiB + 1 is refused on the header and an ordinary route still stops at 1 MiB."""
    body = "编码,名称\n".encode() + b"D1,x\n" * (2 * MIB // 5)
    head = (b"POST /api/v1/departments/import HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n" % len(body))
    r = parse_raw_response(_send_while_reading(server.port, head, body))
    assert r is not None
    assert_problem(r, 401, "unauthorized")
    chunked = (b"POST /api/v1/departments/import HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n")
    r = parse_raw_response(_send_while_reading(server.port, chunked, body, chunked=True))
    assert r is not None
    assert_problem(r, 401, "unauthorized")
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5 * SLOW)
    try:
        s.sendall(b"POST /api/v1/departments/import HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n" % (32 * MIB + 1))
        r = parse_raw_response(_read_response(s, 5 * SLOW))
    finally:
        s.close()
    assert r is not None
    assert_problem(r, 413, "payload_too_large")
    head = (b"POST /api/v1/departments HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
    r = parse_raw_response(_send_while_reading(server.port, head, body))
    assert r is not None
    assert_problem(r, 413, "payload_too_large")
