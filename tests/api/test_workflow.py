"""The approval engine over HTTP (issue #5): definitions checked on save, an approval routed to
the right people and no one else (OA-3 penalty waiver), the to-do centre and its badges, the
或签 race between two approvers, withdraw after the first approval, notifications in the app
and by e-mail to a real SMTP server started here (Debian's python3-aiosmtpd), and a mail
server outage that delays the mail without losing it.
"""

from __future__ import annotations

import threading
import urllib.parse
import time

import pytest

from conftest import SLOW, Server, assert_problem, free_port, fresh_db_url, sql_exec, wait_until
from test_auth import NEW_PASSWORD, Session, activate_admin, admin_init, login

aiosmtpd = pytest.importorskip("aiosmtpd.controller")


class Inbox:
    """A real SMTP server on loopback that keeps what it receives."""

    def __init__(self, port: int):
        self.messages = []
        self.port = port
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"

    def start(self):
        self.controller = aiosmtpd.Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def to(self, address):
        return [c for rcpt, c in self.messages if address in rcpt]


def make_user(sys_s, username, name, dept, email=None):
    body = {"username": username, "name": name, "department_id": dept,
            "employee_no": "E" + username}
    if email:
        body["email"] = email
    r = sys_s.post("/api/v1/users", body)
    assert r.status == 201, r
    u = r.json()
    server = sys_s.server
    s = Session(server, login(server, username, u["initial_password"]).json()["token"])
    r = s.post("/api/v1/auth/password", {"old_password": u["initial_password"],
                                         "new_password": NEW_PASSWORD})
    assert r.status == 204, r
    u["session"] = Session(server, login(server, username, NEW_PASSWORD).json()["token"])
    return u


@pytest.fixture(scope="module")
def hospital(tmp_path_factory):
    """A hospital: 总院 (president), 信息管理部 IT (head), 门诊部 outpatients (head without an
    approval post), a clerk, and an SMTP inbox that receives the mail."""
    tmp = tmp_path_factory.mktemp("workflow")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    inbox = Inbox(free_port()).start()
    server = Server(tmp, url, sets={
        "mail.enabled": "true", "mail.smtp_url": f"smtp://127.0.0.1:{inbox.port}",
        "mail.from": "custos@hospital.example", "jobs.interval_ms": 1000,
        "mail.retry_seconds": 1}).start()
    sys_s, _ = activate_admin(server, accounts["system"])

    def dept(code, name, kind="normal", parent=None):
        body = {"code": code, "name": name, "kind": kind}
        if parent:
            body["parent_id"] = parent
        r = sys_s.post("/api/v1/departments", body)
        assert r.status == 201, r
        return r.json()

    hq = dept("HQ", "总院")
    it = dept("IT", "信息管理部", "it", hq["id"])
    opd = dept("OPD", "门诊部", "normal", hq["id"])
    people = {
        "president": make_user(sys_s, "president", "院长", hq["id"], "president@hospital.example"),
        "it_head": make_user(sys_s, "ithead", "信息科主任", it["id"], "ithead@hospital.example"),
        "opd_head": make_user(sys_s, "opdhead", "门诊部主任", opd["id"], "opdhead@hospital.example"),
        "clerk": make_user(sys_s, "clerk", "门诊收费员", opd["id"], "clerk@hospital.example"),
        "deputy": make_user(sys_s, "deputy", "副院长", hq["id"], "deputy@hospital.example"),
    }

    def set_head(d, user):
        r = sys_s.patch(f"/api/v1/departments/{d['id']}", {"head_user_id": user["id"]}, d["etag"])
        assert r.status == 200, r

    set_head(hq, people["president"])
    set_head(it, people["it_head"])
    set_head(opd, people["opd_head"])
    r = sys_s.post("/api/v1/posts", {"code": "leader", "name": "审批领导",
                                     "approval_authority": True})
    assert r.status == 201, r
    leader = r.json()["id"]
    for who in ("president", "it_head", "deputy"):
        r = sys_s.req("PUT", f"/api/v1/users/{people[who]['id']}/posts",
                      json_body={"post_ids": [leader]})
        assert r.status == 200, r
    ctx = dict(server=server, url=url, sys=sys_s, people=people, inbox=inbox,
               depts={"HQ": hq, "IT": it, "OPD": opd})
    yield ctx
    server.stop_and_check()
    inbox.stop()


