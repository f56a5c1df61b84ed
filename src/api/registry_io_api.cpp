// The registry's registers in and out of spreadsheets (issue #6 item 6), over
// registry::RegistryIo:
//
//   POST /api/v1/customers/import?dry_run=true|false          body: the file (CSV or XLSX)
//   POST /api/v1/service-requests/import?dry_run=true|false
//   GET  /api/v1/customers/import-template?format=xlsx|csv
//   GET  /api/v1/service-requests/import-template?format=xlsx|csv
//   GET  /api/v1/customers/export?format=csv|xlsx&<the list's filters>
//   GET  /api/v1/service-requests/export?format=csv|xlsx&<the list's filters>
//
// Decisions:
//  * Imports answer as the organisation's imports do (api/imports.h): 200 with the report for a
//    dry run or a clean real run, 422 with the report when a real run found errors.
//  * Exports need the register's export permission, a password entered within the last minutes
//    (reauth_required) and stay within privacy.export_per_hour exports per user and hour
//    (counted from the audit trail, so every server of a cluster agrees; 429 beyond). Rows are
//    the caller's visible ones, masked; the file carries the watermark (who, when, which filter)
//    and streams from a temporary file; the export is one audit record with its filter and row
//    count.
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/export.h"
#include "api/imports.h"
#include "api/json.h"
#include "api/registry_queries.h"
#include "modules/registry/registry_io.h"
#include "platform/audit/changes.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
using registry::Register;
namespace json = boost::json;

namespace {

const SystemClock& clock() {
  static const SystemClock c;
  return c;
}

const char* write_permission(Register reg) {
  return reg == Register::customers ? registry::perm::customers_write
                                    : registry::perm::requests_write;
}

const char* export_action(Register reg) {
  return reg == Register::customers ? "registry.customers.export" : "registry.requests.export";
}

const std::vector<std::string>& customer_filters() {
  static const std::vector<std::string> v{
      "q",     "mobile",       "id_card",   "email", "tag", "department_id", "classification",
      "stale", "created_from", "created_to"};
  return v;
}

const std::vector<std::string>& request_filters() {
  static const std::vector<std::string> v{
      "sort",          "q",           "status",      "type",     "priority",       "channel",
      "department_id", "assignee_id", "customer_id", "breached", "classification", "due_before",
      "created_from",  "created_to"};
  return v;
}

Response run_import(Request& req, Deps& deps, Register reg) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, write_permission(reg))) throw Error(ErrorCode::forbidden);
  check_upload_type(req);
  const bool dry_run = dry_run_param(req);
  registry::RegistryIo io(deps.db, clock(), deps.registry);
  const auto report =
      io.import(c.principal, audit::actor_of(c.principal, c.client), reg, req.body, dry_run);
  return import_answer(req, report, report_json(report));
}

Response template_download(Request& req, Deps& deps, Register reg) {
  Caller c = authenticate(req, deps);
  if (!authz::may(c.principal, write_permission(reg))) throw Error(ErrorCode::forbidden);
  const tabular::Format format = format_param(req);
  return template_answer(format, registry::RegistryIo::template_file(reg, format),
                         std::string(registry::register_name(reg)) + "-import-template",
                         registry::RegistryIo::template_name(reg));
}

// "q=漏水 status=new": the filters given, decoded, for the watermark and the audit record.
std::string filter_text(const Request& req, const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names)
    if (auto v = req.query_param(n); v && !v->empty())
      out += (out.empty() ? "" : " ") + n + "=" + v->substr(0, 100);
  return out.empty() ? "(none)" : out;
}

// privacy.export_per_hour: exports of this register's kind by the caller in the last hour.
void check_export_quota(Deps& deps, const Caller& c, int64_t now) {
  const auto used = deps.db.read([&](db::Tx& tx) {
    auto r = tx.one(
        "SELECT COUNT(*) FROM audit_events WHERE org_id = ? AND actor_user_id = ? AND action IN "
        "('registry.customers.export', 'registry.requests.export') AND at >= ?",
        {c.principal.org_id, c.principal.user_id, now - 3'600'000});
    return db::as_int(r->at(0));
  });
  if (used >= deps.config.privacy.export_per_hour)
    throw Error(
        ErrorCode::too_many_requests, "",
        "at most " + std::to_string(deps.config.privacy.export_per_hour) + " exports per hour");
}

