// Offboarding (OA-4, IT-2) and the alert inbox: thin handlers over org::Offboarding.
//   POST /api/v1/users/{id}/offboarding              confirm a departure or transfer → 201 case
//   GET  /api/v1/offboarding-cases[/{id}]             cases of users the caller may read
//   POST /api/v1/offboarding-cases/{id}/permission-form   security administrator, re-auth
//   POST /api/v1/offboarding-cases/{id}/complete     409 conflict lists every open check
//   POST /api/v1/offboarding-cases/{id}/cancel
//   GET  /api/v1/alerts, POST /api/v1/alerts/{id}/read
// A case of a user the caller may not read answers 404 exactly like a missing one.
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/json.h"
#include "modules/org/offboarding.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

json::object to_json(const org::OffboardingCheck& ch) {
  json::array items;
  for (const auto& i : ch.open_items) items.emplace_back(i);
  return {{"name", ch.name},
          {"label_zh", ch.label_zh},
          {"label_en", ch.label_en},
          {"status", ch.status},
          {"open_items", items}};
}

json::object to_json(const org::OffboardingCase& c, bool with_checks) {
  json::object o{{"id", std::to_string(c.id)},
                 {"user_id", std::to_string(c.user_id)},
                 {"username", c.username},
                 {"user_name", c.user_name},
                 {"kind", c.kind},
                 {"status", c.status},
                 {"permission_form_status", c.permission_form_status},
                 {"deadline_at", text::rfc3339(c.deadline_at)},
                 {"target_department_id", json_id(c.target_department_id)},
                 {"reason", c.reason},
                 {"opened_by", json_id(c.opened_by)},
                 {"opened_at", text::rfc3339(c.opened_at)},
                 {"form_done_by", json_id(c.form_done_by)},
                 {"form_done_at", json_time(c.form_done_at)},
                 {"completed_at", json_time(c.completed_at)},
                 {"cancelled_at", json_time(c.cancelled_at)},
                 {"closed_by", json_id(c.closed_by)},
                 {"escalated_at", json_time(c.escalated_at)},
                 {"version", c.version},
                 {"etag", etag_of(c.version)},
                 {"updated_at", text::rfc3339(c.updated_at)}};
  if (with_checks) {
    json::array checks;
    for (const auto& ch : c.checks) checks.push_back(to_json(ch));
    o["checks"] = checks;
  }
  return o;
}

json::object to_json(const org::Alert& a) {
  return {{"id", std::to_string(a.id)},
          {"audience", a.audience},
          {"kind", a.kind},
          {"object_type", a.object_type},
          {"object_id", a.object_id},
          {"message_zh", a.message_zh},
          {"message_en", a.message_en},
          {"created_at", text::rfc3339(a.created_at)},
          {"read_at", json_time(a.read_at)},
          {"read_by", json_id(a.read_by)}};
}

Response case_response(int status, const org::OffboardingCase& c,
                       const std::string& location = {}) {
  Response r = json_response(status, to_json(c, true));
  r.headers.set("ETag", etag_of(c.version));
  if (!location.empty()) r.headers.set("Location", location);
  return r;
}

// An id given as a string ("12") or a positive integer.
std::optional<int64_t> optional_id(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64() && v->as_int64() > 0) return v->as_int64();
  if (v->is_string()) {
    const std::string s(v->as_string());
    try {
      size_t used = 0;
      long long n = std::stoll(s, &used);
      if (used == s.size() && n > 0) return n;
    } catch (const std::exception&) {
    }
  }
  throw Error(ErrorCode::validation_failed, std::string("body.") + name, "an id");
}

const char* kCase = "#/components/schemas/OffboardingCase";
const char* kAlert = "#/components/schemas/Alert";

}  // namespace

