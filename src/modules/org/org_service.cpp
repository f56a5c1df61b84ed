#include "modules/org/org_service.h"

#include <boost/json.hpp>
#include <regex>

#include "modules/org/org_rules.h"
#include "platform/audit/audit.h"
#include "platform/authz/classification.h"
#include "platform/authz/grants.h"
#include "platform/crypto/crypto.h"
#include "platform/errors/error.h"
#include "platform/privacy/mask.h"
#include "platform/text/utf8.h"

namespace custos::org {
namespace json = boost::json;

namespace {

void check_text(const std::string& value, const char* field, size_t max_chars, bool required) {
  if (required && value.empty()) throw Error(ErrorCode::validation_failed, field, "required");
  if (text::utf8_length(value) > max_chars)
    throw Error(ErrorCode::validation_failed, field,
                "at most " + std::to_string(max_chars) + " characters");
}

void check_pattern(const std::string& value, const char* field, const std::regex& re,
                   const char* what) {
  if (!std::regex_match(value, re)) throw Error(ErrorCode::validation_failed, field, what);
}

constexpr const char* kDeptColumns =
    "d.id, d.code, d.name, d.kind, d.path, d.parent_id, d.head_user_id, d.version, d.created_at, "
    "d.updated_at";

Department dept_from(const std::vector<db::Value>& r) {
  Department d;
  d.id = db::as_int(r[0]);
  d.code = db::as_text(r[1]);
  d.name = db::as_text(r[2]);
  d.kind = db::as_text(r[3]);
  d.path = db::as_text(r[4]);
  d.parent_id = db::as_opt_int(r[5]);
  d.head_user_id = db::as_opt_int(r[6]);
  d.version = db::as_int(r[7]);
  d.created_at = db::as_int(r[8]);
  d.updated_at = db::as_int(r[9]);
  return d;
}

// A user's row with their role and post ids, in one statement (a user GET is on the hot path,
// and a list page needs no statement per user).
const std::string& user_columns(db::Engine engine) {
  static const auto columns = [](db::Engine e) {
    return std::string(
               "u.id, u.username, u.name, u.status, COALESCE(u.admin_role, '') AS admin_role, "
               "u.employee_no, u.email, u.department_id, u.manager_id, u.clearance, "
               "u.must_change_password, u.totp_enabled, u.version, u.created_at, u.updated_at, "
               "COALESCE(d.path, '') AS dept_path, ") +
           db::id_list(e, "ur.role_id",
                       " FROM user_roles ur WHERE ur.org_id = u.org_id AND ur.user_id = u.id") +
           " AS role_ids, " +
           db::id_list(e, "up.post_id",
                       " FROM user_posts up WHERE up.org_id = u.org_id AND up.user_id = u.id") +
           " AS post_ids";
  };
  static const std::string sqlite = columns(db::Engine::sqlite),
                           postgres = columns(db::Engine::postgres);
  return engine == db::Engine::postgres ? postgres : sqlite;
}

User user_from(const std::vector<db::Value>& r) {
  User u;
  u.id = db::as_int(r[0]);
  u.username = db::as_text(r[1]);
  u.name = db::as_text(r[2]);
  u.status = db::as_text(r[3]);
  u.admin_role = db::as_text(r[4]);
  u.employee_no = db::as_opt_text(r[5]);
  u.email = db::as_opt_text(r[6]);
  u.department_id = db::as_opt_int(r[7]);
  u.manager_id = db::as_opt_int(r[8]);
  u.clearance = static_cast<int>(db::as_int(r[9]));
  u.must_change_password = db::as_int(r[10]) != 0;
  u.totp_enabled = db::as_int(r[11]) != 0;
  u.version = db::as_int(r[12]);
  u.created_at = db::as_int(r[13]);
  u.updated_at = db::as_int(r[14]);
  u.role_ids = db::parse_id_list(r[16]);
  u.post_ids = db::parse_id_list(r[17]);
  return u;
}

authz::Resource dept_resource(const Department& d) {
  authz::Resource r;
  r.department_id = d.id;
  r.department_path = d.path;
  return r;
}

authz::Resource user_resource(const std::vector<db::Value>& r) {
  authz::Resource res;
  res.department_id = db::as_opt_int(r[7]);
  res.department_path = db::as_text(r[15]);
  res.owner_user_id = db::as_int(r[0]);
  res.object_type = "user";
  res.object_id = db::as_int(r[0]);
  return res;
}

std::optional<Department> load_department(db::Tx& tx, int64_t org_id, int64_t id) {
  auto r = tx.one(
      std::string("SELECT ") + kDeptColumns + " FROM departments d WHERE d.org_id = ? AND d.id = ?",
      {org_id, id});
  if (!r) return std::nullopt;
  return dept_from(*r);
}

std::optional<std::vector<db::Value>> load_user_row(db::Tx& tx, int64_t org_id, int64_t id) {
  static const auto sql = [](db::Engine e) {
    return "SELECT " + user_columns(e) +
           " FROM users u LEFT JOIN departments d ON d.id = u.department_id "
           "WHERE u.org_id = ? AND u.id = ?";
  };
  static const std::string sqlite = sql(db::Engine::sqlite), postgres = sql(db::Engine::postgres);
  return tx.one(tx.engine() == db::Engine::postgres ? postgres : sqlite, {org_id, id});
}

void require(bool allowed) {
  if (!allowed) throw Error(ErrorCode::forbidden);
}

// A clearance is one of the organisation's classification levels.
void check_clearance(db::Tx& tx, int64_t org_id, int clearance) {
  const int top = authz::top_level(tx, org_id);
  if (clearance < 0 || clearance > top)
    throw Error(ErrorCode::validation_failed, "body.clearance",
                "a classification level from 0 to " + std::to_string(top));
}

std::string admin_role_of_code(const std::string& code) {
  if (code == "system_admin") return "system";
  if (code == "security_admin") return "security";
  if (code == "audit_admin") return "audit";
  return "";
}

// Keyset pagination over `id_col` (ascending), with the total of rows the filter admits.
template <class T, class Load>
Page<T> paginate(db::Tx& tx, const std::string& select, const std::string& count_sql,
                 const std::string& where, std::vector<db::Value> params, const ListQuery& q,
                 const std::string& id_col, Load load) {
  Page<T> page;
  auto count_params = params;
  page.total =
      db::as_int(tx.query(count_sql + " WHERE " + where, std::span<const db::Value>(count_params))
                     .rows.at(0)
                     .at(0));
  std::string sql = select + " WHERE " + where;
  if (q.after_id) {
    sql += " AND " + id_col + " > ?";
    params.emplace_back(*q.after_id);
  }
  sql += " ORDER BY " + id_col + " LIMIT ?";
  params.emplace_back(int64_t{q.limit + 1});
  auto rows = tx.query(sql, std::span<const db::Value>(params)).rows;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
    page.items.push_back(load(rows[i]));
  if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
    page.next_cursor = std::to_string(page.items.back().id);
  return page;
}

}  // namespace

OrgService::OrgService(db::Db& db, const Clock& clock, authn::AuthService& auth,
                       const privacy::Masker& masker)
    : db_(db), clock_(clock), auth_(auth), masker_(masker) {}

// ---- departments -----------------------------------------------------------------------------

Department OrgService::create_department(const authz::Principal& p, const authn::Client& c,
                                         const DepartmentInput& in) {
  const std::string code = in.code.value_or(""), name = in.name.value_or(""),
                    kind = in.kind.value_or("normal");
  check_text(code, "body.code", 64, true);
  check_pattern(code, "body.code", code_re(), kCodeRule);
  check_text(name, "body.name", 100, true);
  if (!parse_kind(kind) || *parse_kind(kind) != kind)
    throw Error(ErrorCode::validation_failed, "body.kind", kKindRule);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    std::optional<int64_t> parent_id;
    if (in.parent_id) parent_id = *in.parent_id;
    std::string parent_path = "/";
    if (parent_id) {
      auto parent = load_department(tx, p.org_id, *parent_id);
      if (!parent || !authz::may(p, perm::departments_read, dept_resource(*parent)))
        throw Error(ErrorCode::validation_failed, "body.parent_id", "no such department");
      require(authz::may(p, perm::departments_write, dept_resource(*parent)));
      parent_path = parent->path;
    } else {
      authz::Resource root;
      root.department_path = "/";
      require(authz::may(p, perm::departments_write, root));
    }
    if (in.head_user_id && *in.head_user_id &&
        !tx.one("SELECT 1 FROM users WHERE org_id = ? AND id = ?", {p.org_id, **in.head_user_id}))
      throw Error(ErrorCode::validation_failed, "body.head_user_id", "no such user");
    if (tx.one("SELECT 1 FROM departments WHERE org_id = ? AND code = ?", {p.org_id, code}))
      throw Error(ErrorCode::conflict, "body.code", "taken");
    auto r = tx.one(
        "INSERT INTO departments (org_id, code, name, parent_id, head_user_id, kind, path, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?) RETURNING id",
        {p.org_id, code, name, db::optional(parent_id),
         in.head_user_id ? db::optional(*in.head_user_id) : db::null(), kind, now, now});
    const int64_t id = db::as_int(r->at(0));
    tx.exec("UPDATE departments SET path = ? WHERE id = ?",
            {parent_path + std::to_string(id) + "/", id});
    Department d = *load_department(tx, p.org_id, id);
    Changes ch;
    ch.add("code", std::string(), d.code);
    ch.add("name", std::string(), d.name);
    ch.add("parent_id", std::optional<int64_t>(), d.parent_id);
    audit::record(tx, actor_of(p, c),
                  {.action = "org.department.create",
                   .object_type = "department",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return d;
  });
}

Department OrgService::get_department(const authz::Principal& p, int64_t id) {
  return db_.read([&](db::Tx& tx) {
    auto d = load_department(tx, p.org_id, id);
    if (!d || !authz::may(p, perm::departments_read, dept_resource(*d)))
      throw Error(ErrorCode::not_found, "path.id");
    return *d;
  });
}

Page<Department> OrgService::list_departments(const authz::Principal& p, const ListQuery& q) {
  authz::Filter f = authz::visible(p, perm::departments_read,
                                   {.department_id = "d.id", .department_path = "d.path"});
  return db_.read([&](db::Tx& tx) {
    std::string where = "d.org_id = ? AND " + f.sql;
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    if (!q.q.empty()) {
      where += " AND (d.name LIKE ? ESCAPE '\\' OR d.code LIKE ? ESCAPE '\\')";
      params.emplace_back(db::like_contains(q.q));
      params.emplace_back(db::like_contains(q.q));
    }
    return paginate<Department>(tx, std::string("SELECT ") + kDeptColumns + " FROM departments d",
                                "SELECT COUNT(*) FROM departments d", where, params, q, "d.id",
                                [](const std::vector<db::Value>& r) { return dept_from(r); });
  });
}

Department OrgService::update_department(const authz::Principal& p, const authn::Client& c,
                                         int64_t id, int64_t expected_version,
                                         const DepartmentInput& in) {
  const int64_t now = clock_.now_ms();
  Department result = db_.write([&](db::Tx& tx) {
    auto before = load_department(tx, p.org_id, id);
    if (!before || !authz::may(p, perm::departments_read, dept_resource(*before)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::departments_write, dept_resource(*before)));
    if (before->version != expected_version)
      throw Error(ErrorCode::precondition_failed, "header.if-match");
    Department after = *before;
    if (in.name) {
      check_text(*in.name, "body.name", 100, true);
      after.name = *in.name;
    }
    if (in.code) {
      check_pattern(*in.code, "body.code", code_re(), kCodeRule);
      after.code = *in.code;
    }
    if (in.head_user_id) {
      if (*in.head_user_id &&
          !tx.one("SELECT 1 FROM users WHERE org_id = ? AND id = ?", {p.org_id, **in.head_user_id}))
        throw Error(ErrorCode::validation_failed, "body.head_user_id", "no such user");
      after.head_user_id = *in.head_user_id;
    }
    if (in.kind) {
      auto kind = parse_kind(*in.kind);
      if (!kind || *kind != *in.kind)
        throw Error(ErrorCode::validation_failed, "body.kind", kKindRule);
      after.kind = *kind;
    }
    if (in.parent_id && *in.parent_id != before->parent_id) {
      std::string new_parent_path = "/";
      if (!*in.parent_id) {
        // To the top level: that takes write permission at the root, as creating there does.
        authz::Resource root;
        root.department_path = "/";
        require(authz::may(p, perm::departments_write, root));
      } else {
        auto parent = load_department(tx, p.org_id, **in.parent_id);
        if (!parent)
          throw Error(ErrorCode::validation_failed, "body.parent_id", "no such department");
        if (parent->path.rfind(before->path, 0) == 0)
          throw Error(ErrorCode::validation_failed, "body.parent_id",
                      "a department cannot move under itself");
        require(authz::may(p, perm::departments_write, dept_resource(*parent)));
        new_parent_path = parent->path;
      }
      after.parent_id = *in.parent_id;
      after.path = new_parent_path + std::to_string(id) + "/";
      // Custom-scope grants hold department paths: every cached grant set is stale now.
      tx.exec("UPDATE users SET authz_version = authz_version + 1 WHERE org_id = ?", {p.org_id});
      // Re-root the whole subtree.
      tx.exec("UPDATE departments SET path = ? || SUBSTR(path, ?) WHERE org_id = ? AND path LIKE ?",
              {after.path, int64_t(before->path.size() + 1), p.org_id, before->path + "%"});
    }
    if (after.code != before->code &&
        tx.one("SELECT 1 FROM departments WHERE org_id = ? AND code = ?", {p.org_id, after.code}))
      throw Error(ErrorCode::conflict, "body.code", "taken");
    tx.exec(
        "UPDATE departments SET code = ?, name = ?, kind = ?, head_user_id = ?, parent_id = ?, "
        "version = version + 1, updated_at = ? WHERE id = ?",
        {after.code, after.name, after.kind, db::optional(after.head_user_id),
         db::optional(after.parent_id), now, id});
    Changes ch;
    ch.add("code", before->code, after.code);
    ch.add("name", before->name, after.name);
    ch.add("kind", before->kind, after.kind);
    ch.add("head_user_id", before->head_user_id, after.head_user_id);
    ch.add("parent_id", before->parent_id, after.parent_id);
    audit::record(tx, actor_of(p, c),
                  {.action = "org.department.update",
                   .object_type = "department",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return *load_department(tx, p.org_id, id);
  });
  auth_.invalidate_sessions();  // department paths feed every session's scope
  return result;
}

// ---- users -----------------------------------------------------------------------------------

std::pair<User, std::optional<std::string>> OrgService::create_user(const authz::Principal& p,
                                                                    const authn::Client& c,
                                                                    const UserInput& in) {
  const std::string username = in.username.value_or(""), name = in.name.value_or("");
  check_text(username, "body.username", 64, true);
  check_pattern(username, "body.username", username_re(), kUsernameRule);
  check_text(name, "body.name", 64, true);
  std::optional<std::string> employee_no;
  if (in.employee_no) employee_no = *in.employee_no;
  if (employee_no) {
    check_text(*employee_no, "body.employee_no", 32, true);
    check_pattern(*employee_no, "body.employee_no", code_re(), kCodeRule);
  }
  std::optional<std::string> email;
  if (in.email) email = *in.email;
  if (email) check_pattern(*email, "body.email", email_re(), kEmailRule);
  const int clearance = in.clearance.value_or(authz::kInternal);

  std::optional<std::string> initial;
  std::string password;
  if (in.password) {
    password = *in.password;
    if (auto why = authn::check_password(auth_.policy().password, password, username, name,
                                         employee_no.value_or("")))
      throw Error(ErrorCode::weak_password, "body.password", *why);
  } else {
    do {
      password = crypto::random_token(12);
    } while (authn::check_password(auth_.policy().password, password, username, name, ""));
    initial = password;
  }
  const std::string hash = crypto::hash_password(password, auth_.policy().password_cost);
  const int64_t now = clock_.now_ms();
  User u = db_.write([&](db::Tx& tx) {
    check_clearance(tx, p.org_id, clearance);
    if (clearance != authz::kInternal) require(authz::may(p, perm::clearances_write));
    std::optional<int64_t> dept;
    if (in.department_id) dept = *in.department_id;
    authz::Resource target;
    if (dept) {
      auto d = load_department(tx, p.org_id, *dept);
      if (!d || !authz::may(p, perm::departments_read, dept_resource(*d)))
        throw Error(ErrorCode::validation_failed, "body.department_id", "no such department");
      target = dept_resource(*d);
    } else {
      target.department_path = "/";
    }
    require(authz::may(p, perm::users_write, target));
    std::optional<int64_t> manager;
    if (in.manager_id) manager = *in.manager_id;
    if (manager && !tx.one("SELECT 1 FROM users WHERE org_id = ? AND id = ?", {p.org_id, *manager}))
      throw Error(ErrorCode::validation_failed, "body.manager_id", "no such user");
    if (tx.one("SELECT 1 FROM users WHERE org_id = ? AND username = ?", {p.org_id, username}))
      throw Error(ErrorCode::conflict, "body.username", "taken");
    if (employee_no && tx.one("SELECT 1 FROM users WHERE org_id = ? AND employee_no = ?",
                              {p.org_id, *employee_no}))
      throw Error(ErrorCode::conflict, "body.employee_no", "taken");
    auto r = tx.one(
        "INSERT INTO users (org_id, username, employee_no, name, email, department_id, manager_id, "
        "clearance, status, password_hash, must_change_password, password_changed_at, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, 1, ?, ?, ?) RETURNING id",
        {p.org_id, username, db::optional(employee_no), name, db::optional(email),
         db::optional(dept), db::optional(manager), int64_t{clearance}, hash, now, now, now});
    const int64_t id = db::as_int(r->at(0));
    Changes ch;
    ch.add("username", std::string(), username);
    ch.add("name", std::string(), name);
    ch.add("department_id", std::optional<int64_t>(), dept);
    ch.add("clearance", 0, clearance);
    audit::record(tx, actor_of(p, c),
                  {.action = "org.user.create",
                   .object_type = "user",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return user_from(*load_user_row(tx, p.org_id, id));
  });
  return {u, initial};
}

User OrgService::get_user(const authz::Principal& p, const authn::Client& c, int64_t id) {
  std::optional<int64_t> via_grant;
  User u = db_.read_one([&](db::Tx& tx) {
    auto r = load_user_row(tx, p.org_id, id);
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    authz::Decision d = authz::decide(p, perm::users_read, user_resource(*r));
    if (!d.allowed) throw Error(ErrorCode::not_found, "path.id");
    via_grant = d.grant_id;
    return user_from(*r);
  });
  if (via_grant)
    db_.write([&](db::Tx& tx) {
      authz::GrantService::record_use(tx, actor_of(p, c), *via_grant, perm::users_read, "user", id,
                                      clock_.now_ms());
    });
  return u;
}

std::vector<OrgService::DirectoryEntry> OrgService::directory(const authz::Principal& p,
                                                              const std::string& q, int limit) {
  if (q.empty() || text::utf8_length(q) > 64)
    throw Error(ErrorCode::validation_failed, "query.q", "1 to 64 characters");
  return db_.read([&](db::Tx& tx) {
    std::vector<DirectoryEntry> out;
    const std::string like = db::like_contains(q);
    for (const auto& r :
         tx.query("SELECT u.id, u.name, u.username, u.department_id, COALESCE(d.name, '') FROM "
                  "users u LEFT JOIN departments d ON d.id = u.department_id WHERE u.org_id = ? "
                  "AND u.status = 'active' AND u.admin_role IS NULL AND (u.name LIKE ? ESCAPE "
                  "'\\' OR u.username LIKE ? ESCAPE '\\' OR u.employee_no LIKE ? ESCAPE '\\') "
                  "ORDER BY u.name, u.id LIMIT ?",
                  {p.org_id, like, like, like, int64_t{limit}})
             .rows)
      out.push_back({db::as_int(r[0]), db::as_text(r[1]), db::as_text(r[2]), db::as_opt_int(r[3]),
                     db::as_text(r[4])});
    return out;
  });
}

Page<User> OrgService::list_users(const authz::Principal& p, const ListQuery& q) {
  authz::Filter f = authz::visible(p, perm::users_read,
                                   {.department_id = "u.department_id",
                                    .department_path = "d.path",
                                    .owner_user_id = "u.id",
                                    .id = "u.id",
                                    .object_type = "user"});
  return db_.read([&](db::Tx& tx) {
    std::string where = "u.org_id = ? AND " + f.sql;
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    if (!q.q.empty()) {
      where +=
          " AND (u.name LIKE ? ESCAPE '\\' OR u.username LIKE ? ESCAPE '\\' OR u.employee_no "
          "LIKE ? ESCAPE '\\')";
      for (int i = 0; i < 3; ++i) params.emplace_back(db::like_contains(q.q));
    }
    if (q.department_id) {
      where += " AND u.department_id = ?";
      params.emplace_back(*q.department_id);
    }
    if (!q.status.empty()) {
      where += " AND u.status = ?";
      params.emplace_back(q.status);
    }
    const std::string from = " FROM users u LEFT JOIN departments d ON d.id = u.department_id";
    return paginate<User>(tx, "SELECT " + user_columns(tx.engine()) + from,
                          "SELECT COUNT(*)" + from, where, params, q, "u.id",
                          [&](const std::vector<db::Value>& r) { return user_from(r); });
  });
}

User OrgService::update_user(const authz::Principal& p, const authn::Client& c, int64_t id,
                             int64_t expected_version, const UserInput& in) {
  const int64_t now = clock_.now_ms();
  User result = db_.write([&](db::Tx& tx) {
    auto row = load_user_row(tx, p.org_id, id);
    if (!row || !authz::may(p, perm::users_read, user_resource(*row)))
      throw Error(ErrorCode::not_found, "path.id");
    User before = user_from(*row);
    if (before.version != expected_version)
      throw Error(ErrorCode::precondition_failed, "header.if-match");
    const bool profile_change =
        in.name || in.email || in.employee_no || in.department_id || in.manager_id;
    if (profile_change)
      require(authz::may(p, perm::users_write, user_resource(*row)) && p.user_id != id);
    User after = before;
    if (in.name) {
      check_text(*in.name, "body.name", 64, true);
      after.name = *in.name;
    }
    if (in.email) {
      if (*in.email) check_pattern(**in.email, "body.email", email_re(), kEmailRule);
      after.email = *in.email;
    }
    if (in.employee_no) {
      if (*in.employee_no)
        check_pattern(**in.employee_no, "body.employee_no", code_re(), kCodeRule);
      after.employee_no = *in.employee_no;
    }
    if (in.department_id) {
      if (*in.department_id != before.department_id && department_locked(before.status))
        throw Error(ErrorCode::conflict, "body.department_id", kDepartmentLockedRule);
      if (*in.department_id) {
        auto d = load_department(tx, p.org_id, **in.department_id);
        if (!d || !authz::may(p, perm::users_write, dept_resource(*d)))
          throw Error(ErrorCode::validation_failed, "body.department_id", "no such department");
      }
      after.department_id = *in.department_id;
    }
    if (in.manager_id) {
      if (*in.manager_id == std::optional<int64_t>(id))
        throw Error(ErrorCode::validation_failed, "body.manager_id", "not oneself");
      if (*in.manager_id &&
          !tx.one("SELECT 1 FROM users WHERE org_id = ? AND id = ?", {p.org_id, **in.manager_id}))
        throw Error(ErrorCode::validation_failed, "body.manager_id", "no such user");
      after.manager_id = *in.manager_id;
    }
    if (in.clearance) {
      check_clearance(tx, p.org_id, *in.clearance);
      // A clearance is the security administrator's to give, and never to oneself.
      require(authz::may(p, perm::clearances_write) && p.user_id != id);
      after.clearance = *in.clearance;
    }
    try {
      tx.exec(
          "UPDATE users SET name = ?, email = ?, employee_no = ?, department_id = ?, manager_id = "
          "?, clearance = ?, version = version + 1, updated_at = ? WHERE id = ?",
          {after.name, db::optional(after.email), db::optional(after.employee_no),
           db::optional(after.department_id), db::optional(after.manager_id),
           int64_t{after.clearance}, now, id});
    } catch (const db::DbError& e) {
      if (e.kind() == db::DbError::Kind::unique_violation)
        throw Error(ErrorCode::conflict, "body.employee_no", "taken");
      throw;
    }
    Changes ch;
    ch.add("name", before.name, after.name);
    // Personal fields enter the audit trail masked.
    auto masked = [this](const std::optional<std::string>& e) {
      return e ? std::optional<std::string>(masker_.email(*e)) : std::nullopt;
    };
    if (after.email != before.email) ch.add("email", masked(before.email), masked(after.email));
    ch.add("employee_no", before.employee_no, after.employee_no);
    ch.add("department_id", before.department_id, after.department_id);
    ch.add("manager_id", before.manager_id, after.manager_id);
    ch.add("clearance", before.clearance, after.clearance);
    audit::record(
        tx, actor_of(p, c),
        {.action = in.clearance && after.clearance != before.clearance ? "iam.clearance.change"
                                                                       : "org.user.update",
         .object_type = "user",
         .object_id = std::to_string(id),
         .changes = ch.str()},
        now);
    return user_from(*load_user_row(tx, p.org_id, id));
  });
  auth_.invalidate_sessions();
  return result;
}

User OrgService::set_user_roles(const authz::Principal& p, const authn::Client& c, int64_t user_id,
                                const std::vector<int64_t>& role_ids) {
  const int64_t now = clock_.now_ms();
  User result = db_.write([&](db::Tx& tx) {
    auto row = load_user_row(tx, p.org_id, user_id);
    if (!row || !authz::may(p, perm::users_read, user_resource(*row)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::user_roles_write));
    // Nobody grants or removes their own roles.
    if (p.user_id == user_id) throw Error(ErrorCode::forbidden, "path.id", "not one's own roles");
    User before = user_from(*row);
    std::string admin_role;
    for (int64_t rid : role_ids) {
      auto r = tx.one("SELECT code FROM roles WHERE org_id = ? AND id = ?", {p.org_id, rid});
      if (!r) throw Error(ErrorCode::validation_failed, "body.role_ids", "no such role");
      std::string kind = admin_role_of_code(db::as_text(r->at(0)));
      if (!kind.empty()) {
        if (!admin_role.empty() && admin_role != kind)
          throw Error(ErrorCode::separation_of_duties, "body.role_ids");
        admin_role = kind;
      }
    }
    tx.exec("DELETE FROM user_roles WHERE org_id = ? AND user_id = ?", {p.org_id, user_id});
    for (int64_t rid : role_ids)
      tx.exec(
          "INSERT INTO user_roles (org_id, user_id, role_id) VALUES (?, ?, ?) ON CONFLICT DO "
          "NOTHING",
          {p.org_id, user_id, rid});
    tx.exec(
        "UPDATE users SET admin_role = ?, version = version + 1, authz_version = authz_version + "
        "1, updated_at = ? WHERE id = ?",
        {admin_role.empty() ? db::null() : db::Value{admin_role}, now, user_id});
    User after = user_from(*load_user_row(tx, p.org_id, user_id));
    Changes ch;
    ch.add("role_ids", before.role_ids, after.role_ids);
    audit::record(tx, actor_of(p, c),
                  {.action = "iam.user_roles.set",
                   .object_type = "user",
                   .object_id = std::to_string(user_id),
                   .changes = ch.str()},
                  now);
    return after;
  });
  auth_.invalidate_sessions();
  return result;
}

std::vector<std::pair<std::string, std::string>> OrgService::unmask_user(
    const authz::Principal& p, const authn::Client& c, int64_t id,
    const std::vector<std::string>& fields, const std::string& reason) {
  if (fields.empty()) throw Error(ErrorCode::validation_failed, "body.fields", "name a field");
  for (const auto& f : fields)
    if (f != "email")
      throw Error(ErrorCode::validation_failed, "body.fields", "unknown field " + f);
  check_text(reason, "body.reason", 200, true);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto row = load_user_row(tx, p.org_id, id);
    const bool own = p.user_id == id;
    if (!row || (!own && !authz::may(p, perm::users_read, user_resource(*row))))
      throw Error(ErrorCode::not_found, "path.id");
    if (!own) require(authz::may(p, perm::users_unmask, user_resource(*row)));
    std::vector<std::pair<std::string, std::string>> out;
    json::array names;
    for (const auto& f : fields) {
      out.emplace_back(f, db::as_opt_text(row->at(6)).value_or(""));
      names.emplace_back(f);
    }
    audit::record(tx, actor_of(p, c),
                  {.action = "org.user.unmask",
                   .object_type = "user",
                   .object_id = std::to_string(id),
                   .changes = json::serialize(json::object{{"fields", names}}),
                   .reason = reason},
                  now);
    return out;
  });
}

// ---- posts -----------------------------------------------------------------------------------

namespace {

constexpr const char* kPostColumns =
    "id, code, name, department_id, approval_authority, version, created_at, updated_at";

Post post_from(const std::vector<db::Value>& r) {
  Post p;
  p.id = db::as_int(r[0]);
  p.code = db::as_text(r[1]);
  p.name = db::as_text(r[2]);
  p.department_id = db::as_opt_int(r[3]);
  p.approval_authority = db::as_int(r[4]) != 0;
  p.version = db::as_int(r[5]);
  p.created_at = db::as_int(r[6]);
  p.updated_at = db::as_int(r[7]);
  return p;
}

std::optional<Post> load_post(db::Tx& tx, int64_t org_id, int64_t id) {
  auto r = tx.one(std::string("SELECT ") + kPostColumns + " FROM posts WHERE org_id = ? AND id = ?",
                  {org_id, id});
  if (!r) return std::nullopt;
  return post_from(*r);
}

}  // namespace

Post OrgService::create_post(const authz::Principal& p, const authn::Client& c,
                             const PostInput& in) {
  require(authz::may(p, perm::posts_write));
  const std::string code = in.code.value_or(""), name = in.name.value_or("");
  check_text(code, "body.code", 64, true);
  check_pattern(code, "body.code", code_re(), kCodeRule);
  check_text(name, "body.name", 64, true);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    std::optional<int64_t> dept;
    if (in.department_id) dept = *in.department_id;
    if (dept && !load_department(tx, p.org_id, *dept))
      throw Error(ErrorCode::validation_failed, "body.department_id", "no such department");
    if (tx.one("SELECT 1 FROM posts WHERE org_id = ? AND code = ?", {p.org_id, code}))
      throw Error(ErrorCode::conflict, "body.code", "taken");
    auto r = tx.one(
        "INSERT INTO posts (org_id, code, name, department_id, approval_authority, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, code, name, db::optional(dept), int64_t{in.approval_authority.value_or(false)},
         now, now});
    const int64_t id = db::as_int(r->at(0));
    Changes ch;
    ch.add("code", std::string(), code);
    ch.add("name", std::string(), name);
    ch.add("department_id", std::optional<int64_t>(), dept);
    audit::record(tx, actor_of(p, c),
                  {.action = "org.post.create",
                   .object_type = "post",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return *load_post(tx, p.org_id, id);
  });
}

Post OrgService::get_post(const authz::Principal& p, int64_t id) {
  if (!authz::may(p, perm::posts_read)) throw Error(ErrorCode::not_found, "path.id");
  return db_.read([&](db::Tx& tx) {
    auto post = load_post(tx, p.org_id, id);
    if (!post) throw Error(ErrorCode::not_found, "path.id");
    return *post;
  });
}

std::vector<Post> OrgService::list_posts(const authz::Principal& p) {
  require(authz::may(p, perm::posts_read));
  return db_.read([&](db::Tx& tx) {
    std::vector<Post> out;
    for (const auto& r : tx.query(std::string("SELECT ") + kPostColumns +
                                      " FROM posts WHERE org_id = ? ORDER BY id",
                                  {p.org_id})
                             .rows)
      out.push_back(post_from(r));
    return out;
  });
}

Post OrgService::update_post(const authz::Principal& p, const authn::Client& c, int64_t id,
                             int64_t expected_version, const PostInput& in) {
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    if (!authz::may(p, perm::posts_read)) throw Error(ErrorCode::not_found, "path.id");
    auto before = load_post(tx, p.org_id, id);
    if (!before) throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::posts_write));
    if (before->version != expected_version)
      throw Error(ErrorCode::precondition_failed, "header.if-match");
    Post after = *before;
    if (in.name) {
      check_text(*in.name, "body.name", 64, true);
      after.name = *in.name;
    }
    if (in.code) {
      check_pattern(*in.code, "body.code", code_re(), kCodeRule);
      after.code = *in.code;
    }
    if (in.department_id) {
      if (*in.department_id && !load_department(tx, p.org_id, **in.department_id))
        throw Error(ErrorCode::validation_failed, "body.department_id", "no such department");
      after.department_id = *in.department_id;
    }
    if (in.approval_authority) after.approval_authority = *in.approval_authority;
    try {
      tx.exec(
          "UPDATE posts SET code = ?, name = ?, department_id = ?, approval_authority = ?, version "
          "= version + 1, updated_at = ? WHERE id = ?",
          {after.code, after.name, db::optional(after.department_id),
           int64_t{after.approval_authority}, now, id});
    } catch (const db::DbError& e) {
      if (e.kind() == db::DbError::Kind::unique_violation)
        throw Error(ErrorCode::conflict, "body.code", "taken");
      throw;
    }
    Changes ch;
    ch.add("code", before->code, after.code);
    ch.add("name", before->name, after.name);
    ch.add("department_id", before->department_id, after.department_id);
    ch.add("approval_authority", int64_t{before->approval_authority},
           int64_t{after.approval_authority});
    audit::record(tx, actor_of(p, c),
                  {.action = "org.post.update",
                   .object_type = "post",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return *load_post(tx, p.org_id, id);
  });
}

