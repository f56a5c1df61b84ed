"""Identity and access control, black-box (issue #3; SI-3, OA-4; MLPS 身份鉴别/访问控制;
compliance checklist A1-A7, B8-B12).

Administrators come from `custos admin init --json`; their first login must change the one-time
password and set up TOTP before anything else works. Other users are created through the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
import subprocess
import time

import pytest

from conftest import CUSTOS_BIN, assert_problem, child_env, sql_exec

NEW_PASSWORD = "Xq7#mVt2-Lp9!wZ"


def totp(secret_b32: str, at: float | None = None, step_offset: int = 0) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((at if at is not None else time.time()) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def admin_init(db_url: str) -> dict:
    out = subprocess.run([CUSTOS_BIN, "admin", "init", "--json", "--database", db_url],
                         capture_output=True, text=True, timeout=120, env=child_env())
    assert out.returncode == 0, out.stderr
    accounts = json.loads(out.stdout)["accounts"]
    return {a["role"]: a for a in accounts}


class Session:
    """A logged-in client: Bearer token by default, or the cookie with its CSRF token."""

    def __init__(self, server, token: str, csrf: str = "", cookie: bool = False):
        self.server, self.token, self.csrf, self.cookie = server, token, csrf, cookie

    def headers(self, extra=None, csrf=True):
        h = {}
        if self.cookie:
            h["Cookie"] = f"custos_session={self.token}"
            if csrf and self.csrf:
                h["X-CSRF-Token"] = self.csrf
        else:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(extra or {})
        return h

    def req(self, method, path, json_body=None, headers=None, csrf=True):
        return self.server.request(method, path, json_body=json_body,
                                   headers=self.headers(headers, csrf))

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, json_body=body if body is not None else {}, **kw)

    def patch(self, path, body, etag, **kw):
        return self.req("PATCH", path, json_body=body, headers={"If-Match": etag}, **kw)


def login(server, username, password, code=None, expect=200):
    body = {"username": username, "password": password}
    if code is not None:
        body["totp"] = code
    r = server.post("/api/v1/auth/login", json_body=body)
    assert r.status == expect, r
    return r


def activate_admin(server, account) -> tuple[Session, str]:
    """First login of an administrator: change the password, enrol and confirm TOTP."""
    r = login(server, account["username"], account["password"])
    body = r.json()
    assert body["must_change_password"] is True
    assert body["mfa_enrollment_required"] is True
    s = Session(server, body["token"])
    assert_problem(s.get("/api/v1/users"), 403, "password_change_required")
    r = s.post("/api/v1/auth/password",
               {"old_password": account["password"], "new_password": NEW_PASSWORD})
    assert r.status == 204, r
    assert_problem(s.get("/api/v1/users"), 403, "mfa_enrollment_required")
    r = s.post("/api/v1/auth/totp/enroll")
    assert r.status == 200, r
    secret = r.json()["secret"]
    assert r.json()["otpauth_uri"].startswith("otpauth://totp/Custos:")
    r = s.post("/api/v1/auth/totp/confirm", {"code": totp(secret)})
    assert r.status == 204, r
    return s, secret


def fresh_login(server, username, secret, step_offset=1) -> Session:
    # The confirm step used the current time step; a new login needs a later one (no replay).
    r = login(server, username, NEW_PASSWORD, code=totp(secret, step_offset=step_offset))
    return Session(server, r.json()["token"])


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    """A server with the three administrators activated and a small organisation:
    dept A (with child A1) and dept B; users alice (A), bob (B), carol (A1)."""
    from conftest import Server, fresh_db_url

    tmp = tmp_path_factory.mktemp("auth")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    server = Server(tmp, url).start()
    sys_s, sys_secret = activate_admin(server, accounts["system"])
    sec_s, sec_secret = activate_admin(server, accounts["security"])
    aud_s, aud_secret = activate_admin(server, accounts["audit"])

    def dept(code, name, parent=None):
        body = {"code": code, "name": name}
        if parent:
            body["parent_id"] = parent
        r = sys_s.post("/api/v1/departments", body)
        assert r.status == 201, r
        return r.json()["id"]

    a = dept("A", "客服部")
    a1 = dept("A1", "客服一组", a)
    b = dept("B", "信息管理部")

    def user(username, name, department_id):
        r = sys_s.post("/api/v1/users", {"username": username, "name": name,
                                          "department_id": department_id,
                                          "employee_no": "E" + username})
        assert r.status == 201, r
        return r.json()

    users = {"alice": user("alice", "王丽", a), "bob": user("bob", "李强", b),
             "carol": user("carol", "张敏", a1)}
    ctx = dict(server=server, url=url, accounts=accounts, sys=sys_s, sec=sec_s, aud=aud_s,
               secrets={"system": sys_secret, "security": sec_secret, "audit": aud_secret},
               depts={"A": a, "A1": a1, "B": b}, users=users)
    yield ctx
    server.stop_and_check()


def activate_user(ctx, name) -> Session:
    """A fresh session of a user; the first call also replaces the initial password."""
    u = ctx["users"][name]
    server = ctx["server"]
    if not u.get("activated"):
        r = login(server, name, u["initial_password"])
        s = Session(server, r.json()["token"])
        r = s.post("/api/v1/auth/password", {"old_password": u["initial_password"],
                                              "new_password": NEW_PASSWORD})
        assert r.status == 204, r
        u["activated"] = True
    return Session(server, login(server, name, NEW_PASSWORD).json()["token"])


def reauth(s: Session):
    r = s.post("/api/v1/auth/reauth", {"password": NEW_PASSWORD})
    assert r.status == 204, r


def grant_role(ctx, username, code, permissions, scope):
    sec = ctx["sec"]
    reauth(sec)
    r = sec.post("/api/v1/roles", {"code": code, "name": code, "scope": scope,
                                   "permissions": permissions})
    assert r.status == 201, r
    role_id = r.json()["id"]
    user_id = ctx["users"][username]["id"]
    r = sec.req("PUT", f"/api/v1/users/{user_id}/roles", json_body={"role_ids": [role_id]})
    assert r.status == 200, r
    return role_id


# ---------------------------------------------------------------------------------------------


def test_admin_init_prints_three_accounts_once(tmp_path, db_url):
    accounts = admin_init(db_url)
    assert set(accounts) == {"system", "security", "audit"}
    assert len({a["password"] for a in accounts.values()}) == 3
    for a in accounts.values():
        assert len(a["password"]) >= 12
    again = subprocess.run([CUSTOS_BIN, "admin", "init", "--json", "--database", db_url],
                           capture_output=True, text=True, timeout=120, env=child_env())
    assert again.returncode != 0
    assert "password" not in again.stdout


def test_no_default_account_works(org):
    for username, password in [("admin", "admin"), ("root", "root"), ("sa", "sa"),
                               ("sysadmin", "sysadmin"), ("admin", "123456")]:
        r = login(org["server"], username, password, expect=401)
        assert_problem(r, 401, "invalid_credentials")


def test_first_login_gates_and_mfa(org):
    server = org["server"]
    secret = org["secrets"]["system"]
    r = login(server, "sysadmin", NEW_PASSWORD, expect=401)
    assert_problem(r, 401, "mfa_required", "body.totp")
    r = login(server, "sysadmin", NEW_PASSWORD, code="000000", expect=401)
    assert_problem(r, 401, "invalid_credentials")
    s = fresh_login(server, "sysadmin", secret)
    me = s.get("/api/v1/auth/me").json()
    assert me["admin_role"] == "system"
    assert me["must_change_password"] is False and me["mfa_enrollment_required"] is False


def test_login_sets_httponly_samesite_cookie_and_csrf_guards_writes(org):
    server = org["server"]
    activate_user(org, "bob")
    r = login(server, "bob", NEW_PASSWORD)
    cookie = r.header("Set-Cookie")
    assert "custos_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    body = r.json()
    assert len(body["token"]) >= 43 and body["csrf_header"] == "X-CSRF-Token"
    s = Session(server, body["token"], csrf=body["csrf_token"], cookie=True)
    assert s.get("/api/v1/auth/me").status == 200
    r = s.post("/api/v1/auth/reauth", {"password": NEW_PASSWORD}, csrf=False)
    assert_problem(r, 403, "csrf_failed")
    r = s.req("POST", "/api/v1/auth/reauth", json_body={"password": NEW_PASSWORD},
              headers={"X-CSRF-Token": "forged"}, csrf=False)
    assert_problem(r, 403, "csrf_failed")
    assert s.post("/api/v1/auth/reauth", {"password": NEW_PASSWORD}).status == 204
    # After a reload the console asks /auth/me for the CSRF token again (it keeps it in memory
    # only); a Bearer client gets none.
    me = s.get("/api/v1/auth/me").json()
    assert me["csrf_token"] == body["csrf_token"] and me["csrf_header"] == "X-CSRF-Token"
    assert me["session_id"]
    bearer = Session(server, body["token"]).get("/api/v1/auth/me").json()
    assert "csrf_token" not in bearer
    sessions = org["sec"].get("/api/v1/sessions").json()["items"]
    assert any(str(x["id"]) == me["session_id"] for x in sessions)


def test_lockout_after_five_failures_and_message(org):
    server = org["server"]
    r = org["sys"].post("/api/v1/users", {"username": "locky", "name": "锁定测试"})
    assert r.status == 201, r
    initial = r.json()["initial_password"]
    for i in range(4):
        assert_problem(login(server, "locky", "wrong-" + str(i), expect=401), 401,
                       "invalid_credentials")
    r = login(server, "locky", "wrong-5", expect=423)
    body = assert_problem(r, 423, "account_locked")
    assert "锁定" in body["title"]
    # Even the right password is refused while locked.
    assert_problem(login(server, "locky", initial, expect=423), 423, "account_locked")
    rows = sql_exec(org["url"], "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.lockout'")
    assert int(rows) >= 1


def test_unknown_user_and_wrong_password_look_the_same(org):
    a = login(org["server"], "nosuchuser", "whatever", expect=401).json()
    b = login(org["server"], "bob", "wrong password", expect=401).json()
    assert a["code"] == b["code"] == "invalid_credentials"
    assert a["title"] == b["title"]


def test_separation_of_duties(org):
    sys_s, sec_s, aud_s = org["sys"], org["sec"], org["aud"]
    alice_id = org["users"]["alice"]["id"]
    # The system administrator manages users but cannot grant roles, not even to himself.
    reauth(sys_s)
    r = sys_s.req("PUT", f"/api/v1/users/{alice_id}/roles", json_body={"role_ids": ["1"]})
    assert_problem(r, 403, "forbidden")
    me = sys_s.get("/api/v1/auth/me").json()
    r = sys_s.req("PUT", f"/api/v1/users/{me['id']}/roles", json_body={"role_ids": ["3"]})
    assert r.status in (403, 404), r
    # The auditor can change nothing.
    r = aud_s.post("/api/v1/users", {"username": "x-auditor-made", "name": "x"})
    assert_problem(r, 403, "forbidden")
    r = aud_s.post("/api/v1/departments", {"code": "AUD", "name": "x"})
    assert_problem(r, 403, "forbidden")
    # The security administrator cannot change his own roles.
    reauth(sec_s)
    sec_me = sec_s.get("/api/v1/auth/me").json()
    r = sec_s.req("PUT", f"/api/v1/users/{sec_me['id']}/roles", json_body={"role_ids": ["1"]})
    assert_problem(r, 403, "forbidden")
    # One account holds at most one of the three administrator roles.
    roles = {r["code"]: r["id"] for r in sec_s.get("/api/v1/roles").json()["items"]}
    r = sec_s.req("PUT", f"/api/v1/users/{alice_id}/roles",
                  json_body={"role_ids": [roles["system_admin"], roles["audit_admin"]]})
    assert_problem(r, 409, "separation_of_duties")
    # Every refusal above changed nothing: alice still has no roles.
    assert sec_s.get(f"/api/v1/users/{alice_id}").json()["role_ids"] == []


def test_a_duplicate_department_code_names_the_field(org):
    r = org["sys"].post("/api/v1/departments", {"code": "A", "name": "另一个客服部"})
    assert_problem(r, 409, "conflict", "body.code")
    b = org["sys"].get(f"/api/v1/departments/{org['depts']['B']}").json()
    r = org["sys"].patch(f"/api/v1/departments/{b['id']}", {"code": "A"}, b["etag"])
    assert_problem(r, 409, "conflict", "body.code")


def test_department_scope_and_idor(org):
    grant_role(org, "alice", "dept_viewer", ["org:users:read", "org:departments:read"],
               "department_tree")
    alice = activate_user(org, "alice")
    users = org["users"]
    # Her own department and its child are visible; B is not, and answers as if absent.
    assert alice.get(f"/api/v1/users/{users['carol']['id']}").status == 200
    r = alice.get(f"/api/v1/users/{users['bob']['id']}")
    assert_problem(r, 404, "not_found")
    missing = alice.get("/api/v1/users/999999")
    assert_problem(missing, 404, "not_found")
    assert r.json()["title"] == missing.json()["title"]
    listed = alice.get("/api/v1/users?limit=500").json()
    names = {u["username"] for u in listed["items"]}
    assert names == {"alice", "carol"}
    assert listed["total"] == 2
    r = alice.get(f"/api/v1/departments/{org['depts']['B']}")
    assert_problem(r, 404, "not_found")
    # Read permission does not allow writes.
    r = alice.post("/api/v1/departments", {"code": "X1", "name": "x",
                                           "parent_id": org["depts"]["A"]})
    assert_problem(r, 403, "forbidden")


def test_api_token_scope_and_revocation(org):
    grant_role(org, "bob", "bob_reader", ["org:users:read"], "department")
    bob = activate_user(org, "bob")
    exp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    r = bob.post("/api/v1/api-tokens", {"name": "报表脚本", "scopes": ["org:users:read"],
                                        "expires_at": exp})
    assert r.status == 201, r
    token, token_id = r.json()["token"], r.json()["id"]
    r = bob.post("/api/v1/api-tokens", {"name": "too wide", "scopes": ["org:users:write"],
                                        "expires_at": exp})
    assert_problem(r, 403, "forbidden", "body.scopes")
    t = Session(org["server"], token)
    assert t.get("/api/v1/users").status == 200
    # The token cannot do what its scopes leave out, even where its owner could.
    assert t.get("/api/v1/departments").json()["total"] == 0
    listed = bob.get("/api/v1/api-tokens").json()["items"]
    assert any(x["id"] == token_id for x in listed)
    assert all("token" not in x for x in listed)
    # Someone else's token id answers like a missing one.
    other = org["sys"].req("DELETE", f"/api/v1/api-tokens/{token_id}")
    assert_problem(other, 404, "not_found")
    assert bob.req("DELETE", f"/api/v1/api-tokens/{token_id}").status == 204
    assert_problem(t.get("/api/v1/users"), 401, "unauthorized")


def test_forced_logout_and_logout(org):
    server = org["server"]
    carol = activate_user(org, "carol")
    sec = org["sec"]
    sessions = sec.get("/api/v1/sessions").json()["items"]
    mine = [s for s in sessions if s["username"] == "carol"]
    assert mine, sessions
    for s in mine:
        assert sec.req("DELETE", f"/api/v1/sessions/{s['id']}").status == 204
    assert_problem(carol.get("/api/v1/auth/me"), 401, "unauthorized")
    # Plain users may not see or end others' sessions.
    c2 = Session(server, login(server, "carol", NEW_PASSWORD).json()["token"])
    assert_problem(c2.get("/api/v1/sessions"), 403, "forbidden")
    assert c2.post("/api/v1/auth/logout").status == 204
    assert_problem(c2.get("/api/v1/auth/me"), 401, "unauthorized")


def test_password_policy_on_change(org):
    server = org["server"]
    r = org["sys"].post("/api/v1/users", {"username": "policy1", "name": "策略"})
    initial = r.json()["initial_password"]
    s = Session(server, login(server, "policy1", initial).json()["token"])
    for bad, why in [("Short1!", "too_short"), ("alllowercaseletters", "too_few_classes"),
                     ("Password123!", "common"), ("policy1-Xy7#abc", "contains_identity"),
                     ("A" * 129 + "b1!", "too_long")]:
        r = s.post("/api/v1/auth/password", {"old_password": initial, "new_password": bad})
        body = assert_problem(r, 422, "weak_password", "body.new_password")
        assert body["detail"] == why
    r = s.post("/api/v1/auth/password", {"old_password": "wrong", "new_password": NEW_PASSWORD})
    assert_problem(r, 401, "invalid_credentials", "body.old_password")


def test_bad_input_on_user_fields(org):
    sys_s = org["sys"]
    cases = [
        ({"username": "Bad Name", "name": "x"}, "body.username"),
        ({"username": "ab", "name": "x"}, "body.username"),
        ({"username": "okname1", "name": ""}, "body.name"),
        ({"username": "okname2", "name": "名" * 65}, "body.name"),
        ({"username": "okname3", "name": "x", "clearance": 7}, "body.clearance"),
        ({"username": "okname4", "name": "x", "department_id": "abc"}, "body.department_id"),
        ({"username": "okname5", "name": "x", "department_id": "999999"}, "body.department_id"),
        ({"username": "okname6", "name": "x", "email": "not-an-email"}, "body.email"),
        ({"username": "okname7", "name": 12}, "body.name"),
        ({"username": "okname8", "name": "x", "employee_no": "'; DROP TABLE users; --"},
         "body.employee_no"),
    ]
    before = sys_s.get("/api/v1/users?limit=1").json()["total"]
    for body, field in cases:
        r = sys_s.post("/api/v1/users", body)
        assert_problem(r, 422, "validation_failed", field)
    r = sys_s.post("/api/v1/users", {"username": "alice", "name": "dup"})
    assert_problem(r, 409, "conflict", "body.username")
    assert sys_s.get("/api/v1/users?limit=1").json()["total"] == before
    # SQL metacharacters in a search are data.
    r = sys_s.get("/api/v1/users?q=%27%20OR%201%3D1%20--")
    assert r.status == 200 and r.json()["total"] == 0
    assert_problem(sys_s.get("/api/v1/users?limit=0"), 422, "validation_failed", "query.limit")
    assert_problem(sys_s.get("/api/v1/users?limit=501"), 422, "validation_failed", "query.limit")
    assert_problem(sys_s.get("/api/v1/users?cursor=abc"), 422, "validation_failed", "query.cursor")


def test_patch_needs_if_match_and_detects_stale_etags(org):
    sys_s = org["sys"]
    d = sys_s.get(f"/api/v1/departments/{org['depts']['B']}")
    etag = d.header("ETag")
    r = sys_s.req("PATCH", f"/api/v1/departments/{org['depts']['B']}",
                  json_body={"name": "信息管理部（新）"})
    assert_problem(r, 428, "precondition_required", "header.if-match")
    r = sys_s.patch(f"/api/v1/departments/{org['depts']['B']}", {"name": "信息管理部（新）"}, etag)
    assert r.status == 200 and r.json()["name"] == "信息管理部（新）"
    r = sys_s.patch(f"/api/v1/departments/{org['depts']['B']}", {"name": "stale"}, etag)
    assert_problem(r, 412, "precondition_failed")


def test_pagination_with_cursor(org):
    sys_s = org["sys"]
    seen, cursor = [], None
    while True:
        path = "/api/v1/users?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = sys_s.get(path).json()
        seen += [u["id"] for u in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == page["total"]


def test_every_login_attempt_is_logged_and_audited(org):
    logins = int(sql_exec(org["url"], "SELECT COUNT(*) FROM login_events"))
    audits = int(sql_exec(org["url"],
                          "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login'"))
    activate_user(org, "bob")
    logins = int(sql_exec(org["url"], "SELECT COUNT(*) FROM login_events"))
    audits = int(sql_exec(org["url"],
                          "SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login'"))
    login(org["server"], "bob", "definitely wrong", expect=401)
    assert int(sql_exec(org["url"], "SELECT COUNT(*) FROM login_events")) == logins + 1
    assert int(sql_exec(org["url"], "SELECT COUNT(*) FROM audit_events "
                                    "WHERE action = 'auth.login'")) == audits + 1
    # The raw token is never stored.
    token = activate_user(org, "bob").token
    dump = sql_exec(org["url"], "SELECT token_hash FROM sessions")
    assert token not in dump


def test_personal_fields_are_masked_and_unmasking_is_audited(org):
    sys_s, server = org["sys"], org["server"]
    r = sys_s.post("/api/v1/users", {"username": "mask.me", "name": "掩码", "email": "zhangsan@example.cn",
                                      "department_id": org["depts"]["A"]})
    assert r.status == 201, r
    uid, initial = r.json()["id"], r.json()["initial_password"]
    assert r.json()["email"] == "z***@example.cn"
    assert sys_s.get(f"/api/v1/users/{uid}").json()["email"] == "z***@example.cn"
    listed = sys_s.get("/api/v1/users?q=mask.me").json()["items"]
    assert listed[0]["email"] == "z***@example.cn"
    # Without the unmask permission: refused, and nothing is revealed.
    r = sys_s.post(f"/api/v1/users/{uid}/unmask", {"fields": ["email"], "reason": "核对"})
    assert r.status in (401, 403), r
    assert "zhangsan" not in r.body.decode()
    # One's own record may be unmasked, with a reason, and it is recorded.
    me = Session(server, login(server, "mask.me", initial).json()["token"])
    me.post("/api/v1/auth/password", {"old_password": initial, "new_password": NEW_PASSWORD})
    before = int(sql_exec(org["url"], "SELECT COUNT(*) FROM audit_events WHERE action = 'org.user.unmask'"))
    r = me.post(f"/api/v1/users/{uid}/unmask", {"fields": ["email"], "reason": "查看本人邮箱"})
    assert r.status == 200 and r.json() == {"email": "zhangsan@example.cn"}, r
    after = int(sql_exec(org["url"], "SELECT COUNT(*) FROM audit_events WHERE action = 'org.user.unmask'"))
    assert after == before + 1
    row = sql_exec(org["url"], "SELECT reason FROM audit_events WHERE action = 'org.user.unmask' "
                               "ORDER BY seq DESC LIMIT 1")
    assert row == "查看本人邮箱"
    # A reason is required and fields are checked.
    assert_problem(me.post(f"/api/v1/users/{uid}/unmask", {"fields": ["email"], "reason": ""}),
                   422, "validation_failed", "body.reason")
    assert_problem(me.post(f"/api/v1/users/{uid}/unmask", {"fields": ["password_hash"],
                                                           "reason": "x"}),
                   422, "validation_failed", "body.fields")
    # A holder of org:users:unmask may, within the re-authentication window (a fresh login
    # opens it; its expiry is covered by the AuthService unit tests).
    grant_role(org, "carol", "unmasker", ["org:users:read", "org:users:unmask"], "all")
    carol = activate_user(org, "carol")
    r = carol.post(f"/api/v1/users/{uid}/unmask", {"fields": ["email"], "reason": "客服回访"})
    assert r.status == 200 and r.json()["email"] == "zhangsan@example.cn"


def test_login_log_for_security_and_audit_administrators(org):
    login(org["server"], "nobody.here", "x", expect=401)
    for s in (org["sec"], org["aud"]):
        page = s.get("/api/v1/login-events?outcome=failure&limit=5").json()
        assert page["total"] >= 1 and len(page["items"]) <= 5
        assert all(e["outcome"] == "failure" for e in page["items"])
        assert any(e["username"] == "nobody.here" for e in
                   s.get("/api/v1/login-events?username=nobody.here").json()["items"])
        first = page["items"][0]
        assert {"ip", "user_agent", "at", "reason"} <= first.keys()
    assert_problem(org["sys"].get("/api/v1/login-events"), 403, "forbidden")
    assert_problem(org["sec"].get("/api/v1/login-events?outcome=maybe"), 422, "validation_failed",
                   "query.outcome")
    # Paging newest first never repeats an event.
    seen, cursor = [], None
    for _ in range(50):
        page = org["sec"].get("/api/v1/login-events?limit=3" + (f"&cursor={cursor}" if cursor else "")).json()
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == page["total"]


def test_posts_catalogue_and_user_posts(org):
    sys_s = org["sys"]
    r = sys_s.post("/api/v1/posts", {"code": "admin_hr_specialist", "name": "行政人事专员",
                                      "approval_authority": True})
    assert r.status == 201, r
    post = r.json()
    assert post["approval_authority"] is True and r.header("Location").endswith(post["id"])
    assert_problem(sys_s.post("/api/v1/posts", {"code": "admin_hr_specialist", "name": "x"}),
                   409, "conflict", "body.code")
    assert_problem(sys_s.post("/api/v1/posts", {"code": "bad code", "name": "x"}),
                   422, "validation_failed", "body.code")
    assert_problem(sys_s.post("/api/v1/posts", {"code": "p2", "name": "x",
                                                 "approval_authority": "yes"}),
                   422, "validation_failed", "body.approval_authority")
    r = sys_s.patch(f"/api/v1/posts/{post['id']}", {"name": "行政人事专员（总部）"}, post["etag"])
    assert r.status == 200 and r.json()["name"] == "行政人事专员（总部）"
    alice_id = org["users"]["alice"]["id"]
    r = sys_s.req("PUT", f"/api/v1/users/{alice_id}/posts", json_body={"post_ids": [post["id"]]})
    assert r.status == 200 and r.json()["post_ids"] == [post["id"]], r
    assert_problem(sys_s.req("PUT", f"/api/v1/users/{alice_id}/posts",
                             json_body={"post_ids": ["999999"]}),
                   422, "validation_failed", "body.post_ids")
    # The auditor can read nothing of it, and cannot change it.
    assert_problem(org["aud"].post("/api/v1/posts", {"code": "p3", "name": "x"}), 403, "forbidden")
    items = sys_s.get("/api/v1/posts").json()["items"]
    assert [p["code"] for p in items] == ["admin_hr_specialist"]
    # Several posts: the user by id and in the list name the same ones, ascending.
    second = sys_s.post("/api/v1/posts", {"code": "night_duty", "name": "夜班值守"}).json()
    r = sys_s.req("PUT", f"/api/v1/users/{alice_id}/posts",
                  json_body={"post_ids": [second["id"], post["id"]]})
    assert r.status == 200, r
    both = sorted([post["id"], second["id"]], key=int)
    assert r.json()["post_ids"] == both
    assert sys_s.get(f"/api/v1/users/{alice_id}").json()["post_ids"] == both
    listed = {u["id"]: u for u in sys_s.get("/api/v1/users?limit=500").json()["items"]}
    assert listed[alice_id]["post_ids"] == both
    assert listed[org["users"]["bob"]["id"]]["post_ids"] == []
    r = sys_s.req("PUT", f"/api/v1/users/{alice_id}/posts", json_body={"post_ids": [post["id"]]})
    assert r.status == 200 and r.json()["post_ids"] == [post["id"]], r