PENALTY_GRAPH = {
    "nodes": [
        {"id": "start", "kind": "start"},
        {"id": "head", "kind": "approval", "name": "下发部门负责人", "authority": "post",
         "approvers": [{"rule": "department_head", "field": "issuing_department_id"}]},
        {"id": "boss", "kind": "approval", "name": "上级领导", "authority": "post",
         "approvers": [{"rule": "superior", "of": "field_head",
                        "field": "issuing_department_id"}]},
        {"id": "end", "kind": "end"}],
    "edges": [{"from": "start", "to": "head"}, {"from": "head", "to": "boss"},
              {"from": "boss", "to": "end"}]}


def penalty_form(ctx, dept_code):
    return {"penalty_no": "FK-2026-031", "issuing_department_id": ctx["depts"][dept_code]["id"],
            "person_id": ctx["people"]["clerk"]["id"], "amount": 200, "request": "waive",
            "reason": "首次迟到，已说明情况"}


def test_definitions_are_checked_and_kept_to_administrators(hospital):
    sys_s = hospital["sys"]
    clerk = hospital["people"]["clerk"]["session"]
    body = {"key": "oa.penalty_waiver", "name": "罚款减免审批", "form_type": "oa.penalty_waiver",
            "graph": PENALTY_GRAPH}
    assert_problem(clerk.post("/api/v1/workflow/definitions", body), 403, "forbidden")
    bad = dict(body, graph={"nodes": PENALTY_GRAPH["nodes"], "edges": PENALTY_GRAPH["edges"][:2]})
    assert_problem(sys_s.post("/api/v1/workflow/definitions", bad), 422, "validation_failed",
                   "body.graph.nodes[2]")
    assert_problem(sys_s.post("/api/v1/workflow/definitions", dict(body, form_type="nope")), 422,
                   "validation_failed", "body.form_type")
    assert_problem(sys_s.post("/api/v1/workflow/definitions", dict(body, key="Bad Key")), 422,
                   "validation_failed", "body.key")
    r = sys_s.post("/api/v1/workflow/definitions", body)
    assert r.status == 201, r
    d = r.json()
    assert d["version"] == 1 and d["latest"] is True
    assert r.header("Location") == f"/api/v1/workflow/definitions/{d['id']}"
    types = clerk.get("/api/v1/workflow/form-types").json()["items"]
    waiver = next(t for t in types if t["key"] == "oa.penalty_waiver")
    assert {f["name"] for f in waiver["fields"]} >= {"issuing_department_id", "amount"}


def test_penalty_waiver_reaches_only_leaders_with_authority(hospital):
    """OA-3: only the head of the issuing department and that head's superior, each holding a
    post with approval authority; a leader without it never receives the form."""
    people = hospital["people"]
    clerk = people["clerk"]["session"]
    r = clerk.post("/api/v1/workflow/instances",
                   {"definition_key": "oa.penalty_waiver", "form": penalty_form(hospital, "IT")})
    assert r.status == 201, r
    inst = r.json()
    assert inst["summary"].startswith("罚款减免：FK-2026-031")
    pending = [t for t in inst["tasks"] if t["status"] == "pending"]
    assert [t["assignee_id"] for t in pending] == [people["it_head"]["id"]]
    # The to-do centre of the head shows it with a badge; nobody else has it.
    it_head = people["it_head"]["session"]
    todo = it_head.get("/api/v1/todo").json()
    assert todo["counts"]["pending"] == 1 and todo["counts"]["badge"] >= 1
    assert todo["pending"][0]["summary"] == inst["summary"]
    for other in ("opd_head", "deputy", "president"):
        assert people[other]["session"].get("/api/v1/todo/pending").json()["total"] == 0
    # Not visible to a stranger: 404 like a missing one.
    assert_problem(people["deputy"]["session"].get(f"/api/v1/workflow/instances/{inst['id']}"),
                   404, "not_found")
    r = it_head.post(f"/api/v1/workflow/tasks/{pending[0]['id']}/approve", {"comment": "同意"})
    assert r.status == 200, r
    nxt = [t for t in r.json()["tasks"] if t["status"] == "pending"]
    assert [t["assignee_id"] for t in nxt] == [people["president"]["id"]]
    r = people["president"]["session"].post(f"/api/v1/workflow/tasks/{nxt[0]['id']}/approve", {})
    assert r.status == 200 and r.json()["status"] == "approved", r
    assert clerk.get("/api/v1/todo/started").json()["items"][0]["status"] == "approved"
    # Issued by 门诊部, whose head holds no approval post: refused, nothing routed to him.
    r = clerk.post("/api/v1/workflow/instances",
                   {"definition_key": "oa.penalty_waiver", "form": penalty_form(hospital, "OPD")})
    assert_problem(r, 409, "no_approver", "node.head")
    assert people["opd_head"]["session"].get("/api/v1/todo/pending").json()["total"] == 0