User OrgService::set_user_posts(const authz::Principal& p, const authn::Client& c, int64_t user_id,
                                const std::vector<int64_t>& post_ids) {
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto row = load_user_row(tx, p.org_id, user_id);
    if (!row || !authz::may(p, perm::users_read, user_resource(*row)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::users_write, user_resource(*row)));
    User before = user_from(*row);
    for (int64_t pid : post_ids)
      if (!load_post(tx, p.org_id, pid))
        throw Error(ErrorCode::validation_failed, "body.post_ids", "no such post");
    tx.exec("DELETE FROM user_posts WHERE org_id = ? AND user_id = ?", {p.org_id, user_id});
    for (int64_t pid : post_ids)
      tx.exec(
          "INSERT INTO user_posts (org_id, user_id, post_id) VALUES (?, ?, ?) ON CONFLICT DO "
          "NOTHING",
          {p.org_id, user_id, pid});
    tx.exec("UPDATE users SET version = version + 1, updated_at = ? WHERE id = ?", {now, user_id});
    User after = user_from(*load_user_row(tx, p.org_id, user_id));
    Changes ch;
    ch.add("post_ids", before.post_ids, after.post_ids);
    audit::record(tx, actor_of(p, c),
                  {.action = "org.user_posts.set",
                   .object_type = "user",
                   .object_id = std::to_string(user_id),
                   .changes = ch.str()},
                  now);
    return after;
  });
}

