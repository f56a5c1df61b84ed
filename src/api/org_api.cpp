// /api/v1/departments, /api/v1/users, /api/v1/roles: thin handlers over org::OrgService.
// Another department's record by id answers 404 exactly as a missing one (docs/architecture.md).
#include <boost/json.hpp>

#include "api/caller.h"
#include "api/json.h"
#include "platform/authz/classification.h"
#include "platform/privacy/mask.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Method;
using http::Request;
using http::Response;
namespace json = boost::json;

namespace {

json::object to_json(const org::Department& d) {
  return {{"id", std::to_string(d.id)},
          {"code", d.code},
          {"name", d.name},
          {"kind", d.kind},
          {"parent_id", json_id(d.parent_id)},
          {"head_user_id", json_id(d.head_user_id)},
          {"version", d.version},
          {"etag", etag_of(d.version)},
          {"created_at", text::rfc3339(d.created_at)},
          {"updated_at", text::rfc3339(d.updated_at)}};
}

// A user as the API shows them, written as text (a user by id is on the hot path; a list page
// holds these): personal data leaves masked, POST /users/{id}/unmask shows it (audited).
// `initial_password`: in the creation response only, once.
std::string user_text(const org::User& u, const privacy::Masker& masker,
                      const std::optional<std::string>& initial_password = std::nullopt) {
  ObjectText o;
  o.id("id", u.id).text("username", u.username).text("name", u.name);
  o.text_or_null("employee_no", u.employee_no);
  o.text_or_null("email",
                 u.email ? std::optional<std::string>(masker.email(*u.email)) : std::nullopt);
  o.id("department_id", u.department_id).id("manager_id", u.manager_id);
  o.integer("clearance", u.clearance).text("status", u.status);
  o.text_or_null("admin_role",
                 u.admin_role.empty() ? std::nullopt : std::optional<std::string>(u.admin_role));
  o.boolean("must_change_password", u.must_change_password).boolean("totp_enabled", u.totp_enabled);
  o.ids("role_ids", u.role_ids).ids("post_ids", u.post_ids);
  o.integer("version", u.version).text("etag", etag_of(u.version));
  o.time("created_at", u.created_at).time("updated_at", u.updated_at);
  if (initial_password) o.text("initial_password", *initial_password);
  return std::move(o).str();
}

Response user_response(int status, const org::User& u, const privacy::Masker& masker,
                       const std::optional<std::string>& initial_password = std::nullopt) {
  return text_response(status, user_text(u, masker, initial_password), etag_of(u.version),
                       status == 201 ? "/api/v1/users/" + std::to_string(u.id) : std::string());
}

json::object to_json(const org::Post& p) {
  return {{"id", std::to_string(p.id)},
          {"code", p.code},
          {"name", p.name},
          {"department_id", json_id(p.department_id)},
          {"approval_authority", p.approval_authority},
          {"version", p.version},
          {"etag", etag_of(p.version)},
          {"created_at", text::rfc3339(p.created_at)},
          {"updated_at", text::rfc3339(p.updated_at)}};
}

json::object to_json(const org::Role& r) {
  json::array perms, depts;
  for (const auto& p : r.permissions) perms.emplace_back(p);
  for (auto d : r.departments) depts.emplace_back(std::to_string(d));
  return {{"id", std::to_string(r.id)}, {"code", r.code},       {"name", r.name},
          {"scope", r.scope},           {"builtin", r.builtin}, {"permissions", perms},
          {"department_ids", depts},    {"version", r.version}, {"etag", etag_of(r.version)}};
}

template <class T, class Convert>
Response page_response(const org::Page<T>& page, Convert convert) {
  json::array items;
  for (const auto& x : page.items) items.push_back(convert(x));
  return list_response(std::move(items), page.next_cursor, page.total);
}

std::optional<int> int_field(const json::object& o, const char* name, int min, int max) {
  if (!o.contains(name)) return std::nullopt;
  return static_cast<int>(required_int(o, name, min, max));
}

org::ListQuery list_query(const Request& req) {
  PageParams pp = page_params(req);
  org::ListQuery q;
  q.limit = pp.limit;
  q.after_id = pp.after_id;
  if (auto s = req.query_param("q")) {
    if (s->size() > 100) throw Error(ErrorCode::validation_failed, "query.q", "at most 100 bytes");
    q.q = *s;
  }
  if (auto d = req.query_param("department_id"); d && !d->empty()) {
    try {
      q.department_id = std::stoll(*d);
    } catch (const std::exception&) {
      throw Error(ErrorCode::validation_failed, "query.department_id", "an id");
    }
  }
  if (auto st = req.query_param("status")) q.status = *st;
  return q;
}

org::DepartmentInput department_input(const json::object& b) {
  org::DepartmentInput in;
  in.code = optional_string(b, "code", 64);
  in.name = optional_string(b, "name", 100);
  in.kind = optional_string(b, "kind", 32);
  in.parent_id = id_field(b, "parent_id");
  in.head_user_id = id_field(b, "head_user_id");
  return in;
}

org::UserInput user_input(const json::object& b) {
  org::UserInput in;
  in.username = optional_string(b, "username", 64);
  in.name = optional_string(b, "name", 64);
  in.password = optional_string(b, "password", 1024);
  in.employee_no = nullable_string(b, "employee_no", 32);
  in.email = nullable_string(b, "email", 254);
  in.department_id = id_field(b, "department_id");
  in.manager_id = id_field(b, "manager_id");
  in.clearance = int_field(b, "clearance", 0, authz::kMaxLevels - 1);
  return in;
}

const char* kDepartment = "#/components/schemas/Department";
const char* kUser = "#/components/schemas/User";
const char* kRole = "#/components/schemas/Role";
const char* kPost = "#/components/schemas/Post";

org::PostInput post_input(const json::object& b) {
  org::PostInput in;
  in.code = optional_string(b, "code", 64);
  in.name = optional_string(b, "name", 64);
  in.department_id = id_field(b, "department_id");
  if (const json::value* a = b.if_contains("approval_authority")) {
    if (!a->is_bool())
      throw Error(ErrorCode::validation_failed, "body.approval_authority", "true or false");
    in.approval_authority = a->as_bool();
  }
  return in;
}

}  // namespace

