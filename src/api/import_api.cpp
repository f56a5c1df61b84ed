// Bulk import of departments and users from CSV or XLSX, and the download templates (issue #3
// item 1), over org::OrgImporter:
//
//   POST /api/v1/departments/import?dry_run=true|false   body: the file
//   POST /api/v1/users/import?dry_run=true|false
//   GET  /api/v1/departments/import-template?format=xlsx|csv
//   GET  /api/v1/users/import-template?format=xlsx|csv
//
// Decisions:
//  * The body is the raw file. Content-Type must be text/csv,
//    application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or
//    application/octet-stream (parameters such as charset are ignored); anything else is 415 with
//    field header.content-type. The format itself is told from the bytes, never from the label.
//    The routes leave RouteDoc.request_schema empty so App::dispatch does not demand JSON.
//  * dry_run defaults to true: an upload without the parameter only reports. A real run needs
//    dry_run=false.
//  * Statuses: a dry run answers 200 with the report whatever it found (the report is what was
//    asked for). A real run answers 200 with the report when every row was good and was written;
//    when any row (or the header) has an error nothing is written and the answer is 422, a
//    problem+json with code validation_failed, field "body", a detail that says how many errors
//    and "see report.errors", and the full report in the extra member "report".
//  * A file that cannot be read at all is a plain problem: 422 validation_failed (damaged file),
//    413 payload_too_large (more than 10,000 data rows, or a reader limit), 415
//    unsupported_media_type (legacy .xls, encrypted workbook, UTF-16 text); field "body".
//  * Order of refusals: 401 (no session) → 403 (no write permission for the register at any
//    scope; the auditor) → 415 (content type) → 422 (parameters) → the file.
//  * Templates need the same write permission as the import they serve. They come as
//    attachments named 部门导入模板.xlsx / 用户导入模板.csv (RFC 5987 filename*) with an ASCII
//    fallback (departments-import-template.xlsx).
//  * The report of a real run of the users register holds each created user's one-time initial
//    password; responses are never cached (App::finish sets Cache-Control: no-store).
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/export.h"
#include "api/imports.h"
#include "api/json.h"
#include "modules/org/org_import.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

const char* write_permission(org::Register reg) {
  return reg == org::Register::departments ? org::perm::departments_write : org::perm::users_write;
}

Response run_import(Request& req, Deps& deps, org::Register reg) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, write_permission(reg))) throw Error(ErrorCode::forbidden);
  check_upload_type(req);
  const bool dry_run = dry_run_param(req);
  // Deps carries no clock; the importer only stamps times with it.
  static const SystemClock clock;
  org::OrgImporter importer(deps.db, clock, deps.auth, deps.org.masker());
  const org::ImportReport report = importer.run(c.principal, c.client, reg, req.body, dry_run);
  json::object out = report_json(report);
  if (reg == org::Register::users && !dry_run) {
    json::array users;
    for (const auto& u : report.created_users)
      users.push_back(json::object{{"employee_no", u.employee_no},
                                   {"username", u.username},
                                   {"initial_password", u.initial_password}});
    out["created_users"] = std::move(users);
  }
  return import_answer(req, report, std::move(out));
}

Response template_download(Request& req, Deps& deps, org::Register reg) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, write_permission(reg))) throw Error(ErrorCode::forbidden);
  const tabular::Format format = format_param(req);
  return template_answer(format, org::OrgImporter::template_file(reg, format),
                         std::string(org::register_name(reg)) + "-import-template",
                         reg == org::Register::departments ? "部门导入模板" : "用户导入模板");
}

}  // namespace

void register_import_routes(http::Router& router, Deps& deps) {
  deps.schemas["ImportReport"] = import_report_schema();
  const char* kReport = "#/components/schemas/ImportReport";

  struct Spec {
    org::Register reg;
    const char* base;
    const char* what;
  };
  for (const Spec s : {Spec{org::Register::departments, "/api/v1/departments", "departments"},
                       Spec{org::Register::users, "/api/v1/users", "users"}}) {
    const org::Register reg = s.reg;
    router.add(
        Method::post, std::string(s.base) + "/import",
        [&deps, reg](Request& req) { return run_import(req, deps, reg); },
        {.summary = std::string("Import ") + s.what +
                    " from a CSV or XLSX file sent as the body (text/csv, " + kXlsxType +
                    " or application/octet-stream); dry_run (default true) only reports. A real "
                    "run with errors writes nothing and answers 422 with the report in "
                    "\"report\"",
         .tag = "organisation",
         .response_schema = kReport,
         .query_params = {"dry_run"},
         .request_content_types = {"text/csv", kXlsxType, "application/octet-stream"},
         .public_route = false,
         .upload = true});
    router.add(Method::get, std::string(s.base) + "/import-template",
               [&deps, reg](Request& req) { return template_download(req, deps, reg); },
               {.summary = std::string("The import template for ") + s.what +
                           " (format=xlsx, the default, with a second sheet 说明 describing the "
                           "columns; or format=csv)",
                .tag = "organisation",
                .success_content_type = kXlsxType,
                .query_params = {"format"},
                .public_route = false});
  }
}

}  // namespace custos::api
