"""The service information registry over HTTP (issue #6; SI-1, SI-2, SI-3): personal fields
encrypted at rest (the raw database never holds a test mobile number in clear), exact search
through blind indexes, masking by role and audited unmasking, the Chinese two-character search,
the request lifecycle and SLA breach, consent withdrawal, deletion under a legal hold, the review
job, bad input, and another department's records answering 404.
"""

from __future__ import annotations

import pathlib
import urllib.parse

import pytest

from conftest import ENGINE, SLOW, Server, assert_problem, fresh_db_url, sql_exec, wait_until
from test_auth import NEW_PASSWORD, Session, activate_admin, admin_init, login, reauth

MOBILE = "13812345678"
ID_CARD = "110101199003071234"
EMAIL = "zhang.san@example.cn"


def make_user(sys_s, username, name, dept):
    r = sys_s.post("/api/v1/users", {"username": username, "name": name, "department_id": dept,
                                     "employee_no": "E" + username})
    assert r.status == 201, r
    u = r.json()
    server = sys_s.server
    s = Session(server, login(server, username, u["initial_password"]).json()["token"])
    assert s.post("/api/v1/auth/password", {"old_password": u["initial_password"],
                                            "new_password": NEW_PASSWORD}).status == 204
    u["session"] = Session(server, login(server, username, NEW_PASSWORD).json()["token"])
    return u


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    server = Server(tmp, url, sets={"jobs.interval_ms": 1000}).start()
    sys_s, _ = activate_admin(server, accounts["system"])
    sec_s, _ = activate_admin(server, accounts["security"])
    aud_s, _ = activate_admin(server, accounts["audit"])
    a = sys_s.post("/api/v1/departments", {"code": "CS", "name": "客服部"}).json()
    b = sys_s.post("/api/v1/departments", {"code": "ENG", "name": "工程部"}).json()
    people = {"desk_a": make_user(sys_s, "desk.a", "前台甲", a["id"]),
              "desk_b": make_user(sys_s, "desk.b", "前台乙", b["id"]),
              "head_a": make_user(sys_s, "head.a", "客服主管", a["id"]),
              "manager": make_user(sys_s, "manager", "服务信息主管", a["id"])}
    r = sys_s.patch(f"/api/v1/departments/{a['id']}", {"head_user_id": people["head_a"]["id"]},
                    a["etag"])
    assert r.status == 200, r
    roles = {x["code"]: x["id"] for x in sec_s.get("/api/v1/roles").json()["items"]}
    reauth(sec_s)
    for who, role in (("desk_a", "service_desk"), ("desk_b", "service_desk"),
                      ("head_a", "service_desk"), ("manager", "registry_manager")):
        r = sec_s.req("PUT", f"/api/v1/users/{people[who]['id']}/roles",
                      json_body={"role_ids": [roles[role]]})
        assert r.status == 200, r
    # Clearance 2 (敏感) so they can handle the default customer class.
    for who in people:
        u = sec_s.get(f"/api/v1/users/{people[who]['id']}").json()
        r = sec_s.patch(f"/api/v1/users/{u['id']}", {"clearance": 2}, u["etag"])
        assert r.status == 200, r
    # Fresh sessions carry the new roles and clearance at once (the cache is 500 ms).
    for who in people:
        people[who]["session"] = Session(server, login(server, people[who]["username"],
                                                       NEW_PASSWORD).json()["token"])
    ctx = dict(server=server, url=url, tmp=tmp, sys=sys_s, sec=sec_s, aud=aud_s, people=people,
               depts={"A": a, "B": b})
    yield ctx
    server.stop_and_check()


def desk(reg, who="desk_a"):
    return reg["people"][who]["session"]


def new_customer(reg, who="desk_a", **extra):
    body = {"name": "张三丰", "mobile": MOBILE, "id_card": ID_CARD, "email": EMAIL,
            "address": "上海市浦东新区张江路88号", "tags": ["业主", "VIP"], "source": "前台登记"}
    body.update(extra)
    r = desk(reg, who).post("/api/v1/customers", body)
    assert r.status == 201, r
    return r.json()


