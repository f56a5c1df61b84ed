// /api/v1/auth/*, /api/v1/api-tokens, /api/v1/sessions (api-conventions.md "Authentication").
// Locked accounts answer 423 with code account_locked (the conventions let us choose 423 or
// 401; 423 tells a client the password may be right and waiting will help).
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/json.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

std::string session_cookie(const std::string& token, int64_t max_age_s, bool secure) {
  std::string c = std::string(kSessionCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
  c += "; Max-Age=" + std::to_string(max_age_s);
  if (secure) c += "; Secure";
  return c;
}

json::object token_json(const authn::ApiTokenInfo& t) {
  json::array scopes;
  for (const auto& s : t.scopes) scopes.emplace_back(s);
  json::object o{{"id", std::to_string(t.id)},
                 {"name", t.name},
                 {"scopes", scopes},
                 {"created_at", text::rfc3339(t.created_at)},
                 {"expires_at", text::rfc3339(t.expires_at)}};
  o["revoked_at"] = json_time(t.revoked_at);
  return o;
}

const char* kLoginSchema =
    R"({"type":"object","required":["username","password"],"properties":{"username":{"type":"string"},"password":{"type":"string"},"totp":{"type":"string"}}})";
const char* kLoginResponse =
    R"({"type":"object","required":["token","expires_at","must_change_password","mfa_enrollment_required"],"properties":{"token":{"type":"string"},"expires_at":{"type":"string","format":"date-time"},"must_change_password":{"type":"boolean"},"mfa_enrollment_required":{"type":"boolean"},"csrf_token":{"type":"string"},"csrf_header":{"type":"string"}}})";

}  // namespace