def test_bad_starts_name_the_field(hospital):
    clerk = hospital["people"]["clerk"]["session"]
    form = penalty_form(hospital, "IT")
    cases = [
        ({"form": form}, "body.definition_key"),
        ({"definition_key": "nope", "form": form}, "body.definition_key"),
        ({"definition_key": "oa.penalty_waiver", "form": dict(form, amount="很多")},
         "body.form.amount"),
        ({"definition_key": "oa.penalty_waiver", "form": dict(form, request="forgive")},
         "body.form.request"),
        ({"definition_key": "oa.penalty_waiver",
          "form": dict(form, issuing_department_id="1; DROP TABLE users")},
         "body.form.issuing_department_id"),
        ({"definition_key": "oa.penalty_waiver", "form": dict(form, extra=1)}, "body.form.extra"),
        ({"definition_key": "oa.penalty_waiver", "form": "text"}, "body.form"),
    ]
    before = clerk.get("/api/v1/todo/started").json()["total"]
    for body, field in cases:
        assert_problem(clerk.post("/api/v1/workflow/instances", body), 422, "validation_failed",
                       field)
    assert clerk.get("/api/v1/todo/started").json()["total"] == before


def define_any(hospital, key, name="领导或签"):
    people = hospital["people"]
    graph = {"nodes": [
        {"id": "start", "kind": "start"},
        {"id": "leaders", "kind": "approval", "mode": "any", "name": "院领导（或签）",
         "approvers": [{"rule": "user", "user_id": people["president"]["id"]},
                       {"rule": "user", "user_id": people["deputy"]["id"]}]},
        {"id": "it", "kind": "approval", "name": "信息管理部",
         "approvers": [{"rule": "department_kind", "kind": "it"}]},
        {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "leaders"}, {"from": "leaders", "to": "it"},
                  {"from": "it", "to": "end"}]}
    r = hospital["sys"].post("/api/v1/workflow/definitions",
                             {"key": key, "name": name, "form_type": "oa.penalty_waiver",
                              "graph": graph})
    assert r.status == 201, r


