"""Offboarding over HTTP (issue #3 item 6; OA-4, IT-2): confirming a departure or transfer opens
the information-system permission form (信息系统权限审批单) and alerts the security
administrator; completion is refused (409, open checks listed) until the form is done; the form
removes the user's roles and API tokens; a completed departure ends every session.

The deadline (access suspended when the form is late) needs the server's clock to move, which a
black-box test cannot do: tests/unit/offboarding_test.cpp covers it with a ManualClock.
"""

from __future__ import annotations

import datetime
import re

import pytest

from conftest import assert_problem, sql_exec
from test_auth import Session, activate_admin, activate_user, admin_init, grant_role, reauth

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def parse_time(s: str) -> datetime.datetime:
    assert RFC3339.fullmatch(s), s
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """A server with the system and security administrators activated, departments A and B, and
    users alice, dave, carol (A) and bob (B). Keys match test_auth's helpers."""
    from conftest import Server, fresh_db_url

    tmp = tmp_path_factory.mktemp("offboarding")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    server = Server(tmp, url).start()
    sys_s, _ = activate_admin(server, accounts["system"])
    sec_s, _ = activate_admin(server, accounts["security"])

    def dept(code, name):
        r = sys_s.post("/api/v1/departments", {"code": code, "name": name})
        assert r.status == 201, r
        return r.json()["id"]

    a, b = dept("A", "客服部"), dept("B", "信息管理部")

    def user(username, name, department_id):
        r = sys_s.post("/api/v1/users", {"username": username, "name": name,
                                          "department_id": department_id})
        assert r.status == 201, r
        return r.json()

    users = {"alice": user("alice", "王丽", a), "bob": user("bob", "李强", b),
             "carol": user("carol", "张敏", a), "dave": user("dave", "周丹", a),
             "erin": user("erin", "吴芳", a)}
    c = dict(server=server, url=url, sys=sys_s, sec=sec_s, depts={"A": a, "B": b}, users=users)
    yield c
    server.stop_and_check()


def open_case(s: Session, user_id: str, body: dict):
    return s.post(f"/api/v1/users/{user_id}/offboarding", body)


def test_departure_flow(ctx):
    sys_s, sec_s = ctx["sys"], ctx["sec"]
    alice = ctx["users"]["alice"]
    grant_role(ctx, "alice", "agent", ["org:departments:read"], "own")
    alice_s = activate_user(ctx, "alice")
    assert alice_s.get("/api/v1/auth/me").status == 200
    assert sys_s.get(f"/api/v1/users/{alice['id']}").json()["role_ids"] != []

    r = open_case(sys_s, alice["id"], {"kind": "departure", "reason": "合同到期"})
    assert r.status == 201, r
    case = r.json()
    assert isinstance(case["id"], str) and isinstance(case["user_id"], str)
    assert r.header("Location") == f"/api/v1/offboarding-cases/{case['id']}"
    assert r.header("ETag") == case["etag"]
    assert case["user_id"] == alice["id"]
    assert (case["kind"], case["status"], case["permission_form_status"]) == \
        ("departure", "open", "pending")
    assert case["target_department_id"] is None
    assert parse_time(case["deadline_at"]) - parse_time(case["opened_at"]) == \
        datetime.timedelta(days=3)
    # The permission form, and the equipment handover the assets module registers (IT-2).
    assert [c["name"] for c in case["checks"]] == ["permission_form", "asset_handover"]
    assert case["checks"][0]["status"] == "open"
    assert sys_s.get(f"/api/v1/users/{alice['id']}").json()["status"] == "departing"
    # A departing user still works during the notice period.
    assert alice_s.get("/api/v1/auth/me").status == 200

    # The security administrator is alerted; the system administrator's inbox stays empty.
    alerts = sec_s.get("/api/v1/alerts").json()
    mine = [a for a in alerts["items"] if a["object_id"] == case["id"]]
    assert len(mine) == 1, alerts
    assert mine[0]["kind"] == "offboarding.permission_form"
    assert mine[0]["audience"] == "security_admin"
    assert mine[0]["message_zh"].startswith("信息系统权限审批单待处理：王丽 (截止 ")
    assert mine[0]["read_at"] is None
    parse_time(mine[0]["created_at"])
    empty = sys_s.get("/api/v1/alerts").json()
    assert empty == {"items": [], "next_cursor": None, "total": 0, "total_exact": True}

    # A second case for the same user is a conflict.
    assert_problem(open_case(sys_s, alice["id"], {"kind": "departure", "reason": "x"}), 409,
                   "conflict")

    # Completion is refused while the form is pending, and the refusal lists it.
    body = assert_problem(sys_s.post(f"/api/v1/offboarding-cases/{case['id']}/complete"), 409,
                          "conflict")
    assert "permission_form (pending)" in body["detail"], body

    # The form: the security administrator's, after a password confirmation.
    form_path = f"/api/v1/offboarding-cases/{case['id']}/permission-form"
    reauth(sys_s)
    assert_problem(sys_s.post(form_path), 403, "forbidden")
    reauth(sec_s)
    r = sec_s.post(form_path)
    assert r.status == 200, r
    assert r.json()["permission_form_status"] == "done"
    assert r.json()["checks"][0]["status"] == "done"
    assert r.json()["form_done_by"] is not None
    assert sys_s.get(f"/api/v1/users/{alice['id']}").json()["role_ids"] == []
    assert_problem(sec_s.post(form_path), 409, "conflict")  # done already
    unread = sec_s.get("/api/v1/alerts?unread=true").json()
    assert all(a["object_id"] != case["id"] for a in unread["items"]), unread

    r = sys_s.post(f"/api/v1/offboarding-cases/{case['id']}/complete")
    assert r.status == 200, r
    done = r.json()
    assert done["status"] == "completed"
    parse_time(done["completed_at"])
    assert sys_s.get(f"/api/v1/users/{alice['id']}").json()["status"] == "departed"
    # Every session of a departed user has ended.
    assert_problem(alice_s.get("/api/v1/auth/me"), 401, "unauthorized")
    assert_problem(sys_s.post(f"/api/v1/offboarding-cases/{case['id']}/cancel"), 409, "conflict")

    # The case stays readable, with its checks as they stood; every step is on record.
    got = sys_s.get(f"/api/v1/offboarding-cases/{case['id']}").json()
    assert got["status"] == "completed" and got["checks"][0]["name"] == "permission_form"
    actions = sql_exec(ctx["url"], "SELECT action || ':' || outcome FROM audit_events WHERE "
                                   f"object_type = 'offboarding_case' AND object_id = '{case['id']}'"
                                   " ORDER BY seq").split("\n")
    assert actions == ["org.offboarding.open:success", "org.offboarding.complete:failed",
                       "org.offboarding.permission_form:success",
                       "org.offboarding.complete:success"], actions