Response run_export(Request& req, Deps& deps, Register reg) {
  Caller c = authenticate(req, deps);
  const bool customers = reg == Register::customers;
  if (!authz::may(c.principal,
                  customers ? registry::perm::customers_export : registry::perm::requests_export))
    throw Error(ErrorCode::forbidden);
  require_recent_auth(c, deps);
  const std::string format = req.query_param("format").value_or("csv");
  if (format != "csv" && format != "xlsx")
    throw Error(ErrorCode::validation_failed, "query.format", "csv or xlsx");
  // The filters are checked before the quota is spent.
  std::optional<registry::CustomerQuery> cq;
  std::optional<registry::RequestQuery> rq;
  if (customers)
    cq = customer_query(req);
  else
    rq = request_query(req);
  const int64_t now = clock().now_ms();
  check_export_quota(deps, c, now);
  const std::string filter = filter_text(req, customers ? customer_filters() : request_filters());
  const std::string watermark =
      c.principal.username + " " + text::rfc3339(now) + " filter: " + filter;
  Export out(format, customers ? "客户" : "服务请求", watermark,
             registry::RegistryIo::export_header(reg));
  registry::RegistryIo io(deps.db, clock(), deps.registry);
  const audit::Actor actor = audit::actor_of(c.principal, c.client);
  const auto emit = [&](const std::vector<std::string>& cells) { out.row(cells); };
  if (customers)
    io.export_customers(c.principal, actor, *cq, emit);
  else
    io.export_requests(c.principal, *rq, emit);
  Response res =
      out.finish(std::string(registry::register_name(reg)), customers ? "客户资料" : "服务请求");
  deps.db.write([&](db::Tx& tx) {
    audit::record(tx, actor,
                  {.action = export_action(reg),
                   .object_type = customers ? "customer" : "service_request",
                   .object_id = "",
                   .changes = json::serialize(
                       json::object{{"format", format}, {"filter", filter}, {"rows", out.rows()}})},
                  clock().now_ms());
  });
  return res;
}

}  // namespace

void register_registry_io_routes(http::Router& router, Deps& deps) {
  struct Spec {
    Register reg;
    const char* base;
    const char* what;
  };
  for (const Spec s :
       {Spec{Register::customers, "/api/v1/customers", "customers"},
        Spec{Register::service_requests, "/api/v1/service-requests", "service requests"}}) {
    const Register reg = s.reg;
    router.add(
        Method::post, std::string(s.base) + "/import",
        [&deps, reg](Request& req) { return run_import(req, deps, reg); },
        {.summary = std::string("Import ") + s.what +
                    " from a CSV or XLSX file sent as the body, keyed by external key (外部编号); "
                    "dry_run (default true) only reports. A real run with errors writes nothing "
                    "and answers 422 with the report in \"report\"",
         .tag = "registry",
         .response_schema = "#/components/schemas/ImportReport",
         .query_params = {"dry_run"},
         .request_content_types = {"text/csv", kXlsxType, "application/octet-stream"},
         .public_route = false,
         .upload = true});
    router.add(Method::get, std::string(s.base) + "/import-template",
               [&deps, reg](Request& req) { return template_download(req, deps, reg); },
               {.summary = std::string("The import template for ") + s.what +
                           " (format=xlsx, the default, with a sheet 说明; or format=csv)",
                .tag = "registry",
                .success_content_type = kXlsxType,
                .query_params = {"format"},
                .public_route = false});
    std::vector<std::string> params{"format"};
    const auto& filters = reg == Register::customers ? customer_filters() : request_filters();
    params.insert(params.end(), filters.begin(), filters.end());
    router.add(Method::get, std::string(s.base) + "/export",
               [&deps, reg](Request& req) { return run_export(req, deps, reg); },
               {.summary = std::string("Export the ") + s.what +
                           " the caller may see as CSV (default) or XLSX, with the list's "
                           "filters: masked, watermarked, audited; needs a recent password "
                           "and stays within privacy.export_per_hour",
                .tag = "registry",
                .success_content_type = kCsvType,
                .query_params = std::move(params),
                .public_route = false});
  }
}

}  // namespace custos::api
