"""Issue #7 item 1 and 4 (IT-1 … IT-6): the equipment archive. Every lifecycle step allowed from
its states and refused from the others; only the IT department sends an asset to an external
repair centre (IT-4); a designated repairer is a member of the IT department; history and audit
of every change; bad input names its field and changes nothing; another department's asset is
not found. Runs on SQLite and PostgreSQL (TEST_ENGINE)."""
from __future__ import annotations

import pytest

from conftest import assert_problem
from test_auth import activate_user, grant_role, org  # noqa: F401  (org: fixture)

ASSET_PERMS = ["assets:equipment:read", "assets:equipment:write"]


@pytest.fixture(scope="module")
def it(org):
    """The IT department (kind it) with a member, dave, who maintains every asset."""
    r = org["sys"].post("/api/v1/departments", {"code": "IT", "name": "信息管理部", "kind": "it"})
    assert r.status == 201, r
    org["depts"]["IT"] = r.json()["id"]
    r = org["sys"].post("/api/v1/users", {"username": "dave", "name": "赵工",
                                          "department_id": org["depts"]["IT"],
                                          "employee_no": "Edave"})
    assert r.status == 201, r
    org["users"]["dave"] = r.json()
    grant_role(org, "dave", "asset_it", ASSET_PERMS, "all")
    grant_role(org, "alice", "asset_a", ASSET_PERMS, "department_tree")
    return org


def new_asset(s, tag, **extra):
    body = {"asset_tag": tag, "category": "desktop", "name": "办公电脑", **extra}
    r = s.post("/api/v1/assets", body)
    assert r.status == 201, r
    return r.json()


def act(s, asset_id, action, **extra):
    return s.post(f"/api/v1/assets/{asset_id}/actions", {"action": action, **extra})


def test_every_lifecycle_step_from_its_states_and_no_other(it):
    alice, dave = activate_user(it, "alice"), activate_user(it, "dave")
    carol = it["users"]["carol"]["id"]
    a = new_asset(alice, "PC-0001", serial="SN-1", purchase_cost="4999.5",
                  purchase_date="2026-03-01", warranty_end="2029-02-28")
    assert a["status"] == "ordered" and a["purchase_cost"] == "4999.50"
    assert a["department_id"] == it["depts"]["A"], "filed in the creator's department"
    aid = a["id"]
    # From ordered only receive is possible.
    for action in ("issue", "idle", "repair", "repaired", "dispose", "cancel_disposal", "scrap",
                   "sell"):
        body = {"custodian_id": carol} if action == "issue" else {}
        assert_problem(act(alice, aid, action, **body), 409, "transition_not_allowed",
                       "body.action")
    r = act(alice, aid, "receive")
    assert r.status == 200 and r.json()["status"] == "in_stock", r
    assert_problem(act(alice, aid, "issue"), 422, "validation_failed", "body.custodian_id")
    r = act(alice, aid, "issue", custodian_id=carol, location="门诊楼 3 层 302")
    assert r.status == 200, r
    assert (r.json()["status"], r.json()["custodian_id"], r.json()["custodian_name"]) == \
        ("in_use", carol, "张敏")
    assert r.json()["department_id"] == it["depts"]["A1"], "the asset goes with its custodian"
    assert_problem(act(alice, aid, "receive"), 409, "transition_not_allowed", "body.action")
    r = act(alice, aid, "idle", note="科室搬迁，闲置上报")
    assert (r.json()["status"], r.json()["custodian_id"]) == ("idle", None)
    act(alice, aid, "issue", custodian_id=carol)
    a = alice.patch(f"/api/v1/assets/{aid}", {"repairer_id": it["users"]["dave"]["id"]},
                    alice.get(f"/api/v1/assets/{aid}").json()["etag"])
    assert a.status == 200, a
    r = act(alice, aid, "repair", note="无法开机")
    assert r.json()["status"] == "in_repair"
    # IT-4: the repair request reaches the designated repairer's to-do list.
    def repair_tasks():
        return [t for t in dave.get("/api/v1/todo/tasks").json()["items"]
                if t["kind"] == "assets.repair" and t["object_id"] == aid]
    assert len(repair_tasks()) == 1 and "无法开机" in repair_tasks()[0]["title_zh"]
    r = act(alice, aid, "repaired", cost="120.00")
    assert r.json()["status"] == "in_use", "back to its custodian"
    assert repair_tasks() == [], "done when repaired"
    # IT-4: only the IT department sends equipment out, and says so.
    assert_problem(act(alice, aid, "external_repair"), 403, "it_department_only", "body.action")
    assert alice.get(f"/api/v1/assets/{aid}").json()["status"] == "in_use"
    r = act(dave, aid, "external_repair", location="联想服务中心")
    assert r.status == 200 and r.json()["status"] == "in_external_repair", r
    r = act(dave, aid, "repaired", cost="680")
    assert r.json()["status"] == "in_use"
    assert act(alice, aid, "dispose").json()["status"] == "pending_disposal"
    assert act(alice, aid, "cancel_disposal").json()["status"] == "in_use"
    assert act(alice, aid, "dispose").json()["status"] == "pending_disposal"
    # IT-6: a write-off or sale only through the finance approval (test_asset_forms.py).
    for action in ("scrap", "sell"):
        assert_problem(act(alice, aid, action, note="主板损坏，无维修价值"), 409,
                       "approval_required", "body.action")
    assert alice.get(f"/api/v1/assets/{aid}").json()["status"] == "pending_disposal"
    assert_problem(act(alice, aid, "fly"), 422, "validation_failed", "body.action")

    # History: custodians, locations, states and costs, in order.
    h = alice.get(f"/api/v1/assets/{aid}/history").json()["items"]
    kinds = [e["kind"] for e in h]
    assert kinds[0] == "created"
    states = [(e["from"], e["to"]) for e in h if e["kind"] == "state"]
    assert states == [("ordered", "in_stock"), ("in_stock", "in_use"), ("in_use", "idle"),
                      ("idle", "in_use"), ("in_use", "in_repair"), ("in_repair", "in_use"),
                      ("in_use", "in_external_repair"), ("in_external_repair", "in_use"),
                      ("in_use", "pending_disposal"), ("pending_disposal", "in_use"),
                      ("in_use", "pending_disposal")]
    assert [e["cost"] for e in h if e["kind"] == "state" and e["cost"]] == ["120.00", "680.00"]
    assert ("", carol) in [(e["from"], e["to"]) for e in h if e["kind"] == "custodian"]
    # The custodians by name too, as the asset names its custodian.
    issued = next(e for e in h if e["kind"] == "custodian" and e["to"] == carol)
    assert (issued["from_name"], issued["to_name"]) == (None, it["users"]["carol"]["name"])
    assert all("to_name" not in e for e in h if e["kind"] != "custodian")
    assert "联想服务中心" in [e["to"] for e in h if e["kind"] == "location"]
    assert all(e["actor_name"] for e in h)
    # Every step is in the audit trail.
    events = it["aud"].get(f"/api/v1/audit/events?object_type=asset&object_id={aid}&limit=100")
    actions = {e["action"] for e in events.json()["items"]}
    assert {"assets.asset.create", "assets.asset.receive", "assets.asset.issue",
            "assets.asset.external_repair", "assets.asset.dispose"} <= actions


