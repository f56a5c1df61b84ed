"""Bulk import of departments and users from CSV / XLSX, black-box (issue #3 item 1).

POST /api/v1/{departments,users}/import?dry_run=… takes the raw file as the body and answers with
a report {dry_run, register, rows, created, updated, unchanged, errors[{row, column, code,
message}], warnings, outcomes, created_users?}; a real run with errors writes nothing and answers
422 validation_failed with the report in "report". GET …/import-template?format=xlsx|csv gives
the template.
"""

from __future__ import annotations

import io
import urllib.parse
import zipfile

import pytest

from conftest import Server, assert_problem, fresh_db_url, sql_exec
from test_auth import Session, activate_admin, admin_init, login

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOM = b"\xef\xbb\xbf"


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """A server with the system and audit administrators activated."""
    tmp = tmp_path_factory.mktemp("import")
    url = fresh_db_url(tmp / "db")
    accounts = admin_init(url)
    server = Server(tmp, url).start()
    sys_s, _ = activate_admin(server, accounts["system"])
    aud_s, _ = activate_admin(server, accounts["audit"])
    yield dict(server=server, url=url, sys=sys_s, aud=aud_s)
    server.stop_and_check()


def csv_bytes(*lines: str, bom: bool = True) -> bytes:
    return (BOM if bom else b"") + "".join(line + "\r\n" for line in lines).encode("utf-8")


def upload(session: Session | None, server, path: str, body: bytes, ctype: str | None = CSV):
    headers = session.headers() if session else {}
    if ctype is not None:
        headers["Content-Type"] = ctype
    return server.request("POST", path, body=body, headers=headers)


def users_total(ctx) -> int:
    r = ctx["sys"].get("/api/v1/users?limit=1")
    assert r.status == 200, r
    return r.json()["total"]


def departments_total(ctx) -> int:
    r = ctx["sys"].get("/api/v1/departments?limit=1")
    assert r.status == 200, r
    return r.json()["total"]


def audit_count(ctx) -> int:
    return int(sql_exec(ctx["url"], "SELECT COUNT(*) FROM audit_events"))


def error_cells(report) -> set:
    return {(e["row"], e["column"]) for e in report["errors"]}


# --------------------------------------------------------------------------------------------
# Templates


def test_templates_download(ctx):
    s, server = ctx["sys"], ctx["server"]
    r = s.get("/api/v1/departments/import-template?format=xlsx")
    assert r.status == 200, r
    assert r.content_type == XLSX
    assert r.body.startswith(b"PK\x03\x04")
    z = zipfile.ZipFile(io.BytesIO(r.body))
    assert "xl/workbook.xml" in z.namelist()
    assert "说明".encode() in z.read("xl/workbook.xml")  # the description sheet
    cd = r.header("Content-Disposition")
    assert cd.startswith("attachment;"), cd
    assert 'filename="departments-import-template.xlsx"' in cd, cd
    assert "filename*=UTF-8''" + urllib.parse.quote("部门导入模板.xlsx") in cd, cd

    r = s.get("/api/v1/users/import-template?format=csv")
    assert r.status == 200, r
    assert r.content_type.startswith("text/csv"), r
    assert r.body.startswith(BOM)
    first = r.body[len(BOM):].decode("utf-8").splitlines()[0]
    assert first == "工号,用户名,姓名,部门编码,上级工号,邮箱"
    cd = r.header("Content-Disposition")
    assert "filename*=UTF-8''" + urllib.parse.quote("用户导入模板.csv") in cd, cd

    # xlsx is the default; anything else is refused.
    assert s.get("/api/v1/users/import-template").content_type == XLSX
    assert_problem(s.get("/api/v1/users/import-template?format=pdf"), 422, "validation_failed",
                   "query.format")
    assert_problem(server.get("/api/v1/users/import-template"), 401, "unauthorized")


# --------------------------------------------------------------------------------------------
# Dry run, real run, re-import


BAD_USERS = csv_bytes(
    "工号,用户名,姓名,部门编码,上级工号,邮箱,备注",
    "U1,alice,王丽,NOPE,,,",                 # 2: no such department
    "U2,ali ce,李强,,,,",                    # 3: username with a space
    ",carol,张敏,,,,",                       # 4: employee number missing
    "U4,dave,,,,dave.example.com,",          # 5: name missing, e-mail without @
    "U5,erin,赵敏,,U404,,",                  # 6: no such manager
    "U5,frank,钱进,,,,",                     # 7: duplicate employee number
    "U7,\"gina'; DROP TABLE users;--\",孙丽,,,,",  # 8: SQL metacharacters
    "U8,hank,周杰,,,hank@example.com,",      # 9: fine
)
BAD_CELLS = {(2, "department_code"), (3, "username"), (4, "employee_no"), (5, "name"),
             (5, "email"), (6, "manager_employee_no"), (7, "employee_no"), (8, "username")}


