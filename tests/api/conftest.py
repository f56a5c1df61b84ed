"""Black-box API tests for Custos (issue #2): the real binary on a free port, spoken to over HTTP.

Environment:
  CUSTOS_BIN        the binary (default: <repo>/build/custos)
  TEST_ENGINE       sqlite (default) | postgres
  TEST_PG_URL       postgres only: URL of a throwaway cluster database (suite skipped when unset)
  TEST_PG_DIR       postgres only: the cluster dir, for `scripts/pg-temp.sh createdb DIR NAME`
  CUSTOS_SANITIZED  1 when the binary is an ASan/UBSan build: waits are stretched

Only the Python standard library is used besides pytest.
"""

from __future__ import annotations

import http.client
import json
import os
import pathlib
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CUSTOS_BIN = os.environ.get("CUSTOS_BIN") or str(REPO / "build" / "custos")
ENGINE = os.environ.get("TEST_ENGINE", "sqlite")
PG_URL = os.environ.get("TEST_PG_URL", "")
PG_DIR = os.environ.get("TEST_PG_DIR", "")
SANITIZED = os.environ.get("CUSTOS_SANITIZED") == "1"
# Every wait and latency bound is multiplied by this.
SLOW = 4.0 if SANITIZED else 1.0
PG_TEMP = REPO / "scripts" / "pg-temp.sh"

SKIP_REASON = ""
if ENGINE not in ("sqlite", "postgres"):
    raise RuntimeError(f"TEST_ENGINE must be sqlite or postgres, got {ENGINE!r}")
if ENGINE == "postgres" and not PG_URL:
    SKIP_REASON = ("TEST_ENGINE=postgres but TEST_PG_URL is not set: the PostgreSQL API suite "
                   "is skipped (start a cluster with scripts/pg-temp.sh start DIR and export "
                   "TEST_PG_URL and TEST_PG_DIR)")
    # pytest.skip(allow_module_level=True) cannot be used here: this conftest is loaded as an
    # initial conftest and pytest 7 aborts with an internal error (exit 1) instead of skipping.
    # Every collected test is marked skipped instead (pytest_collection_modifyitems below).
    print(f"custos api tests: {SKIP_REASON}", file=sys.stderr)


def pytest_collection_modifyitems(config, items):
    if SKIP_REASON:
        marker = pytest.mark.skip(reason=SKIP_REASON)
        for item in items:
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter):
    line = f"custos api tests: engine={ENGINE} binary={CUSTOS_BIN}"
    if SANITIZED:
        line += " (sanitized build: waits x%g)" % SLOW
    terminalreporter.write_line(line)
    if SKIP_REASON:
        terminalreporter.write_line(f"custos api tests SKIPPED: {SKIP_REASON}")


# --------------------------------------------------------------------------------------------
# Small helpers


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def child_env(extra: dict | None = None) -> dict:
    """The process environment without any CUSTOS_* variable (the server rejects unknown ones,
    and CTest sets CUSTOS_BIN / CUSTOS_SANITIZED for us), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOS_")}
    env.update(extra or {})
    return env


_db_counter = 0
_db_lock = threading.Lock()


def fresh_db_url(tmp_dir: pathlib.Path) -> str:
    """A database nobody else uses: a new SQLite file, or a new PostgreSQL database."""
    global _db_counter
    if ENGINE == "sqlite":
        tmp_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite://{tmp_dir}/custos.db"
    with _db_lock:
        _db_counter += 1
        name = f"api_{os.getpid()}_{_db_counter}_{uuid.uuid4().hex[:8]}"
    if PG_DIR:
        out = subprocess.run(["bash", str(PG_TEMP), "createdb", PG_DIR, name],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            pytest.fail(f"pg-temp.sh createdb failed: {out.stderr}")
        return out.stdout.strip().splitlines()[-1]
    # No cluster dir: create the database through TEST_PG_URL with psql.
    sql_exec(PG_URL, f"CREATE DATABASE {name}")
    base, _, rest = PG_URL.rpartition("/")
    query = rest[rest.find("?"):] if "?" in rest else ""
    return f"{base}/{name}{query}"


def sql_exec(db_url: str, sql: str) -> str:
    """Runs one SQL statement directly against the server's database (white-box set-up only,
    e.g. a row of another organisation). Returns its rows as "a|b" lines."""
    if db_url.startswith("sqlite://"):
        import sqlite3

        path = db_url[len("sqlite://"):]
        con = sqlite3.connect(path, timeout=10)
        try:
            rows = con.execute(sql).fetchall()
            con.commit()
        finally:
            con.close()
        return "\n".join("|".join(str(c) for c in r) for r in rows)
    psql = "/usr/lib/postgresql/15/bin/psql"
    if not os.path.exists(psql):
        pytest.skip("psql is not installed")
    out = subprocess.run([psql, db_url, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def privacy_key_file(db_url: str) -> str:
    """The privacy key of a test database (one per database, beside it for SQLite)."""
    if db_url.startswith("sqlite://"):
        return str(pathlib.Path(db_url[len("sqlite://"):]).parent / "privacy.key")
    name = db_url.rsplit("/", 1)[-1].split("?")[0]
    keys = pathlib.Path("/tmp/custos-test-keys")
    keys.mkdir(mode=0o700, exist_ok=True)
    return str(keys / f"{name}.key")


class Resp:
    """One HTTP response: status, headers (case-insensitive), raw body; .json() parses it."""

    def __init__(self, status: int, headers, body: bytes, reason: str = ""):
        self.status = status
        self.headers = headers
        self.body = body
        self.reason = reason

    def header(self, name: str, default=None):
        return self.headers.get(name, default)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "") or ""

    def __repr__(self):
        return f"<Resp {self.status} {self.content_type} {self.body[:300]!r}>"


class Headers:
    """Case-insensitive header map for raw-socket responses."""

    def __init__(self, pairs):
        self.pairs = pairs

    def get(self, name, default=None):
        for n, v in self.pairs:
            if n.lower() == name.lower():
                return v
        return default

    def __contains__(self, name):
        return self.get(name) is not None


def parse_raw_response(data: bytes) -> Resp | None:
    """Parses the first complete HTTP/1.1 response in data (Content-Length bodies only).
    Returns None when data holds no complete response."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3}) ?(.*)", head[0])
    if not m:
        return None
    pairs = []
    for line in head[1:]:
        n, _, v = line.partition(":")
        pairs.append((n.strip(), v.strip()))
    headers = Headers(pairs)
    length = int(headers.get("Content-Length", "0"))
    body = data[end + 4:end + 4 + length]
    if len(body) < length:
        return None
    return Resp(int(m.group(1)), headers, body, m.group(2))


