// The equipment archive (issue #7, IT-1 … IT-7):
//  * GET/POST   /assets                 list (filters, keyset paging) / register an asset
//  * GET/PATCH  /assets/{id}            one asset / change its fields (If-Match)
//  * POST       /assets/{id}/actions    a lifecycle step (receive, issue, idle, repair, …)
//  * GET        /assets/{id}/history    custodians, locations, states and costs over time
// Amounts are decimal strings in yuan ("4999.00"); the server keeps whole fen.
#include <boost/json.hpp>

#include "api/api.h"
#include "api/caller.h"
#include "api/export.h"
#include "api/imports.h"
#include "api/json.h"
#include "modules/assets/assets_io.h"
#include "modules/assets/labels.h"
#include "platform/audit/changes.h"
#include "platform/text/time.h"

namespace custos::api {

namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

// "4999", "4999.5", "4999.50" or a JSON number with at most two decimals → fen.
std::optional<int64_t> money(const json::object& b, const char* name) {
  const json::value* v = b.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  const std::string field = std::string("body.") + name;
  std::string s;
  if (v->is_string())
    s = std::string(v->as_string());
  else if (v->is_int64())
    s = std::to_string(v->as_int64());
  else if (v->is_uint64())
    s = std::to_string(v->as_uint64());
  else if (v->is_double())
    s = json::serialize(*v);
  else
    throw Error(ErrorCode::validation_failed, field, "an amount such as \"4999.00\"");
  const auto dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  const std::string frac = dot == std::string::npos ? "" : s.substr(dot + 1);
  auto digits = [](const std::string& d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!digits(whole) || whole.size() > 11 || (dot != std::string::npos && !digits(frac)) ||
      frac.size() > 2)
    throw Error(ErrorCode::validation_failed, field,
                "an amount in yuan with at most two decimals, such as \"4999.00\"");
  return std::stoll(whole) * 100 + (frac.empty() ? 0 : std::stoll((frac + "0").substr(0, 2)));
}

json::value money_json(const std::optional<int64_t>& cents) {
  if (!cents) return nullptr;
  return json::value(assets::yuan_text(*cents));
}

assets::AssetInput asset_input(const json::object& b) {
  assets::AssetInput in;
  in.asset_tag = optional_string(b, "asset_tag", 64);
  in.category = optional_string(b, "category", 32);
  in.name = optional_string(b, "name", 100);
  in.model = optional_string(b, "model", 100);
  in.serial = optional_string(b, "serial", 100);
  in.specs = optional_string(b, "specs", 2000);
  in.supplier = optional_string(b, "supplier", 100);
  in.location = optional_string(b, "location", 200);
  in.notes = optional_string(b, "notes", 2000);
  in.status = optional_string(b, "status", 32);
  in.purchase_date = nullable_string(b, "purchase_date", 10);
  in.warranty_end = nullable_string(b, "warranty_end", 10);
  if (b.contains("purchase_cost")) in.cost_cents = money(b, "purchase_cost");
  in.department_id = id_field(b, "department_id");
  in.custodian_id = id_field(b, "custodian_id");
  in.repairer_id = id_field(b, "repairer_id");
  return in;
}

json::object asset_json(const assets::Asset& x) {
  return {{"id", std::to_string(x.id)},
          {"asset_tag", x.asset_tag},
          {"category", x.category},
          {"name", x.name},
          {"model", x.model},
          {"serial", x.serial},
          {"specs", x.specs},
          {"supplier", x.supplier},
          {"location", x.location},
          {"notes", x.notes},
          {"status", x.status},
          {"purchase_date", json_text(x.purchase_date)},
          {"warranty_end", json_text(x.warranty_end)},
          {"purchase_cost", money_json(x.cost_cents)},
          {"department_id", json_id(x.department_id)},
          {"department_name", x.department_name},
          {"custodian_id", json_id(x.custodian_id)},
          {"custodian_name", x.custodian_name},
          {"repairer_id", json_id(x.repairer_id)},
          {"repairer_name", x.repairer_name},
          {"version", x.version},
          {"etag", etag_of(x.version)},
          {"created_at", text::rfc3339(x.created_at)},
          {"updated_at", text::rfc3339(x.updated_at)}};
}

const SystemClock& clock() {
  static const SystemClock c;
  return c;
}

Response svg_response(std::string body, const std::string& filename) {
  Response r;
  r.content_type = "image/svg+xml; charset=utf-8";
  r.body = std::move(body);
  r.headers.add("Content-Disposition", "inline; filename=\"" + filename + "\"");
  return r;
}

std::string label_base(const Request& req, const Deps& deps) {
  return assets::console_base(deps.config.server.public_url, std::string(req.headers.get("Host")),
                              deps.config.server.tls_enabled);
}

std::string org_name(Deps& deps, int64_t org) {
  return deps.db.read([&](db::Tx& tx) {
    auto r = tx.one("SELECT name FROM organizations WHERE id = ?", {org});
    return r ? db::as_text(r->at(0)) : std::string();
  });
}

Response asset_response(int status, const assets::Asset& x) {
  return object_response(status, asset_json(x),
                         status == 201 ? "/api/v1/assets/" + std::to_string(x.id) : "");
}

std::string enum_json(const std::vector<std::string>& values) {
  std::string out = "[";
  for (const auto& v : values) out += (out.size() > 1 ? ",\"" : "\"") + v + "\"";
  return out + "]";
}

std::string asset_schema() {
  return R"JSON({"type":"object","properties":{"id":{"type":"string","readOnly":true},"asset_tag":{"type":"string","maxLength":64},"category":{"type":"string","enum":)JSON" +
         enum_json(assets::categories()) +
         R"JSON(},"name":{"type":"string","maxLength":100},"model":{"type":"string"},"serial":{"type":"string"},"specs":{"type":"string","description":"hardware details"},"supplier":{"type":"string"},"location":{"type":"string"},"notes":{"type":"string"},"status":{"type":"string","enum":)JSON" +
         enum_json(assets::states()) +
         R"JSON(,"description":"on creation ordered (default) or in_stock; then through actions"},"purchase_date":{"type":["string","null"],"format":"date"},"warranty_end":{"type":["string","null"],"format":"date"},"purchase_cost":{"type":["string","null"],"description":"yuan, two decimals","examples":["4999.00"]},"department_id":{"type":["string","null"]},"department_name":{"type":"string","readOnly":true},"custodian_id":{"type":["string","null"],"readOnly":true,"description":"set by the issue action"},"custodian_name":{"type":"string","readOnly":true},"repairer_id":{"type":["string","null"],"description":"a member of the IT department, IT-4"},"repairer_name":{"type":"string","readOnly":true},"version":{"type":"integer","readOnly":true},"etag":{"type":"string","readOnly":true},"created_at":{"type":"string","format":"date-time","readOnly":true},"updated_at":{"type":"string","format":"date-time","readOnly":true}}})JSON";
}

constexpr const char* kStep =
    R"JSON({"type":"object","required":["action"],"properties":{"action":{"type":"string","enum":["receive","issue","idle","repair","external_repair","repaired","dispose","cancel_disposal","scrap","sell"],"description":"receive: ordered to in_stock; issue: in_stock or idle to in_use, with custodian_id; idle: in_use to idle; repair: to in_repair; external_repair: to in_external_repair, IT department only; repaired: back to in_use or idle, with the cost; dispose: to pending_disposal; cancel_disposal; scrap; sell, cost is the price"},"custodian_id":{"type":"string"},"location":{"type":"string"},"cost":{"type":"string","description":"yuan"},"note":{"type":"string","maxLength":1000}}})JSON";

}  // namespace