def raw_database_bytes(reg) -> bytes:
    if ENGINE == "sqlite":
        path = pathlib.Path(reg["url"][len("sqlite://"):])
        out = b""
        for p in (path, path.with_name(path.name + "-wal")):
            if p.exists():
                out += p.read_bytes()
        return out
    return sql_exec(reg["url"], "SELECT string_agg(c::text, '|') FROM customers c").encode()


def test_personal_fields_are_encrypted_at_rest_and_masked(reg):
    c = new_customer(reg)
    assert c["mobile"] == "138****5678"
    assert c["id_card"] == "110101********1234"
    assert c["name"] == "张**"
    assert c["email"] == "z***@example.cn"
    assert c["classification"] == 2
    raw = raw_database_bytes(reg)
    for secret in (MOBILE, ID_CARD, EMAIL, "张江路88号"):
        assert secret.encode() not in raw, secret
    # The key that protects them is outside the database, in its own 0600 file.
    key = pathlib.Path(reg["url"][len("sqlite://"):]).parent / "privacy.key" \
        if ENGINE == "sqlite" else None
    if key:
        assert key.exists() and (key.stat().st_mode & 0o777) == 0o600


def test_exact_search_through_the_blind_index(reg):
    c = new_customer(reg, mobile="13900001111")
    found = desk(reg).get("/api/v1/customers?mobile=%2B86%20139-0000-1111").json()
    assert [x["id"] for x in found["items"]] == [c["id"]] and found["total"] == 1
    assert desk(reg).get("/api/v1/customers?mobile=13900001112").json()["total"] == 0
    assert_problem(desk(reg).get("/api/v1/customers?mobile=abc"), 422, "validation_failed",
                   "query.mobile")
    named = desk(reg).get("/api/v1/customers?q=" + urllib.parse.quote("三丰")).json()
    assert named["total"] >= 2


def test_unmask_needs_the_permission_a_reason_and_is_audited(reg):
    c = new_customer(reg)
    s = desk(reg)
    assert_problem(s.post(f"/api/v1/customers/{c['id']}/unmask", {"fields": ["mobile"]}), 422,
                   "validation_failed", "body.reason")
    r = s.post(f"/api/v1/customers/{c['id']}/unmask",
               {"fields": ["mobile", "id_card", "name"], "reason": "客户来电核实身份"})
    assert r.status == 200, r
    assert r.json() == {"mobile": MOBILE, "id_card": ID_CARD, "name": "张三丰"}
    events = reg["aud"].get(f"/api/v1/audit/events?action=registry.customer.unmask&"
                            f"object_id={c['id']}").json()["items"]
    assert events and events[0]["reason"] == "客户来电核实身份"
    assert MOBILE not in str(events)
    # Another department's customer answers as if it did not exist.
    other = desk(reg, "desk_b")
    assert_problem(other.get(f"/api/v1/customers/{c['id']}"), 404, "not_found")
    assert_problem(other.post(f"/api/v1/customers/{c['id']}/unmask",
                              {"fields": ["mobile"], "reason": "x"}), 404, "not_found")
    assert all(x["id"] != c["id"] for x in other.get("/api/v1/customers?limit=500").json()["items"])


def test_reading_a_sensitive_record_is_audited(reg):
    c = new_customer(reg)
    assert desk(reg).get(f"/api/v1/customers/{c['id']}").status == 200
    events = reg["aud"].get(f"/api/v1/audit/events?action=registry.customer.read&"
                            f"object_id={c['id']}").json()
    assert events["total"] >= 1


