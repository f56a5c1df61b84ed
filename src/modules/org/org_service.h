// Organisation: the department tree (each with a head and a parent, so "the head of department
// X" and "the head's superior" resolve), posts (岗位), users and roles. Requirements SI-3, OA-1,
// OA-3, OA-4, IT-2 rest on knowing who acts for which department with what clearance.
// Separation of duties (三权分立) is enforced here: the system administrator manages users and
// departments, the security administrator roles and clearances, and nobody changes their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "platform/authn/auth_service.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/privacy/mask.h"
#include "platform/storage/db.h"

namespace custos::org {

struct Department {
  int64_t id = 0;
  std::string code, name, kind, path;
  std::optional<int64_t> parent_id, head_user_id;
  int64_t version = 0, created_at = 0, updated_at = 0;
};

struct DepartmentInput {
  std::optional<std::string> code, name, kind;
  std::optional<std::optional<int64_t>> parent_id, head_user_id;  // outer: present; inner: null
};

struct User {
  int64_t id = 0;
  std::string username, name, status, admin_role;
  std::optional<std::string> employee_no, email;
  std::optional<int64_t> department_id, manager_id;
  int clearance = 1;
  bool must_change_password = false, totp_enabled = false;
  std::vector<int64_t> role_ids;
  std::vector<int64_t> post_ids;
  int64_t version = 0, created_at = 0, updated_at = 0;
};

struct UserInput {
  std::optional<std::string> username, name, password;
  std::optional<std::optional<std::string>> employee_no, email;
  std::optional<std::optional<int64_t>> department_id, manager_id;
  std::optional<int> clearance;
};

struct Post {
  int64_t id = 0;
  std::string code, name;
  std::optional<int64_t> department_id;
  bool approval_authority = false;  // may receive approvals (OA-3)
  int64_t version = 0, created_at = 0, updated_at = 0;
};

struct PostInput {
  std::optional<std::string> code, name;
  std::optional<std::optional<int64_t>> department_id;
  std::optional<bool> approval_authority;
};

struct Role {
  int64_t id = 0;
  std::string code, name, scope;
  bool builtin = false;
  std::vector<std::string> permissions;
  std::vector<int64_t> departments;
  int64_t version = 0;
};

struct RoleInput {
  std::optional<std::string> code, name, scope;
  std::optional<std::vector<std::string>> permissions;
  std::optional<std::vector<int64_t>> departments;
};

template <class T>
struct Page {
  std::vector<T> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
};

struct ListQuery {
  int limit = 50;
  std::optional<int64_t> after_id;
  std::string q;  // substring of name, code/username or employee number
  std::optional<int64_t> department_id;
  std::string status;
};

class OrgService {
 public:
  OrgService(db::Db& db, const Clock& clock, authn::AuthService& auth,
             const privacy::Masker& masker);

  const privacy::Masker& masker() const { return masker_; }

  Department create_department(const authz::Principal& p, const authn::Client& c,
                               const DepartmentInput& in);
  // Not visible or not there: not_found either way (no one learns another department's ids).
  Department get_department(const authz::Principal& p, int64_t id);
  Page<Department> list_departments(const authz::Principal& p, const ListQuery& q);
  Department update_department(const authz::Principal& p, const authn::Client& c, int64_t id,
                               int64_t expected_version, const DepartmentInput& in);

  // Returns the user and, when no password was given, a one-time initial password.
  std::pair<User, std::optional<std::string>> create_user(const authz::Principal& p,
                                                          const authn::Client& c,
                                                          const UserInput& in);
  // Read through an explicit grant (not a role) is recorded as a use of the grant.
  User get_user(const authz::Principal& p, const authn::Client& c, int64_t id);
  Page<User> list_users(const authz::Principal& p, const ListQuery& q);
  // The staff directory (通讯录) behind user pickers: active colleagues whose name, username or
  // employee number contains q, with their department's name; any signed-in user may look,
  // and it shows nothing else of them. At most `limit`, by name.
  struct DirectoryEntry {
    int64_t id = 0;
    std::string name, username;
    std::optional<int64_t> department_id;
    std::string department_name;
  };
  std::vector<DirectoryEntry> directory(const authz::Principal& p, const std::string& q, int limit);
  User update_user(const authz::Principal& p, const authn::Client& c, int64_t id,
                   int64_t expected_version, const UserInput& in);
  User set_user_roles(const authz::Principal& p, const authn::Client& c, int64_t user_id,
                      const std::vector<int64_t>& role_ids);

  // Personal fields in clear (SI-3): needs org:users:unmask on the user (or is one's own
  // record), a reason, and is recorded. Fields: "email".
  std::vector<std::pair<std::string, std::string>> unmask_user(
      const authz::Principal& p, const authn::Client& c, int64_t id,
      const std::vector<std::string>& fields, const std::string& reason);

  // Posts (岗位): a catalogue of the organisation's positions, e.g. 行政人事专员, 总裁办主任.
  Post create_post(const authz::Principal& p, const authn::Client& c, const PostInput& in);
  Post get_post(const authz::Principal& p, int64_t id);
  std::vector<Post> list_posts(const authz::Principal& p);
  Post update_post(const authz::Principal& p, const authn::Client& c, int64_t id,
                   int64_t expected_version, const PostInput& in);
  User set_user_posts(const authz::Principal& p, const authn::Client& c, int64_t user_id,
                      const std::vector<int64_t>& post_ids);

  // Who is who, for approval routing: the head of a department; a user's superior (their
  // manager, else the head of their department, else the head of the parent department when
  // they head their own); the users holding a post (in a department, when given).
  static std::optional<int64_t> department_head(db::Tx& tx, int64_t org_id, int64_t department_id);
  static std::optional<int64_t> superior_of(db::Tx& tx, int64_t org_id, int64_t user_id);
  static std::vector<int64_t> post_holders(db::Tx& tx, int64_t org_id, const std::string& post_code,
                                           std::optional<int64_t> department_id);

  Role create_role(const authz::Principal& p, const authn::Client& c, const RoleInput& in);
  std::vector<Role> list_roles(const authz::Principal& p);
  Role get_role(const authz::Principal& p, int64_t id);

  // `custos admin init`: the three separated administrators with one-time passwords. Throws
  // conflict when they exist already.
  struct InitialAccount {
    std::string username, role, password;
  };
  std::vector<InitialAccount> init_admins();

 private:
  db::Db& db_;
  const Clock& clock_;
  authn::AuthService& auth_;
  const privacy::Masker& masker_;
};

// Permission strings this module checks.
namespace perm {
inline constexpr const char* departments_read = "org:departments:read";
inline constexpr const char* departments_write = "org:departments:write";
inline constexpr const char* users_read = "org:users:read";
inline constexpr const char* users_write = "org:users:write";
inline constexpr const char* users_unmask = "org:users:unmask";
inline constexpr const char* posts_read = "org:posts:read";
inline constexpr const char* posts_write = "org:posts:write";
inline constexpr const char* roles_read = "iam:roles:read";
inline constexpr const char* roles_write = "iam:roles:write";
inline constexpr const char* user_roles_write = "iam:user_roles:write";
inline constexpr const char* clearances_write = "iam:clearances:write";
inline constexpr const char* sessions_read = "iam:sessions:read";
inline constexpr const char* sessions_revoke = "iam:sessions:revoke";
}  // namespace perm

}  // namespace custos::org
