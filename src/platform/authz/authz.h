// The one authorization decision point (requirement SI-3; MLPS 访问控制). "May user U do action
// A on resource R" = a role grants a permission matching A, whose data scope covers R's
// department (or R is U's own), and U's clearance is at least R's classification — or U holds an
// explicit, time-boxed grant of A on R itself (SI-4 sharing; see grants.h). List queries ask
// `visible()` for the same rule as SQL, so rows a user may not see are never loaded or counted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/storage/db.h"

namespace custos::authz {

// Data scope of a role, widest last.
enum class Scope { own = 0, department = 1, department_tree = 2, custom = 3, all = 4 };
std::optional<Scope> parse_scope(std::string_view s);
std::string_view scope_name(Scope s);

// Sensitivity classes (SI-1) are levels 0…N-1 of the organisation (classification.h); the
// default four are 0 公开 Public, 1 内部 Internal, 2 敏感 Sensitive, 3 机密 Confidential.
constexpr int kPublic = 0, kInternal = 1, kSensitive = 2, kConfidential = 3;

struct Grant {
  std::string permission;  // module:resource:action, '*' matches one whole segment
  Scope scope = Scope::own;
  std::vector<int64_t> departments;  // for Scope::custom (their subtrees are included)
  std::vector<std::string> department_paths;
};

// An explicit grant of one permission on one record, until it expires or is revoked. A
// principal carries only the grants that were in force when its session was loaded.
struct ObjectGrant {
  int64_t id = 0;
  std::string permission;   // module:resource:action ('*' segments allowed)
  std::string object_type;  // e.g. "customer"
  int64_t object_id = 0;
  int64_t expires_at = 0;
};

struct Principal {
  int64_t org_id = 1;
  int64_t user_id = 0;
  int64_t session_id = 0;
  std::string kind;  // "session" or "api_token"
  std::string username;
  std::string name;
  std::string admin_role;  // "", "system", "security", "audit"
  std::optional<int64_t> department_id;
  std::string department_path;  // "/1/4/": the department and its ancestors
  int clearance = kInternal;
  std::vector<Grant> grants;
  std::vector<ObjectGrant> object_grants;
  std::vector<std::string> token_scopes;  // api tokens: permissions the token may use
  bool must_change_password = false;
  bool mfa_enrollment_required = false;
  int64_t reauth_at = 0;
  int64_t expires_at = 0;
  std::string csrf_hash;  // sessions: hash of the CSRF token issued at login
};

// What the decision needs to know about a record.
struct Resource {
  std::optional<int64_t> department_id;
  std::string department_path;  // "/1/4/9/"
  std::optional<int64_t> owner_user_id;
  int classification = kInternal;
  // The record itself, for explicit grants; empty type: no grant can apply.
  std::string object_type;
  int64_t object_id = 0;
};

bool permission_matches(std::string_view pattern, std::string_view permission);
// Holds the permission at any scope (for creating, listing, and actions without a record).
bool may(const Principal& p, std::string_view permission);
// The full rule against one record.
bool may(const Principal& p, std::string_view permission, const Resource& r);
// The same, saying whether only an explicit grant allowed it (its use is then audited).
struct Decision {
  bool allowed = false;
  std::optional<int64_t> grant_id;  // set when the grant, not a role, allowed it
};
Decision decide(const Principal& p, std::string_view permission, const Resource& r);
// Holds the permission through a role or through a grant on some record of `object_type`
// (list endpoints: a user with grants only sees the granted rows).
bool may_list(const Principal& p, std::string_view permission, std::string_view object_type);

// Column names of the table being filtered.
struct Columns {
  std::string department_id;    // e.g. "c.department_id"
  std::string department_path;  // e.g. "d.path" (joined), empty when the table has no tree
  std::string owner_user_id;    // e.g. "c.owner_user_id", empty when none
  std::string classification;   // e.g. "c.classification", empty when unclassified
  // For explicit grants: the record's id column and its object type ("c.id", "customer").
  std::string id;
  std::string object_type;
};

struct Filter {
  std::string sql;  // a boolean SQL expression with ? placeholders; "1=0" denies all
  std::vector<db::Value> params;
};
Filter visible(const Principal& p, std::string_view permission, const Columns& cols);

}  // namespace custos::authz