def test_a_sensitive_request_is_shown_only_once_its_read_is_audited(reg):
    """The audit record of a 敏感 read by id commits off the worker; the answer waits for it, and
    when it cannot be written the caller gets a 500 without the record (fail closed)."""
    s = desk(reg)
    r = desk(reg, "manager").post("/api/v1/service-requests",
                                  {"type": "repair", "title": "机房漏水 敏感", "classification": 2})
    assert r.status == 201, r
    rid = r.json()["id"]
    customer = new_customer(reg)
    for _ in range(3):
        assert s.get(f"/api/v1/service-requests/{rid}").json()["title"] == "机房漏水 敏感"
    # Back from GET: each read's record is already there.
    events = reg["aud"].get(f"/api/v1/audit/events?action=registry.request.read&"
                            f"object_id={rid}").json()
    assert events["total"] == 3
    refuse = ("CREATE TRIGGER refuse_request_reads BEFORE INSERT ON audit_events "
              "WHEN NEW.action IN ('registry.request.read', 'registry.customer.read') "
              "BEGIN SELECT RAISE(ABORT, 'refused'); END"
              if ENGINE == "sqlite" else
              "CREATE FUNCTION refuse_request_reads() RETURNS trigger LANGUAGE plpgsql AS $$ "
              "BEGIN IF NEW.action IN ('registry.request.read', 'registry.customer.read') THEN "
              "RAISE EXCEPTION 'refused'; "
              "END IF; RETURN NEW; END $$; CREATE TRIGGER refuse_request_reads BEFORE INSERT ON "
              "audit_events FOR EACH ROW EXECUTE FUNCTION refuse_request_reads()")
    sql_exec(reg["url"], refuse)
    try:
        r = s.get(f"/api/v1/service-requests/{rid}")
        assert_problem(r, 500, "internal_error")
        assert "机房漏水" not in r.body.decode()
        # A customer (敏感 by default) likewise.
        r = s.get(f"/api/v1/customers/{customer['id']}")
        assert_problem(r, 500, "internal_error")
        assert "mobile" not in r.body.decode()
        # Reads that audit nothing are not held up.
        public = s.post("/api/v1/service-requests", {"type": "repair", "title": "走廊灯不亮"})
        assert public.status == 201 and public.json()["classification"] < 2, public
        public = public.json()["id"]
        assert s.get(f"/api/v1/service-requests/{public}").status == 200
    finally:
        sql_exec(reg["url"], "DROP TRIGGER refuse_request_reads" if ENGINE == "sqlite" else
                 "DROP TRIGGER refuse_request_reads ON audit_events; "
                 "DROP FUNCTION refuse_request_reads()")
    assert s.get(f"/api/v1/service-requests/{rid}").status == 200
    events = reg["aud"].get(f"/api/v1/audit/events?action=registry.request.read&"
                            f"object_id={rid}").json()
    assert events["total"] == 4
    assert s.get(f"/api/v1/customers/{customer['id']}").status == 200


def test_chinese_two_character_search(reg):
    s = desk(reg)
    r = s.post("/api/v1/service-requests", {"type": "repair", "priority": "normal",
                                            "channel": "phone", "title": "楼上卫生间漏水",
                                            "description": "3号楼1201，天花板渗水"})
    assert r.status == 201, r
    rid = r.json()["id"]
    assert r.json()["number"].startswith("SR")
    for q, found in (("漏水", True), ("卫生间", True), ("天花板", True), ("1201", True),
                     ("漏电", False), ("水漏", False)):
        ids = [x["id"] for x in
               s.get("/api/v1/service-requests?q=" + urllib.parse.quote(q)).json()["items"]]
        assert (rid in ids) == found, q
    assert_problem(s.get("/api/v1/service-requests?q=%EF%BC%8C%E3%80%82"), 422,
                   "validation_failed", "query.q")


def test_lifecycle_is_enforced(reg):
    s = desk(reg)
    r = s.post("/api/v1/service-requests", {"type": "repair", "title": "空调不制冷"}).json()
    rid = r["id"]
    assert r["status"] == "new" and r["resolve_due_at"]

    def act(action, expect=200, who=s):
        resp = who.post(f"/api/v1/service-requests/{rid}/transitions", {"action": action})
        assert resp.status == expect, resp
        return resp

    assert_problem(act("start", 409), 409, "transition_not_allowed", "body.action")
    assert_problem(act("close", 409), 409, "transition_not_allowed")
    r = s.post(f"/api/v1/service-requests/{rid}/assign",
               {"assignee_id": reg["people"]["desk_a"]["id"]})
    assert r.status == 200 and r.json()["status"] == "assigned", r
    assert act("start").json()["status"] == "in_progress"
    assert_problem(s.post(f"/api/v1/service-requests/{rid}/feedback", {"satisfaction": 5}), 409,
                   "transition_not_allowed")
    assert act("resolve").json()["status"] == "resolved"
    assert act("reopen").json()["status"] == "in_progress"
    act("resolve")
    # A poor score is a complaint for the head of the owning department.
    r = s.post(f"/api/v1/service-requests/{rid}/feedback", {"satisfaction": 2, "comment": "太慢"})
    assert r.status == 201 and r.json()["complaint"] is True, r
    tasks = desk(reg, "head_a").get("/api/v1/todo/tasks").json()["items"]
    assert any(t["kind"] == "registry.complaint" and t["object_id"] == rid for t in tasks)
    assert act("close").json()["status"] == "closed"
    assert_problem(s.post(f"/api/v1/service-requests/{rid}/feedback", {"satisfaction": 9}), 422,
                   "validation_failed", "body.satisfaction")
    # Another department cannot see it, let alone change it.
    assert_problem(desk(reg, "desk_b").get(f"/api/v1/service-requests/{rid}"), 404, "not_found")
    assert_problem(desk(reg, "desk_b").post(f"/api/v1/service-requests/{rid}/transitions",
                                            {"action": "reopen"}), 404, "not_found")


