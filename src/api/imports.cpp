#include "api/imports.h"

#include <boost/json.hpp>

#include "api/export.h"
#include "api/json.h"
#include "platform/errors/error.h"

namespace custos::api {

namespace json = boost::json;

void check_upload_type(const http::Request& req) {
  std::string_view ct = req.headers.get("Content-Type");
  ct = ct.substr(0, ct.find(';'));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.remove_suffix(1);
  while (!ct.empty() && (ct.front() == ' ' || ct.front() == '\t')) ct.remove_prefix(1);
  if (http::iequals(ct, "text/csv") || http::iequals(ct, kXlsxType) ||
      http::iequals(ct, "application/octet-stream"))
    return;
  throw Error(
      ErrorCode::unsupported_media_type, "header.content-type",
      "send the file as text/csv, " + std::string(kXlsxType) + " or application/octet-stream");
}

bool dry_run_param(const http::Request& req) {
  auto v = req.query_param("dry_run");
  if (!v || *v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  throw Error(ErrorCode::validation_failed, "query.dry_run", "true or false");
}

tabular::Format format_param(const http::Request& req) {
  auto v = req.query_param("format");
  if (!v || *v == "xlsx") return tabular::Format::xlsx;
  if (*v == "csv") return tabular::Format::csv;
  throw Error(ErrorCode::validation_failed, "query.format", "xlsx or csv");
}

namespace {

json::value row_json(std::size_t row) {
  return row ? json::value(static_cast<int64_t>(row)) : json::value(nullptr);
}

json::array issues_json(const std::vector<tabular::ImportIssue>& issues, bool with_code) {
  json::array out;
  out.reserve(issues.size());
  for (const auto& i : issues) {
    json::object o{{"row", row_json(i.row)},
                   {"column", i.column.empty() ? json::value(nullptr) : json::value(i.column)},
                   {"message", i.message}};
    if (with_code) o["code"] = i.code;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

json::object report_json(const tabular::ImportReport& r) {
  json::array outcomes;
  outcomes.reserve(r.outcomes.size());
  for (const auto& o : r.outcomes) {
    json::array fields;
    for (const auto& f : o.fields) fields.emplace_back(f);
    outcomes.push_back(json::object{{"row", static_cast<int64_t>(o.row)},
                                    {"key", o.key},
                                    {"action", o.action},
                                    {"fields", std::move(fields)}});
  }
  return {{"dry_run", r.dry_run},
          {"register", r.register_name},
          {"rows", static_cast<int64_t>(r.rows)},
          {"created", static_cast<int64_t>(r.created)},
          {"updated", static_cast<int64_t>(r.updated)},
          {"unchanged", static_cast<int64_t>(r.unchanged)},
          {"errors", issues_json(r.errors, true)},
          {"warnings", issues_json(r.warnings, false)},
          {"outcomes", std::move(outcomes)}};
}

http::Response import_answer(const http::Request& req, const tabular::ImportReport& r,
                             json::object report) {
  if (r.dry_run || r.ok()) return json_response(200, report);
  const std::string detail = std::to_string(r.errors.size()) +
                             (r.errors.size() == 1 ? " error" : " errors") +
                             " in the file; nothing was imported; see report.errors";
  json::object problem = json::parse(problem_json(ErrorCode::validation_failed, req.lang, "body",
                                                  detail, req.request_id))
                             .as_object();
  problem["report"] = std::move(report);
  http::Response res = json_response(error_info(ErrorCode::validation_failed).status, problem);
  res.content_type = "application/problem+json";
  return res;
}

http::Response template_answer(tabular::Format format, std::string bytes,
                               const std::string& ascii_name, const std::string& name) {
  const std::string ext = format == tabular::Format::csv ? ".csv" : ".xlsx";
  http::Response r;
  r.status = 200;
  r.content_type = format == tabular::Format::csv ? kCsvType : kXlsxType;
  r.body = std::move(bytes);
  r.headers.set("Content-Disposition", attachment(ascii_name + ext, name + ext));
  return r;
}

const char* import_report_schema() {
  return R"JSON({"type":"object","required":["dry_run","register","rows","created","updated","unchanged","errors","warnings"],"properties":{"dry_run":{"type":"boolean"},"register":{"type":"string","enum":["departments","users","customers","service_requests"]},"rows":{"type":"integer","description":"data rows examined; header, blank and watermark rows are not counted"},"created":{"type":"integer"},"updated":{"type":"integer"},"unchanged":{"type":"integer"},"errors":{"type":"array","items":{"type":"object","properties":{"row":{"type":["integer","null"],"description":"spreadsheet row, the header is row 1; null: the whole file"},"column":{"type":["string","null"],"description":"column key"},"code":{"type":"string"},"message":{"type":"string"}}}},"warnings":{"type":"array","items":{"type":"object","properties":{"row":{"type":["integer","null"]},"column":{"type":["string","null"]},"message":{"type":"string"}}}},"outcomes":{"type":"array","items":{"type":"object","properties":{"row":{"type":"integer"},"key":{"type":"string"},"action":{"type":"string","enum":["created","updated","unchanged"]},"fields":{"type":"array","items":{"type":"string"}}}}},"created_users":{"type":"array","description":"real runs of the users register only: each created user's one-time initial password, shown once","items":{"type":"object","properties":{"employee_no":{"type":"string"},"username":{"type":"string"},"initial_password":{"type":"string"}}}}}})JSON";
}

}  // namespace custos::api
