// The service information registry over HTTP (issue #6): /api/v1/customers,
// /api/v1/service-requests (with comments, feedback, assignment and transitions), the
// configuration of request types and SLA targets, consents and data-subject requests. Thin
// handlers over registry::Registry; personal fields leave masked.
#include <algorithm>
#include <boost/json.hpp>
#include <regex>

#include "api/caller.h"
#include "api/json.h"
#include "api/registry_queries.h"
#include "platform/audit/changes.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

json::value opt(const std::optional<std::string>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object customer_json(const registry::Customer& c) {
  json::array tags;
  for (const auto& t : c.tags) tags.emplace_back(t);
  json::error_code ec;
  json::value custom = json::parse(c.custom_json, ec);
  return {{"id", std::to_string(c.id)},
          {"kind", c.kind},
          {"name", c.name},
          {"mobile", opt(c.personal.mobile)},
          {"id_card", opt(c.personal.id_card)},
          {"address", opt(c.personal.address)},
          {"email", opt(c.personal.email)},
          {"tags", tags},
          {"department_id", json_id(c.department_id)},
          {"owner_user_id", json_id(c.owner_user_id)},
          {"classification", c.classification},
          {"source", c.source},
          {"custom", ec ? json::value(json::object()) : custom},
          {"external_key", opt(c.external_key)},
          {"status", c.status},
          {"legal_hold", c.legal_hold},
          {"stale", c.stale},
          {"review_due_at", json_time(c.review_due_at)},
          {"reviewed_at", json_time(c.reviewed_at)},
          {"created_at", text::rfc3339(c.created_at)},
          {"updated_at", text::rfc3339(c.updated_at)},
          {"version", c.version},
          {"etag", etag_of(c.version)}};
}

// A request as JSON text (ObjectText): the hot read and the list write it straight out.
std::string request_text(const registry::ServiceRequest& s, int64_t now) {
  const bool open = s.status != "resolved" && s.status != "closed";
  std::string_view sla = "none";
  if (s.resolve_breached || s.response_breached)
    sla = "breached";
  else if (open && s.resolve_due_at)
    sla = *s.resolve_due_at - now < 3'600'000 ? "due_soon" : "on_track";
  else if (!open)
    sla = "met";
  ObjectText o;
  o.id("id", s.id).text("number", s.number).id("customer_id", s.customer_id);
  o.text("customer_name", s.customer_name).text("type", s.type_code).text("type_name", s.type_name);
  o.text("priority", s.priority).text("channel", s.channel).text("title", s.title);
  o.text("description", s.description).text("status", s.status);
  o.id("department_id", s.department_id).id("assignee_id", s.assignee_id);
  o.text("assignee_name", s.assignee_name).id("owner_user_id", s.owner_user_id);
  o.integer("classification", s.classification);
  o.time_or_null("response_due_at", s.response_due_at)
      .time_or_null("resolve_due_at", s.resolve_due_at);
  o.time_or_null("responded_at", s.responded_at).time_or_null("resolved_at", s.resolved_at);
  o.time_or_null("closed_at", s.closed_at).time_or_null("escalated_at", s.escalated_at);
  o.boolean("response_breached", s.response_breached)
      .boolean("resolve_breached", s.resolve_breached);
  o.text("sla", sla).text_or_null("external_key", s.external_key);
  o.time("created_at", s.created_at).time("updated_at", s.updated_at);
  o.integer("version", s.version).text("etag", etag_of(s.version));
  return std::move(o).str();
}

registry::CustomerInput customer_input(const json::object& b) {
  registry::CustomerInput in;
  in.kind = optional_string(b, "kind", 16);
  in.name = optional_string(b, "name", 100);
  in.source = optional_string(b, "source", 100);
  in.external_key = optional_string(b, "external_key", 64);
  in.mobile = nullable_string(b, "mobile", 32);
  in.id_card = nullable_string(b, "id_card", 32);
  in.address = nullable_string(b, "address", 200);
  in.email = nullable_string(b, "email", 254);
  if (b.contains("tags")) in.tags = string_list(b, "tags", 20, 32);
  in.department_id = id_field(b, "department_id");
  in.owner_user_id = id_field(b, "owner_user_id");
  if (auto c = optional_int(b, "classification", 0, 7)) in.classification = static_cast<int>(*c);
  if (const json::value* c = b.if_contains("custom")) {
    if (!c->is_object()) throw Error(ErrorCode::validation_failed, "body.custom", "an object");
    in.custom_json = json::serialize(*c);
  }
  return in;
}

registry::RequestInput request_input(const json::object& b) {
  registry::RequestInput in;
  in.customer_id = id_field(b, "customer_id");
  in.type = optional_string(b, "type", 32);
  in.priority = optional_string(b, "priority", 16);
  in.channel = optional_string(b, "channel", 16);
  in.title = optional_string(b, "title", 200);
  in.description = optional_string(b, "description", 4000);
  in.external_key = optional_string(b, "external_key", 64);
  in.department_id = id_field(b, "department_id");
  if (auto c = optional_int(b, "classification", 0, 7)) in.classification = static_cast<int>(*c);
  return in;
}

std::optional<int64_t> query_time(const Request& req, const char* name) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return std::nullopt;
  auto t = text::parse_rfc3339(*v);
  if (!t) throw Error(ErrorCode::validation_failed, std::string("query.") + name, "RFC 3339 time");
  return t;
}

