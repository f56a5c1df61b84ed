"""Issue #2 — TLS: with server.tls_enabled the server speaks HTTPS with the configured
certificate, sends Strict-Transport-Security, and a plain-HTTP or silent client cannot hurt it."""

import shutil
import socket
import ssl
import subprocess
import time

import pytest

from conftest import SLOW


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("the openssl command is not installed")
    d = tmp_path_factory.mktemp("tls")
    key, crt = d / "key.pem", d / "cert.pem"
    out = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(crt), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return crt, key


@pytest.fixture
def tls_server(make_server, cert):
    crt, key = cert
    return make_server(tls=True, sets={"server.tls_enabled": "true",
                                       "server.tls_cert_file": str(crt),
                                       "server.tls_key_file": str(key),
                                       "server.header_timeout_ms": 1000})


def test_https_healthz_with_hsts(tls_server):
    r = tls_server.get("/healthz")
    assert r.status == 200, r
    assert r.json() == {"status": "ok"}
    hsts = r.header("Strict-Transport-Security") or ""
    assert hsts.startswith("max-age="), r.headers
    assert int(hsts.split("=")[1].split(";")[0]) >= 86400, hsts
    # Errors carry it too.
    assert tls_server.get("/api/v1/nope").header("Strict-Transport-Security"), "no HSTS on 404"


def test_https_serves_the_configured_certificate(tls_server, cert):
    crt, _ = cert
    ctx = ssl.create_default_context(cafile=str(crt))  # verified against our own certificate
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10 * SLOW) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3"), s.version()
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
    assert data.startswith(b"HTTP/1.1 200"), data[:200]


def test_https_keep_alive_and_writes(tls_server):
    conn = tls_server.connection()
    try:
        for i in range(3):
            r = tls_server.write(f"tls-{i}", conn=conn)
            assert r.status == 201, r
            got = tls_server.get(r.header("Location"), conn=conn)
            assert got.json()["payload"] == f"tls-{i}"
    finally:
        conn.close()


def test_plain_http_to_the_tls_port_is_harmless(tls_server):
    s = socket.create_connection(("127.0.0.1", tls_server.port), timeout=5 * SLOW)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    finally:
        s.close()
    assert b'{"status":"ok"}' not in data, "answered plain HTTP on the TLS port"
    assert tls_server.get("/healthz").status == 200


def test_silent_client_is_dropped_at_the_handshake_deadline(tls_server):
    s = socket.create_connection(("127.0.0.1", tls_server.port))
    t0 = time.monotonic()
    s.settimeout(10 * SLOW)
    try:
        closed = s.recv(1) == b""
    except ConnectionResetError:
        closed = True
    except socket.timeout:
        closed = False
    finally:
        s.close()
    assert closed and time.monotonic() - t0 <= 3 * SLOW, "silent TLS client was not dropped"
    assert tls_server.get("/healthz").status == 200