def test_dry_run_reports_every_bad_cell_and_writes_nothing(ctx):
    s, server = ctx["sys"], ctx["server"]
    before, audits = users_total(ctx), audit_count(ctx)
    r = upload(s, server, "/api/v1/users/import?dry_run=true", BAD_USERS)
    assert r.status == 200, r
    report = r.json()
    assert report["dry_run"] is True
    assert report["register"] == "users"
    assert report["rows"] == 8
    assert error_cells(report) == BAD_CELLS, report["errors"]
    for e in report["errors"]:
        assert e["code"] == "validation_failed" and e["message"], e
    assert {(w["row"], w["column"]) for w in report["warnings"]} == {(1, "备注")}
    assert report["created"] == 1  # hank would be created
    assert "created_users" not in report
    assert users_total(ctx) == before
    assert audit_count(ctx) == audits

    # Without dry_run the default is a dry run too.
    r = upload(s, server, "/api/v1/users/import", BAD_USERS)
    assert r.status == 200 and r.json()["dry_run"] is True, r

    # A real run of the same file: 422, the report inside, nothing written.
    r = upload(s, server, "/api/v1/users/import?dry_run=false", BAD_USERS)
    body = assert_problem(r, 422, "validation_failed", "body")
    assert "see report.errors" in body["detail"], body
    assert error_cells(body["report"]) == BAD_CELLS
    assert body["report"]["dry_run"] is False
    assert body["report"]["created"] == 0
    assert body["report"]["created_users"] == []
    assert users_total(ctx) == before
    assert audit_count(ctx) == audits


def test_real_import_then_idempotent_reimport(ctx):
    s, server = ctx["sys"], ctx["server"]
    # The child department before its parent.
    depts = csv_bytes("编码,名称,上级编码,类型", "IT1,运维组,IT,", "IT,信息管理部,,信息管理部",
                      "FIN,财务部,,finance")
    d_before = departments_total(ctx)
    r = upload(s, server, "/api/v1/departments/import?dry_run=false", depts)
    assert r.status == 200, r
    assert r.json()["created"] == 3 and r.json()["errors"] == [], r.json()
    assert departments_total(ctx) == d_before + 3

    users = csv_bytes("工号,用户名,姓名,部门编码,上级工号,邮箱",
                      "T1,tina,田娜,IT1,T2,tina@example.com",  # manager on a later row
                      "T2,tom,汤姆,IT,,", "T3,tracy,唐瑞,FIN,,")
    before, audits = users_total(ctx), audit_count(ctx)
    r = upload(s, server, "/api/v1/users/import?dry_run=false", users)
    assert r.status == 200, r
    report = r.json()
    assert report["dry_run"] is False
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 0, 0), report
    assert [u["username"] for u in report["created_users"]] == ["tina", "tom", "tracy"]
    assert users_total(ctx) == before + 3
    assert audit_count(ctx) == audits + 4  # three users and the summary
    assert r.header("Cache-Control") == "no-store"

    # The initial password works once and must be changed.
    tina = next(u for u in report["created_users"] if u["username"] == "tina")
    lr = login(server, "tina", tina["initial_password"])
    assert lr.json()["must_change_password"] is True
    found = s.get("/api/v1/users?q=tina").json()["items"]
    assert found and found[0]["department_id"] is not None
    tom = s.get("/api/v1/users?q=tom").json()["items"][0]
    assert found[0]["manager_id"] == tom["id"]

    # The same file again: all unchanged, nothing written, not even an audit record.
    audits = audit_count(ctx)
    r = upload(s, server, "/api/v1/users/import?dry_run=false", users)
    assert r.status == 200, r
    report = r.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3), report
    assert report["created_users"] == []
    assert audit_count(ctx) == audits
    r = upload(s, server, "/api/v1/departments/import?dry_run=false", depts)
    assert r.status == 200 and r.json()["unchanged"] == 3, r
    assert audit_count(ctx) == audits

    # One cell changed: one update. Sent as application/octet-stream: the bytes decide.
    changed = users.replace("唐瑞".encode(), "唐蕊".encode())
    r = upload(s, server, "/api/v1/users/import?dry_run=false", changed,
               "application/octet-stream")
    assert r.status == 200, r
    report = r.json()
    assert (report["updated"], report["unchanged"]) == (1, 2), report
    assert [o["fields"] for o in report["outcomes"] if o["action"] == "updated"] == [["name"]]
    assert audit_count(ctx) == audits + 2
    assert s.get("/api/v1/users?q=tracy").json()["items"][0]["name"] == "唐蕊"


