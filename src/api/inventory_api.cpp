// Inventories, the software policy and violations (issue #7, IT-5, IT-7):
//  * POST /inventory/agent            the FusionInventory agent's endpoint (PROLOG, INVENTORY;
//                                     zlib, gzip or plain XML); HTTP basic or Bearer with an
//                                     agent token, or an agent account's API token
//  * POST /inventory/uploads          a person uploads an inventory file (.ocs / .xml)
//  * GET/POST /inventory/agents, POST /inventory/agents/{id}/revoke   per-site agent tokens
//  * GET /inventory/queue, POST /inventory/queue/{id}/link | /dismiss machines no asset matched
//  * GET /assets/{id}/machine         what the last inventory said
//  * GET/POST /software-rules, DELETE /software-rules/{id}
//  * GET/POST /approved-proxies, DELETE /approved-proxies/{id}
//  * GET/POST /violations, GET /violations/{id}, POST /violations/{id}/resolve
#include <boost/json.hpp>

#include "api/api.h"
#include "api/caller.h"
#include "api/json.h"
#include "platform/audit/changes.h"
#include "platform/crypto/crypto.h"
#include "platform/text/time.h"

namespace custos::api {

namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr const char* kRealm = "Basic realm=\"Custos inventory\"";
constexpr const char* kAgentPrefix = "agt_";

// Who is sending: an agent token (basic password or Bearer), or an account's API token holding
// assets:inventory:write. Account passwords are never taken over basic authentication: they
// would bypass the second factor.
std::optional<assets::Sender> agent_sender(const Request& req, Deps& deps) {
  std::string_view auth = req.headers.get("Authorization");
  std::string user, secret;
  if (auth.size() > 6 && http::iequals(auth.substr(0, 6), "Basic ")) {
    auto raw = crypto::base64_decode(auth.substr(6));
    if (!raw) return std::nullopt;
    const auto colon = raw->find(':');
    if (colon == std::string::npos) return std::nullopt;
    user = raw->substr(0, colon);
    secret = raw->substr(colon + 1);
  } else if (auth.size() > 7 && http::iequals(auth.substr(0, 7), "Bearer ")) {
    secret = std::string(auth.substr(7));
  } else {
    return std::nullopt;
  }
  const authn::Client client = client_of(req);
  audit::Actor actor{1, std::nullopt, std::nullopt, client.ip, client.request_id};
  if (secret.rfind(kAgentPrefix, 0) == 0) return deps.inventory.agent_for_token(secret, actor);
  auto principal = deps.auth.authenticate(secret);
  if (!principal || principal->kind != "api_token" ||
      (!user.empty() && user != principal->username) ||
      !authz::may(*principal, assets::perm::inventory_write))
    return std::nullopt;
  assets::Sender s;
  s.org_id = principal->org_id;
  s.agent_name = principal->username;
  s.actor = audit::actor_of(*principal, client);
  return s;
}

Response xml_reply(const Request& req, const std::string& xml) {
  Response r;
  // Answer in kind: compressed to an agent that compressed.
  const std::string_view ct = req.headers.get("Content-Type");
  if (ct.find("x-compress") != std::string_view::npos) {
    r.content_type = "application/x-compress-zlib";
    r.body = assets::agent::compress(xml);
  } else {
    r.content_type = "application/xml; charset=utf-8";
    r.body = xml;
  }
  return r;
}

json::object ingest_json(const assets::IngestResult& r) {
  return {{"outcome", r.outcome},
          {"asset_id", json_id(r.asset_id)},
          {"queue_id", json_id(r.queue_id)},
          {"matched_by", r.matched_by},
          {"changed", r.changed},
          {"violations_opened", r.violations_opened}};
}

json::object agent_json(const assets::AgentToken& t) {
  return {{"id", std::to_string(t.id)},
          {"name", t.name},
          {"created_at", text::rfc3339(t.created_at)},
          {"revoked_at", json_time(t.revoked_at)},
          {"last_used_at", json_time(t.last_used_at)},
          {"inventories", t.inventories}};
}

json::object queue_json(const assets::QueueItem& q) {
  return {{"id", std::to_string(q.id)},
          {"device_id", q.device_id},
          {"hostname", q.hostname},
          {"serial", q.serial},
          {"uuid", q.uuid},
          {"macs", q.macs},
          {"addresses", q.addresses},
          {"os", q.os},
          {"software_count", q.software_count},
          {"status", q.status},
          {"asset_id", json_id(q.asset_id)},
          {"agent_name", q.agent_name},
          {"received_at", text::rfc3339(q.received_at)}};
}

json::object violation_json(const assets::Violation& v) {
  return {{"id", std::to_string(v.id)},
          {"kind", v.kind},
          {"use_case", v.use_case},
          {"source", v.source},
          {"asset_id", json_id(v.asset_id)},
          {"asset_tag", v.asset_tag},
          {"subject", v.subject},
          {"detail", v.detail},
          {"user_id", json_id(v.user_id)},
          {"user_name", v.user_name},
          {"department_id", json_id(v.department_id)},
          {"department_name", v.department_name},
          {"head_id", json_id(v.head_id)},
          {"head_name", v.head_name},
          {"status", v.status},
          {"reported_by", json_id(v.reported_by)},
          {"created_at", text::rfc3339(v.created_at)},
          {"last_seen_at", text::rfc3339(v.last_seen_at)},
          {"resolved_at", json_time(v.resolved_at)},
          {"resolved_by", json_id(v.resolved_by)},
          {"resolution", v.resolution}};
}

// The body of an agent's POST or an uploaded file, decoded and read within the limits.
assets::agent::Inventory read_inventory(const Request& req) {
  const assets::agent::Limits limits;
  return assets::agent::parse(assets::agent::decode_body(req.body, limits), limits);
}

constexpr const char* kIngest =
    R"JSON({"type":"object","properties":{"outcome":{"type":"string","enum":["matched","queued"]},"asset_id":{"type":["string","null"]},"queue_id":{"type":["string","null"]},"matched_by":{"type":"string","enum":["","device_id","serial","uuid","mac","review"]},"changed":{"type":"boolean"},"violations_opened":{"type":"integer"}}})JSON";
constexpr const char* kRule =
    R"JSON({"type":"object","required":["kind","category","name_pattern"],"properties":{"id":{"type":"string","readOnly":true},"kind":{"type":"string","enum":["prohibit","allow"]},"category":{"type":"string","enum":["games","hacking","trojan","chat","p2p","unrelated","other"]},"name_pattern":{"type":"string","description":"glob, * and ?, case-insensitive","examples":["QQ*"]},"publisher_pattern":{"type":"string"},"note":{"type":"string"},"created_at":{"type":"string","format":"date-time","readOnly":true}}})JSON";
constexpr const char* kProxy =
    R"JSON({"type":"object","required":["address"],"properties":{"id":{"type":"string","readOnly":true},"address":{"type":"string","description":"host:port","examples":["proxy.corp:3128"]},"note":{"type":"string"}}})JSON";
constexpr const char* kViolation =
    R"JSON({"type":"object","properties":{"id":{"type":"string","readOnly":true},"kind":{"type":"string","enum":["prohibited_software","address_mismatch","address_conflict","unapproved_proxy","acceptable_use","other"],"description":"people record acceptable_use (with use_case) or other; inventories raise the rest"},"use_case":{"type":"string","enum":["","a","b","c","d"],"description":"IT-5 cases a-d of the regulation"},"source":{"type":"string","enum":["inventory","manual"],"readOnly":true},"asset_id":{"type":["string","null"]},"user_id":{"type":["string","null"],"description":"the person concerned; default the asset's custodian"},"detail":{"type":"string"},"subject":{"type":"string","readOnly":true},"status":{"type":"string","enum":["open","resolved","cleared"],"readOnly":true},"head_id":{"type":["string","null"],"readOnly":true,"description":"the department head it is assigned to"}}})JSON";

}  // namespace