void register_offboarding_routes(http::Router& router, Deps& deps) {
  deps.schemas["OffboardingCheck"] =
      R"({"type":"object","properties":{"name":{"type":"string"},"label_zh":{"type":"string"},"label_en":{"type":"string"},"status":{"type":"string","enum":["open","done"]},"open_items":{"type":"array","items":{"type":"string"}}}})";
  deps.schemas["OffboardingCase"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"user_id":{"type":"string"},"username":{"type":"string"},"user_name":{"type":"string"},"kind":{"type":"string","enum":["departure","transfer"]},"status":{"type":"string","enum":["open","completed","cancelled"]},"permission_form_status":{"type":"string","enum":["pending","done","overdue"]},"deadline_at":{"type":"string","format":"date-time"},"target_department_id":{"type":["string","null"]},"reason":{"type":"string"},"opened_by":{"type":["string","null"]},"opened_at":{"type":"string","format":"date-time"},"form_done_by":{"type":["string","null"]},"form_done_at":{"type":["string","null"],"format":"date-time"},"completed_at":{"type":["string","null"],"format":"date-time"},"cancelled_at":{"type":["string","null"],"format":"date-time"},"closed_by":{"type":["string","null"]},"escalated_at":{"type":["string","null"],"format":"date-time"},"version":{"type":"integer"},"etag":{"type":"string"},"checks":{"type":"array","items":{"$ref":"#/components/schemas/OffboardingCheck"}}}})";
  deps.schemas["Alert"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"audience":{"type":"string"},"kind":{"type":"string"},"object_type":{"type":"string"},"object_id":{"type":"string"},"message_zh":{"type":"string"},"message_en":{"type":"string"},"created_at":{"type":"string","format":"date-time"},"read_at":{"type":["string","null"],"format":"date-time"},"read_by":{"type":["string","null"]}}})";

  router.add(
      Method::post, "/api/v1/users/{id}/offboarding",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t user_id = path_id(req);
        auto body = parse_object(req);
        const std::string kind = optional_string(body, "kind", 32).value_or("");
        const std::string reason = optional_string(body, "reason", 500).value_or("");
        const auto target = optional_id(body, "target_department_id");
        auto cs = deps.offboarding.open(c.principal, c.client, user_id, kind, reason, target);
        return case_response(201, cs, "/api/v1/offboarding-cases/" + std::to_string(cs.id));
      },
      {.summary = "Confirm a departure or transfer: opens the offboarding case and the "
                  "information-system permission form (信息系统权限审批单)",
       .tag = "organisation",
       .request_schema =
           R"({"type":"object","required":["kind","reason"],"properties":{"kind":{"type":"string","enum":["departure","transfer"]},"reason":{"type":"string","maxLength":500},"target_department_id":{"type":["string","null"],"description":"transfers only"}}})",
       .response_schema = kCase,
       .success_status = 201,
       .public_route = false});

  router.add(Method::get, "/api/v1/offboarding-cases",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               org::OffboardingQuery q;
               q.limit = pp.limit;
               q.after_id = pp.after_id;
               if (auto s = req.query_param("status"); s && !s->empty()) {
                 if (*s != "open" && *s != "completed" && *s != "cancelled")
                   throw Error(ErrorCode::validation_failed, "query.status",
                               "one of open, completed, cancelled");
                 q.status = *s;
               }
               q.user_id = query_id(req, "user_id");
               auto page = deps.offboarding.list(c.principal, q);
               json::array items;
               for (const auto& x : page.items) items.push_back(to_json(x, false));
               return list_response(std::move(items), page.next_cursor, page.total);
             },
             {.summary = "Offboarding cases of users the caller may see",
              .tag = "organisation",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "status", "user_id"},
              .public_route = false});

  router.add(Method::get, "/api/v1/offboarding-cases/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return case_response(200, deps.offboarding.get(c.principal, path_id(req)));
             },
             {.summary = "One offboarding case with its checks",
              .tag = "organisation",
              .response_schema = kCase,
              .public_route = false});

  router.add(Method::post, "/api/v1/offboarding-cases/{id}/permission-form",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t id = path_id(req);
               require_recent_auth(c, deps);  // a permission change
               return case_response(
                   200, deps.offboarding.complete_permission_form(c.principal, c.client, id));
             },
             {.summary = "Process the permission form: the user's roles and API tokens are "
                         "removed (security administrator; recent re-authentication)",
              .tag = "access",
              .response_schema = kCase,
              .public_route = false});

  router.add(Method::post, "/api/v1/offboarding-cases/{id}/complete",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return case_response(200,
                                    deps.offboarding.complete(c.principal, c.client, path_id(req)));
             },
             {.summary = "Complete the departure or transfer (409 conflict lists the open "
                         "checks in detail)",
              .tag = "organisation",
              .response_schema = kCase,
              .public_route = false});

  router.add(Method::post, "/api/v1/offboarding-cases/{id}/cancel",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return case_response(200,
                                    deps.offboarding.cancel(c.principal, c.client, path_id(req)));
             },
             {.summary = "Cancel the departure or transfer: the user is active again",
              .tag = "organisation",
              .response_schema = kCase,
              .public_route = false});

  router.add(Method::get, "/api/v1/alerts",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               org::AlertQuery q;
               q.limit = pp.limit;
               q.after_id = pp.after_id;
               if (auto u = req.query_param("unread")) {
                 if (*u != "true" && *u != "false")
                   throw Error(ErrorCode::validation_failed, "query.unread", "true or false");
                 q.unread_only = *u == "true";
               }
               auto page = deps.offboarding.list_alerts(c.principal, q);
               json::array items;
               for (const auto& a : page.items) items.push_back(to_json(a));
               return list_response(std::move(items), page.next_cursor, page.total);
             },
             {.summary = "Alerts for the caller's administrator role, newest first",
              .tag = "alerts",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "unread"},
              .public_route = false});

  router.add(Method::post, "/api/v1/alerts/{id}/read",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(200, to_json(deps.offboarding.mark_alert_read(
                                             c.principal, c.client, path_id(req))));
             },
             {.summary = "Mark an alert read",
              .tag = "alerts",
              .response_schema = kAlert,
              .public_route = false});
}

}  // namespace custos::api