REQUEST_KEYS = {"id", "number", "customer_id", "customer_name", "type", "type_name", "priority",
                "channel", "title", "description", "status", "department_id", "assignee_id",
                "assignee_name", "owner_user_id", "classification", "response_due_at",
                "resolve_due_at", "responded_at", "resolved_at", "closed_at", "escalated_at",
                "response_breached", "resolve_breached", "sla", "external_key", "created_at",
                "updated_at", "version", "etag"}


def test_request_answers_have_every_field_with_its_type(reg):
    """A request is written straight to JSON text: every field, ids as strings, times as RFC 3339
    or null, the ETag header equal to the body's etag, and the list's record equal to GET's."""
    s = desk(reg)
    c = new_customer(reg)
    r = s.post("/api/v1/service-requests",
               {"type": "repair", "title": "楼上卫生间\"漏水\"", "description": "第二行\n\t<b>",
                "customer_id": c["id"], "channel": "wechat"})
    assert r.status == 201, r
    created = r.json()
    assert set(created) == REQUEST_KEYS
    assert r.header("ETag") == created["etag"]
    assert r.header("Location") == f"/api/v1/service-requests/{created['id']}"
    got = s.get(f"/api/v1/service-requests/{created['id']}")
    body = got.json()
    assert got.header("ETag") == body["etag"] and got.header("Location") is None
    assert body["title"] == '楼上卫生间"漏水"' and body["description"] == "第二行\n\t<b>"
    assert body["customer_id"] == c["id"] and body["customer_name"] == c["name"]
    assert body["channel"] == "wechat" and body["type"] == "repair" and body["type_name"]
    assert isinstance(body["id"], str) and isinstance(body["department_id"], str)
    assert body["assignee_id"] is None and body["external_key"] is None
    for t in ("responded_at", "resolved_at", "closed_at", "escalated_at"):
        assert body[t] is None, t
    for t in ("response_due_at", "resolve_due_at", "created_at", "updated_at"):
        assert isinstance(body[t], str) and body[t].endswith("Z"), t
    assert body["response_breached"] is False and body["resolve_breached"] is False
    assert body["sla"] in ("on_track", "due_soon") and isinstance(body["version"], int)
    listed = s.get(f"/api/v1/service-requests?customer_id={c['id']}").json()["items"]
    assert [x for x in listed if x["id"] == body["id"]] == [body]
    s.post(f"/api/v1/service-requests/{body['id']}/assign",
           {"assignee_id": reg["people"]["desk_a"]["id"]})
    s.post(f"/api/v1/service-requests/{body['id']}/transitions", {"action": "start"})
    done = s.post(f"/api/v1/service-requests/{body['id']}/transitions",
                  {"action": "resolve"}).json()
    assert done["sla"] == "met" and done["resolved_at"].endswith("Z")
    assert done["assignee_name"] == reg["people"]["desk_a"]["name"]