void register_org_routes(http::Router& router, Deps& deps) {
  deps.schemas["Department"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"code":{"type":"string"},"name":{"type":"string"},"kind":{"type":"string","enum":["normal","it","president_office","finance","admin_hr"]},"parent_id":{"type":["string","null"]},"head_user_id":{"type":["string","null"]},"version":{"type":"integer"},"etag":{"type":"string"},"created_at":{"type":"string","format":"date-time"},"updated_at":{"type":"string","format":"date-time"}}})";
  deps.schemas["User"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"username":{"type":"string"},"name":{"type":"string"},"employee_no":{"type":["string","null"]},"email":{"type":["string","null"]},"department_id":{"type":["string","null"]},"manager_id":{"type":["string","null"]},"clearance":{"type":"integer","minimum":0,"maximum":7,"description":"a classification level of the organisation, see GET /api/v1/classifications"},"status":{"type":"string"},"admin_role":{"type":["string","null"]},"role_ids":{"type":"array","items":{"type":"string"}},"version":{"type":"integer"},"etag":{"type":"string"},"initial_password":{"type":"string","description":"only in the creation response, once"}}})";
  deps.schemas["Role"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"code":{"type":"string"},"name":{"type":"string"},"scope":{"type":"string","enum":["all","department_tree","department","custom","own"]},"builtin":{"type":"boolean"},"permissions":{"type":"array","items":{"type":"string"}},"department_ids":{"type":"array","items":{"type":"string"}}}})";
  const std::vector<std::string> list_params{"limit", "cursor", "q"};

  // Departments.
  router.add(Method::get, "/api/v1/departments",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return page_response(deps.org.list_departments(c.principal, list_query(req)),
                                    [](const org::Department& d) { return to_json(d); });
             },
             {.summary = "Departments the caller may see",
              .tag = "organisation",
              .response_schema = R"({"type":"object"})",
              .query_params = list_params,
              .public_route = false});
  router.add(
      Method::post, "/api/v1/departments",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto d =
            deps.org.create_department(c.principal, c.client, department_input(parse_object(req)));
        return object_response(201, to_json(d), "/api/v1/departments/" + std::to_string(d.id));
      },
      {.summary = "Create a department",
       .tag = "organisation",
       .request_schema = kDepartment,
       .response_schema = kDepartment,
       .success_status = 201,
       .public_route = false});
  router.add(Method::get, "/api/v1/departments/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return object_response(200,
                                      to_json(deps.org.get_department(c.principal, path_id(req))));
             },
             {.summary = "One department",
              .tag = "organisation",
              .response_schema = kDepartment,
              .public_route = false});
  router.add(Method::patch, "/api/v1/departments/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t id = path_id(req);
               const int64_t version = if_match_version(req);
               auto d = deps.org.update_department(c.principal, c.client, id, version,
                                                   department_input(parse_object(req)));
               return object_response(200, to_json(d));
             },
             {.summary = "Change a department (If-Match required)",
              .tag = "organisation",
              .request_schema = kDepartment,
              .response_schema = kDepartment,
              .public_route = false});

  // Users.
  router.add(Method::get, "/api/v1/users",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const auto page = deps.org.list_users(c.principal, list_query(req));
               std::vector<std::string> items;
               items.reserve(page.items.size());
               for (const auto& u : page.items) items.push_back(user_text(u, deps.org.masker()));
               return list_text_response(items, page.next_cursor, page.total);
             },
             {.summary = "Users the caller may see",
              .tag = "organisation",
              .response_schema = R"({"type":"object"})",
              .query_params = {"limit", "cursor", "q", "department_id", "status"},
              .public_route = false});
  router.add(
      Method::get, "/api/v1/directory/users",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int limit = limit_param(req, 20, 50);
        json::array items;
        for (const auto& e :
             deps.org.directory(c.principal, req.query_param("q").value_or(""), limit))
          items.push_back(json::object{{"id", std::to_string(e.id)},
                                       {"name", e.name},
                                       {"username", e.username},
                                       {"department_id", json_id(e.department_id)},
                                       {"department_name", e.department_name}});
        return json_response(200, json::object{{"items", std::move(items)}});
      },
      {.summary = "The staff directory for pickers: active colleagues whose name, "
                  "username or employee number contains q (any signed-in user)",
       .tag = "organisation",
       .response_schema =
           R"({"type":"object","required":["items"],"properties":{"items":{"type":"array","items":{"type":"object","properties":{"id":{"type":"string"},"name":{"type":"string"},"username":{"type":"string"},"department_id":{"type":["string","null"]},"department_name":{"type":"string"}}}}}})",
       .query_params = {"q", "limit"},
       .public_route = false});
  router.add(
      Method::post, "/api/v1/users",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        auto [u, initial] =
            deps.org.create_user(c.principal, c.client, user_input(parse_object(req)));
        return user_response(201, u, deps.org.masker(), initial);  // the password shown once
      },
      {.summary = "Create a user (a one-time initial password is returned unless one was set)",
       .tag = "organisation",
       .request_schema = kUser,
       .response_schema = kUser,
       .success_status = 201,
       .public_route = false});
  router.add(Method::get, "/api/v1/users/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return user_response(200, deps.org.get_user(c.principal, c.client, path_id(req)),
                                    deps.org.masker());
             },
             {.summary = "One user",
              .tag = "organisation",
              .response_schema = kUser,
              .public_route = false});
  router.add(
      Method::patch, "/api/v1/users/{id}",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        const int64_t version = if_match_version(req);
        auto body = parse_object(req);
        org::UserInput in = user_input(body);
        if (in.username || in.password)
          throw Error(ErrorCode::validation_failed, in.username ? "body.username" : "body.password",
                      "cannot be changed here");
        if (in.clearance) require_recent_auth(c, deps);
        return user_response(200, deps.org.update_user(c.principal, c.client, id, version, in),
                             deps.org.masker());
      },
      {.summary = "Change a user (If-Match required; clearance needs recent re-authentication)",
       .tag = "organisation",
       .request_schema = kUser,
       .response_schema = kUser,
       .public_route = false});
  router.add(
      Method::put, "/api/v1/users/{id}/roles",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto ids = id_list(parse_object(req), "role_ids", 100);
        require_recent_auth(c, deps);
        return user_response(200, deps.org.set_user_roles(c.principal, c.client, id, ids),
                             deps.org.masker());
      },
      {.summary = "Set a user's roles (security administrator; recent re-authentication)",
       .tag = "access",
       .request_schema =
           R"({"type":"object","required":["role_ids"],"properties":{"role_ids":{"type":"array","items":{"type":"string"}}}})",
       .response_schema = kUser,
       .public_route = false});

  router.add(
      Method::post, "/api/v1/users/{id}/unmask",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto b = parse_object(req);
        std::vector<std::string> fields;
        const json::value* fv = b.if_contains("fields");
        if (!fv || !fv->is_array() || fv->as_array().size() > 10)
          throw Error(ErrorCode::validation_failed, "body.fields", "a list of field names");
        for (const auto& f : fv->as_array()) {
          if (!f.is_string()) throw Error(ErrorCode::validation_failed, "body.fields", "strings");
          fields.emplace_back(f.as_string());
        }
        std::string reason = optional_string(b, "reason", 200).value_or("");
        if (c.principal.user_id != id) require_recent_auth(c, deps);
        json::object o;
        for (auto& [k, v] : deps.org.unmask_user(c.principal, c.client, id, fields, reason))
          o[k] = v;
        return json_response(200, o);
      },
      {.summary = "Show a user's personal fields in clear (permission, reason, recent "
                  "re-authentication; audited)",
       .tag = "organisation",
       .request_schema =
           R"({"type":"object","required":["fields","reason"],"properties":{"fields":{"type":"array","items":{"type":"string","enum":["email"]}},"reason":{"type":"string","maxLength":200}}})",
       .response_schema = R"({"type":"object","additionalProperties":{"type":"string"}})",
       .public_route = false});

  // Posts (岗位).
  deps.schemas["Post"] =
      R"({"type":"object","properties":{"id":{"type":"string"},"code":{"type":"string"},"name":{"type":"string"},"department_id":{"type":["string","null"]},"approval_authority":{"type":"boolean"},"version":{"type":"integer"},"etag":{"type":"string"}}})";
  router.add(Method::get, "/api/v1/posts",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& p : deps.org.list_posts(c.principal)) items.push_back(to_json(p));
               return list_response(std::move(items));
             },
             {.summary = "Posts (岗位)",
              .tag = "organisation",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::post, "/api/v1/posts",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto p = deps.org.create_post(c.principal, c.client, post_input(parse_object(req)));
               return object_response(201, to_json(p), "/api/v1/posts/" + std::to_string(p.id));
             },
             {.summary = "Create a post",
              .tag = "organisation",
              .request_schema = kPost,
              .response_schema = kPost,
              .success_status = 201,
              .public_route = false});
  router.add(Method::get, "/api/v1/posts/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               return object_response(200, to_json(deps.org.get_post(c.principal, path_id(req))));
             },
             {.summary = "One post",
              .tag = "organisation",
              .response_schema = kPost,
              .public_route = false});
  router.add(Method::patch, "/api/v1/posts/{id}",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               const int64_t id = path_id(req);
               const int64_t version = if_match_version(req);
               return object_response(
                   200, to_json(deps.org.update_post(c.principal, c.client, id, version,
                                                     post_input(parse_object(req)))));
             },
             {.summary = "Change a post (If-Match required)",
              .tag = "organisation",
              .request_schema = kPost,
              .response_schema = kPost,
              .public_route = false});
  router.add(
      Method::put, "/api/v1/users/{id}/posts",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        const int64_t id = path_id(req);
        auto ids = id_list(parse_object(req), "post_ids", 50);
        return user_response(200, deps.org.set_user_posts(c.principal, c.client, id, ids),
                             deps.org.masker());
      },
      {.summary = "Set a user's posts",
       .tag = "organisation",
       .request_schema =
           R"({"type":"object","required":["post_ids"],"properties":{"post_ids":{"type":"array","items":{"type":"string"}}}})",
       .response_schema = kUser,
       .public_route = false});

  // Roles.
  router.add(Method::get, "/api/v1/roles",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               json::array items;
               for (const auto& r : deps.org.list_roles(c.principal)) items.push_back(to_json(r));
               return list_response(std::move(items));
             },
             {.summary = "Roles",
              .tag = "access",
              .response_schema = R"({"type":"object"})",
              .public_route = false});
  router.add(Method::post, "/api/v1/roles",
             [&deps](Request& req) {
               Caller c = authenticate(req, deps);
               auto b = parse_object(req);
               org::RoleInput in;
               in.code = optional_string(b, "code", 64);
               in.name = optional_string(b, "name", 64);
               in.scope = optional_string(b, "scope", 32);
               if (b.contains("permissions"))
                 in.permissions = string_list(b, "permissions", 200, 128);
               if (b.contains("department_ids")) in.departments = id_list(b, "department_ids", 200);
               require_recent_auth(c, deps);
               auto r = deps.org.create_role(c.principal, c.client, in);
               return object_response(201, to_json(r), "/api/v1/roles/" + std::to_string(r.id));
             },
             {.summary = "Create a role (security administrator; recent re-authentication)",
              .tag = "access",
              .request_schema = kRole,
              .response_schema = kRole,
              .success_status = 201,
              .public_route = false});
  router.add(
      Method::get, "/api/v1/roles/{id}",
      [&deps](Request& req) {
        Caller c = authenticate(req, deps);
        return object_response(200, to_json(deps.org.get_role(c.principal, path_id(req))));
      },
      {.summary = "One role", .tag = "access", .response_schema = kRole, .public_route = false});
}

}  // namespace custos::api
