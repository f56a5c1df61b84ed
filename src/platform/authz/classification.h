// Sensitivity classes (SI-1; MLPS 访问控制 g: security labels). Every record carries a level and
// every user a clearance; the decision point admits a record only when clearance ≥ level. The
// levels are data of each organisation: by default four, 0 公开 Public, 1 内部 Internal, 2 敏感
// Sensitive, 3 机密 Confidential (OA's 普通级 / 保密级 map onto 内部 / 机密), configurable by the
// security administrator from 2 to 8 contiguous levels. Each level says whether every read of
// a record at that level is audited and whether unmasking its personal fields needs a reason.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "platform/audit/audit.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/storage/db.h"

namespace custos::authz {

struct Level {
  int level = 0;     // 0 = least sensitive; contiguous from 0
  std::string code;  // [a-z][a-z0-9_]{0,31}, unique
  std::string name_zh, name_en;
  bool audit_reads = false;      // every read of a record at this level is an audit record
  bool reason_required = false;  // unmasking personal fields at this level needs a reason
};

inline constexpr int kMinLevels = 2, kMaxLevels = 8;

// 公开 / 内部 / 敏感 / 机密: reads of 敏感 and 机密 audited, unmasking 机密 needs a reason.
std::vector<Level> default_levels();
// The organisation's levels (the defaults when it never configured any), ordered by level.
std::vector<Level> load_levels(db::Tx& tx, int64_t org_id);
// The highest level of the organisation (a clearance or classification above it is invalid).
int top_level(db::Tx& tx, int64_t org_id);
// The level's entry, or the top level's when `level` is above it (never null for a valid list).
const Level& level_of(const std::vector<Level>& levels, int level);
// Whether reading a record of this level is audited: level_of(load_levels(...), level).audit_reads
// in one single-row query (it runs on every read of a record).
bool audits_reads(db::Tx& tx, int64_t org_id, int level);
// The same as a scalar subquery over a record's columns (e.g. "r.org_id", "r.classification"), so
// the record and whether its read is audited come in one statement. NULL when the organisation
// keeps no level at or below it: then audits_reads() decides (from the defaults).
std::string audits_reads_sql(std::string_view org_column, std::string_view level_column);

// Checks a proposed list; throws Error(validation_failed) naming the entry ("body.levels[2].code").
void check_levels(const std::vector<Level>& levels);

class ClassificationService {
 public:
  ClassificationService(db::Db& db, const Clock& clock);

  // Where levels are used, so that no level still in use is removed: `sql` answers the highest
  // level used in one organisation (one ? for org_id), e.g. "SELECT MAX(clearance) FROM users
  // WHERE org_id = ?". Registered by modules at start-up.
  void register_usage(std::string what, std::string sql);

  std::vector<Level> list(const Principal& p);
  // Replaces the organisation's levels (iam:classifications:write). Throws forbidden,
  // validation_failed, conflict (a removed level is still in use: the detail names where).
  // Audited as iam.classification.change with the list before and after.
  std::vector<Level> replace(const Principal& p, const audit::Actor& actor,
                             const std::vector<Level>& levels);

 private:
  db::Db& db_;
  const Clock& clock_;
  std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> usages_;
};

namespace perm {
inline constexpr const char* classifications_write = "iam:classifications:write";
}

}  // namespace custos::authz