def test_bad_input_names_the_field_and_changes_nothing(it):
    alice = activate_user(it, "alice")
    before = alice.get("/api/v1/assets").json()["total"]
    cases = [
        ({"category": "desktop", "name": "x"}, "body.asset_tag"),
        ({"asset_tag": "T-1", "name": "x"}, "body.category"),
        ({"asset_tag": "T-1", "category": "toaster", "name": "x"}, "body.category"),
        ({"asset_tag": "T-1", "category": "laptop"}, "body.name"),
        ({"asset_tag": "T-1", "category": "laptop", "name": "x", "purchase_date": "2025-02-30"},
         "body.purchase_date"),
        ({"asset_tag": "T-1", "category": "laptop", "name": "x", "purchase_cost": "12.345"},
         "body.purchase_cost"),
        ({"asset_tag": "T-1", "category": "laptop", "name": "x", "purchase_cost": "-5"},
         "body.purchase_cost"),
        ({"asset_tag": "T-1", "category": "laptop", "name": 5}, "body.name"),
        ({"asset_tag": "T-1", "category": "laptop", "name": "x", "status": "in_use"},
         "body.status"),
        ({"asset_tag": "T-1", "category": "laptop", "name": "x",
          "custodian_id": it["users"]["carol"]["id"]}, "body.custodian_id"),
        # A designated repairer belongs to the IT department (IT-4).
        ({"asset_tag": "T-1", "category": "laptop", "name": "x",
          "repairer_id": it["users"]["carol"]["id"]}, "body.repairer_id"),
        ({"asset_tag": "T-1", "category": "laptop", "name": "x",
          "department_id": it["depts"]["B"]}, "body.department_id"),
        ({"asset_tag": "T\u0001", "category": "laptop", "name": "x"}, "body.asset_tag"),
    ]
    for body, field in cases:
        r = alice.post("/api/v1/assets", body)
        assert r.status in (403, 422), (body, r)
        assert r.json()["field"] == field, (body, r.json())
    assert alice.get("/api/v1/assets").json()["total"] == before
    # SQL metacharacters are data; a duplicate tag is a conflict on the tag.
    tag = "T'; DROP TABLE assets; --"
    a = new_asset(alice, tag, repairer_id=it["users"]["dave"]["id"])
    assert a["asset_tag"] == tag and a["repairer_name"] == "赵工"
    assert_problem(alice.post("/api/v1/assets", {"asset_tag": tag, "category": "server",
                                                 "name": "y"}), 409, "conflict", "body.asset_tag")
    found = alice.get("/api/v1/assets?q=" + "DROP%20TABLE").json()["items"]
    assert [x["id"] for x in found] == [a["id"]]
    assert alice.get("/api/v1/assets?q=%25").json()["items"] == [], "% is literal"
    assert_problem(alice.get("/api/v1/assets?status=lost"), 422, "validation_failed",
                   "query.status")
    # Changing fields: If-Match required and current; states and custodians do not change here.
    path = f"/api/v1/assets/{a['id']}"
    assert_problem(alice.req("PATCH", path, json_body={"location": "A"}), 428,
                   "precondition_required")
    assert_problem(alice.req("PATCH", path, json_body={"location": "A"},
                             headers={"If-Match": '"99"'}), 412, "precondition_failed")
    assert_problem(alice.req("PATCH", path, json_body={"status": "in_use"},
                             headers={"If-Match": a["etag"]}), 422, "validation_failed",
                   "body.status")
    r = alice.req("PATCH", path, json_body={"location": "机房 A", "purchase_cost": "100"},
                  headers={"If-Match": a["etag"]})
    assert r.status == 200 and r.json()["version"] == a["version"] + 1, r
    assert r.json()["location"] == "机房 A" and r.json()["purchase_cost"] == "100.00"