std::optional<bool> query_bool(const Request& req, const char* name) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return std::nullopt;
  if (*v == "true") return true;
  if (*v == "false") return false;
  throw Error(ErrorCode::validation_failed, std::string("query.") + name, "true or false");
}

}  // namespace

registry::CustomerQuery customer_query(const Request& req) {
  PageParams pp = page_params(req);
  registry::CustomerQuery q;
  q.limit = pp.limit;
  q.after_id = pp.after_id;
  q.q = query_text(req, "q", 100);
  q.mobile = query_text(req, "mobile", 32);
  q.id_card = query_text(req, "id_card", 32);
  q.email = query_text(req, "email", 254);
  q.tag = query_text(req, "tag", 32);
  q.department_id = query_id(req, "department_id");
  if (auto c = req.query_param("classification"); c && !c->empty()) {
    if (c->size() != 1 || (*c)[0] < '0' || (*c)[0] > '7')
      throw Error(ErrorCode::validation_failed, "query.classification", "a level");
    q.classification = (*c)[0] - '0';
  }
  q.stale = query_bool(req, "stale");
  q.created_from = query_time(req, "created_from");
  q.created_to = query_time(req, "created_to");
  return q;
}

registry::RequestQuery request_query(const Request& req) {
  registry::RequestQuery q;
  if (auto l = req.query_param("limit")) {
    // page_params() would read the cursor as a number; this one is "due:id" when sorted by due.
    const bool digits =
        !l->empty() && l->size() <= 3 &&
        std::all_of(l->begin(), l->end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    const int n = digits ? std::stoi(*l) : 0;
    if (n < 1 || n > 500)
      throw Error(ErrorCode::validation_failed, "query.limit", "an integer from 1 to 500");
    q.limit = n;
  }
  q.cursor = query_text(req, "cursor", 64);
  static const std::regex cursor_re("[0-9]{1,19}(:[0-9]{1,19})?");
  if (!q.cursor.empty() && !std::regex_match(q.cursor, cursor_re))
    throw Error(ErrorCode::validation_failed, "query.cursor", "a cursor from next_cursor");
  q.sort = req.query_param("sort").value_or("created_desc");
  if (q.sort != "created_desc" && q.sort != "created_asc" && q.sort != "due_asc")
    throw Error(ErrorCode::validation_failed, "query.sort", "created_desc, created_asc or due_asc");
  q.q = query_text(req, "q", 100);
  static const std::vector<std::string> statuses{"new", "assigned", "in_progress", "resolved",
                                                 "closed"};
  if (auto s = req.query_param("status"); s && !s->empty()) {
    size_t pos = 0;
    while (pos <= s->size()) {
      size_t end = s->find(',', pos);
      if (end == std::string::npos) end = s->size();
      std::string one = s->substr(pos, end - pos);
      if (std::find(statuses.begin(), statuses.end(), one) == statuses.end())
        throw Error(ErrorCode::validation_failed, "query.status",
                    "new, assigned, in_progress, resolved or closed (comma-separated)");
      q.status.push_back(one);
      pos = end + 1;
    }
  }
  q.type = query_text(req, "type", 32);
  q.priority = query_text(req, "priority", 16);
  q.channel = query_text(req, "channel", 16);
  q.department_id = query_id(req, "department_id");
  q.assignee_id = query_id(req, "assignee_id");
  q.customer_id = query_id(req, "customer_id");
  q.breached = query_bool(req, "breached");
  if (auto c = req.query_param("classification"); c && !c->empty()) {
    if (c->size() != 1 || (*c)[0] < '0' || (*c)[0] > '7')
      throw Error(ErrorCode::validation_failed, "query.classification", "a level");
    q.classification = (*c)[0] - '0';
  }
  q.due_before = query_time(req, "due_before");
  q.created_from = query_time(req, "created_from");
  q.created_to = query_time(req, "created_to");
  return q;
}

namespace {

json::object consent_json(const registry::Consent& c) {
  return {{"id", std::to_string(c.id)},
          {"customer_id", std::to_string(c.customer_id)},
          {"purpose", c.purpose},
          {"legal_basis", c.legal_basis},
          {"policy_version", c.policy_version},
          {"scope", c.scope},
          {"given_by", c.given_by},
          {"source", c.source},
          {"given_at", text::rfc3339(c.given_at)},
          {"withdrawn_at", json_time(c.withdrawn_at)},
          {"withdraw_reason", c.withdraw_reason},
          {"active", !c.withdrawn_at}};
}

json::object dsr_json(const registry::SubjectRequest& d, int64_t now) {
  json::object o{{"id", std::to_string(d.id)},
                 {"customer_id", std::to_string(d.customer_id)},
                 {"kind", d.kind},
                 {"status", d.status},
                 {"detail", d.detail},
                 {"received_at", text::rfc3339(d.received_at)},
                 {"due_at", text::rfc3339(d.due_at)},
                 {"overdue", d.status == "open" && d.due_at < now},
                 {"completed_at", json_time(d.completed_at)},
                 {"handled_by", json_id(d.handled_by)}};
  json::error_code ec;
  json::value response = json::parse(d.response, ec);
  o["response"] = ec ? json::value(d.response) : response;
  return o;
}

const char* kCustomer = "#/components/schemas/Customer";
const char* kRequest = "#/components/schemas/ServiceRequest";

Response customer_response(int status, const registry::Customer& c) {
  return object_response(status, customer_json(c),
                         status == 201 ? "/api/v1/customers/" + std::to_string(c.id) : "");
}
Response request_response(int status, const registry::ServiceRequest& s) {
  return text_response(
      status, request_text(s, text::now_ms()), etag_of(s.version),
      status == 201 ? "/api/v1/service-requests/" + std::to_string(s.id) : std::string());
}

// One record by id whose read may be audited (敏感/机密, SI-7): the audit record commits while the
// worker serves others, and the answer goes out once it has (a 500 without the record if not).
template <class Record>
Response held_read(Request& req, Deps& deps,
                   Record (registry::Registry::*get)(const authz::Principal&, const audit::Actor&,
                                                     int64_t, registry::Registry::DeferredAudit*),
                   Response (*answer)(int, const Record&)) {
  Caller c = authenticate(req, deps);
  registry::Registry::DeferredAudit audit;
  Response r = answer(200, (deps.registry.*get)(c.principal, audit::actor_of(c.principal, c.client),
                                                path_id(req), &audit));
  r.hold = std::move(audit);
  return r;
}

}  // namespace

void register_registry_routes(http::Router& router, Deps& deps) {
  deps.schemas["Customer"] =
      R"JSON({"type":"object","properties":{"id":{"type":"string"},"kind":{"type":"string","enum":["individual","organization"]},"name":{"type":"string","description":"masked in responses (张*)"},"mobile":{"type":["string","null"],"description":"masked (138****5678); POST /customers/{id}/unmask shows it"},"id_card":{"type":["string","null"]},"address":{"type":["string","null"]},"email":{"type":["string","null"]},"tags":{"type":"array","items":{"type":"string"}},"department_id":{"type":["string","null"]},"owner_user_id":{"type":["string","null"]},"classification":{"type":"integer"},"source":{"type":"string"},"custom":{"type":"object"},"external_key":{"type":["string","null"]},"status":{"type":"string","enum":["active","anonymised","deleted"]},"legal_hold":{"type":"boolean"},"stale":{"type":"boolean"},"review_due_at":{"type":["string","null"],"format":"date-time"},"etag":{"type":"string"}}})JSON";
  deps.schemas["ServiceRequest"] =
      R"JSON({"type":"object","properties":{"id":{"type":"string"},"number":{"type":"string"},"customer_id":{"type":["string","null"]},"customer_name":{"type":"string"},"type":{"type":"string"},"priority":{"type":"string"},"channel":{"type":"string","enum":["phone","walk_in","web","wechat","email"]},"title":{"type":"string"},"description":{"type":"string"},"status":{"type":"string","enum":["new","assigned","in_progress","resolved","closed"]},"department_id":{"type":["string","null"]},"assignee_id":{"type":["string","null"]},"classification":{"type":"integer"},"response_due_at":{"type":["string","null"],"format":"date-time"},"resolve_due_at":{"type":["string","null"],"format":"date-time"},"sla":{"type":"string","enum":["none","on_track","due_soon","breached","met"]},"etag":{"type":"string"}}})JSON";

  // ---- customers
  router.add(
      Method::get, "/api/v1/customers",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto page = deps.registry.list_customers(
            c.principal, audit::actor_of(c.principal, c.client), customer_query(req));
        json::array items;
        for (const auto& x : page.items) items.push_back(customer_json(x));
        return list_response(std::move(items), page.next_cursor, page.total, page.total_exact);
      },
      {.summary = "Customers the caller may see (full text q= over name, tags and source; "
                  "exact mobile=, id_card=, email= through blind indexes)",
       .tag = "registry",
       .response_schema = R"JSON({"type":"object"})JSON",
       .query_params = {"limit", "cursor", "q", "mobile", "id_card", "email", "tag",
                        "department_id", "classification", "stale", "created_from", "created_to"},
       .public_route = false});
  router.add(
      Method::post, "/api/v1/customers",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        return customer_response(
            201, deps.registry.create_customer(c.principal, audit::actor_of(c.principal, c.client),
                                               customer_input(parse_object(req))));
      },
      {.summary = "Register a customer (personal fields encrypted at rest)",
       .tag = "registry",
       .request_schema = kCustomer,
       .response_schema = kCustomer,
       .success_status = 201,
       .public_route = false});
  router.add(Method::get, "/api/v1/customers/{id}",
             [&deps](Request& req) {
               return held_read(req, deps, &registry::Registry::get_customer, customer_response);
             },
             {.summary = "One customer, masked (a read of a sensitive record is audited)",
              .tag = "registry",
              .response_schema = kCustomer,
              .public_route = false});
  router.add(
      Method::patch, "/api/v1/customers/{id}",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        const int64_t version = if_match_version(req);
        return customer_response(
            200, deps.registry.update_customer(c.principal, audit::actor_of(c.principal, c.client),
                                               id, version, customer_input(parse_object(req))));
      },
      {.summary = "Change a customer (If-Match; a classification change needs "
                  "registry:records:classify)",
       .tag = "registry",
       .request_schema = kCustomer,
       .response_schema = kCustomer,
       .public_route = false});
  router.add(
      Method::post, "/api/v1/customers/{id}/unmask",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        auto fields = string_list(b, "fields", 5, 16);
        const std::string reason = required_string(b, "reason", 200);
        require_recent_auth(c, deps);
        json::object o;
        for (auto& [k, v] : deps.registry.unmask_customer(
                 c.principal, audit::actor_of(c.principal, c.client), id, fields, reason))
          o[k] = v;
        return json_response(200, o);
      },
      {.summary = "Show personal fields in clear (registry:customers:unmask, a reason, a recent "
                  "password confirmation; audited)",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["fields","reason"],"properties":{"fields":{"type":"array","items":{"type":"string","enum":["name","mobile","id_card","address","email"]}},"reason":{"type":"string","maxLength":200}}})JSON",
       .response_schema = R"JSON({"type":"object","additionalProperties":{"type":"string"}})JSON",
       .public_route = false});
  router.add(Method::post, "/api/v1/customers/{id}/review",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return customer_response(
                   200, deps.registry.review_customer(
                            c.principal, audit::actor_of(c.principal, c.client), path_id(req)));
             },
             {.summary = "Confirm the record is current (SI-2): the next review date is set",
              .tag = "registry",
              .response_schema = kCustomer,
              .public_route = false});
  router.add(
      Method::post, "/api/v1/customers/{id}/legal-hold",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        auto hold = optional_bool(b, "hold");
        if (!hold) throw Error(ErrorCode::validation_failed, "body.hold", "true or false");
        return customer_response(
            200, deps.registry.set_legal_hold(c.principal, audit::actor_of(c.principal, c.client),
                                              id, *hold, required_string(b, "reason", 500)));
      },
      {.summary = "Place or lift a legal hold (deletion and retention then keep the record)",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["hold","reason"],"properties":{"hold":{"type":"boolean"},"reason":{"type":"string"}}})JSON",
       .response_schema = kCustomer,
       .public_route = false});

  // ---- lawful collection
  router.add(Method::get, "/api/v1/customers/{id}/consents",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& x : deps.registry.consents(c.principal, path_id(req)))
                 items.push_back(consent_json(x));
               return list_response(std::move(items));
             },
             {.summary = "Purposes, legal bases and consents of a customer (SI-2)",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .public_route = false});
  router.add(
      Method::post, "/api/v1/customers/{id}/consents",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        registry::ConsentInput in;
        in.purpose = required_string(b, "purpose", 32);
        in.legal_basis = required_string(b, "legal_basis", 32);
        in.policy_version = optional_string(b, "policy_version", 32).value_or("");
        in.scope = optional_string(b, "scope", 500).value_or("");
        in.given_by = optional_string(b, "given_by", 100).value_or("");
        in.source = optional_string(b, "source", 100).value_or("");
        in.given_at = optional_time(b, "given_at");
        auto x =
            deps.registry.add_consent(c.principal, audit::actor_of(c.principal, c.client), id, in);
        return json_response(201, consent_json(x));
      },
      {.summary = "Record a purpose with its legal basis or consent (who, when, policy version, "
                  "scope)",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["purpose","legal_basis"],"properties":{"purpose":{"type":"string"},"legal_basis":{"type":"string","enum":["consent","contract","legal_obligation","vital_interest","public_interest","employment"]},"policy_version":{"type":"string"},"scope":{"type":"string"},"given_by":{"type":"string"},"source":{"type":"string"},"given_at":{"type":"string","format":"date-time"}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .success_status = 201,
       .public_route = false});
  router.add(
      Method::post, "/api/v1/customers/{id}/consents/{consent_id}/withdraw",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        const int64_t consent = path_id(req, "consent_id");
        auto b = parse_object(req);
        return json_response(200, consent_json(deps.registry.withdraw_consent(
                                      c.principal, audit::actor_of(c.principal, c.client), id,
                                      consent, optional_string(b, "reason", 500).value_or(""))));
      },
      {.summary = "Withdraw a consent: the uses that relied on it are blocked from now on",
       .tag = "registry",
       .request_schema = R"JSON({"type":"object","properties":{"reason":{"type":"string"}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .public_route = false});
  router.add(
      Method::post, "/api/v1/customers/{id}/subject-requests",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        auto d = deps.registry.open_subject_request(
            c.principal, audit::actor_of(c.principal, c.client), id, required_string(b, "kind", 16),
            optional_string(b, "detail", 2000).value_or(""));
        return json_response(201, dsr_json(d, text::now_ms()));
      },
      {.summary = "Open a data-subject request (access/copy, correction, deletion) due in 30 days",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["kind"],"properties":{"kind":{"type":"string","enum":["access","correction","deletion"]},"detail":{"type":"string"}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .success_status = 201,
       .public_route = false});
  router.add(
      Method::get, "/api/v1/subject-requests",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        PageParams pp = page_params(req);
        auto page = deps.registry.subject_requests(
            c.principal, req.query_param("status").value_or("") == "open", pp.limit, pp.after_id);
        const int64_t now = text::now_ms();
        json::array items;
        for (const auto& d : page.items) items.push_back(dsr_json(d, now));
        return list_response(std::move(items), page.next_cursor, page.total, page.total_exact);
      },
      {.summary = "Data-subject requests (registry:privacy:write)",
       .tag = "registry",
       .response_schema = R"JSON({"type":"object"})JSON",
       .query_params = {"limit", "cursor", "status"},
       .public_route = false});
  router.add(
      Method::post, "/api/v1/subject-requests/{id}/complete",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        require_recent_auth(c, deps);
        auto d = deps.registry.complete_subject_request(
            c.principal, audit::actor_of(c.principal, c.client), id,
            optional_string(b, "note", 2000).value_or(""));
        return json_response(200, dsr_json(d, text::now_ms()));
      },
      {.summary = "Answer a data-subject request: access returns the copy; deletion anonymises "
                  "and tombstones the customer unless a legal hold refuses it",
       .tag = "registry",
       .request_schema = R"JSON({"type":"object","properties":{"note":{"type":"string"}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .public_route = false});

  // ---- configuration
  router.add(Method::get, "/api/v1/service-request-types",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& t : deps.registry.request_types(c.principal))
                 items.push_back({{"id", std::to_string(t.id)},
                                  {"code", t.code},
                                  {"name", t.name},
                                  {"default_classification", t.default_classification}});
               return list_response(std::move(items));
             },
             {.summary = "Service request types",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .public_route = false});
  router.add(
      Method::put, "/api/v1/service-request-types/{code}",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto b = parse_object(req);
        registry::RequestType t;
        t.code = std::string(req.param("code"));
        t.name = required_string(b, "name", 64);
        t.default_classification =
            static_cast<int>(optional_int(b, "default_classification", 0, 7).value_or(1));
        auto saved =
            deps.registry.save_request_type(c.principal, audit::actor_of(c.principal, c.client), t);
        return json_response(
            200, json::object{{"id", std::to_string(saved.id)},
                              {"code", saved.code},
                              {"name", saved.name},
                              {"default_classification", saved.default_classification}});
      },
      {.summary = "Add or rename a request type (registry:config:write)",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["name"],"properties":{"name":{"type":"string"},"default_classification":{"type":"integer"}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .public_route = false});
  router.add(Method::get, "/api/v1/service-priorities",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& p : deps.registry.priorities(c.principal))
                 items.push_back({{"code", p.code}, {"name", p.name}, {"rank", p.rank}});
               return list_response(std::move(items));
             },
             {.summary = "Priorities, most urgent first",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .public_route = false});
  router.add(Method::get, "/api/v1/sla-targets",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& t : deps.registry.sla_targets(c.principal))
                 items.push_back({{"type_id", std::to_string(t.type_id)},
                                  {"priority", t.priority},
                                  {"response_minutes", t.response_minutes},
                                  {"resolve_minutes", t.resolve_minutes}});
               return list_response(std::move(items));
             },
             {.summary = "SLA targets per request type and priority",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .public_route = false});
  router.add(
      Method::put, "/api/v1/sla-targets",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto b = parse_object(req);
        registry::SlaTarget t;
        t.type_id = required_id(b, "type_id");
        t.priority = required_string(b, "priority", 16);
        t.response_minutes = static_cast<int>(required_int(b, "response_minutes", 1, 525'600));
        t.resolve_minutes = static_cast<int>(required_int(b, "resolve_minutes", 1, 525'600));
        deps.registry.save_sla_target(c.principal, audit::actor_of(c.principal, c.client), t);
        return no_content();
      },
      {.summary = "Set the SLA target of a request type and priority (registry:config:write)",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["type_id","priority","response_minutes","resolve_minutes"],"properties":{"type_id":{"type":"string"},"priority":{"type":"string"},"response_minutes":{"type":"integer"},"resolve_minutes":{"type":"integer"}}})JSON",
       .success_status = 204,
       .public_route = false});

  // ---- service requests
  router.add(Method::get, "/api/v1/service-requests",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto page = deps.registry.list_requests(c.principal, request_query(req));
               const int64_t now = text::now_ms();
               std::vector<std::string> items;
               items.reserve(page.items.size());
               for (const auto& x : page.items) items.push_back(request_text(x, now));
               return list_text_response(items, page.next_cursor, page.total, page.total_exact);
             },
             {.summary = "Service requests the caller may see: full text q= (Chinese included), "
                         "filters, sort, keyset paging and the total",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .query_params = {"limit", "cursor", "sort", "q", "status", "type", "priority",
                               "channel", "department_id", "assignee_id", "customer_id", "breached",
                               "classification", "due_before", "created_from", "created_to"},
              .public_route = false});
  router.add(Method::post, "/api/v1/service-requests",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return request_response(201, deps.registry.create_request(
                                                c.principal, audit::actor_of(c.principal, c.client),
                                                request_input(parse_object(req))));
             },
             {.summary = "Log a service request (SLA due times from its type and priority)",
              .tag = "registry",
              .request_schema = kRequest,
              .response_schema = kRequest,
              .success_status = 201,
              .public_route = false});
  router.add(Method::get, "/api/v1/service-requests/{id}",
             [&deps](Request& req) {
               return held_read(req, deps, &registry::Registry::get_request, request_response);
             },
             {.summary = "One service request",
              .tag = "registry",
              .response_schema = kRequest,
              .public_route = false});
  router.add(Method::patch, "/api/v1/service-requests/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t id = path_id(req);
               const int64_t version = if_match_version(req);
               return request_response(200, deps.registry.update_request(
                                                c.principal, audit::actor_of(c.principal, c.client),
                                                id, version, request_input(parse_object(req))));
             },
             {.summary = "Change a request's title, description, priority, channel or "
                         "classification (If-Match)",
              .tag = "registry",
              .request_schema = kRequest,
              .response_schema = kRequest,
              .public_route = false});
  router.add(
      Method::post, "/api/v1/service-requests/{id}/assign",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        auto dept = id_field(b, "department_id");
        auto who = id_field(b, "assignee_id");
        return request_response(200, deps.registry.assign_request(
                                         c.principal, audit::actor_of(c.principal, c.client), id,
                                         dept ? *dept : std::nullopt, who ? *who : std::nullopt));
      },
      {.summary = "Assign to a department and/or a person (new → assigned); the assignee gets "
                  "a task",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","properties":{"department_id":{"type":"string"},"assignee_id":{"type":"string"}}})JSON",
       .response_schema = kRequest,
       .public_route = false});
  router.add(
      Method::post, "/api/v1/service-requests/{id}/transitions",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        return request_response(200, deps.registry.transition_request(
                                         c.principal, audit::actor_of(c.principal, c.client), id,
                                         required_string(b, "action", 16),
                                         optional_string(b, "comment", 1000).value_or("")));
      },
      {.summary = "start (assigned → in_progress), resolve, close, reopen; anything else is "
                  "transition_not_allowed",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["action"],"properties":{"action":{"type":"string","enum":["start","resolve","close","reopen"]},"comment":{"type":"string"}}})JSON",
       .response_schema = kRequest,
       .public_route = false});
  router.add(Method::get, "/api/v1/service-requests/{id}/comments",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& m : deps.registry.comments(c.principal, path_id(req)))
                 items.push_back({{"id", std::to_string(m.id)},
                                  {"author_id", std::to_string(m.author_id)},
                                  {"author_name", m.author_name},
                                  {"body", m.body},
                                  {"created_at", text::rfc3339(m.created_at)}});
               return list_response(std::move(items));
             },
             {.summary = "Comments on a request",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .public_route = false});
  router.add(
      Method::post, "/api/v1/service-requests/{id}/comments",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        auto m = deps.registry.add_comment(c.principal, audit::actor_of(c.principal, c.client), id,
                                           required_string(b, "body", 4000));
        return json_response(201, json::object{{"id", std::to_string(m.id)},
                                               {"author_id", std::to_string(m.author_id)},
                                               {"body", m.body},
                                               {"created_at", text::rfc3339(m.created_at)}});
      },
      {.summary = "Comment on a request",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["body"],"properties":{"body":{"type":"string","maxLength":4000}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .success_status = 201,
       .public_route = false});
  auto feedback_json = [](const registry::Feedback& f) {
    return json::object{{"id", std::to_string(f.id)},
                        {"request_id", std::to_string(f.request_id)},
                        {"satisfaction", f.satisfaction},
                        {"comment", f.comment},
                        {"complaint", f.complaint},
                        {"created_by", json_id(f.created_by)},
                        {"created_at", text::rfc3339(f.created_at)}};
  };
  router.add(Method::get, "/api/v1/service-requests/{id}/feedback",
             [&deps, feedback_json](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& f : deps.registry.feedback(c.principal, path_id(req)))
                 items.push_back(feedback_json(f));
               return list_response(std::move(items));
             },
             {.summary = "Feedback on a request",
              .tag = "registry",
              .response_schema = R"JSON({"type":"object"})JSON",
              .public_route = false});
  router.add(
      Method::post, "/api/v1/service-requests/{id}/feedback",
      [&deps, feedback_json](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        auto f = deps.registry.add_feedback(c.principal, audit::actor_of(c.principal, c.client), id,
                                            static_cast<int>(required_int(b, "satisfaction", 1, 5)),
                                            optional_string(b, "comment", 2000).value_or(""),
                                            optional_bool(b, "complaint").value_or(false));
        return json_response(201, feedback_json(f));
      },
      {.summary = "Record feedback (satisfaction 1-5); a complaint (or 1-2) goes to the owning "
                  "department's head",
       .tag = "registry",
       .request_schema =
           R"JSON({"type":"object","required":["satisfaction"],"properties":{"satisfaction":{"type":"integer","minimum":1,"maximum":5},"comment":{"type":"string"},"complaint":{"type":"boolean"}}})JSON",
       .response_schema = R"JSON({"type":"object"})JSON",
       .success_status = 201,
       .public_route = false});
}

}  // namespace custos::api