def test_two_leaders_approving_at_once_complete_the_step_once(hospital):
    define_any(hospital, "race")
    people = hospital["people"]
    clerk = people["clerk"]["session"]
    for _ in range(3):
        inst = clerk.post("/api/v1/workflow/instances",
                          {"definition_key": "race", "form": penalty_form(hospital, "IT")}).json()
        tasks = {t["assignee_id"]: t["id"] for t in inst["tasks"] if t["status"] == "pending"}
        results = []

        def act(who):
            s = people[who]["session"]
            results.append(s.post(f"/api/v1/workflow/tasks/{tasks[people[who]['id']]}/approve",
                                  {}).status)

        threads = [threading.Thread(target=act, args=(w,)) for w in ("president", "deputy")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [200, 409], results
        after = clerk.get(f"/api/v1/workflow/instances/{inst['id']}").json()
        it_tasks = [t for t in after["tasks"] if t["node_id"] == "it"]
        assert len(it_tasks) == 1 and it_tasks[0]["status"] == "pending"


def test_withdraw_after_the_first_approval(hospital):
    people = hospital["people"]
    clerk = people["clerk"]["session"]
    inst = clerk.post("/api/v1/workflow/instances",
                      {"definition_key": "race", "form": penalty_form(hospital, "IT")}).json()
    task = next(t for t in inst["tasks"] if t["assignee_id"] == people["deputy"]["id"])
    r = people["deputy"]["session"].post(f"/api/v1/workflow/tasks/{task['id']}/approve", {})
    assert r.status == 200, r
    assert_problem(people["it_head"]["session"].post(
        f"/api/v1/workflow/instances/{inst['id']}/withdraw", {}), 403, "forbidden")
    r = clerk.post(f"/api/v1/workflow/instances/{inst['id']}/withdraw", {"reason": "已私下解决"})
    assert r.status == 200 and r.json()["status"] == "withdrawn", r
    assert all(t["status"] != "pending" for t in r.json()["tasks"])
    for who in ("president", "it_head"):
        items = people[who]["session"].get("/api/v1/todo/pending?limit=500").json()["items"]
        assert all(t["instance_id"] != inst["id"] for t in items), who
    actions = [h["action"] for h in r.json()["history"]]
    assert actions[0] == "start" and "approve" in actions and actions[-1] == "withdrawn"
    assert_problem(clerk.post(f"/api/v1/workflow/instances/{inst['id']}/withdraw", {}), 409,
                   "conflict")


def test_notifications_arrive_in_the_app_and_by_mail(hospital):
    people = hospital["people"]
    inbox = hospital["inbox"]
    it_head = people["it_head"]["session"]
    n = it_head.get("/api/v1/notifications").json()
    assert n["unread"] >= 1
    assert any(x["kind"] == "workflow.task" for x in n["items"])
    first = n["items"][0]
    r = it_head.post(f"/api/v1/notifications/{first['id']}/read")
    assert r.status == 200 and r.json()["read_at"] is not None
    assert_problem(people["clerk"]["session"].post(f"/api/v1/notifications/{first['id']}/read"),
                   404, "not_found")
    mails = wait_until(lambda: inbox.to("ithead@hospital.example"), 15 * SLOW, 0.2,
                       "a mail for the IT head")
    text = mails[0].decode("ascii", "replace")
    assert "Subject: =?UTF-8?B?" in text and "From: <custos@hospital.example>" in text
    # The outbox row is marked sent once the SMTP exchange has ended, a moment after the mail
    # arrived.
    wait_until(lambda: sql_exec(hospital["url"],
                                "SELECT COUNT(*) FROM mail_outbox WHERE status = 'sent'") != "0",
               15 * SLOW, 0.2, "the outbox row marked sent")


def test_a_mail_server_outage_loses_nothing(tmp_path):
    """The mail server is down when the approval is started: the outbox keeps the message and
    retries; once the server is up the mail arrives."""
    url = fresh_db_url(tmp_path / "db")
    accounts = admin_init(url)
    port = free_port()
    server = Server(tmp_path, url, sets={
        "mail.enabled": "true", "mail.smtp_url": f"smtp://127.0.0.1:{port}",
        "mail.from": "custos@hospital.example", "jobs.interval_ms": 1000,
        "mail.retry_seconds": 1}).start()
    inbox = Inbox(port)
    try:
        sys_s, _ = activate_admin(server, accounts["system"])
        r = sys_s.post("/api/v1/departments", {"code": "IT", "name": "信息管理部", "kind": "it"})
        it = r.json()
        head = make_user(sys_s, "head", "主任", it["id"], "head@hospital.example")
        clerk = make_user(sys_s, "clerk", "职员", it["id"])
        r = sys_s.patch(f"/api/v1/departments/{it['id']}", {"head_user_id": head["id"]},
                        it["etag"])
        assert r.status == 200, r
        graph = {"nodes": [{"id": "start", "kind": "start"},
                           {"id": "a", "kind": "approval",
                            "approvers": [{"rule": "initiator_head"}]},
                           {"id": "end", "kind": "end"}],
                 "edges": [{"from": "start", "to": "a"}, {"from": "a", "to": "end"}]}
        assert sys_s.post("/api/v1/workflow/definitions",
                          {"key": "simple", "name": "简单审批", "form_type": "oa.penalty_waiver",
                           "graph": graph}).status == 201
        form = {"penalty_no": "FK-1", "issuing_department_id": it["id"],
                "person_id": clerk["id"], "amount": 10, "request": "reduce", "reason": "测试"}
        r = clerk["session"].post("/api/v1/workflow/instances",
                                  {"definition_key": "simple", "form": form})
        assert r.status == 201, r
        wait_until(lambda: sql_exec(url, "SELECT MAX(attempts) FROM mail_outbox") not in ("", "0",
                                                                                        "None"),
                   15 * SLOW, 0.2, "a failed delivery attempt")
        assert sql_exec(url, "SELECT status FROM mail_outbox") == "pending"
        inbox.start()
        wait_until(lambda: inbox.to("head@hospital.example"), 30 * SLOW, 0.2,
                   "the mail after the server came back")
        assert sql_exec(url, "SELECT status FROM mail_outbox") == "sent"
    finally:
        server.stop_and_check()
        inbox.stop()


def test_copies_are_read_when_opened_and_forms_name_their_people(hospital):
    """A copy (抄送) counts as unread until its recipient opens the instance; the instance names
    the user and department its fields point at (an approver may not read those records), and a
    whole amount stays an integer in the JSON."""
    sys_s, people = hospital["sys"], hospital["people"]
    deputy = people["deputy"]
    graph = {"nodes": [{"id": "start", "kind": "start"},
                       {"id": "cc", "kind": "cc",
                        "approvers": [{"rule": "user", "user_id": deputy["id"]}]},
                       {"id": "head", "kind": "approval", "name": "下发部门负责人",
                        "authority": "post",
                        "approvers": [{"rule": "department_head",
                                       "field": "issuing_department_id"}]},
                       {"id": "end", "kind": "end"}],
             "edges": [{"from": "start", "to": "cc"}, {"from": "cc", "to": "head"},
                       {"from": "head", "to": "end"}]}
    r = sys_s.post("/api/v1/workflow/definitions",
                   {"key": "oa.penalty_waiver_cc", "name": "罚款减免（抄送）",
                    "form_type": "oa.penalty_waiver", "graph": graph})
    assert r.status == 201, r
    clerk = people["clerk"]["session"]
    r = clerk.post("/api/v1/workflow/instances",
                   {"definition_key": "oa.penalty_waiver_cc", "form": penalty_form(hospital, "IT")})
    assert r.status == 201, r
    assert b'"amount":200' in r.body and b"2E2" not in r.body
    inst = r.json()
    assert inst["form_names"] == {"issuing_department_id": "信息管理部",
                                  "person_id": "门诊收费员"}, inst["form_names"]
    d = deputy["session"]
    before = d.get("/api/v1/todo/counts").json()["cc_unread"]
    copied = d.get("/api/v1/todo/cc").json()["items"]
    mine = [x for x in copied if x["id"] == inst["id"]]
    assert mine and mine[0]["cc_read"] is False
    opened = d.get(f"/api/v1/workflow/instances/{inst['id']}")
    assert opened.status == 200 and opened.json()["form_names"]["person_id"] == "门诊收费员"
    assert d.get("/api/v1/todo/counts").json()["cc_unread"] == before - 1
    mine = [x for x in d.get("/api/v1/todo/cc").json()["items"] if x["id"] == inst["id"]]
    assert mine[0]["cc_read"] is True


def test_instances_are_searched_sorted_and_paged(hospital):
    """Issue #5 item 8: the instance list takes q (summary or process name), sort and filters,
    keyset-paged either way; bad parameters are named and change nothing."""
    people = hospital["people"]
    clerk = people["clerk"]["session"]
    define_any(hospital, "listing", name="月度考核罚款减免")
    started = []
    for amount in (311, 312, 313):
        r = clerk.post("/api/v1/workflow/instances",
                       {"definition_key": "listing",
                        "form": dict(penalty_form(hospital, "IT"), amount=amount)})
        assert r.status == 201, r
        started.append(r.json()["id"])

    def page(s, query):
        r = s.get("/api/v1/workflow/instances?" + query)
        assert r.status == 200, r
        return [i["id"] for i in r.json()["items"]], r.json()

    name = urllib.parse.quote("考核罚款")
    ids, body = page(clerk, "q=" + urllib.parse.quote("312 元"))
    assert ids == [started[1]] and body["total"] == 1, body
    ids, body = page(clerk, f"q={name}")
    assert ids == started[::-1] and body["total"] == 3  # newest first
    me = people["clerk"]["id"]
    ids, body = page(clerk, f"q={name}&sort=created_asc&initiator_id={me}&limit=2")
    assert ids == started[:2] and body["total"] == 3 and body["next_cursor"], body
    rest, body = page(clerk, f"q={name}&sort=created_asc&initiator_id={me}&limit=2"
                             f"&cursor={body['next_cursor']}")
    assert rest == started[2:] and body["next_cursor"] is None
    ids, _ = page(clerk, f"q={name}&initiator_id={people['deputy']['id']}")
    assert ids == []
    # LIKE's wildcards are text; someone outside the flow finds nothing of it.
    assert page(clerk, "q=%25")[1]["total"] == 0
    assert page(clerk, "q=_")[1]["total"] == 0
    assert page(people["opd_head"]["session"], f"q={name}")[0] == []
    for query, field in [("sort=amount", "query.sort"), ("q=%FF", "query.q"),
                         ("q=" + "x" * 101, "query.q"), ("subject_type=asset", "query.subject_id"),
                         ("subject_id=3", "query.subject_type"),
                         ("initiator_id=abc", "query.initiator_id"),
                         ("cursor=abc", "query.cursor")]:
        assert_problem(clerk.get("/api/v1/workflow/instances?" + query), 422,
                       "validation_failed", field)
    ids, _ = page(clerk, "subject_type=asset&subject_id=999999")
    assert ids == []


def test_definitions_are_paged_by_key_and_by_version(hospital):
    sys_s = hospital["sys"]
    define_any(hospital, "paged.one")
    define_any(hospital, "paged.one")  # version 2
    everything = sys_s.get("/api/v1/workflow/definitions?limit=500").json()
    keys = [d["key"] for d in everything["items"]]
    assert keys == sorted(keys) and len(keys) == len(set(keys)) == everything["total"]
    assert all(d["latest"] for d in everything["items"])
    seen, cursor = [], None
    while True:
        r = sys_s.get("/api/v1/workflow/definitions?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        assert r.status == 200, r
        seen += [d["key"] for d in r.json()["items"]]
        assert r.json()["total"] == len(keys)
        cursor = r.json()["next_cursor"]
        if not cursor:
            break
    assert seen == keys
    first = sys_s.get("/api/v1/workflow/definitions?key=paged.one&limit=1").json()
    assert [d["version"] for d in first["items"]] == [1] and first["total"] == 2
    assert first["items"][0]["latest"] is False
    second = sys_s.get(f"/api/v1/workflow/definitions?key=paged.one&limit=1"
                       f"&cursor={first['next_cursor']}").json()
    assert [d["version"] for d in second["items"]] == [2] and second["items"][0]["latest"] is True
    assert second["next_cursor"] is None
    for query in ["cursor=Bad%20Key", "key=paged.one&cursor=abc", "cursor=" + "a" * 65]:
        assert_problem(sys_s.get("/api/v1/workflow/definitions?" + query), 422,
                       "validation_failed", "query.cursor")
    assert_problem(sys_s.get("/api/v1/workflow/definitions?limit=0"), 422, "validation_failed",
                   "query.limit")