def raw_exchange(port: int, data: bytes, timeout: float = 5.0, host="127.0.0.1",
                 until_response: bool = True) -> bytes:
    """Sends data on a new TCP connection and returns everything received until the server
    closes the connection, `timeout` passes without a byte or (until_response) one complete
    response has arrived."""
    s = socket.create_connection((host, port), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            if until_response and parse_raw_response(out) is not None:
                break
    finally:
        s.close()
    return out


def wait_until(pred, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what} (last: {last!r})")


# --------------------------------------------------------------------------------------------
# The server under test


class Server:
    """One `custos serve` process on a free port of 127.0.0.1."""

    def __init__(self, workdir: pathlib.Path, db_url: str, sets: dict | None = None,
                 tls: bool = False, env: dict | None = None, diagnostics: bool = True):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.db_url = db_url
        self.sets = dict(sets or {})
        self.tls = tls
        self.extra_env = dict(env or {})
        self.diagnostics = diagnostics
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_file = self.workdir / f"custos-{uuid.uuid4().hex[:6]}.log"
        self.stderr_file = self.workdir / (self.log_file.stem + ".stderr")
        self.stopped = False
        self._starting = False

    # -- life cycle

    def start(self, timeout: float = 20.0) -> "Server":
        last_error = ""
        for _attempt in range(3):
            self.port = free_port()
            args = [CUSTOS_BIN, "serve", "--listen", f"127.0.0.1:{self.port}", "--database",
                    self.db_url]
            # Every server of one database shares its privacy key, as a deployment does.
            sets = {"server.static_dir": "", "privacy.key_file": privacy_key_file(self.db_url)}
            sets.update(self.sets)
            for k, v in sets.items():
                args += ["--set", f"{k}={v}"]
            env = child_env({"CUSTOS_LOG_FILE": str(self.log_file)})
            if self.diagnostics:
                env["CUSTOS_DIAGNOSTICS_ENABLED"] = "true"
            env.update(self.extra_env)
            with open(self.stderr_file, "ab") as out:
                self.proc = subprocess.Popen(args, cwd=self.workdir, env=env, stdout=out,
                                             stderr=out)
            self.stopped = False
            self._starting = True
            deadline = time.monotonic() + timeout * SLOW
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    r = self.get("/healthz", timeout=2)
                    if r.status == 200:
                        self._starting = False
                        return self
                except (OSError, http.client.HTTPException, ssl.SSLError):
                    pass
                time.sleep(0.05)
            self._starting = False
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                self.stopped = True
                raise AssertionError(f"server did not answer /healthz within {timeout * SLOW}s; "
                                     f"stderr: {self.stderr_text()[-2000:]} log: "
                                     f"{self.log_text()[-2000:]}")
            self.stopped = True
            last_error = self.stderr_text()[-2000:] + self.log_text()[-2000:]
            if "in use" not in last_error.lower():
                break
        raise AssertionError(f"server exited at start (rc={self.proc.returncode}): {last_error}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = 15.0) -> int:
        """SIGTERM, then wait; returns the exit code (raises if it does not exit in time)."""
        if self.stopped:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.stopped = True
            raise AssertionError(f"server did not exit within {timeout * SLOW}s of SIGTERM")
        self.stopped = True
        return rc

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.stopped = True

    def stop_and_check(self):
        """Fixture teardown: SIGTERM, exit within 15 s with code 0."""
        if self.proc is None or self.stopped:
            return
        rc = self.terminate(15.0)
        assert rc == 0, (f"server exited with {rc} after SIGTERM; stderr: "
                         f"{self.stderr_text()[-4000:]}")

    def explain_death(self):
        """Raises a readable error when the process is gone (instead of 'connection refused')."""
        if (self.proc is not None and not self.stopped and not self._starting
                and self.proc.poll() is not None):
            raise AssertionError(
                f"the server exited unexpectedly with code {self.proc.returncode}; "
                f"stderr: {self.stderr_text()[-3000:]!r}; log tail: {self.log_text()[-3000:]!r}")

    # -- logs

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stderr_text(self) -> str:
        try:
            return self.stderr_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, needle: str, timeout: float = 5.0) -> str:
        """Waits until the log file holds a line containing needle (the log flushes every
        second) and returns that line."""

        def find():
            for line in self.log_text().splitlines():
                if needle in line:
                    return line
            return None

        return wait_until(find, timeout * SLOW, 0.1, f"log line with {needle!r}")

    # -- HTTP

    def connection(self, timeout: float = 10.0) -> http.client.HTTPConnection:
        if self.tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout * SLOW,
                                               context=ctx)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                json_body=None, conn: http.client.HTTPConnection | None = None,
                timeout: float = 10.0) -> Resp:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        own = conn is None
        c = conn or self.connection(timeout)
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            return Resp(r.status, r.headers, data, r.reason)
        except ConnectionRefusedError:
            self.explain_death()
            raise
        finally:
            if own:
                c.close()

    def get(self, path, **kw) -> Resp:
        return self.request("GET", path, **kw)

    def post(self, path, **kw) -> Resp:
        return self.request("POST", path, **kw)

    def write(self, payload: str, conn=None) -> Resp:
        return self.post("/api/v1/diagnostics/writes", json_body={"payload": payload}, conn=conn)

    def raw(self, data: bytes, timeout: float = 5.0) -> bytes:
        try:
            return raw_exchange(self.port, data, timeout * SLOW)
        except ConnectionRefusedError:
            self.explain_death()
            raise

    def metrics(self) -> str:
        r = self.get("/metrics")
        assert r.status == 200, r
        return r.body.decode()

    def rss_kib(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A shared server (default settings, diagnostics on) for the cheap tests of a module."""
    tmp = tmp_path_factory.mktemp("shared")
    s = Server(tmp, fresh_db_url(tmp / "db")).start()
    yield s
    s.stop_and_check()


@pytest.fixture
def make_server(tmp_path):
    """Starts servers with special settings: make_server(sets={...}, tls=..., db_url=...).
    Every server started here is stopped at teardown (SIGTERM, exit 0 within 15 s) unless the
    test already stopped or killed it."""
    started = []
    counter = [0]

    def make(sets=None, db_url=None, tls=False, env=None, start=True):
        counter[0] += 1
        workdir = tmp_path / f"srv{counter[0]}"
        s = Server(workdir, db_url or fresh_db_url(tmp_path / f"db{counter[0]}"), sets=sets,
                   tls=tls, env=env)
        started.append(s)
        return s.start() if start else s

    yield make
    errors = []
    for s in started:
        try:
            s.stop_and_check()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


@pytest.fixture
def db_url(tmp_path):
    """A fresh database URL for the engine under test."""
    return fresh_db_url(tmp_path / "db")


# --------------------------------------------------------------------------------------------
# Shared assertions

PROBLEM_KEYS = {"type", "title", "status", "code", "detail", "request_id"}


def assert_problem(resp: Resp, status: int, code: str, field: str | None = None) -> dict:
    """An RFC 9457 problem with our members, whose request_id is the X-Request-Id header."""
    assert resp.status == status, resp
    assert resp.content_type.split(";")[0].strip() == "application/problem+json", resp
    body = resp.json()
    missing = PROBLEM_KEYS - body.keys()
    assert not missing, f"problem lacks {missing}: {body}"
    assert body["status"] == status, body
    assert body["code"] == code, body
    assert isinstance(body["type"], str) and body["type"], body
    assert isinstance(body["title"], str) and body["title"], body
    assert body["request_id"] == resp.header("X-Request-Id"), (body, resp.header("X-Request-Id"))
    if field is not None:
        assert body.get("field") == field, body
    return body
