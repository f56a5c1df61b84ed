"""Issue #2 — connection handling: a client that trickles its header is dropped at the header
deadline without stalling anyone else, thousands of idle connections cost little and do not
block new clients, and idle keep-alive connections are closed after server.idle_timeout_ms."""

import http.client
import re
import resource
import select
import socket
import threading
import time

import pytest

from conftest import SANITIZED, SLOW, wait_until


def _open_connections(server) -> int:
    m = re.search(r"^custos_http_open_connections (\d+)$", server.metrics(), re.M)
    assert m, "custos_http_open_connections missing from /metrics"
    return int(m.group(1))


def test_slow_header_client_is_dropped_and_others_are_served(make_server):
    server = make_server(sets={"server.header_timeout_ms": 1000})
    result = {}

    def slow_client():
        s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        start = time.monotonic()
        received = b""
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
            header = b"X-Slow: " + b"a" * 200
            i = 0
            while time.monotonic() - start < 15 * SLOW:
                readable, _, _ = select.select([s], [], [], 0.3)
                if readable:
                    try:
                        chunk = s.recv(4096)
                    except ConnectionResetError:
                        break
                    if not chunk:
                        break
                    received += chunk
                    continue
                try:
                    s.sendall(header[i % len(header):i % len(header) + 1])
                except (BrokenPipeError, ConnectionResetError):
                    break
                i += 1
            result["elapsed"] = time.monotonic() - start
            result["received"] = received
        finally:
            s.close()

    t = threading.Thread(target=slow_client)
    t.start()
    # Meanwhile, everyone else is served promptly.
    latencies = []
    while t.is_alive():
        t0 = time.monotonic()
        assert server.get("/healthz").status == 200
        latencies.append(time.monotonic() - t0)
        time.sleep(0.1)
    t.join()
    assert "elapsed" in result, result
    assert result["elapsed"] <= 3.0 * SLOW, f"slow client kept for {result['elapsed']:.2f}s"
    assert result["elapsed"] >= 0.9, f"dropped too early ({result['elapsed']:.2f}s)"
    # It was never served: at most a 408 before the close.
    if result["received"]:
        assert result["received"].startswith(b"HTTP/1.1 408"), result["received"][:200]
    assert latencies and max(latencies) < 0.5 * SLOW, latencies


def test_slow_body_client_is_dropped(make_server):
    """The body has its own deadline (server.body_timeout_ms)."""
    server = make_server(sets={"server.body_timeout_ms": 1000})
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10 * SLOW)
    start = time.monotonic()
    try:
        s.sendall(b"POST /api/v1/diagnostics/echo HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    finally:
        s.close()
    elapsed = time.monotonic() - start
    assert elapsed <= 3.0 * SLOW, elapsed
    assert not data or data.startswith(b"HTTP/1.1 408"), data[:200]
    assert server.get("/healthz").status == 200


@pytest.mark.skipif(SANITIZED, reason="2,000 connections are too slow under ASan; the other "
                                      "connection tests still run")
def test_two_thousand_idle_connections(make_server):
    want = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = want + 512
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {need}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    server = make_server()
    rss_before = server.rss_kib()
    socks = []
    try:
        for _ in range(want):
            s = socket.socket()
            s.settimeout(10)
            s.connect(("127.0.0.1", server.port))
            socks.append(s)
        # The server holds every one of them (not just the kernel's backlog).
        wait_until(lambda: _open_connections(server) >= want, 15 * SLOW, 0.2,
                   f"{want} open connections in /metrics")
        # A new client is still served quickly.
        for _ in range(5):
            t0 = time.monotonic()
            r = server.get("/healthz")
            assert r.status == 200
            assert time.monotonic() - t0 < 1.0 * SLOW
        rss = server.rss_kib()
        assert rss < 300 * 1024, f"RSS {rss // 1024} MiB with {want} idle connections"
        assert rss - rss_before < 200 * 1024, (rss_before, rss)
        # None of them was dropped early.
        dropped = 0
        for s in socks[:200]:
            s.setblocking(False)
            try:
                if s.recv(1) == b"":
                    dropped += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                dropped += 1
        assert dropped == 0, f"{dropped} idle connections closed before idle_timeout_ms"
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    wait_until(lambda: _open_connections(server) <= 5, 15 * SLOW, 0.2,
               "connections released after the clients closed")


def _closed_within(sock, timeout):
    """Seconds until the server closes sock (EOF or reset), or None."""
    start = time.monotonic()
    sock.settimeout(timeout)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return time.monotonic() - start
    except ConnectionResetError:
        return time.monotonic() - start
    except socket.timeout:
        return None


def test_idle_keep_alive_connection_is_closed(make_server):
    server = make_server(sets={"server.idle_timeout_ms": 500})
    conn = server.connection()
    try:
        assert server.get("/healthz", conn=conn).status == 200
        # Kept alive for a short while...
        time.sleep(0.2)
        assert server.get("/healthz", conn=conn).status == 200
        sock = conn.sock
        elapsed = _closed_within(sock, 5 * SLOW)
    finally:
        conn.close()
    assert elapsed is not None, "idle keep-alive connection was never closed"
    assert 0.3 <= elapsed <= 2.0 * SLOW, elapsed


def test_connection_that_never_sends_is_closed(make_server):
    server = make_server(sets={"server.idle_timeout_ms": 500, "server.header_timeout_ms": 500})
    s = socket.create_connection(("127.0.0.1", server.port))
    try:
        elapsed = _closed_within(s, 5 * SLOW)
    finally:
        s.close()
    assert elapsed is not None and elapsed <= 2.0 * SLOW, elapsed


def test_max_connections_is_enforced(make_server):
    server = make_server(sets={"server.max_connections": 5})
    # Connections of earlier requests are released asynchronously: wait until only the one
    # asking is open.
    wait_until(lambda: _open_connections(server) == 1, 5 * SLOW, 0.05, "a quiet server")
    time.sleep(0.1)
    socks = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    try:
        time.sleep(0.3 * SLOW)  # let the server accept all five
        for s in socks:  # all five are held open
            s.setblocking(False)
            try:
                assert s.recv(1) != b"", "the server closed one of the first five connections"
            except BlockingIOError:
                pass
        extra = socket.create_connection(("127.0.0.1", server.port), timeout=5 * SLOW)
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = extra.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
            assert b"200 OK" not in data, "a connection over server.max_connections was served"
        finally:
            extra.close()
    finally:
        for s in socks:
            s.close()
    # Below the limit again: served.
    def served():
        try:
            return server.get("/healthz", timeout=2).status == 200
        except (OSError, http.client.HTTPException):
            return False

    wait_until(served, 5 * SLOW, 0.1, "service again")
