"""The registry's registers in and out of spreadsheets (issue #6 item 6; SI-2, SI-3): templates
with zh-CN headers, a dry run that names every bad row and column of a file full of bad rows and
writes nothing, idempotent re-import by external key, one transaction, references by code,
another department's record refused, exports that respect the decision point and masking, carry
a watermark, need a recent password, are rate-limited and audited, and import back unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
import zipfile

import pytest

from conftest import Server, assert_problem, fresh_db_url, sql_exec
from test_auth import NEW_PASSWORD, Session, activate_admin, admin_init, login, reauth
from test_import import CSV, XLSX, csv_bytes, error_cells, upload
from test_registry import make_user

HEADER = "外部编号,类型,名称,手机号,身份证号,地址,邮箱,标签,所属部门编码,负责人工号,密级,来源"
EXPORTS_PER_HOUR = 4


@pytest.fixture(scope="module")
def io_ctx(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("registry_io")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    server = Server(tmp, url, sets={"privacy.export_per_hour": EXPORTS_PER_HOUR}).start()
    sys_s, _ = activate_admin(server, accounts["system"])
    sec_s, _ = activate_admin(server, accounts["security"])
    aud_s, _ = activate_admin(server, accounts["audit"])
    a = sys_s.post("/api/v1/departments", {"code": "CS", "name": "客服部"}).json()
    b = sys_s.post("/api/v1/departments", {"code": "ENG", "name": "工程部"}).json()
    people = {"desk_a": make_user(sys_s, "desk.a", "前台甲", a["id"]),
              "desk_b": make_user(sys_s, "desk.b", "前台乙", b["id"]),
              "manager": make_user(sys_s, "manager", "服务信息主管", a["id"])}
    roles = {x["code"]: x["id"] for x in sec_s.get("/api/v1/roles").json()["items"]}
    reauth(sec_s)
    for who, role in (("desk_a", "service_desk"), ("desk_b", "service_desk"),
                      ("manager", "registry_manager")):
        r = sec_s.req("PUT", f"/api/v1/users/{people[who]['id']}/roles",
                      json_body={"role_ids": [roles[role]]})
        assert r.status == 200, r
        u = sec_s.get(f"/api/v1/users/{people[who]['id']}").json()
        r = sec_s.patch(f"/api/v1/users/{u['id']}", {"clearance": 2}, u["etag"])
        assert r.status == 200, r
    for who in people:
        people[who]["session"] = Session(server, login(server, people[who]["username"],
                                                       NEW_PASSWORD).json()["token"])
    yield dict(server=server, url=url, sys=sys_s, sec=sec_s, aud=aud_s, people=people,
               depts={"A": a, "B": b})
    server.stop_and_check()


def q(text: str) -> str:
    return urllib.parse.quote(text)


def s_of(ctx, who):
    return ctx["people"][who]["session"]


def customers_total(ctx, who="manager") -> int:
    r = s_of(ctx, who).get("/api/v1/customers?limit=1")
    assert r.status == 200, r
    return r.json()["total"]


def audit_count(ctx) -> int:
    return int(sql_exec(ctx["url"], "SELECT COUNT(*) FROM audit_events"))


def imp(ctx, who, register, body, dry_run, ctype=CSV):
    path = f"/api/v1/{register}/import?dry_run={'true' if dry_run else 'false'}"
    return upload(s_of(ctx, who), ctx["server"], path, body, ctype)


def test_templates_have_the_zh_cn_headers(io_ctx):
    s = s_of(io_ctx, "desk_a")
    r = s.get("/api/v1/customers/import-template?format=csv")
    assert r.status == 200, r
    assert r.body.decode("utf-8-sig").splitlines()[0] == HEADER
    assert "filename*=UTF-8''" in r.header("Content-Disposition")
    r = s.get("/api/v1/service-requests/import-template")
    assert r.status == 200 and r.header("Content-Type") == XLSX, r
    with zipfile.ZipFile(io.BytesIO(r.body)) as z:
        strings = z.read("xl/sharedStrings.xml").decode() + z.read("xl/workbook.xml").decode()
    for h in ("外部编号", "标题", "客户外部编号", "说明"):
        assert h in strings, h
    # The auditor writes no registry records, so gets no template either.
    assert_problem(io_ctx["aud"].get("/api/v1/customers/import-template"), 403, "forbidden")
    assert_problem(s.get("/api/v1/customers/import-template?format=pdf"), 422,
                   "validation_failed", "query.format")


def test_dry_run_of_a_file_full_of_bad_rows_names_every_cell_and_writes_nothing(io_ctx):
    before, audits = customers_total(io_ctx), audit_count(io_ctx)
    body = csv_bytes(
        HEADER,
        "K1,个人,王小明,138-0013-8000,,北京市海淀区中关村大街1号,wang@example.cn,业主、VIP,CS,,,前台",
        "K2,机器人,李四,12ab,,,,,,,,",               # kind, mobile
        "K3,,,13800138001,,,,,,,,",                  # name missing
        "K4,,赵六,,X12,,not-mail,,NOPE,E999,绝密级,",  # id card, e-mail, department, owner, class
        "K1,,重复,,,,,,,,,",                           # the key again
        ",,无编号,,,,,,,,,",                           # no key
        "K7,,O'Brien\"; DROP TABLE customers;--,,,,,,,,,",  # just text
        "K8,,控制\x07字符,,,,,,,,,",
    )
    r = imp(io_ctx, "desk_a", "customers", body, dry_run=True)
    assert r.status == 200, r
    rep = r.json()
    assert rep["dry_run"] is True and rep["register"] == "customers" and rep["rows"] == 8
    # A row stops at its first bad cell (test_each_bad_reference_names_its_column has one bad
    # cell per row); every row is judged on its own.
    cells = error_cells(rep)
    assert {row for row, _ in cells} == {3, 4, 5, 6, 7, 9}, rep["errors"]
    for cell in [(3, "kind"), (4, "name"), (6, "external_key"), (7, "external_key"),
                 (9, "name")]:
        assert cell in cells, (cell, rep["errors"])
    assert [e["message"] for e in rep["errors"] if e["row"] == 6] == \
        ["appears again (first on row 2)"]
    assert {o["key"] for o in rep["outcomes"]} == {"K1", "K7"}
    assert rep["created"] == 2
    assert customers_total(io_ctx) == before and audit_count(io_ctx) == audits
    # A real run of the same file writes nothing either, and says why.
    r = imp(io_ctx, "desk_a", "customers", body, dry_run=False)
    prob = assert_problem(r, 422, "validation_failed", "body")
    assert prob["report"]["dry_run"] is False and prob["report"]["outcomes"] == []
    assert error_cells(prob["report"]) == cells
    assert customers_total(io_ctx) == before and audit_count(io_ctx) == audits


def test_each_bad_reference_names_its_column(io_ctx):
    rows = ["K1,,甲,12ab,,,,,,,,", "K2,,乙,,X12,,,,,,,", "K3,,丙,,,,not-mail,,,,,",
            "K4,,丁,,,,,,NOPE,,,", "K5,,戊,,,,,,,E999,,", "K6,,己,,,,,,,,绝密级,",
            "K7,,庚,,,,,\"a\"\"b\",,,,"]
    r = imp(io_ctx, "desk_a", "customers", csv_bytes(HEADER, *rows), dry_run=True)
    assert r.status == 200, r
    assert error_cells(r.json()) == {(2, "mobile"), (3, "id_card"), (4, "email"),
                                     (5, "department_code"), (6, "owner_employee_no"),
                                     (7, "classification"), (8, "tags")}, r.json()["errors"]


def test_real_import_then_idempotent_reimport(io_ctx):
    mgr = s_of(io_ctx, "manager")
    emp = io_ctx["people"]["desk_a"]["employee_no"]
    body = csv_bytes(
        HEADER,
        f"IMP-1,个人,王小明,13800138000,110101199003071234,北京市海淀区中关村大街1号,"
        f"wang@example.cn,业主、VIP,CS,{emp},敏感,物业前台",
        "IMP-2,单位,某某科技有限公司,010-62345678,,,,,CS,,内部,",
    )
    audits = audit_count(io_ctx)
    r = imp(io_ctx, "manager", "customers", body, dry_run=False)
    assert r.status == 200, r
    rep = r.json()
    assert (rep["created"], rep["updated"], rep["unchanged"]) == (2, 0, 0), rep
    # One record per created customer and one for the run.
    assert audit_count(io_ctx) == audits + 3
    actions = sql_exec(io_ctx["url"], "SELECT action FROM audit_events ORDER BY seq DESC LIMIT 3")
    assert "registry.import" in actions and "registry.customer.create" in actions
    found = mgr.get("/api/v1/customers?mobile=13800138000").json()["items"]
    assert len(found) == 1
    c = found[0]
    assert c["external_key"] == "IMP-1" and c["mobile"] == "138****8000"
    assert c["tags"] == ["业主", "VIP"] and c["classification"] == 2
    assert c["owner_user_id"] == io_ctx["people"]["desk_a"]["id"]
    assert c["department_id"] == io_ctx["depts"]["A"]["id"]
    org = mgr.get("/api/v1/customers?q=" + q("某某科技")).json()["items"]
    assert org[0]["kind"] == "organization" and org[0]["classification"] == 1
    # The same file again changes nothing and writes nothing.
    audits = audit_count(io_ctx)
    rep = imp(io_ctx, "manager", "customers", body, dry_run=False).json()
    assert (rep["created"], rep["updated"], rep["unchanged"]) == (0, 0, 2), rep
    assert audit_count(io_ctx) == audits
    # One changed cell is an update of that field only.
    changed = body.replace("物业前台".encode(), "电话登记".encode())
    rep = imp(io_ctx, "manager", "customers", changed, dry_run=False).json()
    assert rep["updated"] == 1 and rep["outcomes"][0]["fields"] == ["source"], rep
    # A kind cannot change through an import.
    flipped = body.replace("IMP-2,单位".encode(), "IMP-2,个人".encode())
    r = imp(io_ctx, "manager", "customers", flipped, dry_run=True)
    assert (3, "kind") in error_cells(r.json())


def test_another_departments_record_is_refused(io_ctx):
    """desk_b (工程部) cannot update desk_a's customer by naming its external key, and cannot
    file customers into 客服部."""
    r = s_of(io_ctx, "desk_a").post("/api/v1/customers", {"name": "客服部的客户",
                                                          "external_key": "A-ONLY"})
    assert r.status == 201, r
    body = csv_bytes(HEADER, "A-ONLY,,改名,,,,,,,,,", "B-NEW,,新客户,,,,,,CS,,,")
    rep = imp(io_ctx, "desk_b", "customers", body, dry_run=True).json()
    errors = {(e["row"], e["column"]): e for e in rep["errors"]}
    assert (2, "external_key") in errors and errors[(2, "external_key")]["code"] == "forbidden"
    assert (3, "department_code") in errors and errors[(3, "department_code")]["code"] == \
        "forbidden"
    assert s_of(io_ctx, "desk_a").get("/api/v1/customers?q=" + q("客服部的客户")).json()["items"][0][
        "name"] != "改*"


def test_request_import_by_names_and_references(io_ctx):
    header = "外部编号,标题,类型,优先级,渠道,描述,客户外部编号,受理部门编码,密级"
    body = csv_bytes(header,
                     "SR-OLD-1,楼上卫生间漏水,报修,紧急,微信,天花板滴水,IMP-1,CS,",
                     "SR-OLD-2,咨询停车费,inquiry,normal,phone,,,,",
                     "SR-OLD-3,无类型,,,,,,,",
                     "SR-OLD-4,坏客户,报修,,,,NO-SUCH,,",
                     "SR-OLD-5,坏渠道,报修,,传真,,,,",
                     "SR-OLD-6,坏优先级,报修,火急,,,,,")
    r = imp(io_ctx, "manager", "service-requests", body, dry_run=True)
    assert r.status == 200, r
    assert error_cells(r.json()) == {(4, "type"), (5, "customer_external_key"), (6, "channel"),
                                     (7, "priority")}, r.json()["errors"]
    good = csv_bytes(header, "SR-OLD-1,楼上卫生间漏水,报修,紧急,微信,天花板滴水,IMP-1,CS,",
                     "SR-OLD-2,咨询停车费,inquiry,normal,phone,,,,")
    rep = imp(io_ctx, "manager", "service-requests", good, dry_run=False).json()
    assert rep["created"] == 2, rep
    mgr = s_of(io_ctx, "manager")
    items = mgr.get("/api/v1/service-requests?q=" + q("漏水")).json()["items"]
    assert len(items) == 1 and items[0]["priority"] == "urgent" and items[0]["channel"] == "wechat"
    assert items[0]["type"] in ("repair", "报修") or items[0].get("type_code") == "repair"
    # Re-import: unchanged; a new title is an update; a new type is refused.
    rep = imp(io_ctx, "manager", "service-requests", good, dry_run=False).json()
    assert rep["unchanged"] == 2, rep
    retitled = good.replace("咨询停车费".encode(), "咨询停车月卡".encode())
    rep = imp(io_ctx, "manager", "service-requests", retitled, dry_run=False).json()
    assert rep["updated"] == 1 and rep["outcomes"][1]["fields"] == ["title"], rep
    retyped = good.replace(",inquiry,".encode(), ",complaint,".encode())
    assert (3, "type") in error_cells(
        imp(io_ctx, "manager", "service-requests", retyped, dry_run=True).json())


def parse_csv_export(body: bytes):
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    return rows[0], rows[1:-1], rows[-1]


def test_exports_are_masked_watermarked_audited_and_import_back(io_ctx):
    mgr = s_of(io_ctx, "manager")
    assert_problem(s_of(io_ctx, "desk_a").get("/api/v1/customers/export"), 403, "forbidden")
    reauth(mgr)
    r = mgr.get("/api/v1/customers/export?q=" + q("王小明"))
    assert r.status == 200, r
    assert r.header("Content-Type").startswith("text/csv")
    header, rows, mark = parse_csv_export(r.body)
    assert header[:12] == HEADER.split(",")
    assert len(rows) == 1 and rows[0][0] == "IMP-1"
    assert rows[0][3] == "138****8000" and "13800138000" not in r.body.decode("utf-8-sig")
    assert rows[0][2] != "王小明" and rows[0][10] == "敏感"
    assert mark[0].startswith("导出人/Exported by: manager ") and "q=王小明" in mark[0]
    event = json.loads(sql_exec(io_ctx["url"], "SELECT changes FROM audit_events WHERE action = "
                                "'registry.customers.export' ORDER BY seq DESC LIMIT 1"))
    assert event["rows"] == 1 and event["filter"] == "q=王小明"
    # The exported file, as it is, imports back without changing anything: the masked cells
    # are recognised as the stored values, the read-only columns are ignored.
    rep = imp(io_ctx, "manager", "customers", r.body, dry_run=False).json()
    assert (rep["unchanged"], rep["updated"], rep["created"]) == (1, 0, 0), rep
    assert rep["warnings"] == []
    assert mgr.get("/api/v1/customers?mobile=13800138000").json()["total"] == 1
    # XLSX, with the watermark in the file.
    r = mgr.get("/api/v1/service-requests/export?format=xlsx&q=" + q("漏水"))
    assert r.status == 200 and r.header("Content-Type") == XLSX, r
    with zipfile.ZipFile(io.BytesIO(r.body)) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()
                       if n.endswith(".xml"))
    assert "楼上卫生间漏水" in text and "Exported by: manager" in text
    assert "咨询停车" not in text


def test_export_needs_recent_password_and_is_rate_limited(io_ctx):
    server = io_ctx["server"]
    mgr = s_of(io_ctx, "manager")
    # A filter error spends nothing.
    reauth(mgr)
    assert_problem(mgr.get("/api/v1/customers/export?format=pdf"), 422, "validation_failed",
                   "query.format")
    assert_problem(mgr.get("/api/v1/service-requests/export?status=bogus"), 422,
                   "validation_failed", "query.status")
    used = int(sql_exec(io_ctx["url"], "SELECT COUNT(*) FROM audit_events WHERE action LIKE "
                        "'registry.%.export'"))
    for _ in range(EXPORTS_PER_HOUR - used):
        assert mgr.get("/api/v1/service-requests/export").status == 200
    assert_problem(mgr.get("/api/v1/customers/export"), 429, "too_many_requests")
    # A session without a recent password entry is asked for one before the quota is looked at.
    sql_exec(io_ctx["url"], "UPDATE sessions SET reauth_at = 0")
    time.sleep(0.6)  # the session cache keeps a resolved session for 500 ms
    assert_problem(mgr.get("/api/v1/customers/export"), 401, "reauth_required")
    del server


def test_exports_show_only_visible_records(io_ctx):
    """An export is the caller's view: desk_b (工程部), given the export permission over its own
    department tree, exports its customers and none of 客服部's."""
    server, sec = io_ctx["server"], io_ctx["sec"]
    r = s_of(io_ctx, "desk_b").post("/api/v1/customers", {"name": "工程部的客户",
                                                          "external_key": "B-OWN"})
    assert r.status == 201, r
    reauth(sec)
    r = sec.post("/api/v1/roles", {"code": "desk_export", "name": "前台导出",
                                   "scope": "department_tree",
                                   "permissions": ["registry:customers:read",
                                                   "registry:customers:export"]})
    assert r.status == 201, r
    user = io_ctx["people"]["desk_b"]
    r = sec.req("PUT", f"/api/v1/users/{user['id']}/roles", json_body={"role_ids": [r.json()["id"]]})
    assert r.status == 200, r
    b = Session(server, login(server, "desk.b", NEW_PASSWORD).json()["token"])
    r = b.get("/api/v1/customers/export")
    assert r.status == 200, r
    _, rows, _ = parse_csv_export(r.body)
    keys = {row[0] for row in rows}
    assert "B-OWN" in keys and "A-ONLY" not in keys and "IMP-1" not in keys, keys