void register_auth_routes(http::Router& router, Deps& deps) {
  router.add(Method::post, "/api/v1/auth/login",
             [&deps](Request& req) {
               auto body = parse_object(req);
               std::string username = required_string(body, "username", 64);
               std::string password = required_string(body, "password", 1024);
               std::optional<std::string> totp = optional_string(body, "totp", 16);
               auto r = deps.auth.login(username, password, totp, client_of(req));
               json::object o{{"token", r.token},
                              {"expires_at", text::rfc3339(r.expires_at)},
                              {"must_change_password", r.must_change_password},
                              {"mfa_enrollment_required", r.mfa_enrollment_required},
                              {"csrf_token", r.csrf_token},
                              {"csrf_header", kCsrfHeader}};
               Response res = json_response(200, o);
               res.headers.add(
                   "Set-Cookie",
                   session_cookie(r.token, deps.auth.policy().absolute_timeout_ms / 1000,
                                  deps.config.server.tls_enabled));
               return res;
             },
             {.summary = "Log in with user name, password and (when set up) a TOTP code",
              .tag = "auth",
              .request_schema = kLoginSchema,
              .response_schema = kLoginResponse});

  router.add(
      Method::post, "/api/v1/auth/logout",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps, Pending::allow);
        deps.auth.logout(c.principal, c.client);
        Response res;
        res.status = 204;
        res.headers.add("Set-Cookie", session_cookie("", 0, deps.config.server.tls_enabled));
        return res;
      },
      {.summary = "End this session", .tag = "auth", .success_status = 204, .public_route = false});

  router.add(
      Method::get, "/api/v1/auth/me",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps, Pending::allow);
        const auto& p = c.principal;
        json::array perms;
        for (const auto& g : p.grants)
          perms.push_back({{"permission", g.permission}, {"scope", authz::scope_name(g.scope)}});
        json::object o{
            {"id", std::to_string(p.user_id)},
            {"username", p.username},
            {"name", p.name},
            {"admin_role", p.admin_role.empty() ? json::value(nullptr) : json::value(p.admin_role)},
            {"department_id", p.department_id ? json::value(std::to_string(*p.department_id))
                                              : json::value(nullptr)},
            {"clearance", p.clearance},
            {"permissions", perms},
            {"must_change_password", p.must_change_password},
            {"mfa_enrollment_required", p.mfa_enrollment_required},
            {"session_expires_at", text::rfc3339(p.expires_at)},
            {"session_id", std::to_string(p.session_id)}};
        // The console keeps the CSRF token in memory only and asks again after a reload.
        if (!c.csrf_token.empty()) {
          o["csrf_token"] = c.csrf_token;
          o["csrf_header"] = kCsrfHeader;
        }
        return json_response(200, o);
      },
      {.summary = "The caller: identity, permissions, pending steps, this session's id (and, "
                  "for a cookie session, its CSRF token)",
       .tag = "auth",
       .response_schema = R"({"type":"object"})",
       .public_route = false});

  router.add(
      Method::post, "/api/v1/auth/password",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps, Pending::allow);
        auto body = parse_object(req);
        deps.auth.change_password(c.principal, required_string(body, "old_password", 1024),
                                  required_string(body, "new_password", 1024), c.client);
        Response res;
        res.status = 204;
        return res;
      },
      {.summary = "Change one's password (required after the first login)",
       .tag = "auth",
       .request_schema =
           R"({"type":"object","required":["old_password","new_password"],"properties":{"old_password":{"type":"string"},"new_password":{"type":"string"}}})",
       .success_status = 204,
       .public_route = false});

  router.add(
      Method::post, "/api/v1/auth/reauth",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto body = parse_object(req);
        deps.auth.reauthenticate(c.principal, required_string(body, "password", 1024), c.client);
        Response res;
        res.status = 204;
        return res;
      },
      {.summary =
           "Confirm the password before a sensitive action (export, unmask, permission change)",
       .tag = "auth",
       .request_schema =
           R"({"type":"object","required":["password"],"properties":{"password":{"type":"string"}}})",
       .success_status = 204,
       .public_route = false});

  router.add(
      Method::post, "/api/v1/auth/totp/enroll",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps, Pending::allow);
        if (c.principal.must_change_password) throw Error(ErrorCode::password_change_required);
        auto e = deps.auth.enroll_totp(c.principal, c.client);
        return json_response(200,
                             json::object{{"secret", e.secret}, {"otpauth_uri", e.otpauth_uri}});
      },
      {.summary = "Start two-factor set-up: a TOTP secret for an authenticator app",
       .tag = "auth",
       .response_schema =
           R"({"type":"object","properties":{"secret":{"type":"string"},"otpauth_uri":{"type":"string"}}})",
       .public_route = false});

  router.add(
      Method::post, "/api/v1/auth/totp/confirm",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps, Pending::allow);
        if (c.principal.must_change_password) throw Error(ErrorCode::password_change_required);
        auto body = parse_object(req);
        deps.auth.confirm_totp(c.principal, required_string(body, "code", 16), c.client);
        Response res;
        res.status = 204;
        return res;
      },
      {.summary = "Finish two-factor set-up with a current code",
       .tag = "auth",
       .request_schema =
           R"({"type":"object","required":["code"],"properties":{"code":{"type":"string"}}})",
       .success_status = 204,
       .public_route = false});

  // Personal API tokens.
  router.add(Method::get, "/api/v1/api-tokens",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& t : deps.auth.list_api_tokens(c.principal))
                 items.push_back(token_json(t));
               return list_response(std::move(items));
             },
             {.summary = "The caller's API tokens",
              .tag = "auth",
              .response_schema = R"({"type":"object"})",
              .public_route = false});

  router.add(
      Method::post, "/api/v1/api-tokens",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        if (c.principal.kind != "session")
          throw Error(ErrorCode::forbidden, "", "tokens cannot mint tokens");
        auto body = parse_object(req);
        std::string name = required_string(body, "name", 64);
        std::vector<std::string> scopes;
        const json::value* sv = body.if_contains("scopes");
        if (!sv || !sv->is_array() || sv->as_array().empty() || sv->as_array().size() > 50)
          throw Error(ErrorCode::validation_failed, "body.scopes", "a list of 1 to 50 permissions");
        for (const auto& s : sv->as_array()) {
          if (!s.is_string() || s.as_string().size() > 100)
            throw Error(ErrorCode::validation_failed, "body.scopes", "permissions are strings");
          scopes.emplace_back(s.as_string());
        }
        std::string expires = required_string(body, "expires_at", 40);
        auto at = text::parse_rfc3339(expires);
        if (!at) throw Error(ErrorCode::validation_failed, "body.expires_at", "RFC 3339 time");
        auto [token, info] = deps.auth.create_api_token(c.principal, name, scopes, *at, c.client);
        json::object o = token_json(info);
        o["token"] = token;  // shown once
        Response res = json_response(201, o);
        res.headers.set("Location", "/api/v1/api-tokens/" + std::to_string(info.id));
        return res;
      },
      {.summary = "Create a personal API token (shown once)",
       .tag = "auth",
       .request_schema =
           R"({"type":"object","required":["name","scopes","expires_at"],"properties":{"name":{"type":"string"},"scopes":{"type":"array","items":{"type":"string"}},"expires_at":{"type":"string","format":"date-time"}}})",
       .response_schema = R"({"type":"object"})",
       .success_status = 201,
       .public_route = false});

  router.add(Method::delete_, "/api/v1/api-tokens/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               deps.auth.revoke_api_token(c.principal, path_id(req), c.client);
               Response res;
               res.status = 204;
               return res;
             },
             {.summary = "Revoke one of the caller's API tokens",
              .tag = "auth",
              .success_status = 204,
              .public_route = false});

  // The login log: security administrator and auditor.
  router.add(Method::get, "/api/v1/login-events",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               if (!authz::may(c.principal, org::perm::sessions_read) &&
                   !authz::may(c.principal, "audit:events:read"))
                 throw Error(ErrorCode::forbidden);
               PageParams pp = page_params(req);
               std::string where = "org_id = ?";
               std::vector<db::Value> params{c.principal.org_id};
               if (auto u = req.query_param("username"); u && !u->empty()) {
                 where += " AND username = ?";
                 params.emplace_back(*u);
               }
               if (auto o = req.query_param("outcome"); o && !o->empty()) {
                 if (*o != "success" && *o != "failure")
                   throw Error(ErrorCode::validation_failed, "query.outcome", "success or failure");
                 where += " AND outcome = ?";
                 params.emplace_back(*o);
               }
               for (const char* bound : {"from", "to"}) {
                 auto v = req.query_param(bound);
                 if (!v || v->empty()) continue;
                 auto t = text::parse_rfc3339(*v);
                 if (!t)
                   throw Error(ErrorCode::validation_failed, std::string("query.") + bound,
                               "RFC 3339 time");
                 where += std::string(" AND at ") + (bound[0] == 'f' ? ">= ?" : "< ?");
                 params.emplace_back(*t);
               }
               auto page = deps.db.read([&](db::Tx& tx) {
                 auto count_params = params;
                 int64_t total = db::as_int(
                     tx.query("SELECT COUNT(*) FROM login_events WHERE " + where, count_params)
                         .rows.at(0)
                         .at(0));
                 std::string sql =
                     "SELECT id, COALESCE(user_id, 0), username, COALESCE(ip, ''), "
                     "COALESCE(user_agent, ''), outcome, COALESCE(reason, ''), at "
                     "FROM login_events WHERE " +
                     where;
                 if (pp.after_id) {
                   sql += " AND id < ?";  // newest first: the cursor is the last id seen
                   params.emplace_back(*pp.after_id);
                 }
                 sql += " ORDER BY id DESC LIMIT ?";
                 params.emplace_back(int64_t{pp.limit + 1});
                 return std::make_pair(total, tx.query(sql, params));
               });
               json::array items;
               const auto& rows = page.second.rows;
               for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(pp.limit); ++i) {
                 const auto& r = rows[i];
                 items.push_back(
                     {{"id", std::to_string(db::as_int(r[0]))},
                      {"user_id", db::as_int(r[1]) ? json::value(std::to_string(db::as_int(r[1])))
                                                   : json::value(nullptr)},
                      {"username", db::as_text(r[2])},
                      {"ip", db::as_text(r[3])},
                      {"user_agent", db::as_text(r[4])},
                      {"outcome", db::as_text(r[5])},
                      {"reason", db::as_text(r[6])},
                      {"at", text::rfc3339(db::as_int(r[7]))}});
               }
               std::optional<std::string> next;
               if (rows.size() > static_cast<size_t>(pp.limit))
                 next = std::to_string(db::as_int(rows[pp.limit - 1][0]));
               return list_response(std::move(items), next, page.first);
             },
             {.summary = "The login log, newest first (security administrator, auditor)",
              .tag = "auth",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "username", "outcome", "from", "to"},
              .public_route = false});

  // Online sessions and forced logout (security administrator).
  router.add(Method::get, "/api/v1/sessions",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               if (!authz::may(c.principal, org::perm::sessions_read))
                 throw Error(ErrorCode::forbidden);
               json::array items;
               for (const auto& s : deps.auth.list_sessions(c.principal))
                 items.push_back({{"id", std::to_string(s.id)},
                                  {"user_id", std::to_string(s.user_id)},
                                  {"username", s.username},
                                  {"kind", s.kind},
                                  {"ip", s.ip},
                                  {"user_agent", s.user_agent},
                                  {"created_at", text::rfc3339(s.created_at)},
                                  {"last_seen_at", text::rfc3339(s.last_seen_at)},
                                  {"expires_at", text::rfc3339(s.expires_at)}});
               return list_response(std::move(items));
             },
             {.summary = "Online sessions of the organisation",
              .tag = "auth",
              .response_schema = R"({"type":"object"})",
              .public_route = false});

  router.add(Method::delete_, "/api/v1/sessions/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               if (!authz::may(c.principal, org::perm::sessions_revoke))
                 throw Error(ErrorCode::forbidden);
               deps.auth.revoke_session(c.principal, path_id(req), c.client);
               Response res;
               res.status = 204;
               return res;
             },
             {.summary = "Force a session to log out",
              .tag = "auth",
              .success_status = 204,
              .public_route = false});
}

}  // namespace custos::api
