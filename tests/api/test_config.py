"""Issue #2 — configuration: `custos config check` and `custos serve` refuse an unknown key or a
bad value with a message naming the key (exit code 2), apply file < environment < command line,
and never print a database password."""

import socket
import subprocess
import time

import pytest

from conftest import CUSTOS_BIN, SLOW, child_env, free_port


def run(args, env=None, timeout=20):
    return subprocess.run([CUSTOS_BIN, *args], capture_output=True, text=True,
                          env=child_env(env), timeout=timeout * SLOW)


def check(*args, env=None):
    return run(["config", "check", *args], env=env)


def printed(out) -> dict:
    values = {}
    for line in out.stdout.splitlines():
        if " = " in line:
            k, _, v = line.partition(" = ")
            values[k.strip()] = v
    return values


def test_defaults_are_valid():
    out = check()
    assert out.returncode == 0, out.stderr
    assert "config ok" in out.stdout
    values = printed(out)
    assert values["server.listen"] == "127.0.0.1:8080", values
    assert values["server.max_body_bytes"] == str(1 << 20)


@pytest.mark.parametrize("toml,key", [
    ("[server]\nbogus_key = 1\n", "server.bogus_key"),
    ("[nosuch]\nthing = 1\n", "nosuch.thing"),
    ("top_level = true\n", "top_level"),
    ("[database]\nurl = \"sqlite://x.db\"\npassword = \"x\"\n", "database.password"),
])
def test_unknown_key_in_file(tmp_path, toml, key):
    f = tmp_path / "custos.toml"
    f.write_text(toml)
    out = check("--config", str(f))
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert key in out.stderr, out.stderr
    assert "config ok" not in out.stdout


@pytest.mark.parametrize("toml", ['[server]\nio_threads = "abc"\n', "[server]\nio_threads = -1\n",
                                  "[server]\nio_threads = 100000\n",
                                  "[server]\nio_threads = 1.5\n",
                                  "[server]\nio_threads = true\n"])
def test_bad_value_in_file_names_the_key(tmp_path, toml):
    f = tmp_path / "custos.toml"
    f.write_text(toml)
    out = check("--config", str(f))
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "server.io_threads" in out.stderr, out.stderr
    assert str(f) in out.stderr, "the message names the file the value came from"


@pytest.mark.parametrize("setting,key", [
    ("server.io_threads=abc", "server.io_threads"),
    ("server.io_threads=-1", "server.io_threads"),
    ("server.io_threads=", "server.io_threads"),
    ("server.max_connections=0", "server.max_connections"),
    ("server.tls_enabled=maybe", "server.tls_enabled"),
    ("log.level=loud", "log.level"),
    ("log.format=xml", "log.format"),
    ("server.listen=nohost", "server.listen"),
    ("server.listen=127.0.0.1:99999", "server.listen"),
    ("database.url=mysql://h/db", "database.url"),
    ("server.nope=1", "server.nope"),
])
def test_bad_command_line_value_names_the_key(setting, key):
    out = check("--set", setting)
    assert out.returncode == 2, (setting, out.returncode, out.stdout, out.stderr)
    assert key in out.stderr, out.stderr


def test_bad_environment_value_names_the_variable():
    out = check(env={"CUSTOS_SERVER_IO_THREADS": "abc"})
    assert out.returncode == 2, out
    assert "server.io_threads" in out.stderr and "CUSTOS_SERVER_IO_THREADS" in out.stderr, out.stderr


def test_unknown_environment_variable_is_rejected():
    out = check(env={"CUSTOS_FOO": "1"})
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert "CUSTOS_FOO" in out.stderr, out.stderr


def test_tls_without_files_is_rejected():
    out = check("--set", "server.tls_enabled=true")
    assert out.returncode == 2, out
    assert "server.tls_enabled" in out.stderr or "server.tls_cert_file" in out.stderr, out.stderr


