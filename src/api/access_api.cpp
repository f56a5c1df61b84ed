// /api/v1/classifications (SI-1: the organisation's sensitivity classes) and
// /api/v1/access-grants (SI-3/SI-4: explicit, time-boxed grants on one record). Both are the
// security administrator's; changes need a recent password confirmation and are audited.
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/json.h"
#include "platform/audit/changes.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

json::object to_json(const authz::Level& l) {
  return {{"level", l.level},
          {"code", l.code},
          {"name_zh", l.name_zh},
          {"name_en", l.name_en},
          {"audit_reads", l.audit_reads},
          {"reason_required", l.reason_required}};
}

Response levels_response(const std::vector<authz::Level>& levels) {
  json::array items;
  for (const auto& l : levels) items.push_back(to_json(l));
  return list_response(std::move(items));
}

std::vector<authz::Level> levels_input(const json::object& b) {
  const json::value* v = b.if_contains("levels");
  if (!v || !v->is_array() || v->as_array().size() > static_cast<size_t>(authz::kMaxLevels))
    throw Error(ErrorCode::validation_failed, "body.levels",
                "a list of at most " + std::to_string(authz::kMaxLevels) + " levels");
  std::vector<authz::Level> out;
  const auto& a = v->as_array();
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string at = "levels[" + std::to_string(i) + "]";
    if (!a[i].is_object()) throw Error(ErrorCode::validation_failed, "body." + at, "an object");
    const json::object& o = a[i].as_object();
    authz::Level l;
    try {
      l.level = static_cast<int>(required_int(o, "level", 0, authz::kMaxLevels - 1));
      l.code = required_string(o, "code", 32);
      l.name_zh = required_string(o, "name_zh", 32);
      l.name_en = required_string(o, "name_en", 32);
      l.audit_reads = optional_bool(o, "audit_reads").value_or(false);
      l.reason_required = optional_bool(o, "reason_required").value_or(false);
    } catch (const Error& e) {
      // "body.code" of the entry → "body.levels[2].code".
      throw Error(e.code(), "body." + at + e.field().substr(4), e.detail());
    }
    out.push_back(std::move(l));
  }
  return out;
}

json::object to_json(const authz::GrantRecord& g, int64_t now) {
  const bool active = !g.revoked_at && g.expires_at > now;
  return {{"id", std::to_string(g.id)},
          {"user_id", std::to_string(g.user_id)},
          {"permission", g.permission},
          {"object_type", g.object_type},
          {"object_id", std::to_string(g.object_id)},
          {"reason", g.reason},
          {"source", g.source},
          {"granted_by", json_id(g.granted_by)},
          {"created_at", text::rfc3339(g.created_at)},
          {"expires_at", text::rfc3339(g.expires_at)},
          {"revoked_at", json_time(g.revoked_at)},
          {"revoked_by", json_id(g.revoked_by)},
          {"revoke_reason",
           g.revoke_reason.empty() ? json::value(nullptr) : json::value(g.revoke_reason)},
          {"status", active         ? "active"
                     : g.revoked_at ? "revoked"
                                    : "expired"}};
}

const char* kLevels =
    R"({"type":"object","required":["levels"],"properties":{"levels":{"type":"array","minItems":2,"maxItems":8,"items":{"$ref":"#/components/schemas/ClassificationLevel"}}}})";
const char* kGrant = "#/components/schemas/AccessGrant";

}  // namespace

