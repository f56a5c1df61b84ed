"""Issue #7 items 2-4 (IT-1, IT-2, IT-6): equipment approvals carried by the workflow engine.
A department's purchase request goes to the admin/HR specialist and then company approval, and
its approval registers the assets as ordered with a purchase task for the IT department; a
write-off or sale happens only through the finance approval; a departing custodian hands each
asset over (approved by their head and the IT department) before the departure can complete.
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from conftest import assert_problem
from test_auth import activate_user, grant_role, org  # noqa: F401  (org: fixture)

ASSETS = ["assets:equipment:read", "assets:equipment:write"]


def dept(sys, code, name, kind, head=None):
    r = sys.post("/api/v1/departments", {"code": code, "name": name, "kind": kind})
    assert r.status == 201, r
    return r.json()["id"]


def set_head(sys, dept_id, user_id):
    d = sys.get(f"/api/v1/departments/{dept_id}").json()
    assert sys.patch(f"/api/v1/departments/{dept_id}", {"head_user_id": user_id},
                     d["etag"]).status == 200


def user(ctx, username, name, dept_id):
    r = ctx["sys"].post("/api/v1/users", {"username": username, "name": name,
                                          "department_id": dept_id, "employee_no": "E" + username})
    assert r.status == 201, r
    ctx["users"][username] = r.json()
    return r.json()["id"]


def graph(*kinds):
    nodes = [{"id": "start", "kind": "start"}]
    for i, (rule, extra) in enumerate(kinds):
        nodes.append({"id": f"n{i}", "kind": "approval", "name": f"审批 {i + 1}",
                      "approvers": [{"rule": rule, **extra}]})
    nodes.append({"id": "end", "kind": "end"})
    ids = [n["id"] for n in nodes]
    return {"nodes": nodes, "edges": [{"from": a, "to": b} for a, b in zip(ids, ids[1:])]}


@pytest.fixture(scope="module")
def hosp(org):
    """IT (dave, head), 行政人事部 (helen, head), 财务部 (frank, head), 总裁办 (pres, head);
    alice heads A1, where carol works. Definitions for the three equipment forms."""
    sys = org["sys"]
    it = dept(sys, "IT", "信息管理部", "it")
    hr = dept(sys, "HR", "行政人事部", "admin_hr")
    fin = dept(sys, "FIN", "财务部", "finance")
    po = dept(sys, "PO", "总裁办", "president_office")
    for username, name, d in (("dave", "赵工", it), ("helen", "韩梅", hr), ("frank", "许萍", fin),
                              ("pres", "唐总", po)):
        set_head(sys, d, user(org, username, name, d))
    set_head(sys, org["depts"]["A1"], org["users"]["alice"]["id"])
    grant_role(org, "dave", "it_assets", ASSETS, "all")
    for key, name, g in (
            ("assets.procurement", "设备采购", graph(("department_kind", {"kind": "admin_hr"}),
                                                  ("department_kind",
                                                   {"kind": "president_office"}))),
            ("assets.disposal", "设备报废/出售", graph(("department_kind", {"kind": "finance"}))),
            ("assets.handover", "设备交接", graph(("initiator_head", {}),
                                               ("department_kind", {"kind": "it"})))):
        r = sys.post("/api/v1/workflow/definitions",
                     {"key": key, "name": name, "form_type": key, "graph": g})
        assert r.status == 201, r
    org["depts"].update(IT=it, HR=hr, FIN=fin, PO=po)
    return org


def approve_as(ctx, username, instance_id):
    s = activate_user(ctx, username)
    tasks = [t for t in s.get("/api/v1/todo/pending").json()["items"]
             if t["instance_id"] == instance_id]
    assert len(tasks) == 1, (username, tasks)
    r = s.post(f"/api/v1/workflow/tasks/{tasks[0]['id']}/approve", {"comment": "同意"})
    assert r.status == 200, r
    return r.json()


def test_procurement_goes_to_hr_then_the_company_and_registers_the_assets(hosp):
    carol, dave = activate_user(hosp, "carol"), activate_user(hosp, "dave")
    form = {"department_id": hosp["depts"]["A1"], "category": "laptop", "item": "笔记本电脑",
            "model": "ThinkPad E14", "quantity": 2, "unit_price": 6299.5, "supplier": "联想",
            "reason": "新入职护士两名"}
    for bad, field in (({**form, "quantity": 0}, "body.form.quantity"),
                       ({**form, "category": "car"}, "body.form.category"),
                       ({k: v for k, v in form.items() if k != "reason"}, "body.form.reason")):
        assert_problem(carol.post("/api/v1/workflow/instances",
                                  {"definition_key": "assets.procurement", "form": bad}),
                       422, "validation_failed", field)
    r = carol.post("/api/v1/workflow/instances",
                   {"definition_key": "assets.procurement", "form": form})
    assert r.status == 201, r
    inst = r.json()
    assert inst["summary"] == "采购：笔记本电脑 × 2"
    # The admin/HR specialist first; nobody else has it.
    for other in ("alice", "pres", "dave"):
        assert activate_user(hosp, other).get("/api/v1/todo/pending").json()["total"] == 0
    before = dave.get("/api/v1/assets?status=ordered").json()["total"]
    # A tag the approval would give, registered by hand meanwhile: not taken over.
    taken = f"CG{int(inst['id']):06d}-001"
    assert dave.post("/api/v1/assets", {"asset_tag": taken, "category": "other",
                                        "name": "手工登记", "status": "in_stock"}).status == 201
    # The approver reads departments nowhere else, yet sees which one asks and for whom.
    seen = activate_user(hosp, "helen").get(f"/api/v1/workflow/instances/{inst['id']}").json()
    assert seen["initiator_department_name"] == "客服一组"
    assert seen["form_names"] == {"department_id": "客服一组"}
    approve_as(hosp, "helen", inst["id"])
    assert dave.get("/api/v1/assets?status=ordered").json()["total"] == before, "not yet"
    done = approve_as(hosp, "pres", inst["id"])
    assert done["status"] == "approved"
    ordered = [a for a in dave.get("/api/v1/assets?status=ordered").json()["items"]
               if a["notes"] == f"采购申请 #{inst['id']}"]
    assert len(ordered) == 2
    assert sorted(a["asset_tag"] for a in ordered) == [taken + "-2", f"CG{int(inst['id']):06d}-002"]
    assert {(a["category"], a["name"], a["model"], a["purchase_cost"], a["department_id"])
            for a in ordered} == {("laptop", "笔记本电脑", "ThinkPad E14", "6299.50",
                                   hosp["depts"]["A1"])}
    tasks = dave.get("/api/v1/todo/tasks").json()["items"]
    purchase = [t for t in tasks if t["object_type"] == "procurement"]
    assert len(purchase) == 1 and purchase[0]["object_id"] == inst["id"], tasks
    # Receipt puts them in stock; the last one closes the purchase task.
    for i, a in enumerate(ordered):
        r = dave.post(f"/api/v1/assets/{a['id']}/actions", {"action": "receive"})
        assert r.status == 200 and r.json()["status"] == "in_stock", r
        still = [t for t in dave.get("/api/v1/todo/tasks").json()["items"]
                 if t["object_type"] == "procurement"]
        assert len(still) == (1 if i == 0 else 0)


def test_write_off_and_sale_only_through_the_finance_approval(hosp):
    dave, carol = activate_user(hosp, "dave"), activate_user(hosp, "carol")
    carol_id = lambda: hosp["users"]["carol"]["id"]  # noqa: E731
    a = dave.post("/api/v1/assets", {"asset_tag": "PC-OLD-1", "category": "desktop",
                                     "name": "旧电脑", "status": "in_stock"}).json()
    start = lambda s, form, subject=a["id"]: s.post(  # noqa: E731
        "/api/v1/workflow/instances",
        {"definition_key": "assets.disposal", "form": form, "subject_id": subject})
    sell = {"method": "sell", "price": 300, "reason": "超过使用年限，折价出售"}
    assert_problem(start(dave, sell), 409, "transition_not_allowed", "body.subject_id")
    assert dave.post(f"/api/v1/assets/{a['id']}/actions", {"action": "dispose"}).status == 200
    for action in ("scrap", "sell"):
        assert_problem(dave.post(f"/api/v1/assets/{a['id']}/actions", {"action": action}), 409,
                       "approval_required", "body.action")
    assert_problem(start(dave, {"method": "sell", "reason": "x"}), 422, "validation_failed",
                   "body.form.price")
    # Someone who may not see the asset cannot start one; nor can anyone name a missing one.
    assert_problem(start(carol, sell), 404, "not_found")
    assert_problem(start(dave, sell, subject="999999"), 404, "not_found")
    r = start(dave, sell)
    assert r.status == 201, r
    inst = r.json()
    assert_problem(start(dave, sell), 409, "conflict", "body.subject_id")
    assert dave.get(f"/api/v1/assets/{a['id']}").json()["status"] == "pending_disposal"
    assert approve_as(hosp, "frank", inst["id"])["status"] == "approved"
    got = dave.get(f"/api/v1/assets/{a['id']}").json()
    assert got["status"] == "sold"
    h = dave.get(f"/api/v1/assets/{a['id']}/history").json()["items"]
    last = [e for e in h if e["kind"] == "state"][-1]
    assert (last["from"], last["to"], last["cost"]) == ("pending_disposal", "sold", "300.00")
    assert f"#{inst['id']}" in last["note"] and last["actor_name"] == "许萍"
    ev = hosp["aud"].get(f"/api/v1/audit/events?object_type=asset&object_id={a['id']}").json()
    assert "assets.asset.sell" in {e["action"] for e in ev["items"]}
    # A sold asset is kept as it was.
    r = dave.req("PATCH", f"/api/v1/assets/{a['id']}", json_body={"location": "仓库"},
                 headers={"If-Match": got["etag"]})
    assert_problem(r, 409, "transition_not_allowed")
    assert_problem(dave.post(f"/api/v1/assets/{a['id']}/actions", {"action": "issue",
                                                                  "custodian_id": carol_id()}),
                   409, "transition_not_allowed", "body.action")


def test_a_departure_waits_for_every_handover(hosp):
    dave, carol = activate_user(hosp, "dave"), activate_user(hosp, "carol")
    carol_id, alice_id = hosp["users"]["carol"]["id"], hosp["users"]["alice"]["id"]
    tags = []
    for tag in ("PC-CAROL-1", "PR-CAROL-2"):
        a = dave.post("/api/v1/assets", {"asset_tag": tag, "category": "desktop", "name": "电脑",
                                         "status": "in_stock"}).json()
        dave.post(f"/api/v1/assets/{a['id']}/actions", {"action": "issue",
                                                        "custodian_id": carol_id})
        tags.append(a)
    sys = hosp["sys"]
    r = sys.post(f"/api/v1/users/{carol_id}/offboarding", {"kind": "departure", "reason": "辞职"})
    assert r.status == 201, r
    case = r.json()
    body = assert_problem(sys.post(f"/api/v1/offboarding-cases/{case['id']}/complete"), 409,
                          "conflict")
    assert "PC-CAROL-1" in body["detail"] and "PR-CAROL-2" in body["detail"], body
    # A handover task for each asset she holds, in her to-do list.
    def handover_tasks():
        return sorted(t["object_id"] for t in carol.get("/api/v1/todo/tasks").json()["items"]
                      if t["kind"] == "assets.handover")
    assert handover_tasks() == sorted(a["id"] for a in tags)
    # carol hands the first to alice, the second back to stock; her head, then IT approve.
    for a, to in ((tags[0], alice_id), (tags[1], None)):
        form = {"reason": "离职交接", **({"to_user_id": to} if to else {})}
        r = carol.post("/api/v1/workflow/instances",
                       {"definition_key": "assets.handover", "form": form, "subject_id": a["id"]})
        assert r.status == 201, r
        approve_as(hosp, "alice", r.json()["id"])
        assert approve_as(hosp, "dave", r.json()["id"])["status"] == "approved"
    assert handover_tasks() == [], "each approved handover closes its task"
    first, second = (dave.get(f"/api/v1/assets/{a['id']}").json() for a in tags)
    assert (first["status"], first["custodian_id"]) == ("in_use", alice_id)
    assert (second["status"], second["custodian_id"]) == ("in_stock", None)
    body = assert_problem(sys.post(f"/api/v1/offboarding-cases/{case['id']}/complete"), 409,
                          "conflict")
    assert "CAROL" not in body["detail"], "only the permission form is left"
    # Someone else's asset is not theirs to hand over.
    bob = activate_user(hosp, "bob")
    assert_problem(bob.post("/api/v1/workflow/instances",
                            {"definition_key": "assets.handover", "form": {"reason": "x"},
                             "subject_id": first["id"]}), 404, "not_found")