def test_toml_syntax_error_names_the_place(tmp_path):
    f = tmp_path / "custos.toml"
    f.write_text("[server\nio_threads = 2\n")
    out = check("--config", str(f))
    assert out.returncode == 2, out
    assert f"{f}:1" in out.stderr, out.stderr


def test_overrides_appear_in_the_printed_config(tmp_path):
    out = check(env={"CUSTOS_LISTEN": "127.0.0.1:9999"})
    assert out.returncode == 0, out.stderr
    assert printed(out)["server.listen"] == "127.0.0.1:9999"

    out = check("--set", "server.io_threads=3", "--listen", "0.0.0.0:7000")
    assert out.returncode == 0, out.stderr
    values = printed(out)
    assert values["server.io_threads"] == "3" and values["server.listen"] == "0.0.0.0:7000", values

    # file < environment < command line.
    f = tmp_path / "custos.toml"
    f.write_text("[server]\nio_threads = 2\nworker_threads = 5\nidle_timeout_ms = 1234\n")
    out = check("--config", str(f), "--set", "server.io_threads=4",
                env={"CUSTOS_SERVER_IO_THREADS": "3", "CUSTOS_SERVER_WORKER_THREADS": "6"})
    assert out.returncode == 0, out.stderr
    values = printed(out)
    assert values["server.io_threads"] == "4", values
    assert values["server.worker_threads"] == "6", values
    assert values["server.idle_timeout_ms"] == "1234", values


@pytest.mark.parametrize("url", [
    "postgresql://u:secretpw@h/db",
    "postgres://custos:secretpw@db.example:5432/custos?sslmode=require",
    "postgresql://h/db?user=u&password=secretpw",
    "postgresql://h/db?sslmode=require&password=secretpw",
])
def test_database_password_is_redacted(url):
    for out in [check("--database", url), check(env={"CUSTOS_DATABASE": url}),
                check("--set", f"database.url={url}")]:
        assert out.returncode == 0, out.stderr
        assert "secretpw" not in out.stdout and "secretpw" not in out.stderr, out.stdout
        assert printed(out)["database.url"].split(":")[0] in ("postgresql", "postgres")


def _listening(port) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("args,env,needle", [
    (["--set", "server.io_threads=abc"], None, "server.io_threads"),
    (["--set", "server.bogus=1"], None, "server.bogus"),
    ([], {"CUSTOS_FOO": "1"}, "CUSTOS_FOO"),
])
def test_serve_with_bad_config_exits_quickly(tmp_path, args, env, needle):
    port = free_port()
    t0 = time.monotonic()
    out = run(["serve", "--listen", f"127.0.0.1:{port}", "--database",
               f"sqlite://{tmp_path}/custos.db", *args], env=env, timeout=20)
    elapsed = time.monotonic() - t0
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert needle in out.stderr, out.stderr
    assert elapsed < 5 * SLOW, elapsed
    assert not _listening(port)
    assert not (tmp_path / "custos.db").exists(), "a bad configuration touched the database"


def test_serve_with_missing_config_file_fails(tmp_path):
    out = run(["serve", "--config", str(tmp_path / "nope.toml"), "--listen",
               f"127.0.0.1:{free_port()}", "--database", f"sqlite://{tmp_path}/c.db"])
    assert out.returncode != 0
    assert "nope.toml" in out.stderr, out.stderr


def test_serve_with_unusable_tls_files_fails_cleanly(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("not a certificate\n")
    port = free_port()
    out = run(["serve", "--listen", f"127.0.0.1:{port}", "--database",
               f"sqlite://{tmp_path}/c.db", "--set", "server.tls_enabled=true",
               "--set", f"server.tls_cert_file={cert}", "--set", f"server.tls_key_file={cert}",
               "--set", f"log.file={tmp_path}/log"])
    assert out.returncode not in (0, -6, -11), (out.returncode, out.stderr)
    assert not _listening(port)
