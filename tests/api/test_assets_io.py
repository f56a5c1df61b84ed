"""Issue #7 item 9: the equipment archive in and out of CSV/XLSX. Snipe-IT's asset export
imports as it is (its column names, categories and status labels); a dry run reports by row and
column and writes nothing; a real run with an error writes nothing; a re-import is idempotent
by asset tag; an export imports back unchanged. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from conftest import assert_problem
from test_assets import it, new_asset  # noqa: F401  (it: fixture)
from test_auth import activate_user, org  # noqa: F401  (org: fixture)

SNIPE_HEADER = ("Company,Name,Asset Tag,Category,Supplier,Manufacturer,Location,Order Number,"
                "Model,Model Number,Purchase Date,Purchase Cost,Checked Out To,Status,Notes")


def upload(s, body: str, dry_run=True):
    return s.server.request("POST", f"/api/v1/assets/import?dry_run={'true' if dry_run else 'false'}",
                            body=body.encode(), headers=s.headers({"Content-Type": "text/csv"}))


def snipe(rows):
    return SNIPE_HEADER + "\n" + "\n".join(rows) + "\n"


GOOD = [
    "滨江医院,门诊挂号电脑,SN-0001,Desktops,联想,Lenovo,门诊楼 1 楼,PO-2024-17,ThinkCentre,M920t,"
    "2024/3/5,\"¥5,280.00\",张敏,Deployed,挂号窗口",
    "滨江医院,护士站打印机,SN-0002,Printers,惠普,HP,住院部,PO-2024-18,LaserJet,M404dn,"
    "2024-05-08,2199,,Ready to Deploy,",
    "滨江医院,会议平板,SN-0003,Smart Boards,希沃,Seewo,会议室,,MAXHUB,V6,2023-01-01,8999.5,,"
    "Archived,",
]


def test_snipe_it_export_imports_with_a_report_by_row(it):
    alice = activate_user(it, "alice")
    before = alice.get("/api/v1/assets").json()["total"]
    bad = GOOD + [
        "滨江医院,坏金额,SN-0004,Desktops,,,,,,,2024-01-01,五千,,Ready to Deploy,",
        "滨江医院,重复,SN-0001,Desktops,,,,,,,,,,,",
        "滨江医院,无人,SN-0005,Desktops,,,,,,,,,查无此人,Deployed,",
        "滨江医院,坏日期,SN-0006,Desktops,,,,,,,2024-02-30,,,,",
        "滨江医院,坏状态,SN-0007,Desktops,,,,,,,,,,Lost/Stolen,",
    ]
    r = upload(alice, snipe(bad))
    assert r.status == 200, r
    rep = r.json()
    errors = {(e["row"], e["column"]) for e in rep["errors"]}
    assert errors == {(5, "purchase_cost"), (6, "asset_tag"), (7, "custodian"),
                      (8, "purchase_date"), (9, "status")}, rep["errors"]
    assert any(w["column"] == "category" and w["row"] == 4 for w in rep["warnings"]), rep
    assert rep["created"] == 3 and rep["dry_run"] is True
    # A real run with errors writes nothing.
    body = assert_problem(upload(alice, snipe(bad), dry_run=False), 422, "validation_failed")
    assert body["report"]["created"] == 0
    assert alice.get("/api/v1/assets").json()["total"] == before
    r = upload(alice, snipe(GOOD), dry_run=False)
    assert r.status == 200 and r.json()["created"] == 3, r
    items = {a["asset_tag"]: a for a in alice.get("/api/v1/assets?q=SN-000").json()["items"]}
    pc, printer, board = items["SN-0001"], items["SN-0002"], items["SN-0003"]
    assert (pc["category"], pc["status"], pc["custodian_name"], pc["purchase_cost"],
            pc["purchase_date"], pc["model"]) == ("desktop", "in_use", "张敏", "5280.00",
                                                  "2024-03-05", "ThinkCentre M920t")
    assert "PO-2024-17" in pc["notes"] and "Lenovo" in pc["specs"]
    assert (printer["category"], printer["status"], printer["custodian_id"]) == \
        ("printer", "in_stock", None)
    assert (board["category"], board["status"]) == ("other", "idle")
    # Idempotent: the same file changes nothing; a changed cell is an update of that field.
    r = upload(alice, snipe(GOOD), dry_run=False)
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, 3), r
    changed = [GOOD[0].replace("门诊楼 1 楼", "门诊楼 2 楼")] + GOOD[1:]
    r = upload(alice, snipe(changed), dry_run=False)
    assert r.json()["updated"] == 1, r
    assert [o["fields"] for o in r.json()["outcomes"] if o["action"] == "updated"] == [["location"]]
    assert alice.get(f"/api/v1/assets/{pc['id']}").json()["location"] == "门诊楼 2 楼"
    ev = it["aud"].get("/api/v1/audit/events?action=assets.import&limit=5").json()["items"]
    assert len(ev) == 3


def test_export_imports_back_unchanged_and_the_template(it):
    alice, bob = activate_user(it, "alice"), activate_user(it, "bob")
    new_asset(alice, "EXP-0001", serial="X1", purchase_cost="100.10", location="库房, 1 号柜")
    r = alice.get("/api/v1/assets/export?format=csv&q=EXP-")
    assert r.status == 200 and r.content_type.startswith("text/csv"), r
    text = r.body.decode("utf-8-sig")
    assert "资产编号" in text.splitlines()[0] and "EXP-0001" in text
    back = upload(alice, text)
    assert back.status == 200, back
    rep = back.json()
    assert rep["errors"] == [] and rep["unchanged"] == 1 and rep["created"] == 0, rep
    r = alice.get("/api/v1/assets/export?format=xlsx")
    assert r.status == 200 and r.body[:2] == b"PK"
    assert_problem(alice.get("/api/v1/assets/export?format=pdf"), 422, "validation_failed",
                   "query.format")
    r = alice.get("/api/v1/assets/import-template")
    assert r.status == 200 and r.body[:2] == b"PK"
    assert "资产编号" in alice.get("/api/v1/assets/import-template?format=csv").body.decode("utf-8-sig")
    ev = it["aud"].get("/api/v1/audit/events?action=assets.export&limit=5").json()["items"]
    assert len(ev) == 2
    # Without the archive's permissions: refused.
    assert_problem(upload(bob, snipe(GOOD)), 403, "forbidden")
    assert_problem(bob.get("/api/v1/assets/export"), 403, "forbidden")
    assert_problem(bob.get("/api/v1/assets/import-template"), 403, "forbidden")
