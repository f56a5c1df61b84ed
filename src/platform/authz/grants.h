// Explicit, time-boxed grants (SI-3 "or an explicit grant"; SI-4 sharing): one user may do one
// action on one record until the grant expires or is revoked, whatever their roles, scope and
// clearance. The security administrator grants directly, with a reason; the sharing approval
// (SI-4) will create grants through the same service. Grants never carry administrative powers:
// `iam:*` and `audit:*` permissions cannot be granted, nor a permission with '*'. Every grant,
// revocation and use is an audit record.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/storage/db.h"

namespace custos::authz {

struct GrantRecord {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string permission, object_type;
  int64_t object_id = 0;
  std::string reason, source;  // source: "direct" or the request that led to it ("sharing:12")
  std::optional<int64_t> granted_by;
  int64_t created_at = 0, expires_at = 0;
  std::optional<int64_t> revoked_at, revoked_by;
  std::string revoke_reason;
};

struct GrantInput {
  int64_t user_id = 0;
  std::string permission, object_type;
  int64_t object_id = 0;
  int64_t expires_at = 0;
  std::string reason;
  std::string source = "direct";
};

struct GrantQuery {
  int limit = 50;
  std::optional<int64_t> after_id;
  std::optional<int64_t> user_id;
  std::string object_type;
  std::optional<int64_t> object_id;
  bool active_only = false;
};

struct GrantPage {
  std::vector<GrantRecord> items;
  std::optional<std::string> next_cursor;
  int64_t total = 0;
};

class GrantService {
 public:
  // `changed` runs after a grant is created or revoked (the session cache forgets principals).
  GrantService(db::Db& db, const Clock& clock, int max_days, std::function<void()> changed);

  // A grantable object type: `exists` answers whether the record is there in the organisation;
  // `permissions` lists what may be granted on it. Registered by modules at start-up.
  using Exists = std::function<bool(db::Tx& tx, int64_t org_id, int64_t id)>;
  void register_type(std::string object_type, std::vector<std::string> permissions, Exists exists);
  // What may be granted: each registered type (ascending) with its permissions. iam:grants:read.
  struct GrantableType {
    std::string object_type;
    std::vector<std::string> permissions;
  };
  std::vector<GrantableType> types(const Principal& p) const;

  // iam:grants:write. Throws validation_failed (field named), forbidden, not_found.
  GrantRecord create(const Principal& p, const audit::Actor& actor, const GrantInput& in);
  // The same inside a caller's transaction (a sharing approval's final step), without the
  // permission check: the caller's approval is the authority. Audited.
  GrantRecord create_in(db::Tx& tx, const audit::Actor& actor, const GrantInput& in, int64_t now);
  GrantRecord revoke(const Principal& p, const audit::Actor& actor, int64_t id,
                     const std::string& reason);
  GrantRecord get(const Principal& p, int64_t id);
  GrantPage list(const Principal& p, const GrantQuery& q);

  // The grants in force for a user (not revoked; expiry is checked by the caller at `now`).
  static std::vector<ObjectGrant> load_for(db::Tx& tx, int64_t org_id, int64_t user_id);

  // Records one use of a grant (a read or action a role would not have allowed).
  static void record_use(db::Tx& tx, const audit::Actor& actor, int64_t grant_id,
                         const std::string& permission, const std::string& object_type,
                         int64_t object_id, int64_t now);

 private:
  struct Type {
    std::vector<std::string> permissions;
    Exists exists;
  };
  void check(db::Tx& tx, int64_t org_id, const GrantInput& in, int64_t now) const;

  db::Db& db_;
  const Clock& clock_;
  int max_days_;
  std::function<void()> changed_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Type> types_;
};

namespace perm {
inline constexpr const char* grants_read = "iam:grants:read";
inline constexpr const char* grants_write = "iam:grants:write";
}  // namespace perm

}  // namespace custos::authz