def test_transfer_completes_into_the_new_department(ctx):
    sys_s, sec_s = ctx["sys"], ctx["sec"]
    bob = ctx["users"]["bob"]
    r = open_case(sys_s, bob["id"], {"kind": "transfer", "reason": "轮岗",
                                     "target_department_id": ctx["depts"]["A"]})
    assert r.status == 201, r
    case = r.json()
    assert case["target_department_id"] == ctx["depts"]["A"]
    current = sys_s.get(f"/api/v1/users/{bob['id']}")
    assert current.json()["status"] == "transferring"
    # While the case is open, its target decides the department: a PATCH may not move the user.
    r = sys_s.patch(f"/api/v1/users/{bob['id']}", {"department_id": ctx["depts"]["A"]},
                    current.header("ETag"))
    assert_problem(r, 409, "conflict", "body.department_id")
    reauth(sec_s)
    assert sec_s.post(f"/api/v1/offboarding-cases/{case['id']}/permission-form").status == 200
    r = sys_s.post(f"/api/v1/offboarding-cases/{case['id']}/complete")
    assert r.status == 200, r
    u = sys_s.get(f"/api/v1/users/{bob['id']}").json()
    assert (u["status"], u["department_id"]) == ("active", ctx["depts"]["A"])


def test_cancel_makes_the_user_active_again(ctx):
    sys_s = ctx["sys"]
    erin = ctx["users"]["erin"]
    case = open_case(sys_s, erin["id"], {"kind": "departure", "reason": "x"}).json()
    r = sys_s.post(f"/api/v1/offboarding-cases/{case['id']}/cancel")
    assert r.status == 200, r
    assert r.json()["status"] == "cancelled"
    assert sys_s.get(f"/api/v1/users/{erin['id']}").json()["status"] == "active"


def test_input_is_checked(ctx):
    sys_s = ctx["sys"]
    uid = ctx["users"]["dave"]["id"]
    assert_problem(open_case(sys_s, uid, {"kind": "retire", "reason": "x"}), 422,
                   "validation_failed", "body.kind")
    assert_problem(open_case(sys_s, uid, {"kind": "departure"}), 422, "validation_failed",
                   "body.reason")
    assert_problem(open_case(sys_s, uid, {"kind": "transfer", "reason": "x"}), 422,
                   "validation_failed", "body.target_department_id")
    assert_problem(open_case(sys_s, uid, {"kind": "transfer", "reason": "x",
                                          "target_department_id": "abc"}), 422,
                   "validation_failed", "body.target_department_id")
    assert_problem(open_case(sys_s, "999999", {"kind": "departure", "reason": "x"}), 404,
                   "not_found")
    assert_problem(sys_s.get("/api/v1/offboarding-cases/999999"), 404, "not_found")
    assert_problem(sys_s.get("/api/v1/offboarding-cases/abc"), 404, "not_found")
    assert_problem(sys_s.get("/api/v1/offboarding-cases?status=maybe"), 422, "validation_failed",
                   "query.status")
    assert_problem(ctx["server"].get("/api/v1/offboarding-cases"), 401, "unauthorized")
    assert sys_s.get(f"/api/v1/users/{uid}").json()["status"] == "active"