std::optional<int64_t> OrgService::department_head(db::Tx& tx, int64_t org_id,
                                                   int64_t department_id) {
  auto r = tx.one("SELECT head_user_id FROM departments WHERE org_id = ? AND id = ?",
                  {org_id, department_id});
  return r ? db::as_opt_int(r->at(0)) : std::nullopt;
}

std::optional<int64_t> OrgService::superior_of(db::Tx& tx, int64_t org_id, int64_t user_id) {
  auto u = tx.one("SELECT manager_id, department_id FROM users WHERE org_id = ? AND id = ?",
                  {org_id, user_id});
  if (!u) return std::nullopt;
  if (auto manager = db::as_opt_int(u->at(0))) return manager;
  // No manager: the head of the department, or when the user heads it, the head above.
  for (auto dept = db::as_opt_int(u->at(1)); dept;) {
    auto d = tx.one("SELECT head_user_id, parent_id FROM departments WHERE org_id = ? AND id = ?",
                    {org_id, *dept});
    if (!d) break;
    auto head = db::as_opt_int(d->at(0));
    if (head && *head != user_id) return head;
    dept = db::as_opt_int(d->at(1));
  }
  return std::nullopt;
}

std::vector<int64_t> OrgService::post_holders(db::Tx& tx, int64_t org_id,
                                              const std::string& post_code,
                                              std::optional<int64_t> department_id) {
  std::string sql =
      "SELECT u.id FROM users u JOIN user_posts up ON up.org_id = u.org_id AND up.user_id = u.id "
      "JOIN posts p ON p.id = up.post_id WHERE u.org_id = ? AND p.code = ? AND u.status = 'active'";
  std::vector<db::Value> params{org_id, post_code};
  if (department_id) {
    sql += " AND u.department_id = ?";
    params.emplace_back(*department_id);
  }
  sql += " ORDER BY u.id";
  std::vector<int64_t> out;
  for (const auto& r : tx.query(sql, params).rows) out.push_back(db::as_int(r[0]));
  return out;
}

