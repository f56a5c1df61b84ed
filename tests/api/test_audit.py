"""Issue #4: the auditor's API over HTTP (MLPS 安全审计; checklist C 13-15, 18).

Only the audit administrator reads the trail; the system and security administrators get 403.
Listing is newest first with a keyset cursor; verify reports an intact chain and names the first
bad record once the database is tampered with; export is CSV with BOM and watermark and is
itself audited; `custos audit verify` / `custos audit anchor` work on the same database.
"""
from __future__ import annotations

import subprocess
import urllib.parse

import pytest

from conftest import CUSTOS_BIN, ENGINE, SANITIZED, assert_problem, child_env, sql_exec
from test_auth import activate_admin, admin_init


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    from conftest import Server, fresh_db_url

    tmp = tmp_path_factory.mktemp("audit")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    server = Server(tmp, url).start()
    sys_s, _ = activate_admin(server, accounts["system"])
    sec_s, _ = activate_admin(server, accounts["security"])
    aud_s, _ = activate_admin(server, accounts["audit"])
    for i in range(3):
        r = sys_s.post("/api/v1/users", {"username": f"user{i}", "name": f"用户{i}",
                                         "employee_no": f"E{i}"})
        assert r.status == 201, r
    yield {"server": server, "url": url, "tmp": tmp, "sys": sys_s, "sec": sec_s, "aud": aud_s,
           "key": str(tmp / "data" / "audit.key")}
    server.stop_and_check()


def cli(ctx, *args):
    return subprocess.run([CUSTOS_BIN, "audit", *args, "--database", ctx["url"], "--set",
                           f"audit.key_file={ctx['key']}"],
                          capture_output=True, text=True, timeout=120, env=child_env())


def test_only_the_auditor_reads_the_trail(ctx):
    assert_problem(ctx["sys"].get("/api/v1/audit/events"), 403, "forbidden")
    assert_problem(ctx["sec"].get("/api/v1/audit/events"), 403, "forbidden")
    assert_problem(ctx["sys"].post("/api/v1/audit/verify"), 403, "forbidden")
    assert_problem(ctx["sec"].get("/api/v1/audit/events/export?format=csv"), 403, "forbidden")
    r = ctx["server"].request("GET", "/api/v1/audit/events")
    assert r.status == 401, r
    r = ctx["aud"].get("/api/v1/audit/events")
    assert r.status == 200, r
    body = r.json()
    assert body["total"] >= 10
    item = body["items"][0]
    for key in ("seq", "at", "actor_user_id", "session_id", "ip", "request_id", "action",
                "object_type", "object_id", "outcome", "error_code", "changes", "reason", "hash",
                "actor_username", "actor_name"):
        assert key in item, key
    # The actor is named, so the auditor need not read the user register.
    created = [i for i in body["items"] if i["action"] == "org.user.create"]
    assert created and created[0]["actor_username"] == "sysadmin"
    seqs = [i["seq"] for i in body["items"]]
    assert seqs == sorted(seqs, reverse=True)  # newest first


def test_filters_find_earlier_actions(ctx):
    aud = ctx["aud"]
    r = aud.get("/api/v1/audit/events?action=auth.login&outcome=success")
    assert r.status == 200, r
    items = r.json()["items"]
    assert items and all(i["action"] == "auth.login" and i["outcome"] == "success" for i in items)
    created = aud.get("/api/v1/audit/events?object_type=user&limit=500").json()["items"]
    creates = [i for i in created if i["action"].endswith("user.create")]
    assert len(creates) >= 3, {i["action"] for i in created}
    one = creates[0]
    by_actor = aud.get(f"/api/v1/audit/events?actor={one['actor_user_id']}").json()["items"]
    assert by_actor and all(i["actor_user_id"] == one["actor_user_id"] for i in by_actor)
    by_obj = aud.get("/api/v1/audit/events?object_type=user&object_id="
                     + urllib.parse.quote(one["object_id"])).json()["items"]
    assert any(i["seq"] == one["seq"] for i in by_obj)
    assert isinstance(one["changes"], (dict, type(None)))
    future = aud.get("/api/v1/audit/events?from=2999-01-01T00:00:00Z").json()
    assert future["items"] == [] and future["total"] == 0
    assert_problem(aud.get("/api/v1/audit/events?from=yesterday"), 422, "validation_failed",
                   "query.from")
    assert_problem(aud.get("/api/v1/audit/events?actor=x"), 422, "validation_failed",
                   "query.actor")