void register_access_routes(http::Router& router, Deps& deps) {
  deps.schemas["ClassificationLevel"] =
      R"({"type":"object","required":["level","code","name_zh","name_en"],"properties":{"level":{"type":"integer","minimum":0,"maximum":7},"code":{"type":"string","pattern":"^[a-z][a-z0-9_]{0,31}$"},"name_zh":{"type":"string","maxLength":32},"name_en":{"type":"string","maxLength":32},"audit_reads":{"type":"boolean","description":"every read of a record at this level is audited"},"reason_required":{"type":"boolean","description":"unmasking personal fields at this level needs a reason"}}})";
  deps.schemas["AccessGrant"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"user_id":{"type":"string"},"permission":{"type":"string"},"object_type":{"type":"string"},"object_id":{"type":"string"},"reason":{"type":"string"},"source":{"type":"string"},"granted_by":{"type":["string","null"]},"created_at":{"type":"string","format":"date-time"},"expires_at":{"type":"string","format":"date-time"},"revoked_at":{"type":["string","null"],"format":"date-time"},"revoked_by":{"type":["string","null"]},"revoke_reason":{"type":["string","null"]},"status":{"type":"string","enum":["active","revoked","expired"]}}})";

  router.add(Method::get, "/api/v1/classifications",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return levels_response(deps.classifications.list(c.principal));
             },
             {.summary = "The organisation's sensitivity classes (SI-1), least sensitive first",
              .tag = "access",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::put, "/api/v1/classifications",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto levels = levels_input(parse_object(req));
               if (!authz::may(c.principal, authz::perm::classifications_write))
                 throw Error(ErrorCode::forbidden);
               require_recent_auth(c, deps);
               return levels_response(deps.classifications.replace(
                   c.principal, audit::actor_of(c.principal, c.client), levels));
             },
             {.summary = "Replace the sensitivity classes (security administrator; recent "
                         "re-authentication; a level still in use cannot be removed)",
              .tag = "access",
              .request_schema = kLevels,
              .response_schema = R"({"type":"object"})",
              .public_route = false});

  router.add(Method::get, "/api/v1/access-grants",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               PageParams pp = page_params(req);
               authz::GrantQuery q;
               q.limit = pp.limit;
               q.after_id = pp.after_id;
               q.user_id = query_id(req, "user_id");
               q.object_id = query_id(req, "object_id");
               if (auto t = req.query_param("object_type")) {
                 if (t->size() > 64)
                   throw Error(ErrorCode::validation_failed, "query.object_type", "too long");
                 q.object_type = *t;
               }
               if (auto st = req.query_param("status")) {
                 if (*st != "active" && !st->empty())
                   throw Error(ErrorCode::validation_failed, "query.status", "active or empty");
                 q.active_only = *st == "active";
               }
               auto page = deps.grants.list(c.principal, q);
               const int64_t now = text::now_ms();
               json::array items;
               for (const auto& g : page.items) items.push_back(to_json(g, now));
               return list_response(std::move(items), page.next_cursor, page.total);
             },
             {.summary = "Explicit access grants (security administrator)",
              .tag = "access",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "user_id", "object_type", "object_id", "status"},
              .public_route = false});
  router.add(
      Method::post, "/api/v1/access-grants",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto b = parse_object(req);
        authz::GrantInput in;
        in.user_id = required_id(b, "user_id");
        in.permission = required_string(b, "permission", 128);
        in.object_type = required_string(b, "object_type", 64);
        in.object_id = required_id(b, "object_id");
        in.expires_at = required_time(b, "expires_at");
        in.reason = required_string(b, "reason", 500);
        if (!authz::may(c.principal, authz::perm::grants_write)) throw Error(ErrorCode::forbidden);
        require_recent_auth(c, deps);
        auto g = deps.grants.create(c.principal, audit::actor_of(c.principal, c.client), in);
        return object_response(201, to_json(g, text::now_ms()),
                               "/api/v1/access-grants/" + std::to_string(g.id));
      },
      {.summary = "Grant one user one permission on one record until a time (security "
                  "administrator; recent re-authentication; audited)",
       .tag = "access",
       .request_schema =
           R"({"type":"object","required":["user_id","permission","object_type","object_id","expires_at","reason"],"properties":{"user_id":{"type":"string"},"permission":{"type":"string"},"object_type":{"type":"string"},"object_id":{"type":"string"},"expires_at":{"type":"string","format":"date-time"},"reason":{"type":"string","maxLength":500}}})",
       .response_schema = kGrant,
       .success_status = 201,
       .public_route = false});
  router.add(
      Method::get, "/api/v1/access-grants/types",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        json::array items;
        for (const auto& t : deps.grants.types(c.principal)) {
          json::array perms;
          for (const auto& perm : t.permissions) perms.emplace_back(perm);
          items.push_back(
              json::object{{"object_type", t.object_type}, {"permissions", std::move(perms)}});
        }
        return list_response(std::move(items));
      },
      {.summary = "What a grant may name: each type of record modules registered, with "
                  "the permissions that may be granted on it",
       .tag = "access",
       .response_schema =
           R"({"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"object_type":{"type":"string"},"permissions":{"type":"array","items":{"type":"string"}}}}}}})",
       .public_route = false});
  router.add(Method::get, "/api/v1/access-grants/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return json_response(
                   200, to_json(deps.grants.get(c.principal, path_id(req)), text::now_ms()));
             },
             {.summary = "One access grant",
              .tag = "access",
              .response_schema = kGrant,
              .public_route = false});
  router.add(
      Method::post, "/api/v1/access-grants/{id}/revoke",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        const std::string reason = required_string(b, "reason", 500);
        auto g =
            deps.grants.revoke(c.principal, audit::actor_of(c.principal, c.client), id, reason);
        return json_response(200, to_json(g, text::now_ms()));
      },
      {.summary = "End an access grant now (audited)",
       .tag = "access",
       .request_schema =
           R"({"type":"object","required":["reason"],"properties":{"reason":{"type":"string","maxLength":500}}})",
       .response_schema = kGrant,
       .public_route = false});
}

}  // namespace custos::api