def test_xlsx_upload(ctx):
    s, server = ctx["sys"], ctx["server"]
    template = s.get("/api/v1/departments/import-template?format=xlsx").body
    r = upload(s, server, "/api/v1/departments/import?dry_run=true", template, XLSX)
    assert r.status == 200, r
    assert r.json()["rows"] == 0 and r.json()["errors"] == [], r.json()


# --------------------------------------------------------------------------------------------
# Refusals


def test_wrong_content_type_is_415(ctx):
    s, server = ctx["sys"], ctx["server"]
    for ctype in ("application/json", "multipart/form-data; boundary=x", None):
        r = upload(s, server, "/api/v1/departments/import", csv_bytes("编码,名称", "A,甲"), ctype)
        assert_problem(r, 415, "unsupported_media_type", "header.content-type")
    # A charset parameter is fine.
    r = upload(s, server, "/api/v1/departments/import", csv_bytes("编码,名称", "A,甲"),
               "text/csv; charset=utf-8")
    assert r.status == 200, r
    # Legacy .xls bytes are refused by content.
    r = upload(s, server, "/api/v1/departments/import",
               b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "application/octet-stream")
    assert_problem(r, 415, "unsupported_media_type", "body")


def test_bad_parameters_and_unreadable_files(ctx):
    s, server = ctx["sys"], ctx["server"]
    r = upload(s, server, "/api/v1/users/import?dry_run=maybe", csv_bytes("工号,用户名,姓名"))
    assert_problem(r, 422, "validation_failed", "query.dry_run")
    r = upload(s, server, "/api/v1/users/import", b"PK\x03\x04not really a zip", XLSX)
    assert_problem(r, 422, "validation_failed", "body")
    rows = ["编码,名称"] + [f"D{i},部门" for i in range(10001)]
    r = upload(s, server, "/api/v1/departments/import", csv_bytes(*rows))
    body = assert_problem(r, 413, "payload_too_large", "body")
    assert "10000" in body["detail"], body
    # A file without the required columns is a report with a row-1 error, not a crash.
    r = upload(s, server, "/api/v1/departments/import?dry_run=false", csv_bytes("名称", "甲"))
    body = assert_problem(r, 422, "validation_failed", "body")
    assert error_cells(body["report"]) == {(1, "code")}


def test_unauthenticated_upload_is_401(ctx):
    server = ctx["server"]
    r = upload(None, server, "/api/v1/users/import?dry_run=false", BAD_USERS)
    assert_problem(r, 401, "unauthorized")
    r = upload(Session(server, "not-a-token"), server, "/api/v1/departments/import", BAD_USERS)
    assert_problem(r, 401, "unauthorized")


def test_auditor_is_403(ctx):
    aud, server = ctx["aud"], ctx["server"]
    before = users_total(ctx)
    r = upload(aud, server, "/api/v1/users/import?dry_run=false",
               csv_bytes("工号,用户名,姓名", "Z1,zoe,赵一"))
    assert_problem(r, 403, "forbidden")
    r = upload(aud, server, "/api/v1/departments/import", csv_bytes("编码,名称", "Z,乙"))
    assert_problem(r, 403, "forbidden")
    assert_problem(aud.get("/api/v1/users/import-template"), 403, "forbidden")
    assert users_total(ctx) == before


def test_routes_are_documented(ctx):
    doc = ctx["server"].get("/api/v1/openapi.json").json()
    for path, method in [("/api/v1/departments/import", "post"),
                         ("/api/v1/users/import", "post"),
                         ("/api/v1/departments/import-template", "get"),
                         ("/api/v1/users/import-template", "get")]:
        op = doc["paths"][path][method]
        assert op["tags"] == ["organisation"], op
        assert op["summary"] and op["security"], op
        assert "requestBody" not in op or "application/json" not in op["requestBody"]["content"]
    ok = doc["paths"]["/api/v1/users/import"]["post"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ImportReport"}
    assert "ImportReport" in doc["components"]["schemas"]
    tpl = doc["paths"]["/api/v1/users/import-template"]["get"]["responses"]["200"]
    assert XLSX in tpl["content"]
    params = {p["name"] for p in doc["paths"]["/api/v1/users/import"]["post"]["parameters"]}
    assert params == {"dry_run"}
