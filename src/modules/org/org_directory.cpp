#include "modules/org/org_directory.h"

#include "modules/org/org_service.h"
#include "platform/authn/auth_service.h"

namespace custos::org {

bool OrgDirectory::active_user(db::Tx& tx, int64_t org, int64_t user) {
  return tx
      .one("SELECT 1 FROM users WHERE org_id = ? AND id = ? AND status = 'active'", {org, user})
      .has_value();
}

std::optional<int64_t> OrgDirectory::department_of(db::Tx& tx, int64_t org, int64_t user) {
  auto r = tx.one("SELECT department_id FROM users WHERE org_id = ? AND id = ?", {org, user});
  return r ? db::as_opt_int(r->at(0)) : std::nullopt;
}

bool OrgDirectory::department_exists(db::Tx& tx, int64_t org, int64_t department) {
  return tx.one("SELECT 1 FROM departments WHERE org_id = ? AND id = ?", {org, department})
      .has_value();
}

std::optional<int64_t> OrgDirectory::department_by_code(db::Tx& tx, int64_t org,
                                                        const std::string& code) {
  auto r = tx.one("SELECT id FROM departments WHERE org_id = ? AND code = ?", {org, code});
  return r ? std::optional<int64_t>(db::as_int(r->at(0))) : std::nullopt;
}

std::optional<int64_t> OrgDirectory::department_head(db::Tx& tx, int64_t org, int64_t department) {
  return OrgService::department_head(tx, org, department);
}

std::optional<int64_t> OrgDirectory::head_of_kind(db::Tx& tx, int64_t org,
                                                  const std::string& kind) {
  auto r = tx.one(
      "SELECT head_user_id FROM departments WHERE org_id = ? AND kind = ? AND head_user_id IS NOT "
      "NULL ORDER BY id LIMIT 1",
      {org, kind});
  return r ? db::as_opt_int(r->at(0)) : std::nullopt;
}

std::optional<int64_t> OrgDirectory::superior_of(db::Tx& tx, int64_t org, int64_t user) {
  return OrgService::superior_of(tx, org, user);
}

std::vector<int64_t> OrgDirectory::post_holders(db::Tx& tx, int64_t org, const std::string& post,
                                                std::optional<int64_t> department) {
  return OrgService::post_holders(tx, org, post, department);
}

std::vector<int64_t> OrgDirectory::role_holders(db::Tx& tx, int64_t org, const std::string& role) {
  std::vector<int64_t> out;
  for (const auto& r :
       tx.query("SELECT u.id FROM users u JOIN user_roles ur ON ur.org_id = u.org_id AND "
                "ur.user_id = u.id JOIN roles r ON r.id = ur.role_id WHERE u.org_id = ? AND "
                "r.code = ? AND u.status = 'active' ORDER BY u.id",
                {org, role})
           .rows)
    out.push_back(db::as_int(r[0]));
  return out;
}

bool OrgDirectory::role_exists(db::Tx& tx, int64_t org, const std::string& role) {
  return tx.one("SELECT 1 FROM roles WHERE org_id = ? AND code = ?", {org, role}).has_value();
}

bool OrgDirectory::post_exists(db::Tx& tx, int64_t org, const std::string& post) {
  return tx.one("SELECT 1 FROM posts WHERE org_id = ? AND code = ?", {org, post}).has_value();
}

bool OrgDirectory::has_approval_post(db::Tx& tx, int64_t org, int64_t user) {
  return tx
      .one(
          "SELECT 1 FROM user_posts up JOIN posts p ON p.id = up.post_id WHERE up.org_id = "
          "? AND up.user_id = ? AND p.approval_authority = 1",
          {org, user})
      .has_value();
}

bool OrgDirectory::has_permission(db::Tx& tx, int64_t org, int64_t user,
                                  const std::string& permission) {
  for (const auto& g : authn::AuthService::load_grants(tx, org, user))
    if (authz::permission_matches(g.permission, permission)) return true;
  return false;
}

std::string OrgDirectory::display_name(db::Tx& tx, int64_t org, int64_t user) {
  auto r = tx.one("SELECT name FROM users WHERE org_id = ? AND id = ?", {org, user});
  return r ? db::as_text(r->at(0)) : std::string();
}

std::optional<std::string> OrgDirectory::email_of(db::Tx& tx, int64_t org, int64_t user) {
  auto r = tx.one("SELECT email FROM users WHERE org_id = ? AND id = ?", {org, user});
  return r ? db::as_opt_text(r->at(0)) : std::nullopt;
}

}  // namespace custos::org
