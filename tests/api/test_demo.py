"""`custos demo --scale N` (issue #6 item 7): demo data that the server serves as it would real
records: the staff log in with the printed password and see the requests, searchable in
Chinese, with masked customers; a second run adds records without a second organisation."""

from __future__ import annotations

import re
import subprocess
import urllib.parse

from conftest import CUSTOS_BIN, Server, child_env, fresh_db_url, privacy_key_file, sql_exec
from test_auth import Session, login


def demo(url: str, *args: str) -> str:
    out = subprocess.run([CUSTOS_BIN, "demo", "--database", url, "--set",
                          f"privacy.key_file={privacy_key_file(url)}", *args],
                         capture_output=True, text=True, timeout=300, env=child_env())
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_demo_data_is_served_like_real_records(tmp_path):
    url = fresh_db_url(tmp_path / "db")
    subprocess.run([CUSTOS_BIN, "migrate", "--database", url], check=True, env=child_env(),
                   capture_output=True, timeout=120)
    # As `make run` does: the administrators first (the demo's processes are theirs).
    subprocess.run([CUSTOS_BIN, "admin", "init", "--database", url], check=True, env=child_env(),
                   capture_output=True, timeout=120)
    first = demo(url, "--scale", "300")
    assert "added 3 approval processes" in first, first
    password = re.search(r"shared password: (\S+)", first).group(1)
    assert "added 60 customers, 300 service requests" in first and "30 assets" in first, first
    again = demo(url, "--scale", "100", "--customers", "10")
    assert "password" not in again and "added 10 customers, 100 service requests" in again
    assert sql_exec(url, "SELECT COUNT(*) FROM departments WHERE code = 'KF'") == "1"
    server = Server(tmp_path, url).start()
    try:
        s = Session(server, login(server, "kf.zhou", password).json()["token"])
        r = s.get("/api/v1/service-requests?limit=5")
        assert r.status == 200 and r.json()["total"] == 400, r
        hits = s.get("/api/v1/service-requests?limit=100&q=" + urllib.parse.quote("漏水")).json()
        assert all("漏水" in x["title"] + x["description"] for x in hits["items"])
        c = s.get("/api/v1/customers?limit=1").json()["items"][0]
        assert "*" in c["mobile"] and "*" in c["name"]
        # The IT department's head keeps the equipment archive: every asset, in valid states.
        it = Session(server, login(server, "xx.song", password).json()["token"])
        assets = it.get("/api/v1/assets?limit=100").json()
        assert assets["total"] == 40, assets["total"]
        assert all(a["asset_tag"].startswith("ZC-") and a["department_name"] and
                   (a["custodian_id"] is not None) == (a["status"] in ("in_use", "in_repair"))
                   for a in assets["items"])
        assert len({a["asset_tag"] for a in assets["items"]}) == 40
        assert s.get("/api/v1/assets").json()["total"] == 0, "the registry manager keeps no assets"
        # The equipment forms have their processes (IT-1): a front-desk purchase request goes to
        # the admin/HR head, then the president's office, and lands in the archive as ordered.
        desk = Session(server, login(server, "kf.wang", password).json()["token"])
        kf_qt = [d for d in it.get("/api/v1/directory/users?q=kf.wang").json()["items"]][0]
        r = desk.post("/api/v1/workflow/instances", {
            "definition_key": "assets.procurement",
            "form": {"department_id": kf_qt["department_id"], "category": "printer",
                     "item": "前台打印机", "quantity": 1, "unit_price": 1499, "reason": "旧机报废"}})
        assert r.status == 201, r
        for approver in ("rs.han", "yb.tang"):
            a = Session(server, login(server, approver, password).json()["token"])
            task = a.get("/api/v1/todo/pending").json()["items"][0]
            assert a.post(f"/api/v1/workflow/tasks/{task['id']}/approve", {}).status == 200
        assert it.get("/api/v1/assets?status=ordered&q=" + urllib.parse.quote("前台打印机")
                      ).json()["total"] == 1
    finally:
        server.stop_and_check()
