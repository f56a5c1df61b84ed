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
#include <cctype>

#include "api/caller.h"
#include "api/export.h"
#include "api/json.h"
#include "modules/org/org_import.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

bool upload_type_ok(std::string_view ct) {
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  return http::iequals(ct, "text/csv") || http::iequals(ct, kXlsxType) ||
         http::iequals(ct, "application/octet-stream");
}

bool dry_run_param(const Request& req) {
  auto v = req.query_param("dry_run");
  if (!v || *v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  throw Error(ErrorCode::validation_failed, "query.dry_run", "true or false");
}

tabular::Format format_param(const Request& req) {
  auto v = req.query_param("format");
  if (!v || *v == "xlsx") return tabular::Format::xlsx;
  if (*v == "csv") return tabular::Format::csv;
  throw Error(ErrorCode::validation_failed, "query.format", "xlsx or csv");
}

const char* write_permission(org::Register reg) {
  return reg == org::Register::departments ? org::perm::departments_write : org::perm::users_write;
}

json::value row_json(std::size_t row) {
  return row ? json::value(static_cast<int64_t>(row)) : json::value(nullptr);
}

json::array issues_json(const std::vector<org::ImportIssue>& issues, bool with_code) {
  json::array out;
  for (const auto& i : issues) {
    json::object o{{"row", row_json(i.row)},
                   {"column", i.column.empty() ? json::value(nullptr) : json::value(i.column)},
                   {"message", i.message}};
    if (with_code) o["code"] = i.code;
    out.push_back(std::move(o));
  }
  return out;
}

json::object report_json(const org::ImportReport& r) {
  json::array outcomes;
  for (const auto& o : r.outcomes) {
    json::array fields;
    for (const auto& f : o.fields) fields.emplace_back(f);
    outcomes.push_back(json::object{{"row", static_cast<int64_t>(o.row)},
                                    {"key", o.key},
                                    {"action", o.action},
                                    {"fields", std::move(fields)}});
  }
  json::object out{{"dry_run", r.dry_run},
                   {"register", org::register_name(r.reg)},
                   {"rows", static_cast<int64_t>(r.rows)},
                   {"created", static_cast<int64_t>(r.created)},
                   {"updated", static_cast<int64_t>(r.updated)},
                   {"unchanged", static_cast<int64_t>(r.unchanged)},
                   {"errors", issues_json(r.errors, true)},
                   {"warnings", issues_json(r.warnings, false)},
                   {"outcomes", std::move(outcomes)}};
  if (r.reg == org::Register::users && !r.dry_run) {
    json::array users;
    for (const auto& u : r.created_users)
      users.push_back(json::object{{"employee_no", u.employee_no},
                                   {"username", u.username},
                                   {"initial_password", u.initial_password}});
    out["created_users"] = std::move(users);
  }
  return out;
}

Response run_import(Request& req, Deps& deps, org::Register reg) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, write_permission(reg))) throw Error(ErrorCode::forbidden);
  if (!upload_type_ok(req.headers.get("Content-Type")))
    throw Error(
        ErrorCode::unsupported_media_type, "header.content-type",
        "send the file as text/csv, " + std::string(kXlsxType) + " or application/octet-stream");
  const bool dry_run = dry_run_param(req);
  // Deps carries no clock; the importer only stamps times with it.
  static const SystemClock clock;
  org::OrgImporter importer(deps.db, clock, deps.auth, deps.org.masker());
  const org::ImportReport report = importer.run(c.principal, c.client, reg, req.body, dry_run);
  if (dry_run || report.ok()) return json_response(200, report_json(report));
  const std::string detail = std::to_string(report.errors.size()) +
                             (report.errors.size() == 1 ? " error" : " errors") +
                             " in the file; nothing was imported; see report.errors";
  json::object problem = json::parse(problem_json(ErrorCode::validation_failed, req.lang, "body",
                                                  detail, req.request_id))
                             .as_object();
  problem["report"] = report_json(report);
  Response r = json_response(error_info(ErrorCode::validation_failed).status, problem);
  r.content_type = "application/problem+json";
  return r;
}

Response template_download(Request& req, Deps& deps, org::Register reg) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, write_permission(reg))) throw Error(ErrorCode::forbidden);
  const tabular::Format format = format_param(req);
  Response r;
  r.status = 200;
  r.content_type = format == tabular::Format::csv ? kCsvType : kXlsxType;
  r.body = org::OrgImporter::template_file(reg, format);
  r.headers.set("Content-Disposition",
                attachment(org::OrgImporter::template_filename(reg, format, /*ascii=*/true),
                           org::OrgImporter::template_filename(reg, format, /*ascii=*/false)));
  return r;
}

}  // namespace

void register_import_routes(http::Router& router, Deps& deps) {
  deps.schemas["ImportReport"] =
      R"JSON({"type":"object","required":["dry_run","register","rows","created","updated","unchanged","errors","warnings"],"properties":{"dry_run":{"type":"boolean"},"register":{"type":"string","enum":["departments","users"]},"rows":{"type":"integer","description":"data rows examined; header, blank and watermark rows are not counted"},"created":{"type":"integer"},"updated":{"type":"integer"},"unchanged":{"type":"integer"},"errors":{"type":"array","items":{"type":"object","properties":{"row":{"type":["integer","null"],"description":"spreadsheet row, the header is row 1; null: the whole file"},"column":{"type":["string","null"],"description":"column key"},"code":{"type":"string"},"message":{"type":"string"}}}},"warnings":{"type":"array","items":{"type":"object","properties":{"row":{"type":["integer","null"]},"column":{"type":["string","null"]},"message":{"type":"string"}}}},"outcomes":{"type":"array","items":{"type":"object","properties":{"row":{"type":"integer"},"key":{"type":"string"},"action":{"type":"string","enum":["created","updated","unchanged"]},"fields":{"type":"array","items":{"type":"string"}}}}},"created_users":{"type":"array","description":"real runs of the users register only: each created user's one-time initial password, shown once","items":{"type":"object","properties":{"employee_no":{"type":"string"},"username":{"type":"string"},"initial_password":{"type":"string"}}}}}})JSON";
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