// ---- roles -----------------------------------------------------------------------------------

namespace {

Role load_role(db::Tx& tx, int64_t org_id, const std::vector<db::Value>& r) {
  Role role;
  role.id = db::as_int(r[0]);
  role.code = db::as_text(r[1]);
  role.name = db::as_text(r[2]);
  role.scope = db::as_text(r[3]);
  role.builtin = db::as_int(r[4]) != 0;
  role.version = db::as_int(r[5]);
  for (const auto& p :
       tx.query("SELECT permission FROM role_permissions WHERE org_id = ? AND role_id = ? ORDER BY "
                "permission",
                {org_id, role.id})
           .rows)
    role.permissions.push_back(db::as_text(p[0]));
  for (const auto& d :
       tx.query(
             "SELECT department_id FROM role_departments WHERE org_id = ? AND role_id = ? ORDER BY "
             "department_id",
             {org_id, role.id})
           .rows)
    role.departments.push_back(db::as_int(d[0]));
  return role;
}

constexpr const char* kRoleColumns = "id, code, name, scope, builtin, version";

}  // namespace

Role OrgService::create_role(const authz::Principal& p, const authn::Client& c,
                             const RoleInput& in) {
  require(authz::may(p, perm::roles_write));
  const std::string code = in.code.value_or(""), name = in.name.value_or(""),
                    scope = in.scope.value_or("own");
  check_text(code, "body.code", 64, true);
  check_pattern(code, "body.code", code_re(), kCodeRule);
  check_text(name, "body.name", 64, true);
  if (!authz::parse_scope(scope))
    throw Error(ErrorCode::validation_failed, "body.scope",
                "one of all, department_tree, department, custom, own");
  const auto permissions = in.permissions.value_or(std::vector<std::string>{});
  for (const auto& perm_s : permissions)
    check_pattern(perm_s, "body.permissions", permission_re(), "module:resource:action");
  const auto departments = in.departments.value_or(std::vector<int64_t>{});
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    if (tx.one("SELECT 1 FROM roles WHERE org_id = ? AND code = ?", {p.org_id, code}))
      throw Error(ErrorCode::conflict, "body.code", "taken");
    auto r = tx.one(
        "INSERT INTO roles (org_id, code, name, scope, builtin, created_at, updated_at) VALUES "
        "(?, ?, ?, ?, 0, ?, ?) RETURNING id",
        {p.org_id, code, name, scope, now, now});
    const int64_t id = db::as_int(r->at(0));
    for (const auto& perm_s : permissions)
      tx.exec(
          "INSERT INTO role_permissions (org_id, role_id, permission) VALUES (?, ?, ?) ON "
          "CONFLICT DO NOTHING",
          {p.org_id, id, perm_s});
    for (int64_t d : departments) {
      if (!load_department(tx, p.org_id, d))
        throw Error(ErrorCode::validation_failed, "body.departments", "no such department");
      tx.exec(
          "INSERT INTO role_departments (org_id, role_id, department_id) VALUES (?, ?, ?) ON "
          "CONFLICT DO NOTHING",
          {p.org_id, id, d});
    }
    json::object changes{{"code", code}, {"scope", scope}};
    json::array perms;
    for (const auto& s : permissions) perms.emplace_back(s);
    changes["permissions"] = perms;
    audit::record(tx, actor_of(p, c),
                  {.action = "iam.role.create",
                   .object_type = "role",
                   .object_id = std::to_string(id),
                   .changes = json::serialize(changes)},
                  now);
    auto row = tx.one(std::string("SELECT ") + kRoleColumns + " FROM roles WHERE id = ?", {id});
    return load_role(tx, p.org_id, *row);
  });
}

