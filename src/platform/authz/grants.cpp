#include "platform/authz/grants.h"

#include <algorithm>
#include <boost/json.hpp>

#include "platform/errors/error.h"
#include "platform/text/utf8.h"

namespace custos::authz {
namespace json = boost::json;

namespace {

constexpr const char* kColumns =
    "id, user_id, permission, object_type, object_id, reason, source, granted_by, created_at, "
    "expires_at, revoked_at, revoked_by, COALESCE(revoke_reason, '')";

GrantRecord from_row(const std::vector<db::Value>& r) {
  GrantRecord g;
  g.id = db::as_int(r[0]);
  g.user_id = db::as_int(r[1]);
  g.permission = db::as_text(r[2]);
  g.object_type = db::as_text(r[3]);
  g.object_id = db::as_int(r[4]);
  g.reason = db::as_text(r[5]);
  g.source = db::as_text(r[6]);
  g.granted_by = db::as_opt_int(r[7]);
  g.created_at = db::as_int(r[8]);
  g.expires_at = db::as_int(r[9]);
  g.revoked_at = db::as_opt_int(r[10]);
  g.revoked_by = db::as_opt_int(r[11]);
  g.revoke_reason = db::as_text(r[12]);
  return g;
}

std::optional<GrantRecord> load(db::Tx& tx, int64_t org_id, int64_t id) {
  auto r =
      tx.one(std::string("SELECT ") + kColumns + " FROM access_grants WHERE org_id = ? AND id = ?",
             {org_id, id});
  if (!r) return std::nullopt;
  return from_row(*r);
}

// A grant changes what the grantee's sessions resolve to: cached grants are per authz_version.
void bump(db::Tx& tx, int64_t org_id, int64_t user_id) {
  tx.exec("UPDATE users SET authz_version = authz_version + 1 WHERE org_id = ? AND id = ?",
          {org_id, user_id});
}

std::string grant_changes(const GrantRecord& g) {
  json::object o;
  auto set = [&](const char* k, json::value v) { o[k] = {{"before", nullptr}, {"after", v}}; };
  set("user_id", g.user_id);
  set("permission", json::string(g.permission));
  set("object_type", json::string(g.object_type));
  set("object_id", g.object_id);
  set("expires_at", g.expires_at);
  set("source", json::string(g.source));
  return json::serialize(o);
}

}  // namespace

GrantService::GrantService(db::Db& db, const Clock& clock, int max_days,
                           std::function<void()> changed)
    : db_(db), clock_(clock), max_days_(max_days), changed_(std::move(changed)) {}

void GrantService::register_type(std::string object_type, std::vector<std::string> permissions,
                                 Exists exists) {
  std::lock_guard lock(mu_);
  types_[std::move(object_type)] = {std::move(permissions), std::move(exists)};
}

void GrantService::check(db::Tx& tx, int64_t org_id, const GrantInput& in, int64_t now) const {
  Type type;
  {
    std::lock_guard lock(mu_);
    auto it = types_.find(in.object_type);
    if (it == types_.end())
      throw Error(ErrorCode::validation_failed, "body.object_type", "not a grantable type");
    type = it->second;
  }
  bool listed = false;
  for (const auto& p : type.permissions) listed = listed || p == in.permission;
  if (!listed)
    throw Error(ErrorCode::validation_failed, "body.permission",
                "not grantable on " + in.object_type);
  if (in.reason.empty() || text::utf8_length(in.reason) > 500)
    throw Error(ErrorCode::validation_failed, "body.reason", "1 to 500 characters");
  if (in.expires_at <= now)
    throw Error(ErrorCode::validation_failed, "body.expires_at", "in the future");
  if (in.expires_at > now + int64_t{max_days_} * 86'400'000)
    throw Error(ErrorCode::validation_failed, "body.expires_at",
                "at most " + std::to_string(max_days_) + " days from now");
  auto u = tx.one("SELECT status FROM users WHERE org_id = ? AND id = ?", {org_id, in.user_id});
  if (!u) throw Error(ErrorCode::validation_failed, "body.user_id", "no such user");
  if (db::as_text(u->at(0)) != "active")
    throw Error(ErrorCode::validation_failed, "body.user_id", "not an active user");
  if (!type.exists(tx, org_id, in.object_id))
    throw Error(ErrorCode::validation_failed, "body.object_id", "no such record");
}

GrantRecord GrantService::create_in(db::Tx& tx, const audit::Actor& actor, const GrantInput& in,
                                    int64_t now) {
  check(tx, actor.org_id, in, now);
  auto r = tx.one(
      "INSERT INTO access_grants (org_id, user_id, permission, object_type, object_id, reason, "
      "source, granted_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "RETURNING id",
      {actor.org_id, in.user_id, in.permission, in.object_type, in.object_id, in.reason, in.source,
       db::optional(actor.user_id), now, in.expires_at});
  bump(tx, actor.org_id, in.user_id);
  GrantRecord g = *load(tx, actor.org_id, db::as_int(r->at(0)));
  audit::record(tx, actor,
                {.action = "iam.grant.create",
                 .object_type = "access_grant",
                 .object_id = std::to_string(g.id),
                 .changes = grant_changes(g),
                 .reason = in.reason},
                now);
  return g;
}

GrantRecord GrantService::create(const Principal& p, const audit::Actor& actor,
                                 const GrantInput& in) {
  if (!may(p, perm::grants_write)) throw Error(ErrorCode::forbidden);
  if (in.user_id == p.user_id)
    throw Error(ErrorCode::forbidden, "body.user_id", "nobody grants themselves access");
  const int64_t now = clock_.now_ms();
  GrantRecord g = db_.write([&](db::Tx& tx) { return create_in(tx, actor, in, now); });
  if (changed_) changed_();
  return g;
}

GrantRecord GrantService::revoke(const Principal& p, const audit::Actor& actor, int64_t id,
                                 const std::string& reason) {
  if (!may(p, perm::grants_read)) throw Error(ErrorCode::not_found, "path.id");
  if (!may(p, perm::grants_write)) throw Error(ErrorCode::forbidden);
  if (reason.empty() || text::utf8_length(reason) > 500)
    throw Error(ErrorCode::validation_failed, "body.reason", "1 to 500 characters");
  const int64_t now = clock_.now_ms();
  GrantRecord g = db_.write([&](db::Tx& tx) {
    auto g = load(tx, p.org_id, id);
    if (!g) throw Error(ErrorCode::not_found, "path.id");
    if (g->revoked_at) throw Error(ErrorCode::conflict, "path.id", "already revoked");
    tx.exec(
        "UPDATE access_grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE "
        "org_id = ? AND id = ?",
        {now, p.user_id, reason, p.org_id, id});
    bump(tx, p.org_id, g->user_id);
    audit::record(tx, actor,
                  {.action = "iam.grant.revoke",
                   .object_type = "access_grant",
                   .object_id = std::to_string(id),
                   .reason = reason},
                  now);
    return *load(tx, p.org_id, id);
  });
  if (changed_) changed_();
  return g;
}

GrantRecord GrantService::get(const Principal& p, int64_t id) {
  if (!may(p, perm::grants_read)) throw Error(ErrorCode::not_found, "path.id");
  auto g = db_.read([&](db::Tx& tx) { return load(tx, p.org_id, id); });
  if (!g) throw Error(ErrorCode::not_found, "path.id");
  return *g;
}

std::vector<GrantService::GrantableType> GrantService::types(const Principal& p) const {
  if (!may(p, perm::grants_read)) throw Error(ErrorCode::forbidden);
  std::vector<GrantableType> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [type, t] : types_) out.push_back({type, t.permissions});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.object_type < b.object_type; });
  return out;
}