def test_another_departments_asset_is_not_found_and_a_custodian_sees_their_own(it):
    alice, dave = activate_user(it, "alice"), activate_user(it, "dave")
    it_asset = new_asset(dave, "SRV-01", category="server", status="in_stock")
    assert it_asset["department_id"] == it["depts"]["IT"]
    for path in (f"/api/v1/assets/{it_asset['id']}", f"/api/v1/assets/{it_asset['id']}/history"):
        assert_problem(alice.get(path), 404, "not_found")
    assert_problem(act(alice, it_asset["id"], "issue",
                       custodian_id=it["users"]["alice"]["id"]), 404, "not_found")
    assert it_asset["id"] not in [x["id"] for x in alice.get("/api/v1/assets?limit=500")
                                  .json()["items"]]
    assert_problem(alice.get("/api/v1/assets/99999999"), 404, "not_found")
    # bob (信息管理部 B, not the IT kind) holds a laptop: with an "own records" role he sees it,
    # and only it.
    grant_role(it, "bob", "asset_own", ["assets:equipment:read"], "own")
    bob = activate_user(it, "bob")
    laptop = new_asset(dave, "NB-07", category="laptop", status="in_stock")
    act(dave, laptop["id"], "issue", custodian_id=it["users"]["bob"]["id"])
    mine = bob.get("/api/v1/assets").json()
    assert [x["id"] for x in mine["items"]] == [laptop["id"]] and mine["total"] == 1
    assert bob.get(f"/api/v1/assets/{laptop['id']}").status == 200
    assert_problem(act(bob, laptop["id"], "idle"), 403, "forbidden")
    # A user without any asset role sees nothing.
    carol = activate_user(it, "carol")
    assert carol.get("/api/v1/assets").json()["items"] == []


def test_labels_carry_a_qr_code_that_opens_the_asset(it, tmp_path):
    """Issue #7 item 8: the label is rendered (rsvg-convert) and its QR code read back (zbarimg,
    both from Debian) to the asset's page in the console."""
    import subprocess

    alice = activate_user(it, "alice")
    a = new_asset(alice, "PC-LABEL-1", model="OptiPlex <7090> & co")
    r = alice.get(f"/api/v1/assets/{a['id']}/label")
    assert r.status == 200 and r.content_type.startswith("image/svg+xml"), r
    svg = r.body.decode()
    assert "PC-LABEL-1" in svg and "办公电脑" in svg
    assert "<7090>" not in svg, "text is escaped"
    path = tmp_path / "label.svg"
    path.write_bytes(r.body)
    png = tmp_path / "label.png"
    subprocess.run(["rsvg-convert", "-w", "600", "-b", "white", "-o", str(png), str(path)],
                   check=True, timeout=60)
    out = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True,
                         timeout=60)
    host = f"127.0.0.1:{it['server'].port}"
    assert out.stdout.strip() == f"http://{host}/assets/{a['id']}", out
    # A sheet of several; ids the caller may not see are not found, bad lists are refused.
    b = new_asset(alice, "PC-LABEL-2")
    r = alice.get(f"/api/v1/assets/labels?ids={a['id']},{b['id']}")
    assert r.status == 200 and "PC-LABEL-2" in r.body.decode() and "297mm" in r.body.decode()
    for bad in ("", "1,,2", "x", ",".join(str(i) for i in range(1, 18))):
        assert_problem(alice.get(f"/api/v1/assets/labels?ids={bad}"), 422, "validation_failed",
                       "query.ids")
    bob = activate_user(it, "bob")
    assert_problem(bob.get(f"/api/v1/assets/{a['id']}/label"), 404, "not_found")
    assert_problem(bob.get(f"/api/v1/assets/labels?ids={a['id']}"), 404, "not_found", "query.ids")
