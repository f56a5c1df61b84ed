#include "platform/authz/classification.h"

#include <boost/json.hpp>
#include <regex>
#include <set>

#include "platform/errors/error.h"
#include "platform/text/utf8.h"

namespace custos::authz {
namespace json = boost::json;

std::vector<Level> default_levels() {
  return {{0, "public", "公开", "Public", false, false},
          {1, "internal", "内部", "Internal", false, false},
          {2, "sensitive", "敏感", "Sensitive", true, false},
          {3, "confidential", "机密", "Confidential", true, true}};
}

std::vector<Level> load_levels(db::Tx& tx, int64_t org_id) {
  auto rows = tx.query(
      "SELECT level, code, name_zh, name_en, audit_reads, reason_required FROM "
      "classification_levels WHERE org_id = ? ORDER BY level",
      {org_id});
  if (rows.empty()) return default_levels();
  std::vector<Level> out;
  for (const auto& r : rows.rows)
    out.push_back({static_cast<int>(db::as_int(r[0])), db::as_text(r[1]), db::as_text(r[2]),
                   db::as_text(r[3]), db::as_int(r[4]) != 0, db::as_int(r[5]) != 0});
  return out;
}

bool audits_reads(db::Tx& tx, int64_t org_id, int level) {
  // Levels count up from 0 without gaps: the level itself, or the highest below a level above
  // them all, as level_of picks it.
  auto r = tx.one(
      "SELECT audit_reads FROM classification_levels WHERE org_id = ? AND level <= ? ORDER BY "
      "level DESC LIMIT 1",
      {org_id, int64_t{level}});
  if (r) return db::as_int(r->at(0)) != 0;
  return level_of(load_levels(tx, org_id), level).audit_reads;
}

std::string audits_reads_sql(std::string_view org_column, std::string_view level_column) {
  std::string sql = "(SELECT cl.audit_reads FROM classification_levels cl WHERE cl.org_id = ";
  sql += org_column;
  sql += " AND cl.level <= ";
  sql += level_column;
  return sql + " ORDER BY cl.level DESC LIMIT 1)";
}

namespace {
// The top level read once per transaction: an import classifies each of its rows. The change of
// the levels (ClassificationService::replace, below) forgets it.
constexpr char kTopKey = 0;
struct TopLevel {
  int64_t org = 0;
  int level = 0;
};
}  // namespace

int top_level(db::Tx& tx, int64_t org_id) {
  auto& slot = tx.local(&kTopKey);
  if (slot && static_cast<TopLevel*>(slot.get())->org == org_id)
    return static_cast<TopLevel*>(slot.get())->level;
  const int level = load_levels(tx, org_id).back().level;
  slot = std::make_shared<TopLevel>(TopLevel{org_id, level});
  return level;
}

const Level& level_of(const std::vector<Level>& levels, int level) {
  for (const auto& l : levels)
    if (l.level == level) return l;
  return levels.back();
}

void check_levels(const std::vector<Level>& levels) {
  if (levels.size() < static_cast<size_t>(kMinLevels) ||
      levels.size() > static_cast<size_t>(kMaxLevels))
    throw Error(
        ErrorCode::validation_failed, "body.levels",
        "between " + std::to_string(kMinLevels) + " and " + std::to_string(kMaxLevels) + " levels");
  static const std::regex code_re("[a-z][a-z0-9_]{0,31}");
  std::set<std::string> codes;
  for (size_t i = 0; i < levels.size(); ++i) {
    const Level& l = levels[i];
    const std::string at = "body.levels[" + std::to_string(i) + "]";
    if (l.level != static_cast<int>(i))
      throw Error(ErrorCode::validation_failed, at + ".level", "levels count up from 0");
    if (!std::regex_match(l.code, code_re))
      throw Error(ErrorCode::validation_failed, at + ".code",
                  "a lower-case letter, then letters, digits or '_' (at most 32)");
    if (!codes.insert(l.code).second)
      throw Error(ErrorCode::validation_failed, at + ".code", "used twice");
    for (auto [name, field] :
         {std::pair{&l.name_zh, ".name_zh"}, std::pair{&l.name_en, ".name_en"}})
      if (name->empty() || text::utf8_length(*name) > 32)
        throw Error(ErrorCode::validation_failed, at + field, "1 to 32 characters");
  }
  // A more sensitive level never asks for less than a lower one: reads audited from some level
  // up, reasons required from some level up.
  for (size_t i = 1; i < levels.size(); ++i) {
    const std::string at = "body.levels[" + std::to_string(i) + "]";
    if (levels[i - 1].audit_reads && !levels[i].audit_reads)
      throw Error(ErrorCode::validation_failed, at + ".audit_reads",
                  "a level above one whose reads are audited must be audited too");
    if (levels[i - 1].reason_required && !levels[i].reason_required)
      throw Error(ErrorCode::validation_failed, at + ".reason_required",
                  "a level above one that needs a reason must need one too");
  }
}

namespace {

json::array levels_json(const std::vector<Level>& levels) {
  json::array a;
  for (const auto& l : levels)
    a.push_back({{"level", l.level},
                 {"code", l.code},
                 {"name_zh", l.name_zh},
                 {"name_en", l.name_en},
                 {"audit_reads", l.audit_reads},
                 {"reason_required", l.reason_required}});
  return a;
}

}  // namespace

ClassificationService::ClassificationService(db::Db& db, const Clock& clock)
    : db_(db), clock_(clock) {
  usages_.emplace_back("users.clearance",
                       "SELECT COALESCE(MAX(clearance), 0) FROM users WHERE org_id = ?");
}

void ClassificationService::register_usage(std::string what, std::string sql) {
  std::lock_guard lock(mu_);
  usages_.emplace_back(std::move(what), std::move(sql));
}

std::vector<Level> ClassificationService::list(const Principal& p) {
  return db_.read([&](db::Tx& tx) { return load_levels(tx, p.org_id); });
}

std::vector<Level> ClassificationService::replace(const Principal& p, const audit::Actor& actor,
                                                  const std::vector<Level>& levels) {
  if (!may(p, perm::classifications_write)) throw Error(ErrorCode::forbidden);
  check_levels(levels);
  std::vector<std::pair<std::string, std::string>> usages;
  {
    std::lock_guard lock(mu_);
    usages = usages_;
  }
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const auto before = load_levels(tx, p.org_id);
    const int top = levels.back().level;
    for (const auto& [what, sql] : usages) {
      auto r = tx.one(sql, {p.org_id});
      if (r && !db::is_null(r->at(0)) && db::as_int(r->at(0)) > top) {
        const int64_t level = db::as_int(r->at(0));
        throw Error(ErrorCode::conflict, "body.levels",
                    "level " + std::to_string(level) + " is still used by " + what)
            .with_members(json::serialize(
                json::object{{"in_use", json::object{{"level", level}, {"used_by", what}}}}));
      }
    }
    tx.local(&kTopKey).reset();
    tx.exec("DELETE FROM classification_levels WHERE org_id = ?", {p.org_id});
    for (const auto& l : levels)
      tx.exec(
          "INSERT INTO classification_levels (org_id, level, code, name_zh, name_en, audit_reads, "
          "reason_required, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          {p.org_id, int64_t{l.level}, l.code, l.name_zh, l.name_en, int64_t{l.audit_reads},
           int64_t{l.reason_required}, now});
    json::object changes{
        {"levels", {{"before", levels_json(before)}, {"after", levels_json(levels)}}}};
    audit::record(tx, actor,
                  {.action = "iam.classification.change",
                   .object_type = "classification_levels",
                   .object_id = std::to_string(p.org_id),
                   .changes = json::serialize(changes)},
                  now);
    return levels;
  });
}

}  // namespace custos::authz
