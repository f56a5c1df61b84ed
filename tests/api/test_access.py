"""Sensitivity classes and explicit access grants, black-box (issue #3 items 2, 3; SI-1, SI-3,
SI-4; compliance checklist B9-B11). Also object-level checks on posts (IDOR).

Classes are the organisation's data: the default four (公开/内部/敏感/机密) can be extended or
shortened by the security administrator, never below a level still in use. A grant gives one
user one permission on one record until it expires or is revoked; its use is audited.
"""

from __future__ import annotations

import time
import urllib.parse

from conftest import assert_problem, sql_exec
from test_auth import activate_user, grant_role, org, reauth  # noqa: F401  (org: fixture)

DEFAULT_CODES = ["public", "internal", "sensitive", "confidential"]


def iso(offset_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


def forget_reauth(org):
    """Every session's password confirmation lies in the past (the session cache keeps a
    resolved session for 500 ms)."""
    sql_exec(org["url"], "UPDATE sessions SET reauth_at = 0")
    time.sleep(0.6)


def levels_body(levels):
    return {"levels": levels}


def test_default_classes_are_readable_by_every_user(org):
    bob = activate_user(org, "bob")
    r = bob.get("/api/v1/classifications")
    assert r.status == 200, r
    items = r.json()["items"]
    assert [x["code"] for x in items] == DEFAULT_CODES
    assert [x["name_zh"] for x in items] == ["公开", "内部", "敏感", "机密"]
    assert [x["audit_reads"] for x in items] == [False, False, True, True]
    assert items[3]["reason_required"] is True


def test_only_the_security_administrator_changes_classes(org):
    sys_s, sec_s, aud_s = org["sys"], org["sec"], org["aud"]
    current = sec_s.get("/api/v1/classifications").json()["items"]
    five = current + [{"level": 4, "code": "top_secret", "name_zh": "绝密",
                       "name_en": "Top secret", "audit_reads": True, "reason_required": True}]
    for s in (sys_s, aud_s):
        reauth(s)
        assert_problem(s.req("PUT", "/api/v1/classifications", json_body=levels_body(five)), 403,
                       "forbidden")
    forget_reauth(org)
    assert_problem(sec_s.req("PUT", "/api/v1/classifications", json_body=levels_body(five)), 401,
                   "reauth_required")
    reauth(sec_s)
    r = sec_s.req("PUT", "/api/v1/classifications", json_body=levels_body(five))
    assert r.status == 200, r
    assert [x["code"] for x in r.json()["items"]][-1] == "top_secret"
    events = org["aud"].get("/api/v1/audit/events?action=iam.classification.change").json()
    assert events["total"] >= 1

    # A clearance now goes up to 4, not beyond; level 4 in use cannot be removed.
    bob_id = org["users"]["bob"]["id"]
    etag = sec_s.get(f"/api/v1/users/{bob_id}").json()["etag"]
    assert_problem(sec_s.patch(f"/api/v1/users/{bob_id}", {"clearance": 5}, etag), 422,
                   "validation_failed", "body.clearance")
    r = sec_s.patch(f"/api/v1/users/{bob_id}", {"clearance": 4}, etag)
    assert r.status == 200, r
    assert r.json()["clearance"] == 4
    r = sec_s.req("PUT", "/api/v1/classifications", json_body=levels_body(current))
    body = assert_problem(r, 409, "conflict", "body.levels")
    assert "users.clearance" in body["detail"]
    # The same, for a client to act on without reading the English detail.
    assert body["in_use"] == {"level": 4, "used_by": "users.clearance"}, body
    etag = sec_s.get(f"/api/v1/users/{bob_id}").json()["etag"]
    r2 = sec_s.patch(f"/api/v1/users/{bob_id}", {"clearance": 1}, etag)
    assert r2.status == 200, r2
    r = sec_s.req("PUT", "/api/v1/classifications", json_body=levels_body(current))
    assert r.status == 200, r
    assert [x["code"] for x in r.json()["items"]] == DEFAULT_CODES


def test_bad_class_lists_name_the_field_and_change_nothing(org):
    sec_s = org["sec"]
    reauth(sec_s)
    current = sec_s.get("/api/v1/classifications").json()["items"]
    cases = [
        ({}, "body.levels"),
        ({"levels": "four"}, "body.levels"),
        ({"levels": current[:1]}, "body.levels"),
        ({"levels": [current[0], dict(current[1], level=3)]}, "body.levels[1].level"),
        ({"levels": [current[0], dict(current[1], code="Bad Code'--")]}, "body.levels[1].code"),
        ({"levels": [current[0], dict(current[1], name_zh="")]}, "body.levels[1].name_zh"),
        ({"levels": [current[0], dict(current[1], name_en=7)]}, "body.levels[1].name_en"),
        ({"levels": [current[0], dict(current[1], audit_reads="yes")]},
         "body.levels[1].audit_reads"),
        ({"levels": [current[0], "x"]}, "body.levels[1]"),
        ({"levels": current * 3}, "body.levels"),
    ]
    for body, field in cases:
        r = sec_s.req("PUT", "/api/v1/classifications", json_body=body)
        assert_problem(r, 422, "validation_failed", field)
    r = org["server"].request("PUT", "/api/v1/classifications", body=b'{"levels": ["\xff"]}',
                              headers=sec_s.headers({"Content-Type": "application/json"}))
    assert_problem(r, 400, "invalid_utf8")
    assert [x["code"] for x in sec_s.get("/api/v1/classifications").json()["items"]] == \
        DEFAULT_CODES


def test_a_grant_opens_one_record_until_revoked(org):
    sec_s, aud_s = org["sec"], org["aud"]
    carol = activate_user(org, "carol")  # no roles: sees nobody
    bob_id = org["users"]["bob"]["id"]
    alice_id = org["users"]["alice"]["id"]
    assert_problem(carol.get(f"/api/v1/users/{bob_id}"), 404, "not_found")
    assert carol.get("/api/v1/users").json()["total"] == 0

    reauth(sec_s)
    reason = "投诉调查'; DELETE FROM users;-- 第12号"
    r = sec_s.post("/api/v1/access-grants", {
        "user_id": org["users"]["carol"]["id"], "permission": "org:users:read",
        "object_type": "user", "object_id": bob_id, "expires_at": iso(3600), "reason": reason})
    assert r.status == 201, r
    grant = r.json()
    assert r.header("Location") == f"/api/v1/access-grants/{grant['id']}"
    assert grant["status"] == "active" and grant["reason"] == reason

    r = carol.get(f"/api/v1/users/{bob_id}")
    assert r.status == 200, r
    assert r.json()["username"] == "bob"
    listed = carol.get("/api/v1/users?limit=500").json()
    assert [u["username"] for u in listed["items"]] == ["bob"] and listed["total"] == 1
    # Only that record and that permission.
    assert_problem(carol.get(f"/api/v1/users/{alice_id}"), 404, "not_found")
    # Visible through the grant, but unmasking was not granted.
    assert_problem(carol.post(f"/api/v1/users/{bob_id}/unmask",
                              {"fields": ["email"], "reason": "x"}), 403, "forbidden")
    uses = aud_s.get(f"/api/v1/audit/events?action=iam.grant.use&object_id={bob_id}").json()
    assert uses["total"] >= 1

    r = sec_s.post(f"/api/v1/access-grants/{grant['id']}/revoke", {"reason": "调查结束"})
    assert r.status == 200, r
    assert r.json()["status"] == "revoked"
    assert_problem(carol.get(f"/api/v1/users/{bob_id}"), 404, "not_found")
    assert carol.get("/api/v1/users").json()["total"] == 0
    assert_problem(sec_s.post(f"/api/v1/access-grants/{grant['id']}/revoke", {"reason": "x"}),
                   409, "conflict")
    active = sec_s.get("/api/v1/access-grants?status=active").json()
    assert all(g["id"] != grant["id"] for g in active["items"])


def test_grants_are_checked_and_only_for_the_security_administrator(org):
    sys_s, sec_s = org["sys"], org["sec"]
    carol_id = org["users"]["carol"]["id"]
    bob_id = org["users"]["bob"]["id"]
    good = {"user_id": carol_id, "permission": "org:users:read", "object_type": "user",
            "object_id": bob_id, "expires_at": iso(3600), "reason": "核对"}
    reauth(sys_s)
    assert_problem(sys_s.post("/api/v1/access-grants", good), 403, "forbidden")
    assert_problem(sys_s.get("/api/v1/access-grants"), 403, "forbidden")
    forget_reauth(org)
    assert_problem(sec_s.post("/api/v1/access-grants", good), 401, "reauth_required")
    reauth(sec_s)
    me = sec_s.get("/api/v1/auth/me").json()["id"]
    bad = [
        (dict(good, user_id=me), 403, "forbidden", "body.user_id"),
        (dict(good, permission="iam:user_roles:write"), 422, "validation_failed",
         "body.permission"),
        (dict(good, permission="org:users:*"), 422, "validation_failed", "body.permission"),
        (dict(good, object_type="audit_event"), 422, "validation_failed", "body.object_type"),
        (dict(good, object_id="999999"), 422, "validation_failed", "body.object_id"),
        (dict(good, object_id="1; DROP TABLE users"), 422, "validation_failed", "body.object_id"),
        (dict(good, user_id="999999"), 422, "validation_failed", "body.user_id"),
        (dict(good, expires_at=iso(-60)), 422, "validation_failed", "body.expires_at"),
        (dict(good, expires_at=iso(91 * 86400)), 422, "validation_failed", "body.expires_at"),
        (dict(good, expires_at="tomorrow"), 422, "validation_failed", "body.expires_at"),
        ({k: v for k, v in good.items() if k != "reason"}, 422, "validation_failed",
         "body.reason"),
        (dict(good, reason=12), 422, "validation_failed", "body.reason"),
    ]
    before = sec_s.get("/api/v1/access-grants").json()["total"]
    for body, status, code, field in bad:
        assert_problem(sec_s.post("/api/v1/access-grants", body), status, code, field)
    assert sec_s.get("/api/v1/access-grants").json()["total"] == before
    assert_problem(sec_s.get("/api/v1/access-grants/999999"), 404, "not_found")
    assert_problem(sec_s.get("/api/v1/access-grants?user_id=abc"), 422, "validation_failed",
                   "query.user_id")
    # What may be granted is the server's to say: each registered type and its permissions, and
    # a grant on one of them with one of those is accepted, with another refused.
    assert_problem(sys_s.get("/api/v1/access-grants/types"), 403, "forbidden")
    types = {t["object_type"]: t["permissions"]
             for t in sec_s.get("/api/v1/access-grants/types").json()["items"]}
    assert types["user"] == ["org:users:read", "org:users:unmask"], types
    assert set(types) == {"user", "customer", "service_request"}, types
    assert "registry:customers:read" in types["customer"]
    assert all(not p.startswith(("iam:", "audit:")) and "*" not in p
               for perms in types.values() for p in perms)
    wrong = dict(good, object_type="service_request", object_id="1",
                 permission=types["user"][0])
    assert_problem(sec_s.post("/api/v1/access-grants", wrong), 422, "validation_failed",
                   "body.permission")


def test_posts_by_id_are_not_found_without_permission(org):
    sys_s = org["sys"]
    r = sys_s.post("/api/v1/posts", {"code": "admin_hr_specialist", "name": "行政人事专员"})
    assert r.status == 201, r
    post = r.json()
    bob = activate_user(org, "bob")
    r = bob.get(f"/api/v1/posts/{post['id']}")
    assert_problem(r, 404, "not_found")
    missing = bob.get("/api/v1/posts/999999")
    assert_problem(missing, 404, "not_found")
    assert r.json()["title"] == missing.json()["title"]
    assert_problem(bob.patch(f"/api/v1/posts/{post['id']}", {"name": "改名"}, post["etag"]), 404,
                   "not_found")
    assert sys_s.get(f"/api/v1/posts/{post['id']}").json()["name"] == "行政人事专员"
    # A post of another organisation is invisible even to the system administrator.
    sql_exec(org["url"], "INSERT INTO organizations (code, name, created_at) "
                         "VALUES ('org-two', 'Two', 0)")
    other = sql_exec(org["url"], "SELECT id FROM organizations WHERE code = 'org-two'")
    sql_exec(org["url"], f"INSERT INTO posts (org_id, code, name, created_at, updated_at) "
                         f"VALUES ({int(other)}, 'spy', '别家岗位', 0, 0)")
    spy = sql_exec(org["url"], "SELECT MAX(id) FROM posts")
    assert_problem(sys_s.get(f"/api/v1/posts/{int(spy)}"), 404, "not_found")
    assert all(p["code"] != "spy" for p in sys_s.get("/api/v1/posts").json()["items"])


def test_the_directory_finds_colleagues_for_any_user_and_nothing_more(org):
    """The staff directory behind user pickers (a form's user field, a transfer): any signed-in
    user finds active colleagues by name, username or employee number, with no role at all; it
    names no administrator and no departed user, shows no personal field, and LIKE's wildcards
    in q are matched literally."""
    bob = activate_user(org, "bob")  # no role: GET /users shows him nothing of the others
    r = bob.get("/api/v1/directory/users?q=" + urllib.parse.quote("王"))
    assert r.status == 200, r
    items = r.json()["items"]
    assert [i["username"] for i in items] == ["alice"]
    assert items[0]["department_name"] == "客服部"
    assert items[0]["department_id"] == org["depts"]["A"]
    assert set(items[0]) == {"id", "name", "username", "department_id", "department_name"}
    assert {i["username"] for i in bob.get("/api/v1/directory/users?q=Ecarol").json()["items"]} \
        == {"carol"}
    # Administrators are not colleagues to pick.
    assert bob.get("/api/v1/directory/users?q=admin").json()["items"] == []
    # Wildcards are literal: % and _ match nothing here rather than everyone.
    for q in ("%", "_", "\\", "' OR 1=1 --"):
        r = bob.get("/api/v1/directory/users?q=" + urllib.parse.quote(q))
        assert r.status == 200, (q, r)
        assert r.json()["items"] == [], q
    # limit bounds the answer; bad input names the parameter.
    assert len(bob.get("/api/v1/directory/users?q=E&limit=2").json()["items"]) == 2
    assert_problem(bob.get("/api/v1/directory/users?q=E&limit=51"), 422, "validation_failed",
                   "query.limit")
    assert_problem(bob.get("/api/v1/directory/users"), 422, "validation_failed", "query.q")
    assert_problem(bob.get("/api/v1/directory/users?q=" + urllib.parse.quote("长" * 65)), 422, "validation_failed",
                   "query.q")
    # Signed-in users only.
    assert_problem(org["server"].request("GET", "/api/v1/directory/users?q=E"), 401,
                   "unauthorized")