GrantPage GrantService::list(const Principal& p, const GrantQuery& q) {
  if (!may(p, perm::grants_read)) throw Error(ErrorCode::forbidden);
  const int64_t now = clock_.now_ms();
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE org_id = ?";
    std::vector<db::Value> params{p.org_id};
    if (q.user_id) {
      where += " AND user_id = ?";
      params.emplace_back(*q.user_id);
    }
    if (!q.object_type.empty()) {
      where += " AND object_type = ?";
      params.emplace_back(q.object_type);
    }
    if (q.object_id) {
      where += " AND object_id = ?";
      params.emplace_back(*q.object_id);
    }
    if (q.active_only) {
      where += " AND revoked_at IS NULL AND expires_at > ?";
      params.emplace_back(now);
    }
    GrantPage page;
    page.total = db::as_int(
        tx.query("SELECT COUNT(*) FROM access_grants" + where, std::span<const db::Value>(params))
            .rows.at(0)
            .at(0));
    if (q.after_id) {
      where += " AND id > ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows = tx.query(std::string("SELECT ") + kColumns + " FROM access_grants" + where +
                             " ORDER BY id LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      page.items.push_back(from_row(rows[i]));
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

std::vector<ObjectGrant> GrantService::load_for(db::Tx& tx, int64_t org_id, int64_t user_id) {
  std::vector<ObjectGrant> out;
  for (const auto& r :
       tx.query("SELECT id, permission, object_type, object_id, expires_at FROM access_grants "
                "WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL",
                {org_id, user_id})
           .rows)
    out.push_back({db::as_int(r[0]), db::as_text(r[1]), db::as_text(r[2]), db::as_int(r[3]),
                   db::as_int(r[4])});
  return out;
}

void GrantService::record_use(db::Tx& tx, const audit::Actor& actor, int64_t grant_id,
                              const std::string& permission, const std::string& object_type,
                              int64_t object_id, int64_t now) {
  audit::record(tx, actor,
                {.action = "iam.grant.use",
                 .object_type = object_type,
                 .object_id = std::to_string(object_id),
                 .changes = json::serialize(json::object{{"permission", permission},
                                                         {"grant_id", std::to_string(grant_id)}}),
                 .reason = "access grant " + std::to_string(grant_id)},
                now);
}

}  // namespace custos::authz