void register_inventory_routes(http::Router& router, Deps& deps) {
  deps.schemas["SoftwareRule"] = kRule;
  deps.schemas["Violation"] = kViolation;
  router.add(
      Method::post, "/api/v1/inventory/agent",
      [&deps](Request& req) {
        auto sender = agent_sender(req, deps);
        if (!sender) {
          Response r = Response::problem(ErrorCode::unauthorized, req);
          r.headers.add("WWW-Authenticate", kRealm);
          return r;
        }
        const auto inv = read_inventory(req);
        if (inv.query == "PROLOG") return xml_reply(req, assets::agent::prolog_reply(24));
        deps.inventory.ingest(*sender, inv);
        return xml_reply(req, assets::agent::inventory_reply());
      },
      {.summary = "The FusionInventory agent's server endpoint: PROLOG answered with SEND, "
                  "INVENTORY matched to an asset or queued for review. HTTP basic (the agent's "
                  "--user/--password; the password an agent token) or Bearer",
       .tag = "inventory",
       .success_content_type = "application/x-compress-zlib",
       .request_content_types = {"application/x-compress-zlib", "application/x-compress-gzip",
                                 "application/xml"},
       .public_route = true,
       .upload = true});
  router.add(Method::post, "/api/v1/inventory/uploads",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const auto inv = read_inventory(req);
               return json_response(200,
                                    ingest_json(deps.inventory.upload(
                                        c.principal, audit::actor_of(c.principal, c.client), inv)));
             },
             {.summary = "Upload an agent inventory file (fusioninventory-agent --local output, "
                         "plain or compressed)",
              .tag = "inventory",
              .response_schema = kIngest,
              .request_content_types = {"application/xml", "application/x-compress-zlib",
                                        "application/octet-stream"},
              .public_route = false,
              .upload = true});
  router.add(Method::get, "/api/v1/inventory/agents",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& t : deps.inventory.agents(c.principal))
                 items.push_back(agent_json(t));
               return list_response(std::move(items));
             },
             {.summary = "Agent tokens (never the tokens themselves)",
              .tag = "inventory",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(
      Method::post, "/api/v1/inventory/agents",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const json::object b = parse_object(req);
        auto [token, t] = deps.inventory.create_agent(
            c.principal, audit::actor_of(c.principal, c.client), required_string(b, "name", 100));
        json::object o = agent_json(t);
        o["token"] = token;
        return json_response(201, o);
      },
      {.summary = "Create an agent token for a site; the token is shown once",
       .tag = "inventory",
       .request_schema =
           R"({"type":"object","required":["name"],"properties":{"name":{"type":"string","maxLength":100}}})",
       .response_schema = R"({"type":"object","properties":{"token":{"type":"string"}}})",
       .success_status = 201,
       .public_route = false});
  router.add(Method::post, "/api/v1/inventory/agents/{id}/revoke",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.inventory.revoke_agent(c.principal, audit::actor_of(c.principal, c.client),
                                           path_id(req));
               return no_content();
             },
             {.summary = "Revoke an agent token",
              .tag = "inventory",
              .success_status = 204,
              .public_route = false});
  router.add(Method::get, "/api/v1/inventory/queue",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const PageParams pp = page_params(req);
               json::array items;
               const auto rows = deps.inventory.queue(
                   c.principal, req.query_param("status").value_or(""), pp.limit + 1, pp.after_id);
               for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(pp.limit); ++i)
                 items.push_back(queue_json(rows[i]));
               std::optional<std::string> next;
               if (rows.size() > static_cast<size_t>(pp.limit))
                 next = std::to_string(rows[static_cast<size_t>(pp.limit) - 1].id);
               const auto n = static_cast<int64_t>(items.size());
               return list_response(std::move(items), next, n, !next);
             },
             {.summary = "Machines that sent an inventory no asset matched (status pending, "
                         "linked, dismissed)",
              .tag = "inventory",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "status"},
              .public_route = false});
  router.add(
      Method::post, "/api/v1/inventory/queue/{id}/link",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const json::object b = parse_object(req);
        return json_response(200, ingest_json(deps.inventory.link(
                                      c.principal, audit::actor_of(c.principal, c.client),
                                      path_id(req), required_id(b, "asset_id"))));
      },
      {.summary = "Link a queued machine to an asset; its inventory is applied",
       .tag = "inventory",
       .request_schema =
           R"({"type":"object","required":["asset_id"],"properties":{"asset_id":{"type":"string"}}})",
       .response_schema = kIngest,
       .public_route = false});
  router.add(Method::post, "/api/v1/inventory/queue/{id}/dismiss",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.inventory.dismiss(c.principal, audit::actor_of(c.principal, c.client),
                                      path_id(req));
               return no_content();
             },
             {.summary = "Dismiss a queued machine (not ours, a test machine)",
              .tag = "inventory",
              .success_status = 204,
              .public_route = false});
  router.add(
      Method::get, "/api/v1/assets/{id}/machine",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto m = deps.inventory.machine(c.principal, path_id(req));
        if (!m) throw Error(ErrorCode::not_found, "path.id", "no inventory yet");
        json::array addrs, soft;
        for (const auto& a : m->addresses)
          addrs.push_back(
              json::object{{"interface", a.interface}, {"mac", a.mac}, {"address", a.address}});
        for (const auto& s : m->software)
          soft.push_back(
              json::object{{"name", s.name}, {"publisher", s.publisher}, {"version", s.version}});
        return json_response(200, json::object{{"device_id", m->device_id},
                                               {"hostname", m->hostname},
                                               {"uuid", m->uuid},
                                               {"serial", m->serial},
                                               {"manufacturer", m->manufacturer},
                                               {"model", m->model},
                                               {"os", m->os},
                                               {"cpu", m->cpu},
                                               {"memory_mb", m->memory_mb},
                                               {"software_count", m->software_count},
                                               {"agent_name", m->agent_name},
                                               {"inventoried_at", text::rfc3339(m->inventoried_at)},
                                               {"addresses", std::move(addrs)},
                                               {"software", std::move(soft)}});
      },
      {.summary = "What the last inventory said about the asset's machine: hardware, "
                  "interfaces and addresses, installed software",
       .tag = "inventory",
       .response_schema = R"({"type":"object"})",
       .public_route = false});

  // The software policy.
  router.add(Method::get, "/api/v1/software-rules",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& r : deps.violations.rules(c.principal))
                 items.push_back(json::object{{"id", std::to_string(r.id)},
                                              {"kind", r.kind},
                                              {"category", r.category},
                                              {"name_pattern", r.name_pattern},
                                              {"publisher_pattern", r.publisher_pattern},
                                              {"note", r.note},
                                              {"created_at", text::rfc3339(r.created_at)}});
               return list_response(std::move(items));
             },
             {.summary = "Prohibited and allowed software (the allow list wins)",
              .tag = "inventory",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::post, "/api/v1/software-rules",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const json::object b = parse_object(req);
               assets::SoftwareRule in;
               in.kind = required_string(b, "kind", 16);
               in.category = required_string(b, "category", 32);
               in.name_pattern = required_string(b, "name_pattern", 200);
               in.publisher_pattern = optional_string(b, "publisher_pattern", 200).value_or("");
               in.note = optional_string(b, "note", 1000).value_or("");
               const auto r = deps.violations.add_rule(c.principal,
                                                       audit::actor_of(c.principal, c.client), in);
               return json_response(201, json::object{{"id", std::to_string(r.id)},
                                                      {"kind", r.kind},
                                                      {"category", r.category},
                                                      {"name_pattern", r.name_pattern},
                                                      {"publisher_pattern", r.publisher_pattern},
                                                      {"note", r.note},
                                                      {"created_at", text::rfc3339(r.created_at)}});
             },
             {.summary = "Add a software rule",
              .tag = "inventory",
              .request_schema = "#/components/schemas/SoftwareRule",
              .response_schema = "#/components/schemas/SoftwareRule",
              .success_status = 201,
              .public_route = false});
  router.add(Method::delete_, "/api/v1/software-rules/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.violations.delete_rule(c.principal, audit::actor_of(c.principal, c.client),
                                           path_id(req));
               return no_content();
             },
             {.summary = "Remove a software rule",
              .tag = "inventory",
              .success_status = 204,
              .public_route = false});
  router.add(Method::get, "/api/v1/approved-proxies",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& x : deps.violations.proxies(c.principal))
                 items.push_back(json::object{{"id", std::to_string(x.id)},
                                              {"address", x.address},
                                              {"note", x.note},
                                              {"created_at", text::rfc3339(x.created_at)}});
               return list_response(std::move(items));
             },
             {.summary = "Proxies machines may use (any other proxy setting is a violation)",
              .tag = "inventory",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::post, "/api/v1/approved-proxies",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const json::object b = parse_object(req);
               assets::Proxy in;
               in.address = required_string(b, "address", 255);
               in.note = optional_string(b, "note", 1000).value_or("");
               const auto x = deps.violations.add_proxy(c.principal,
                                                        audit::actor_of(c.principal, c.client), in);
               return json_response(201, json::object{{"id", std::to_string(x.id)},
                                                      {"address", x.address},
                                                      {"note", x.note},
                                                      {"created_at", text::rfc3339(x.created_at)}});
             },
             {.summary = "Approve a proxy (host:port)",
              .tag = "inventory",
              .request_schema = kProxy,
              .response_schema = kProxy,
              .success_status = 201,
              .public_route = false});
  router.add(Method::delete_, "/api/v1/approved-proxies/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.violations.delete_proxy(c.principal, audit::actor_of(c.principal, c.client),
                                            path_id(req));
               return no_content();
             },
             {.summary = "Withdraw a proxy's approval",
              .tag = "inventory",
              .success_status = 204,
              .public_route = false});

  // Violations.
  router.add(
      Method::get, "/api/v1/violations",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const PageParams pp = page_params(req);
        assets::ViolationQuery q;
        q.limit = pp.limit;
        q.after_id = pp.after_id;
        q.status = req.query_param("status").value_or("");
        q.kind = req.query_param("kind").value_or("");
        q.asset_id = query_id(req, "asset_id");
        q.department_id = query_id(req, "department_id");
        const auto mine = req.query_param("mine");
        if (mine && *mine != "true" && *mine != "false")
          throw Error(ErrorCode::validation_failed, "query.mine", "true or false");
        q.mine = mine == "true";
        const auto list = deps.violations.list(c.principal, q);
        json::array items;
        for (const auto& v : list.items) items.push_back(violation_json(v));
        return list_response(std::move(items), list.next_cursor, list.total, list.total_exact);
      },
      {.summary = "The violations register the caller may see; mine=true: those assigned "
                  "to the caller (as the person or the department head)",
       .tag = "inventory",
       .response_schema = R"({"type":"object"})",
       .query_params = {"limit", "cursor", "status", "kind", "asset_id", "department_id", "mine"},
       .public_route = false});
  router.add(Method::post, "/api/v1/violations",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const json::object b = parse_object(req);
               assets::ViolationInput in;
               in.kind = required_string(b, "kind", 32);
               in.use_case = optional_string(b, "use_case", 1).value_or("");
               in.detail = required_string(b, "detail", 2000);
               if (b.contains("asset_id")) in.asset_id = required_id(b, "asset_id");
               if (b.contains("user_id")) in.user_id = required_id(b, "user_id");
               const auto v =
                   deps.violations.record(c.principal, audit::actor_of(c.principal, c.client), in);
               return json_response(201, violation_json(v));
             },
             {.summary = "Record a violation by hand (IT-5 acceptable use, cases a-d, or other)",
              .tag = "inventory",
              .request_schema = "#/components/schemas/Violation",
              .response_schema = "#/components/schemas/Violation",
              .success_status = 201,
              .public_route = false});
  router.add(
      Method::get, "/api/v1/violations/summary",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const auto s = deps.violations.summary(c.principal);
        json::array depts;
        for (const auto& d : s.by_department)
          depts.push_back(json::object{
              {"department_id", json_id(d.id)}, {"department_name", d.name}, {"open", d.open}});
        json::object kinds;
        for (const auto& k : assets::violation_kinds()) kinds[k] = 0;
        for (const auto& [k, n] : s.by_kind) kinds[k] = n;
        return json_response(200, json::object{{"open_by_department", std::move(depts)},
                                               {"open_by_kind", std::move(kinds)}});
      },
      {.summary = "Open violations the caller may see, by department and by kind "
                  "(dashboard)",
       .tag = "inventory",
       .response_schema =
           R"({"type":"object","properties":{"open_by_department":{"type":"array"},"open_by_kind":{"type":"object","additionalProperties":{"type":"integer"}}}})",
       .public_route = false});
  router.add(Method::get, "/api/v1/violations/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(200,
                                    violation_json(deps.violations.get(c.principal, path_id(req))));
             },
             {.summary = "One violation",
              .tag = "inventory",
              .response_schema = "#/components/schemas/Violation",
              .public_route = false});
  router.add(
      Method::post, "/api/v1/violations/{id}/resolve",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const json::object b = parse_object(req);
        return json_response(200, violation_json(deps.violations.resolve(
                                      c.principal, audit::actor_of(c.principal, c.client),
                                      path_id(req), required_string(b, "resolution", 2000))));
      },
      {.summary = "Resolve an open violation (the department head or the register's "
                  "keepers), with what was done",
       .tag = "inventory",
       .request_schema =
           R"({"type":"object","required":["resolution"],"properties":{"resolution":{"type":"string","maxLength":2000}}})",
       .response_schema = "#/components/schemas/Violation",
       .public_route = false});
}

}  // namespace custos::api