def test_sla_breach_is_flagged_and_escalated(reg):
    s = desk(reg)
    rid = s.post("/api/v1/service-requests", {"type": "repair", "priority": "urgent",
                                              "title": "电梯困人"}).json()["id"]
    sql_exec(reg["url"], f"UPDATE service_requests SET resolve_due_at = 1, response_due_at = 1 "
                         f"WHERE id = {int(rid)}")

    def breached():
        r = s.get(f"/api/v1/service-requests/{rid}").json()
        return r["resolve_breached"] and r["sla"] == "breached"

    wait_until(breached, 10 * SLOW, 0.2, "the SLA job")
    tasks = desk(reg, "head_a").get("/api/v1/todo/tasks").json()["items"]
    assert any(t["kind"] == "registry.sla" and t["object_id"] == rid for t in tasks)
    listed = s.get("/api/v1/service-requests?breached=true").json()["items"]
    assert any(x["id"] == rid for x in listed)


def test_withdrawn_consent_blocks_the_use_that_relied_on_it(reg):
    c = new_customer(reg)
    m = desk(reg, "manager")
    r = m.post(f"/api/v1/customers/{c['id']}/consents",
               {"purpose": "service", "legal_basis": "consent", "policy_version": "2026-01",
                "given_by": "张三丰", "scope": "报修服务联系"})
    assert r.status == 201, r
    consent = r.json()
    ok = desk(reg).post("/api/v1/service-requests", {"type": "repair", "title": "水管",
                                                     "customer_id": c["id"]})
    assert ok.status == 201, ok
    r = m.post(f"/api/v1/customers/{c['id']}/consents/{consent['id']}/withdraw",
               {"reason": "客户来电撤回"})
    assert r.status == 200 and r.json()["active"] is False, r
    r = desk(reg).post("/api/v1/service-requests", {"type": "repair", "title": "再次报修",
                                                    "customer_id": c["id"]})
    assert_problem(r, 409, "consent_withdrawn", "body.customer_id")
    assert_problem(desk(reg).post(f"/api/v1/customers/{c['id']}/consents",
                                  {"purpose": "survey", "legal_basis": "contract"}), 403,
                   "forbidden")


def test_deletion_respects_a_legal_hold_and_leaves_a_tombstone(reg):
    c = new_customer(reg)
    m = desk(reg, "manager")
    assert m.post(f"/api/v1/customers/{c['id']}/legal-hold",
                  {"hold": True, "reason": "诉讼保全"}).status == 200
    d = m.post(f"/api/v1/customers/{c['id']}/subject-requests", {"kind": "deletion"}).json()
    assert d["status"] == "open" and d["due_at"]
    reauth(m)
    r = m.post(f"/api/v1/subject-requests/{d['id']}/complete", {})
    assert r.status == 200 and r.json()["status"] == "refused", r
    assert m.get(f"/api/v1/customers/{c['id']}").json()["status"] == "active"
    assert m.post(f"/api/v1/customers/{c['id']}/legal-hold",
                  {"hold": False, "reason": "诉讼结束"}).status == 200
    d = m.post(f"/api/v1/customers/{c['id']}/subject-requests", {"kind": "deletion"}).json()
    r = m.post(f"/api/v1/subject-requests/{d['id']}/complete", {"note": "已核实身份"})
    assert r.status == 200 and r.json()["status"] == "completed", r
    gone = m.get(f"/api/v1/customers/{c['id']}").json()
    assert gone["status"] == "deleted" and gone["mobile"] is None
    events = reg["aud"].get(f"/api/v1/audit/events?action=registry.customer.delete&"
                            f"object_id={c['id']}").json()
    assert events["total"] == 1
    # Access: a copy of what is held, in clear, for the subject.
    c2 = new_customer(reg)
    d = m.post(f"/api/v1/customers/{c2['id']}/subject-requests", {"kind": "access"}).json()
    copy = m.post(f"/api/v1/subject-requests/{d['id']}/complete", {}).json()["response"]
    assert copy["mobile"] == MOBILE and copy["name"] == "张三丰"


def test_review_job_flags_stale_records_for_their_owner(reg):
    c = new_customer(reg)
    sql_exec(reg["url"], f"UPDATE customers SET review_due_at = 1 WHERE id = {int(c['id'])}")
    wait_until(lambda: desk(reg).get(f"/api/v1/customers/{c['id']}").json()["stale"], 10 * SLOW,
               0.2, "the review job")
    tasks = desk(reg).get("/api/v1/todo/tasks").json()["items"]
    assert any(t["kind"] == "registry.review" and t["object_id"] == c["id"] for t in tasks)
    r = desk(reg).post(f"/api/v1/customers/{c['id']}/review")
    assert r.status == 200 and r.json()["stale"] is False, r
    tasks = desk(reg).get("/api/v1/todo/tasks").json()["items"]
    assert not any(t["kind"] == "registry.review" and t["object_id"] == c["id"] for t in tasks)