def test_scope_and_permissions(ctx):
    """carol manages department A's users; dave may only read users."""
    sys_s, sec_s = ctx["sys"], ctx["sec"]
    grant_role(ctx, "carol", "a_user_admin", ["org:users:read", "org:users:write"], "department")
    grant_role(ctx, "dave", "user_reader", ["org:users:read"], "all")
    carol, dave = activate_user(ctx, "carol"), activate_user(ctx, "dave")

    # A case in B (bob's, from the transfer test, now in A: use a fresh B user).
    r = sys_s.post("/api/v1/users", {"username": "frank", "name": "郑凯",
                                     "department_id": ctx["depts"]["B"]})
    assert r.status == 201, r
    frank = r.json()
    b_case = open_case(sys_s, frank["id"], {"kind": "departure", "reason": "x"}).json()

    # Outside carol's department: 404, exactly like a missing case.
    missing = assert_problem(carol.get("/api/v1/offboarding-cases/999999"), 404, "not_found")
    hidden = assert_problem(carol.get(f"/api/v1/offboarding-cases/{b_case['id']}"), 404,
                            "not_found")
    assert (missing["title"], missing["detail"]) == (hidden["title"], hidden["detail"])
    assert_problem(carol.post(f"/api/v1/offboarding-cases/{b_case['id']}/complete"), 404,
                   "not_found")
    assert_problem(open_case(carol, frank["id"], {"kind": "departure", "reason": "x"}), 404,
                   "not_found")
    listed = carol.get("/api/v1/offboarding-cases").json()
    assert b_case["id"] not in {c["id"] for c in listed["items"]}
    assert listed["total"] == len(listed["items"])

    # Inside it: carol may open and cancel; dave (read only) may read but not act.
    erin = ctx["users"]["erin"]
    r = open_case(dave, erin["id"], {"kind": "departure", "reason": "x"})
    assert_problem(r, 403, "forbidden")
    r = open_case(carol, erin["id"], {"kind": "departure", "reason": "x"})
    assert r.status == 201, r
    a_case = r.json()
    assert dave.get(f"/api/v1/offboarding-cases/{a_case['id']}").status == 200
    assert_problem(dave.post(f"/api/v1/offboarding-cases/{a_case['id']}/complete"), 403,
                   "forbidden")
    reauth(carol)
    assert_problem(carol.post(f"/api/v1/offboarding-cases/{a_case['id']}/permission-form"), 403,
                   "forbidden")
    assert dave.get("/api/v1/alerts").json()["total"] == 0  # no administrator role, no inbox
    assert carol.post(f"/api/v1/offboarding-cases/{a_case['id']}/cancel").status == 200

    # The security administrator's alert: only the audience may mark it read.
    alerts = sec_s.get("/api/v1/alerts?unread=true").json()["items"]
    alert = next(a for a in alerts if a["object_id"] == b_case["id"])
    assert_problem(sys_s.post(f"/api/v1/alerts/{alert['id']}/read"), 404, "not_found")
    r = sec_s.post(f"/api/v1/alerts/{alert['id']}/read")
    assert r.status == 200, r
    parse_time(r.json()["read_at"])


def test_list_pages(ctx):
    sys_s = ctx["sys"]
    first = sys_s.get("/api/v1/offboarding-cases?limit=1").json()
    assert len(first["items"]) == 1 and first["total"] >= 3
    assert first["next_cursor"] is not None
    second = sys_s.get(f"/api/v1/offboarding-cases?limit=1&cursor={first['next_cursor']}").json()
    assert second["items"][0]["id"] != first["items"][0]["id"]
    assert "checks" not in first["items"][0]
    completed = sys_s.get("/api/v1/offboarding-cases?status=completed").json()
    assert completed["total"] >= 1
    assert all(c["status"] == "completed" for c in completed["items"])
    alice_cases = sys_s.get(
        f"/api/v1/offboarding-cases?user_id={ctx['users']['alice']['id']}").json()
    assert [c["user_id"] for c in alice_cases["items"]] == [ctx["users"]["alice"]["id"]]