std::vector<Role> OrgService::list_roles(const authz::Principal& p) {
  require(authz::may(p, perm::roles_read));
  return db_.read([&](db::Tx& tx) {
    std::vector<Role> out;
    for (const auto& r : tx.query(std::string("SELECT ") + kRoleColumns +
                                      " FROM roles WHERE org_id = ? ORDER BY id",
                                  {p.org_id})
                             .rows)
      out.push_back(load_role(tx, p.org_id, r));
    return out;
  });
}

Role OrgService::get_role(const authz::Principal& p, int64_t id) {
  if (!authz::may(p, perm::roles_read)) throw Error(ErrorCode::not_found, "path.id");
  return db_.read([&](db::Tx& tx) {
    auto r =
        tx.one(std::string("SELECT ") + kRoleColumns + " FROM roles WHERE org_id = ? AND id = ?",
               {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    return load_role(tx, p.org_id, *r);
  });
}

// ---- admin init ------------------------------------------------------------------------------

std::vector<OrgService::InitialAccount> OrgService::init_admins() {
  struct Spec {
    const char* username;
    const char* name;
    const char* role_code;
    const char* role;
  };
  const Spec specs[] = {{"sysadmin", "系统管理员", "system_admin", "system"},
                        {"secadmin", "安全管理员", "security_admin", "security"},
                        {"auditadmin", "审计管理员", "audit_admin", "audit"}};
  std::vector<InitialAccount> out;
  std::vector<std::string> hashes;
  for (const auto& s : specs) {
    std::string pw;
    do {
      pw = crypto::random_token(15);
    } while (authn::check_password(auth_.policy().password, pw, s.username, s.name, ""));
    out.push_back({s.username, s.role, pw});
    hashes.push_back(crypto::hash_password(pw, auth_.policy().password_cost));
  }
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    if (tx.one("SELECT 1 FROM users WHERE org_id = 1 AND admin_role IS NOT NULL"))
      throw Error(ErrorCode::conflict, "", "the administrators exist already");
    for (size_t i = 0; i < std::size(specs); ++i) {
      const Spec& s = specs[i];
      if (tx.one("SELECT 1 FROM users WHERE org_id = 1 AND username = ?",
                 {std::string(s.username)}))
        throw Error(ErrorCode::conflict, "", std::string("user exists: ") + s.username);
      auto r = tx.one(
          "INSERT INTO users (org_id, username, name, clearance, status, admin_role, "
          "password_hash, must_change_password, password_changed_at, created_at, updated_at) "
          "VALUES (1, ?, ?, 3, 'active', ?, ?, 1, ?, ?, ?) RETURNING id",
          {std::string(s.username), std::string(s.name), std::string(s.role), hashes[i], now, now,
           now});
      const int64_t id = db::as_int(r->at(0));
      tx.exec(
          "INSERT INTO user_roles (org_id, user_id, role_id) SELECT 1, ?, id FROM roles WHERE "
          "org_id = 1 AND code = ?",
          {id, std::string(s.role_code)});
      audit::record(tx, audit::Actor{.org_id = 1},
                    {.action = "admin.init",
                     .object_type = "user",
                     .object_id = std::to_string(id),
                     .changes = std::string(R"({"admin_role":")") + s.role + "\"}"},
                    now);
    }
  });
  return out;
}

}  // namespace custos::org