def test_bad_input_is_refused_and_changes_nothing(reg):
    s = desk(reg)
    before = s.get("/api/v1/customers").json()["total"]
    cases = [
        ({"name": ""}, "body.name"),
        ({"name": 12}, "body.name"),
        ({"name": "x", "mobile": "电话号码"}, "body.mobile"),
        ({"name": "x", "id_card": "11010119900307123$"}, "body.id_card"),
        ({"name": "x", "email": "no-at-sign"}, "body.email"),
        ({"name": "x", "kind": "robot"}, "body.kind"),
        ({"name": "x", "tags": ["a,b"]}, "body.tags"),
        ({"name": "x", "tags": "VIP"}, "body.tags"),
        ({"name": "x", "department_id": "999999"}, "body.department_id"),
        ({"name": "x", "classification": 3}, "body.classification"),
        ({"name": "x", "custom": [1]}, "body.custom"),
    ]
    for body, field in cases:
        r = s.post("/api/v1/customers", body)
        assert r.status in (403, 422), (body, r)
        assert r.json()["field"] == field, (body, r.json())
    r = reg["server"].request("POST", "/api/v1/customers", body=b'{"name": "\xff\xfe"}',
                              headers=s.headers({"Content-Type": "application/json"}))
    assert_problem(r, 400, "invalid_utf8")
    auth = s.headers()["Authorization"]
    raw = reg["server"].raw(b"POST /api/v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                            auth.encode() + b"\r\nContent-Type: application/json\r\n"
                            b"Content-Length: 3000000\r\n\r\n{")
    assert b" 413 " in raw.split(b"\r\n", 1)[0], raw[:200]
    assert s.get("/api/v1/customers").json()["total"] == before
    # SQL metacharacters are just text.
    c = new_customer(reg, name="O'Brien\"; DROP TABLE customers;--")
    r = s.post(f"/api/v1/customers/{c['id']}/unmask", {"fields": ["name"], "reason": "核对"})
    assert r.json()["name"] == "O'Brien\"; DROP TABLE customers;--"
    for q in ("%27%20OR%201%3D1", "%25", "_"):
        assert s.get(f"/api/v1/customers?q={q}").status in (200, 422)
    assert_problem(s.post("/api/v1/service-requests", {"type": "nope", "title": "x"}), 422,
                   "validation_failed", "body.type")
    assert_problem(s.post("/api/v1/service-requests", {"type": "repair", "title": "x",
                                                       "channel": "pigeon"}), 422,
                   "validation_failed", "body.channel")
    assert_problem(s.get("/api/v1/service-requests?status=lost"), 422, "validation_failed",
                   "query.status")
    assert_problem(s.get("/api/v1/service-requests?cursor=x"), 422, "validation_failed",
                   "query.cursor")


def test_list_filters_sort_and_paging(reg):
    s = desk(reg)
    for i in range(5):
        assert s.post("/api/v1/service-requests", {"type": "inquiry", "priority": "low",
                                                   "title": f"咨询停车费 {i}"}).status == 201
    seen, cursor = [], None
    while True:
        path = "/api/v1/service-requests?limit=2&type=inquiry&sort=due_asc"
        if cursor:
            path += f"&cursor={cursor}"
        page = s.get(path).json()
        seen += [x["id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == page["total"] >= 5
    # Only that type; a type nobody defined matches nothing.
    inquiries = s.get("/api/v1/service-requests?limit=200&type=inquiry").json()["items"]
    assert inquiries and {x["type"] for x in inquiries} == {"inquiry"}
    assert len(inquiries) == page["total"]
    none = s.get("/api/v1/service-requests?type=no_such_type").json()
    assert (none["items"], none["total"]) == ([], 0)
    newest = s.get("/api/v1/service-requests?limit=3").json()["items"]
    assert [int(x["id"]) for x in newest] == sorted((int(x["id"]) for x in newest), reverse=True)