void register_assets_routes(http::Router& router, Deps& deps) {
  deps.schemas["Asset"] = asset_schema();
  const char* kAsset = "#/components/schemas/Asset";
  router.add(Method::get, "/api/v1/assets",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const PageParams pp = page_params(req);
               assets::Query q;
               q.limit = pp.limit;
               q.after_id = pp.after_id;
               q.q = req.query_param("q").value_or("");
               q.status = req.query_param("status").value_or("");
               q.category = req.query_param("category").value_or("");
               q.department_id = query_id(req, "department_id");
               q.custodian_id = query_id(req, "custodian_id");
               const auto list = deps.assets.list(c.principal, q);
               json::array items;
               for (const auto& x : list.items) items.push_back(asset_json(x));
               return list_response(std::move(items), list.next_cursor, list.total,
                                    list.total_exact);
             },
             {.summary = "The equipment archive the caller may see (q: tag, serial, name or model)",
              .tag = "assets",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "q", "status", "category", "department_id",
                               "custodian_id"},
              .public_route = false});
  router.add(Method::post, "/api/v1/assets",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return asset_response(
                   201, deps.assets.create(c.principal, audit::actor_of(c.principal, c.client),
                                           asset_input(parse_object(req))));
             },
             {.summary = "Register an asset (ordered or in stock)",
              .tag = "assets",
              .request_schema = kAsset,
              .response_schema = kAsset,
              .success_status = 201,
              .public_route = false});
  router.add(
      Method::get, "/api/v1/assets/{id}",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        return asset_response(200, deps.assets.get(c.principal, path_id(req)));
      },
      {.summary = "One asset", .tag = "assets", .response_schema = kAsset, .public_route = false});
  router.add(Method::patch, "/api/v1/assets/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t version = if_match_version(req);
               return asset_response(
                   200, deps.assets.update(c.principal, audit::actor_of(c.principal, c.client),
                                           path_id(req), version, asset_input(parse_object(req))));
             },
             {.summary = "Change an asset's fields (If-Match required; states change by actions)",
              .tag = "assets",
              .request_schema = kAsset,
              .response_schema = kAsset,
              .public_route = false});
  router.add(Method::post, "/api/v1/assets/{id}/actions",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const json::object b = parse_object(req);
               assets::Step step;
               step.action = required_string(b, "action", 32);
               if (b.contains("custodian_id")) step.custodian_id = required_id(b, "custodian_id");
               step.location = optional_string(b, "location", 200);
               step.cost_cents = money(b, "cost");
               step.note = optional_string(b, "note", 1000).value_or("");
               return asset_response(
                   200, deps.assets.act(c.principal, audit::actor_of(c.principal, c.client),
                                        path_id(req), step));
             },
             {.summary = "A lifecycle step; one not allowed from the asset's state is 409 "
                         "transition_not_allowed, an external repair by anyone but the IT "
                         "department 403 it_department_only",
              .tag = "assets",
              .request_schema = kStep,
              .response_schema = kAsset,
              .public_route = false});
  router.add(
      Method::post, "/api/v1/assets/import",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        if (!authz::may(c.principal, assets::perm::write)) throw Error(ErrorCode::forbidden);
        check_upload_type(req);
        const bool dry_run = dry_run_param(req);
        assets::AssetsIo io(deps.db, clock());
        const auto report =
            io.import(c.principal, audit::actor_of(c.principal, c.client), req.body, dry_run);
        return import_answer(req, report, report_json(report));
      },
      {.summary = "Import the equipment archive from CSV or XLSX (our template or Snipe-IT's "
                  "asset export), keyed by asset tag; dry_run (default true) only reports. A real "
                  "run with errors writes nothing and answers 422 with the report",
       .tag = "assets",
       .response_schema = "#/components/schemas/ImportReport",
       .query_params = {"dry_run"},
       .request_content_types = {"text/csv", kXlsxType, "application/octet-stream"},
       .public_route = false,
       .upload = true});
  router.add(Method::get, "/api/v1/assets/import-template",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               if (!authz::may(c.principal, assets::perm::write)) throw Error(ErrorCode::forbidden);
               const tabular::Format format = format_param(req);
               return template_answer(format, assets::AssetsIo::template_file(format),
                                      "assets-import-template", "设备档案导入模板");
             },
             {.summary = "The archive's import template (format=xlsx, with a sheet 说明; or csv)",
              .tag = "assets",
              .success_content_type = kXlsxType,
              .query_params = {"format"},
              .public_route = false});
  router.add(
      Method::get, "/api/v1/assets/export",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        if (!authz::may(c.principal, assets::perm::read)) throw Error(ErrorCode::forbidden);
        const std::string format = req.query_param("format").value_or("csv");
        if (format != "csv" && format != "xlsx")
          throw Error(ErrorCode::validation_failed, "query.format", "csv or xlsx");
        assets::Query q;
        q.q = req.query_param("q").value_or("");
        q.status = req.query_param("status").value_or("");
        q.category = req.query_param("category").value_or("");
        q.department_id = query_id(req, "department_id");
        q.custodian_id = query_id(req, "custodian_id");
        const int64_t now = clock().now_ms();
        Export out(format, "设备档案", c.principal.username + " " + text::rfc3339(now),
                   assets::AssetsIo::export_header());
        assets::AssetsIo io(deps.db, clock());
        io.export_rows(deps.assets, c.principal, q,
                       [&](const std::vector<std::string>& cells) { out.row(cells); });
        Response res = out.finish("assets", "设备档案");
        deps.db.write([&](db::Tx& tx) {
          audit::record(
              tx, audit::actor_of(c.principal, c.client),
              {.action = "assets.export",
               .object_type = "asset",
               .changes = json::serialize(json::object{{"format", format}, {"rows", out.rows()}})},
              now);
        });
        return res;
      },
      {.summary = "Export the archive the caller may see (CSV, default, or XLSX) with the "
                  "list's filters; the file imports back; audited",
       .tag = "assets",
       .success_content_type = "text/csv",
       .query_params = {"format", "q", "status", "category", "department_id", "custodian_id"},
       .public_route = false});
  router.add(
      Method::get, "/api/v1/assets/summary",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        json::object by;
        for (const auto& s : assets::states()) by[s] = 0;
        int64_t total = 0;
        for (const auto& [status, n] : deps.assets.count_by_status(c.principal)) {
          by[status] = n;
          total += n;
        }
        return json_response(200, json::object{{"by_status", std::move(by)}, {"total", total}});
      },
      {.summary = "How many assets the caller may see are in each state (dashboard)",
       .tag = "assets",
       .response_schema =
           R"({"type":"object","properties":{"by_status":{"type":"object","additionalProperties":{"type":"integer"}},"total":{"type":"integer"}}})",
       .public_route = false});
  router.add(Method::get, "/api/v1/assets/{id}/label",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const auto a = deps.assets.get(c.principal, path_id(req));
               return svg_response(
                   assets::label_svg(a, label_base(req, deps), org_name(deps, c.principal.org_id)),
                   "label-" + std::to_string(a.id) + ".svg");
             },
             {.summary = "A printable label (SVG, 60 x 30 mm) with a QR code that opens the asset "
                         "in the console (server.public_url)",
              .tag = "assets",
              .success_content_type = "image/svg+xml",
              .public_route = false});
  router.add(Method::get, "/api/v1/assets/labels",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const std::string ids = req.query_param("ids").value_or("");
               auto bad = [] {
                 return Error(ErrorCode::validation_failed, "query.ids",
                              "1 to 16 asset ids separated by commas");
               };
               std::vector<int64_t> wanted;
               for (size_t pos = 0; pos <= ids.size();) {
                 const size_t comma = std::min(ids.find(',', pos), ids.size());
                 const std::string one = ids.substr(pos, comma - pos);
                 char* end = nullptr;
                 const long long id = std::strtoll(one.c_str(), &end, 10);
                 if (one.empty() || *end != '\0' || id <= 0) throw bad();
                 wanted.push_back(id);
                 pos = comma + 1;
               }
               if (wanted.size() > 16) throw bad();
               std::vector<assets::Asset> list;
               for (int64_t id : wanted) {
                 try {
                   list.push_back(deps.assets.get(c.principal, id));
                 } catch (const Error& e) {
                   if (e.code() == ErrorCode::not_found)
                     throw Error(ErrorCode::not_found, "query.ids",
                                 "no asset " + std::to_string(id));
                   throw;
                 }
               }
               return svg_response(assets::label_sheet_svg(list, label_base(req, deps),
                                                           org_name(deps, c.principal.org_id)),
                                   "labels.svg");
             },
             {.summary = "An A4 sheet of up to 16 labels (2 x 8 of 90 x 32 mm), ids=1,2,3",
              .tag = "assets",
              .success_content_type = "image/svg+xml",
              .query_params = {"ids"},
              .public_route = false});
  router.add(
      Method::get, "/api/v1/assets/{id}/history",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        json::array items;
        for (const auto& e : deps.assets.history(c.principal, path_id(req))) {
          json::object o{{"id", std::to_string(e.id)},
                         {"at", text::rfc3339(e.at)},
                         {"actor_id", json_id(e.actor_id)},
                         {"actor_name", e.actor_name},
                         {"kind", e.kind},
                         {"from", e.from},
                         {"to", e.to},
                         {"cost", money_json(e.cost_cents)},
                         {"note", e.note}};
          if (e.kind == "custodian") {
            o["from_name"] = e.from_name.empty() ? json::value() : json::value(e.from_name);
            o["to_name"] = e.to_name.empty() ? json::value() : json::value(e.to_name);
          }
          items.push_back(std::move(o));
        }
        return list_response(std::move(items));
      },
      {.summary = "An asset's history: created, state, custodian, location, department, "
                  "cost, edited",
       .tag = "assets",
       .response_schema =
           R"({"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"at":{"type":"string","format":"date-time"},"actor_id":{"type":["string","null"]},"actor_name":{"type":"string"},"kind":{"type":"string","enum":["created","state","custodian","location","department","cost","edited"]},"from":{"type":"string"},"to":{"type":"string"},"cost":{"type":["string","null"],"description":"yuan, two decimals"},"note":{"type":"string","description":"a state change: <action>: <note>"},"from_name":{"type":["string","null"],"description":"custodian events: the previous custodian's name"},"to_name":{"type":["string","null"],"description":"custodian events: the new custodian's name"}}}}}})",
       .public_route = false});
}

}  // namespace custos::api
