"""`custos keys rotate` (issue #6 item 2, SI-3): a new key-encryption key re-wraps the data keys
without touching the data; the personal fields still read, exact search still finds them (the
blind-index key stays), the old key no longer opens the database, and the rotation is audited.
"""

from __future__ import annotations

import pathlib
import subprocess

from conftest import (CUSTOS_BIN, Server, child_env, fresh_db_url, privacy_key_file, sql_exec)
from test_auth import NEW_PASSWORD, Session, activate_admin, admin_init, login, reauth
from test_registry import make_user


def custos(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CUSTOS_BIN, *args], capture_output=True, text=True, timeout=120,
                          env=child_env(env))


def key_lines(path: str) -> dict:
    out = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def test_rotation_rewraps_and_the_data_still_reads(tmp_path):
    url = fresh_db_url(tmp_path / "db")
    key_file = privacy_key_file(url)
    accounts = admin_init(url)
    server = Server(tmp_path, url).start()
    sys_s, _ = activate_admin(server, accounts["system"])
    sec_s, _ = activate_admin(server, accounts["security"])
    dept = sys_s.post("/api/v1/departments", {"code": "CS", "name": "客服部"}).json()
    desk = make_user(sys_s, "desk.k", "前台", dept["id"])
    roles = {x["code"]: x["id"] for x in sec_s.get("/api/v1/roles").json()["items"]}
    reauth(sec_s)
    assert sec_s.req("PUT", f"/api/v1/users/{desk['id']}/roles",
                     json_body={"role_ids": [roles["registry_manager"]]}).status == 200
    u = sec_s.get(f"/api/v1/users/{desk['id']}").json()
    assert sec_s.patch(f"/api/v1/users/{u['id']}", {"clearance": 2}, u["etag"]).status == 200
    server.stop_and_check()

    server = Server(tmp_path, url).start()
    s = Session(server, login(server, "desk.k", NEW_PASSWORD).json()["token"])
    c = s.post("/api/v1/customers", {"name": "王小明", "mobile": "13800138000"}).json()
    server.stop_and_check()
    before = key_lines(key_file)
    stored = sql_exec(url, f"SELECT COUNT(*) FROM customers WHERE id = {c['id']}")

    # With the key in the environment the new key must go somewhere the operator can see.
    env_key = before["kek"] + ":" + before["bidx"]
    r = custos("keys", "rotate", "--database", url, env={"CUSTOS_PRIVACY_KEY": env_key})
    assert r.returncode != 0 and "--out" in r.stderr
    r = custos("keys", "rotate", "--database", url, "--set", f"privacy.key_file={key_file}")
    assert r.returncode == 0, r.stderr
    assert "re-wrapped 1 data key" in r.stdout
    after = key_lines(key_file)
    assert after["kek"] != before["kek"] and after["bidx"] == before["bidx"]
    assert (pathlib.Path(key_file).stat().st_mode & 0o777) == 0o600
    assert sql_exec(url, f"SELECT COUNT(*) FROM customers WHERE id = {c['id']}") == stored
    assert sql_exec(url, "SELECT COUNT(*) FROM audit_events WHERE action = "
                    "'privacy.keys.rotate'") == "1"

    # The old key no longer opens the database: the server refuses to start with it.
    old = tmp_path / "old.key"
    old.write_text("".join(f"{k}:{v}\n" for k, v in before.items()))
    old.chmod(0o600)
    r = subprocess.run([CUSTOS_BIN, "serve", "--listen", "127.0.0.1:0", "--database", url,
                        "--set", f"privacy.key_file={old}", "--set", "server.static_dir="],
                       capture_output=True, text=True, timeout=60, env=child_env())
    assert r.returncode != 0, r

    server = Server(tmp_path, url).start()
    try:
        s = Session(server, login(server, "desk.k", NEW_PASSWORD).json()["token"])
        clear = s.post(f"/api/v1/customers/{c['id']}/unmask",
                       {"fields": ["mobile"], "reason": "核对"}).json()
        assert clear["mobile"] == "13800138000"
        found = s.get("/api/v1/customers?mobile=13800138000").json()
        assert [x["id"] for x in found["items"]] == [c["id"]]
        # A new data key for new values: old and new both read.
        server.stop_and_check()
        r = custos("keys", "rotate", "--new-data-key", "--database", url, "--set",
                   f"privacy.key_file={key_file}")
        assert r.returncode == 0 and "new data key" in r.stdout, r.stderr
        server = Server(tmp_path, url).start()
        s = Session(server, login(server, "desk.k", NEW_PASSWORD).json()["token"])
        c2 = s.post("/api/v1/customers", {"name": "李四", "mobile": "13900139000"}).json()
        for cid, mobile in ((c["id"], "13800138000"), (c2["id"], "13900139000")):
            clear = s.post(f"/api/v1/customers/{cid}/unmask",
                           {"fields": ["mobile"], "reason": "核对"}).json()
            assert clear["mobile"] == mobile
        assert sql_exec(url, "SELECT COUNT(*) FROM data_keys") == "2"
    finally:
        server.stop_and_check()