def test_pagination_never_repeats(ctx):
    aud = ctx["aud"]
    seen, cursor = [], None
    total = aud.get("/api/v1/audit/events").json()["total"]
    while True:
        path = "/api/v1/audit/events?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = aud.get(path).json()
        seen += [i["seq"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert len(seen) >= total  # reading is not audited, so nothing new appeared
    assert seen == sorted(seen, reverse=True)


def test_verify_ok_and_audited(ctx):
    r = ctx["aud"].post("/api/v1/audit/verify")
    assert r.status == 200, r
    body = r.json()
    assert body["ok"] is True and body["records_checked"] >= 10
    assert "first_bad" not in body
    last = ctx["aud"].get("/api/v1/audit/events?action=audit.verify").json()["items"]
    assert last and last[0]["outcome"] == "success"


def test_export_csv_has_bom_watermark_and_is_audited(ctx):
    r = ctx["aud"].get("/api/v1/audit/events/export?format=csv&action=auth.login")
    assert r.status == 200, r
    assert r.content_type.startswith("text/csv")
    assert r.body.startswith(b"\xef\xbb\xbf")
    text = r.body.decode("utf-8-sig")
    lines = text.strip("\r\n").split("\r\n")
    assert lines[0].startswith("seq,at,actor_user_id")
    assert "导出人/Exported by: audit" in lines[-1] and "action=auth.login" in lines[-1]
    assert all(",auth.login," in line for line in lines[1:-1])
    events = ctx["aud"].get("/api/v1/audit/events?action=audit.export").json()["items"]
    assert events and events[0]["changes"]["format"] == "csv"
    r = ctx["aud"].get("/api/v1/audit/events/export?format=xlsx")
    assert r.status == 200 and r.body.startswith(b"PK"), r
    assert_problem(ctx["aud"].get("/api/v1/audit/events/export?format=pdf"), 422,
                   "validation_failed", "query.format")


def test_cli_verify_and_anchor(ctx):
    anchor = ctx["tmp"] / "anchor.txt"
    out = cli(ctx, "anchor", "--out", str(anchor))
    assert out.returncode == 0, out.stderr
    assert anchor.read_text().startswith("custos-audit-anchor v1\ncheckpoint 1 ")
    out = cli(ctx, "verify", "--anchor", str(anchor))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "intact" in out.stdout


def test_tampering_is_named_by_api_and_cli(ctx):
    # Last in the module: it breaks the trail on purpose.
    url = ctx["url"]
    if ENGINE == "sqlite":
        sql_exec(url, "DROP TRIGGER audit_events_append_only_update")
    else:
        sql_exec(url, "ALTER TABLE audit_events DISABLE TRIGGER USER")
    sql_exec(url, "UPDATE audit_events SET ip = '6.6.6.6' WHERE org_id = 1 AND seq = 4")
    r = ctx["aud"].post("/api/v1/audit/verify")
    assert r.status == 200, r
    body = r.json()
    assert body["ok"] is False
    assert body["first_bad"]["seq"] == 4 and body["first_bad"]["code"] == "modified"
    out = cli(ctx, "verify")
    assert out.returncode == 3, out.stdout + out.stderr
    assert "org 1 seq 4: modified" in out.stdout


def test_server_writes_signed_checkpoints_by_itself(make_server, db_url):
    """Issue #4 item 2: every audit.checkpoint_every records or audit.checkpoint_seconds the
    server signs a checkpoint of the chain without anyone asking."""
    import time as _time

    from conftest import sql_exec as _sql

    server = make_server(db_url=db_url, sets={"audit.checkpoint_seconds": 1})
    for _ in range(3):
        server.post("/api/v1/auth/login", json_body={"username": "nobody", "password": "x"})
    head = int(_sql(db_url, "SELECT seq FROM audit_heads WHERE org_id = 1"))
    assert head >= 3  # the start's configuration record and three failed logins
    deadline = _time.time() + 15
    seq = 0
    while _time.time() < deadline:
        seq = int(_sql(db_url, "SELECT COALESCE(MAX(seq), 0) FROM audit_checkpoints") or 0)
        if seq >= head:
            break
        _time.sleep(0.3)
    assert seq >= head


def test_purge_is_audit_admin_only_and_respects_retention(ctx):
    import datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    def iso(days):
        return (now - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_problem(ctx["sys"].post("/api/v1/audit/purge", {"before": iso(365)}), 403, "forbidden")
    assert_problem(ctx["sec"].post("/api/v1/audit/purge", {"before": iso(365)}), 403, "forbidden")
    assert_problem(ctx["aud"].post("/api/v1/audit/purge", {"before": iso(179)}), 422,
                   "validation_failed", "body.before")
    assert_problem(ctx["aud"].post("/api/v1/audit/purge", {"before": "yesterday"}), 422,
                   "validation_failed", "body.before")
    r = ctx["aud"].post("/api/v1/audit/purge", {"before": iso(365)})
    assert r.status == 200, r
    assert r.json()["removed"] == 0  # every record here is recent
    last = ctx["aud"].get("/api/v1/audit/events?action=audit.purge").json()["items"]
    assert last and last[0]["outcome"] == "success"


def test_big_export_streams_in_constant_memory(make_server, db_url, tmp_path):
    """Issue #4 item 6 and #6 item 6: an export is written to a private temporary file as rows
    are read and streamed from it, so the server's memory does not grow with the export."""
    accounts = admin_init(db_url)
    # A small SQLite page cache, so what grows is what the export itself holds.
    server = make_server(db_url=db_url, sets={"database.sqlite_cache_mib": 2})
    aud, _ = activate_admin(server, accounts["audit"])
    rows = 150_000
    # White-box set-up: many records at once (their chain is not what this test is about).
    sql_exec(db_url, f"""
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
        INSERT INTO audit_events (org_id, seq, at, action, object_type, object_id, outcome,
                                  changes, prev_hash, hash)
        SELECT 1, 1000000 + i, 1780000000000 + i, 'bench.row', 'thing', CAST(i AS TEXT),
               'success', '{{"note":{{"before":null,"after":"楼上卫生间漏水 padding padding"}}}}',
               '', '' FROM n""")
    aud.post("/api/v1/auth/reauth", {"password": "Xq7#mVt2-Lp9!wZ"})
    before = server.rss_kib()
    r = aud.get("/api/v1/audit/events/export?format=csv&action=bench.row")
    assert r.status == 200, r
    assert r.content_type.startswith("text/csv")
    assert "filename*=UTF-8''" in r.header("Content-Disposition")
    lines = r.body.decode("utf-8-sig").splitlines()
    assert len(lines) == rows + 2  # header, rows, watermark
    assert "auditadmin" in lines[-1]
    grown_mib = (server.rss_kib() - before) / 1024
    body_mib = len(r.body) / 2**20
    assert body_mib > 20
    if not SANITIZED:  # AddressSanitizer keeps freed memory in quarantine: RSS says nothing
        assert grown_mib < body_mib / 2, (grown_mib, body_mib)
    # No temporary file is left behind.
    import glob
    import tempfile
    assert not glob.glob(tempfile.gettempdir() + "/custos-export-*")
