#include <algorithm>
#include <cstdio>
#include <regex>

#include "modules/registry/internal.h"
#include "platform/log/log.h"
#include "platform/search/search_sql.h"
#include "platform/search/tokens.h"

namespace custos::registry {
namespace json = boost::json;
using namespace detail;

namespace {

constexpr const char* kColumns =
    "r.id, r.number, r.customer_id, COALESCE(c.name, ''), r.type_id, t.code, t.name, r.priority, "
    "r.channel, r.title, r.description, r.status, r.department_id, r.assignee_id, "
    "COALESCE(a.name, ''), r.owner_user_id, r.classification, r.response_due_at, "
    "r.resolve_due_at, r.responded_at, r.resolved_at, r.closed_at, r.escalated_at, "
    "r.response_breached, r.resolve_breached, r.external_key, r.created_at, r.updated_at, "
    "r.version, COALESCE(d.path, ''), c.external_key";
constexpr const char* kTables =
    "service_requests r JOIN request_types t ON t.id = r.type_id LEFT JOIN customers c ON c.id = "
    "r.customer_id LEFT JOIN users a ON a.id = r.assignee_id LEFT JOIN departments d ON d.id = "
    "r.department_id";
const std::string kFrom = std::string(" FROM ") + kTables;

const std::vector<std::string> kChannels{"phone", "walk_in", "web", "wechat", "email"};

authz::Resource request_resource(const std::vector<db::Value>& r) {
  return resource("service_request", db::as_int(r[0]), db::as_opt_int(r[12]), db::as_text(r[29]),
                  db::as_opt_int(r[15]), static_cast<int>(db::as_int(r[16])));
}

std::optional<std::vector<db::Value>> load_row(db::Tx& tx, int64_t org, int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + kFrom + " WHERE r.org_id = ? AND r.id = ?";
  return tx.one(sql, {org, id});
}

ServiceRequest from_row(const std::vector<db::Value>& r, const privacy::Masker& m) {
  ServiceRequest s;
  s.id = db::as_int(r[0]);
  s.number = db::as_text(r[1]);
  s.customer_id = db::as_opt_int(r[2]);
  s.customer_name = db::as_text(r[3]).empty() ? "" : m.name(db::as_text(r[3]));
  s.type_id = db::as_int(r[4]);
  s.type_code = db::as_text(r[5]);
  s.type_name = db::as_text(r[6]);
  s.priority = db::as_text(r[7]);
  s.channel = db::as_text(r[8]);
  s.title = db::as_text(r[9]);
  s.description = db::as_text(r[10]);
  s.status = db::as_text(r[11]);
  s.department_id = db::as_opt_int(r[12]);
  s.assignee_id = db::as_opt_int(r[13]);
  s.assignee_name = db::as_text(r[14]);
  s.owner_user_id = db::as_opt_int(r[15]);
  s.classification = static_cast<int>(db::as_int(r[16]));
  s.response_due_at = db::as_opt_int(r[17]);
  s.resolve_due_at = db::as_opt_int(r[18]);
  s.responded_at = db::as_opt_int(r[19]);
  s.resolved_at = db::as_opt_int(r[20]);
  s.closed_at = db::as_opt_int(r[21]);
  s.escalated_at = db::as_opt_int(r[22]);
  s.response_breached = db::as_int(r[23]) != 0;
  s.resolve_breached = db::as_int(r[24]) != 0;
  s.external_key = db::as_opt_text(r[25]);
  s.created_at = db::as_int(r[26]);
  s.updated_at = db::as_int(r[27]);
  s.version = db::as_int(r[28]);
  s.customer_external_key = db::as_opt_text(r[30]);
  return s;
}

std::string search_text(const ServiceRequest& s) {
  return s.number + " " + s.title + " " + s.description;
}

// A use that names a purpose is blocked when every consent recorded for it was withdrawn.
void check_purpose(db::Tx& tx, int64_t org, int64_t customer, const std::string& purpose) {
  auto r = tx.one(
      "SELECT COUNT(*), COALESCE(SUM(CASE WHEN withdrawn_at IS NULL THEN 1 ELSE 0 END), 0) FROM "
      "customer_consents WHERE org_id = ? AND customer_id = ? AND purpose = ?",
      {org, customer, purpose});
  if (db::as_int(r->at(0)) > 0 && db::as_int(r->at(1)) == 0)
    throw Error(ErrorCode::consent_withdrawn, "body.customer_id",
                "the customer withdrew consent for " + purpose);
}

std::optional<std::pair<int64_t, int64_t>> sla(db::Tx& tx, int64_t org, int64_t type,
                                               const std::string& priority) {
  auto r = tx.one(
      "SELECT response_minutes, resolve_minutes FROM sla_targets WHERE org_id = ? AND type_id = ? "
      "AND priority = ?",
      {org, type, priority});
  if (!r) return std::nullopt;
  return std::pair<int64_t, int64_t>{db::as_int(r->at(0)), db::as_int(r->at(1))};
}

}  // namespace

// ---- configuration ----------------------------------------------------------------------------

std::vector<RequestType> Registry::request_types(const authz::Principal& p) {
  return db_.read([&](db::Tx& tx) {
    std::vector<RequestType> out;
    for (const auto& r : tx.query("SELECT id, code, name, default_classification FROM "
                                  "request_types WHERE org_id = ? ORDER BY id",
                                  {p.org_id})
                             .rows)
      out.push_back({db::as_int(r[0]), db::as_text(r[1]), db::as_text(r[2]),
                     static_cast<int>(db::as_int(r[3]))});
    return out;
  });
}

RequestType Registry::save_request_type(const authz::Principal& p, const audit::Actor& a,
                                        const RequestType& t) {
  require(authz::may(p, perm::config_write));
  static const std::regex code_re("[a-z][a-z0-9_]{0,31}");
  if (!std::regex_match(t.code, code_re))
    throw Error(ErrorCode::validation_failed, "body.code", "lower-case letters, digits and '_'");
  check_text(t.name, "body.name", 64, true);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const int top = authz::top_level(tx, p.org_id);
    if (t.default_classification < 0 || t.default_classification > top)
      throw Error(ErrorCode::validation_failed, "body.default_classification", "a level");
    auto existing =
        tx.one("SELECT id FROM request_types WHERE org_id = ? AND code = ?", {p.org_id, t.code});
    int64_t id = 0;
    if (existing) {
      id = db::as_int(existing->at(0));
      tx.exec(
          "UPDATE request_types SET name = ?, default_classification = ?, updated_at = ? WHERE "
          "id = ?",
          {t.name, int64_t{t.default_classification}, now, id});
    } else {
      id =
          db::as_int(tx.one("INSERT INTO request_types (org_id, code, name, "
                            "default_classification, created_at, updated_at) VALUES (?, ?, ?, ?, "
                            "?, ?) RETURNING id",
                            {p.org_id, t.code, t.name, int64_t{t.default_classification}, now, now})
                         ->at(0));
    }
    audit::Changes ch;
    ch.set("code", t.code);
    ch.set("name", t.name);
    ch.set("default_classification", t.default_classification);
    audit::record(tx, a,
                  {.action = "registry.config.request_type",
                   .object_type = "request_type",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
    return RequestType{id, t.code, t.name, t.default_classification};
  });
}

std::vector<Priority> Registry::priorities(const authz::Principal& p) {
  return db_.read([&](db::Tx& tx) {
    std::vector<Priority> out;
    for (const auto& r : tx.query("SELECT code, name, rank FROM request_priorities WHERE org_id = "
                                  "? ORDER BY rank",
                                  {p.org_id})
                             .rows)
      out.push_back({db::as_text(r[0]), db::as_text(r[1]), static_cast<int>(db::as_int(r[2]))});
    return out;
  });
}

std::vector<SlaTarget> Registry::sla_targets(const authz::Principal& p) {
  return db_.read([&](db::Tx& tx) {
    std::vector<SlaTarget> out;
    for (const auto& r : tx.query("SELECT type_id, priority, response_minutes, resolve_minutes "
                                  "FROM sla_targets WHERE org_id = ? ORDER BY type_id, priority",
                                  {p.org_id})
                             .rows)
      out.push_back({db::as_int(r[0]), db::as_text(r[1]), static_cast<int>(db::as_int(r[2])),
                     static_cast<int>(db::as_int(r[3]))});
    return out;
  });
}

SlaTarget Registry::save_sla_target(const authz::Principal& p, const audit::Actor& a,
                                    const SlaTarget& t) {
  require(authz::may(p, perm::config_write));
  if (t.response_minutes < 1 || t.response_minutes > 525'600)
    throw Error(ErrorCode::validation_failed, "body.response_minutes", "1 to 525600");
  if (t.resolve_minutes < t.response_minutes || t.resolve_minutes > 525'600)
    throw Error(ErrorCode::validation_failed, "body.resolve_minutes",
                "at least the response time, at most 525600");
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    if (!tx.one("SELECT 1 FROM request_types WHERE org_id = ? AND id = ?", {p.org_id, t.type_id}))
      throw Error(ErrorCode::validation_failed, "body.type_id", "no such type");
    if (!tx.one("SELECT 1 FROM request_priorities WHERE org_id = ? AND code = ?",
                {p.org_id, t.priority}))
      throw Error(ErrorCode::validation_failed, "body.priority", "no such priority");
    tx.exec("DELETE FROM sla_targets WHERE org_id = ? AND type_id = ? AND priority = ?",
            {p.org_id, t.type_id, t.priority});
    tx.exec(
        "INSERT INTO sla_targets (org_id, type_id, priority, response_minutes, "
        "resolve_minutes) VALUES (?, ?, ?, ?, ?)",
        {p.org_id, t.type_id, t.priority, int64_t{t.response_minutes}, int64_t{t.resolve_minutes}});
    audit::Changes ch;
    ch.set("type_id", t.type_id);
    ch.set("priority", t.priority);
    ch.set("response_minutes", t.response_minutes);
    ch.set("resolve_minutes", t.resolve_minutes);
    audit::record(tx, a,
                  {.action = "registry.config.sla",
                   .object_type = "sla_target",
                   .object_id = std::to_string(t.type_id) + ":" + t.priority,
                   .changes = ch.str()},
                  now);
    return t;
  });
}

// ---- requests ---------------------------------------------------------------------------------

int64_t Registry::insert_request(db::Tx& tx, const authz::Principal& p, const audit::Actor& a,
                                 const RequestInput& in, int64_t now, Apply mode) {
  const std::string title = in.title.value_or("");
  check_text(title, "body.title", 200, true);
  const std::string description = in.description.value_or("");
  check_text(description, "body.description", 4000, false);
  const std::string channel = in.channel.value_or("phone");
  if (std::find(kChannels.begin(), kChannels.end(), channel) == kChannels.end())
    throw Error(ErrorCode::validation_failed, "body.channel",
                "one of phone, walk_in, web, wechat, email");
  const std::string type_code = in.type.value_or("");
  check_text(type_code, "body.type", 32, true);
  const std::string priority = in.priority.value_or("normal");
  if (in.external_key) check_text(*in.external_key, "body.external_key", 64, true);
  const auto dept = in.department_id ? *in.department_id : p.department_id;
  const auto customer = in.customer_id ? *in.customer_id : std::nullopt;
  check_department(tx, p, perm::requests_write, dept, "body.department_id");
  auto type =
      tx.one("SELECT id, default_classification FROM request_types WHERE org_id = ? AND code = ?",
             {p.org_id, type_code});
  if (!type) throw Error(ErrorCode::validation_failed, "body.type", "no such request type");
  if (!tx.one("SELECT 1 FROM request_priorities WHERE org_id = ? AND code = ?",
              {p.org_id, priority}))
    throw Error(ErrorCode::validation_failed, "body.priority", "no such priority");
  const int64_t type_id = db::as_int(type->at(0));
  const int classification = in.classification.value_or(static_cast<int>(db::as_int(type->at(1))));
  check_classification(tx, p, classification, "body.classification");
  if (in.classification && *in.classification != db::as_int(type->at(1)))
    require(authz::may(p, perm::classify));
  if (customer) {
    auto c = tx.one(
        "SELECT c.department_id, COALESCE(d.path, ''), c.owner_user_id, c.classification, "
        "c.status FROM customers c LEFT JOIN departments d ON d.id = c.department_id WHERE "
        "c.org_id = ? AND c.id = ?",
        {p.org_id, *customer});
    if (!c ||
        !authz::may(p, perm::customers_read,
                    resource("customer", *customer, db::as_opt_int(c->at(0)), db::as_text(c->at(1)),
                             db::as_opt_int(c->at(2)), static_cast<int>(db::as_int(c->at(3))))))
      throw Error(ErrorCode::validation_failed, "body.customer_id", "no such customer");
    if (db::as_text(c->at(4)) != "active")
      throw Error(ErrorCode::conflict, "body.customer_id", "the customer is not active");
    check_purpose(tx, p.org_id, *customer, "service");
  }
  if (in.external_key && tx.one("SELECT 1 FROM service_requests WHERE org_id = ? AND "
                                "external_key = ?",
                                {p.org_id, *in.external_key}))
    throw Error(ErrorCode::conflict, "body.external_key", "taken");
  if (mode == Apply::check) return 0;
  const auto due = sla(tx, p.org_id, type_id, priority);
  // The row whole, in one statement: its number comes from the id it is given.
  const int64_t id = db::next_id(tx, "service_requests");
  char number[32];
  std::snprintf(number, sizeof number, "SR%08lld", static_cast<long long>(id));
  search::insert(tx, "service_requests", id,
                 "org_id, id, number, customer_id, type_id, priority, channel, title, description, "
                 "status, department_id, owner_user_id, classification, response_due_at, "
                 "resolve_due_at, external_key, created_at, updated_at",
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, ?, ?, ?",
                 {p.org_id, id, std::string(number), db::optional(customer), type_id, priority,
                  channel, title, description, db::optional(dept), p.user_id,
                  int64_t{classification}, due ? db::Value{now + due->first * 60'000} : db::null(),
                  due ? db::Value{now + due->second * 60'000} : db::null(),
                  db::optional(in.external_key), now, now},
                 std::string(number) + " " + title + " " + description);
  audit::Changes ch;
  ch.set("number", std::string(number));
  ch.set("type", type_code);
  ch.set("priority", priority);
  ch.set("channel", channel);
  ch.set("customer_id", customer);
  ch.set("department_id", dept);
  ch.set("classification", classification);
  audit::record(tx, a,
                {.action = "registry.request.create",
                 .object_type = "service_request",
                 .object_id = std::to_string(id),
                 .changes = ch.str()},
                now);
  return id;
}

ServiceRequest Registry::create_request(const authz::Principal& p, const audit::Actor& a,
                                        const RequestInput& in) {
  const int64_t now = clock_.now_ms();
  const int64_t id =
      db_.write([&](db::Tx& tx) { return insert_request(tx, p, a, in, now, Apply::write); });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id), masker_); });
}

ServiceRequest Registry::get_request(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                     DeferredAudit* deferred) {
  // The record and whether reading it is audited, in one statement (the hot read).
  static const std::string sql = std::string("SELECT ") + kColumns + ", " +
                                 authz::audits_reads_sql("r.org_id", "r.classification") + kFrom +
                                 " WHERE r.org_id = ? AND r.id = ?";
  std::optional<int64_t> via_grant;
  db::Value audits;
  ServiceRequest s = db_.read_one([&](db::Tx& tx) {
    auto r = tx.one(sql, {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    authz::Decision d = authz::decide(p, perm::requests_read, request_resource(*r));
    // The assignee sees what is assigned to them (with the permission at some scope).
    if (!d.allowed && db::as_opt_int(r->at(13)) == p.user_id &&
        authz::may(p, perm::requests_read) && p.clearance >= db::as_int(r->at(16)))
      d.allowed = true;
    if (!d.allowed) throw Error(ErrorCode::not_found, "path.id");
    via_grant = d.grant_id;
    audits = r->back();
    return from_row(*r, masker_);
  });
  if (via_grant || read_is_audited(db_, p.org_id, s.classification, audits))
    audit_read_by_id(a, via_grant, perm::requests_read, "registry.request.read", "service_request",
                     id, s.classification, deferred);
  return s;
}

Page<ServiceRequest> Registry::list_requests(const authz::Principal& p, const RequestQuery& q) {
  authz::Filter f = authz::visible(p, perm::requests_read,
                                   {.department_id = "r.department_id",
                                    .department_path = "d.path",
                                    .owner_user_id = "r.owner_user_id",
                                    .classification = "r.classification",
                                    .id = "r.id",
                                    .object_type = "service_request"});
  return db_.read([&](db::Tx& tx) {
    std::string scope = f.sql;
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    if (authz::may(p, perm::requests_read)) {
      scope = "(" + scope + " OR (r.assignee_id = ? AND r.classification <= ?))";
      params.emplace_back(p.user_id);
      params.emplace_back(int64_t{p.clearance});
    }
    std::string where = " WHERE r.org_id = ? AND " + scope;
    std::string from = kFrom, id = "r.id";
    if (!q.q.empty()) {
      const auto tokens = search::query_tokens(q.q);
      if (tokens.empty()) throw Error(ErrorCode::validation_failed, "query.q", "nothing to search");
      auto m = search::match(tx.engine(), "service_requests", "r.id", "r.search_tokens", tokens);
      from = " FROM " + m.from + kTables;
      id = m.id;
      where += " AND " + m.sql;
      params.insert(params.end(), m.params.begin(), m.params.end());
    }
    if (!q.status.empty()) {
      where += " AND r.status IN (";
      for (size_t i = 0; i < q.status.size(); ++i) {
        where += i ? ", ?" : "?";
        params.emplace_back(q.status[i]);
      }
      where += ")";
    }
    auto eq = [&](const std::string& v, const char* col) {
      if (v.empty()) return;
      where += std::string(" AND ") + col + " = ?";
      params.emplace_back(v);
    };
    if (!q.type.empty()) {
      // By the type's id: a condition on r alone lets the planner walk r's (org, status, id)
      // index in id order and stop after a page, where a condition on the joined t.code made
      // PostgreSQL join and sort every request of the status first. No such type: nothing.
      auto t =
          tx.one("SELECT id FROM request_types WHERE org_id = ? AND code = ?", {p.org_id, q.type});
      where += " AND r.type_id = ?";
      params.emplace_back(t ? db::as_int(t->at(0)) : int64_t{-1});
    }
    eq(q.priority, "r.priority");
    eq(q.channel, "r.channel");
    auto eq_id = [&](const std::optional<int64_t>& v, const char* col) {
      if (!v) return;
      where += std::string(" AND ") + col + " = ?";
      params.emplace_back(*v);
    };
    eq_id(q.department_id, "r.department_id");
    eq_id(q.assignee_id, "r.assignee_id");
    eq_id(q.customer_id, "r.customer_id");
    if (q.breached)
      where += *q.breached ? " AND (r.response_breached = 1 OR r.resolve_breached = 1)"
                           : " AND r.response_breached = 0 AND r.resolve_breached = 0";
    if (q.classification) {
      where += " AND r.classification = ?";
      params.emplace_back(int64_t{*q.classification});
    }
    if (q.due_before) {
      where += " AND r.resolve_due_at < ?";
      params.emplace_back(*q.due_before);
    }
    if (q.created_from) {
      where += " AND r.created_at >= ?";
      params.emplace_back(*q.created_from);
    }
    if (q.created_to) {
      where += " AND r.created_at < ?";
      params.emplace_back(*q.created_to);
    }
    Page<ServiceRequest> page;
    if (q.count_total) {
      const auto n = db::bounded_count(tx, from + where, params, q.count_limit);
      page.total = n.n;
      page.total_exact = n.exact;
    }
    // Keyset: the cursor is the last row's sort key and id.
    std::string order;
    const bool due = q.sort == "due_asc";
    if (q.sort == "created_asc") {
      order = " ORDER BY " + id + " ASC";
      if (!q.cursor.empty()) {
        where += " AND " + id + " > ?";
        params.emplace_back(std::stoll(q.cursor));
      }
    } else if (due) {
      // Requests without a due time come last.
      order = " ORDER BY COALESCE(r.resolve_due_at, 9223372036854775807) ASC, r.id ASC";
      if (!q.cursor.empty()) {
        const auto colon = q.cursor.find(':');
        const int64_t at = std::stoll(q.cursor.substr(0, colon));
        const int64_t after = std::stoll(q.cursor.substr(colon + 1));
        where +=
            " AND (COALESCE(r.resolve_due_at, 9223372036854775807) > ? OR "
            "(COALESCE(r.resolve_due_at, 9223372036854775807) = ? AND r.id > ?))";
        params.emplace_back(at);
        params.emplace_back(at);
        params.emplace_back(after);
      }
    } else {
      order = " ORDER BY " + id + " DESC";
      if (!q.cursor.empty()) {
        where += " AND " + id + " < ?";
        params.emplace_back(std::stoll(q.cursor));
      }
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows = tx.query(std::string("SELECT ") + kColumns + from + where + order + " LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      page.items.push_back(from_row(rows[i], masker_));
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty()) {
      const auto& last = page.items.back();
      page.next_cursor = due ? std::to_string(last.resolve_due_at.value_or(INT64_MAX)) + ":" +
                                   std::to_string(last.id)
                             : std::to_string(last.id);
    }
    return page;
  });
}

namespace {

// Loads a request the caller may see (the decision point, or its assignee): else not_found.
std::vector<db::Value> visible_row(db::Tx& tx, const authz::Principal& p, int64_t id) {
  auto r = load_row(tx, p.org_id, id);
  if (!r) throw Error(ErrorCode::not_found, "path.id");
  const bool assignee =
      db::as_opt_int(r->at(13)) == p.user_id && p.clearance >= db::as_int(r->at(16));
  if (!authz::may(p, perm::requests_read, request_resource(*r)) &&
      !(assignee && authz::may(p, perm::requests_read)))
    throw Error(ErrorCode::not_found, "path.id");
  return *r;
}

// Loads the request for a change: visible (else not_found) and writable (else forbidden).
std::vector<db::Value> writable(db::Tx& tx, const authz::Principal& p, int64_t id) {
  auto r = visible_row(tx, p, id);
  const auto res = request_resource(r);
  const bool assignee = db::as_opt_int(r.at(13)) == p.user_id;
  if (!authz::may(p, perm::requests_write, res) &&
      !(assignee && authz::may(p, perm::requests_write)))
    throw Error(ErrorCode::forbidden);
  return r;
}

}  // namespace

std::vector<std::string> Registry::change_request(db::Tx& tx, const authz::Principal& p,
                                                  const audit::Actor& a, int64_t id,
                                                  std::optional<int64_t> version,
                                                  const RequestInput& in, int64_t now, Apply mode) {
  auto r = writable(tx, p, id);
  if (version && db::as_int(r[28]) != *version)
    throw Error(ErrorCode::precondition_failed, "header.if-match", "the record has changed");
  const ServiceRequest before = from_row(r, masker_);
  ServiceRequest after = before;
  if (in.title) {
    check_text(*in.title, "body.title", 200, true);
    after.title = *in.title;
  }
  if (in.description) {
    check_text(*in.description, "body.description", 4000, false);
    after.description = *in.description;
  }
  if (in.priority && *in.priority != before.priority) {
    if (!tx.one("SELECT 1 FROM request_priorities WHERE org_id = ? AND code = ?",
                {p.org_id, *in.priority}))
      throw Error(ErrorCode::validation_failed, "body.priority", "no such priority");
    after.priority = *in.priority;
    // New targets from the creation time.
    if (auto due = sla(tx, p.org_id, before.type_id, after.priority)) {
      after.response_due_at = before.created_at + due->first * 60'000;
      after.resolve_due_at = before.created_at + due->second * 60'000;
    }
  }
  if (in.channel && *in.channel != before.channel) {
    if (std::find(kChannels.begin(), kChannels.end(), *in.channel) == kChannels.end())
      throw Error(ErrorCode::validation_failed, "body.channel", "one of the channels");
    after.channel = *in.channel;
  }
  if (in.classification && *in.classification != before.classification) {
    check_classification(tx, p, *in.classification, "body.classification");
    require(authz::may(p, perm::classify));
    after.classification = *in.classification;
  }
  // Type, customer and department stay (assign moves a request); the same value is fine.
  if (in.type && *in.type != before.type_code)
    throw Error(ErrorCode::validation_failed, "body.type", "cannot change");
  if (in.customer_id && *in.customer_id != before.customer_id)
    throw Error(ErrorCode::validation_failed, "body.customer_id", "cannot change");
  if (in.department_id && *in.department_id != before.department_id)
    throw Error(ErrorCode::validation_failed, "body.department_id",
                "cannot change here (assign moves a request)");
  std::vector<std::string> changed;
  auto note = [&](bool differs, const char* field) {
    if (differs) changed.emplace_back(field);
  };
  note(after.title != before.title, "title");
  note(after.description != before.description, "description");
  note(after.priority != before.priority, "priority");
  note(after.channel != before.channel, "channel");
  note(after.classification != before.classification, "classification");
  if (mode == Apply::check || (mode == Apply::write_changes && changed.empty())) return changed;
  tx.exec(
      "UPDATE service_requests SET title = ?, description = ?, priority = ?, channel = ?, "
      "classification = ?, response_due_at = ?, resolve_due_at = ?, version = version + 1, "
      "updated_at = ? WHERE org_id = ? AND id = ?",
      {after.title, after.description, after.priority, after.channel, int64_t{after.classification},
       db::optional(after.response_due_at), db::optional(after.resolve_due_at), now, p.org_id, id});
  search::put(tx, "service_requests", id, search_text(after));
  audit::Changes ch;
  ch.add("title", before.title, after.title);
  ch.add("priority", before.priority, after.priority);
  ch.add("channel", before.channel, after.channel);
  ch.add("classification", before.classification, after.classification);
  if (after.description != before.description) ch.set("description", std::string("(changed)"));
  audit::record(
      tx, a,
      {.action = after.classification != before.classification ? "registry.request.classify"
                                                               : "registry.request.update",
       .object_type = "service_request",
       .object_id = std::to_string(id),
       .changes = ch.str()},
      now);
  return changed;
}

ServiceRequest Registry::update_request(const authz::Principal& p, const audit::Actor& a,
                                        int64_t id, int64_t version, const RequestInput& in) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) { change_request(tx, p, a, id, version, in, now, Apply::write); });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id), masker_); });
}

ServiceRequest Registry::assign_request(const authz::Principal& p, const audit::Actor& a,
                                        int64_t id, std::optional<int64_t> department_id,
                                        std::optional<int64_t> assignee_id) {
  if (!department_id && !assignee_id)
    throw Error(ErrorCode::validation_failed, "body.assignee_id", "a department or a person");
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    auto r = writable(tx, p, id);
    const ServiceRequest before = from_row(r, masker_);
    if (before.status == "resolved" || before.status == "closed")
      throw Error(ErrorCode::transition_not_allowed, "path.id",
                  "a " + before.status + " request is reopened, not reassigned");
    auto dept = department_id ? department_id : before.department_id;
    if (department_id)
      check_department(tx, p, perm::requests_write, department_id, "body.department_id");
    if (assignee_id) {
      auto u = tx.one(
          "SELECT department_id, clearance FROM users WHERE org_id = ? AND id = ? AND "
          "status = 'active'",
          {p.org_id, *assignee_id});
      if (!u) throw Error(ErrorCode::validation_failed, "body.assignee_id", "no such active user");
      if (db::as_int(u->at(1)) < before.classification)
        throw Error(ErrorCode::validation_failed, "body.assignee_id",
                    "the assignee's clearance is below the request's classification");
      if (!department_id && db::as_opt_int(u->at(0))) dept = db::as_opt_int(u->at(0));
    }
    const std::string status = before.status == "new" ? "assigned" : before.status;
    tx.exec(
        "UPDATE service_requests SET department_id = ?, assignee_id = ?, status = ?, version = "
        "version + 1, updated_at = ? WHERE org_id = ? AND id = ?",
        {db::optional(dept), db::optional(assignee_id ? assignee_id : before.assignee_id), status,
         now, p.org_id, id});
    if (assignee_id && assignee_id != before.assignee_id) {
      todo_.close(tx, p.org_id, "service_request", std::to_string(id), "registry.request", now,
                  "cancelled");
      todo_.assign(tx, p.org_id, *assignee_id, "registry.request",
                   "处理服务请求 " + before.number + "：" + before.title,
                   "Handle service request " + before.number + ": " + before.title,
                   "service_request", std::to_string(id), before.resolve_due_at, now);
    }
    audit::Changes ch;
    ch.add("department_id", before.department_id, dept);
    ch.add("assignee_id", before.assignee_id, assignee_id ? assignee_id : before.assignee_id);
    ch.add("status", before.status, status);
    audit::record(tx, a,
                  {.action = "registry.request.assign",
                   .object_type = "service_request",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
  });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id), masker_); });
}

ServiceRequest Registry::transition_request(const authz::Principal& p, const audit::Actor& a,
                                            int64_t id, const std::string& action,
                                            const std::string& comment) {
  struct Step {
    const char* action;
    std::vector<std::string> from;
    const char* to;
  };
  static const std::vector<Step> steps = {{"start", {"assigned"}, "in_progress"},
                                          {"resolve", {"in_progress"}, "resolved"},
                                          {"close", {"resolved"}, "closed"},
                                          {"reopen", {"resolved", "closed"}, "in_progress"}};
  const Step* step = nullptr;
  for (const auto& s : steps)
    if (action == s.action) step = &s;
  if (!step)
    throw Error(ErrorCode::validation_failed, "body.action", "start, resolve, close or reopen");
  check_text(comment, "body.comment", 1000, false);
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    auto r = writable(tx, p, id);
    const ServiceRequest before = from_row(r, masker_);
    if (std::find(step->from.begin(), step->from.end(), before.status) == step->from.end())
      throw Error(ErrorCode::transition_not_allowed, "body.action",
                  std::string(action) + " is not allowed from " + before.status);
    std::string sql =
        "UPDATE service_requests SET status = ?, version = version + 1, updated_at = ?";
    if (action == "start" && !before.responded_at) sql += ", responded_at = " + std::to_string(now);
    if (action == "resolve") sql += ", resolved_at = " + std::to_string(now);
    if (action == "close") sql += ", closed_at = " + std::to_string(now);
    if (action == "reopen") sql += ", resolved_at = NULL, closed_at = NULL";
    tx.exec(sql + " WHERE org_id = ? AND id = ?", {std::string(step->to), now, p.org_id, id});
    if (action == "resolve" || action == "close")
      todo_.close(tx, p.org_id, "service_request", std::to_string(id), "", now);
    if (!comment.empty())
      tx.exec(
          "INSERT INTO service_request_comments (org_id, request_id, author_id, body, "
          "created_at) VALUES (?, ?, ?, ?, ?)",
          {p.org_id, id, p.user_id, comment, now});
    audit::Changes ch;
    ch.add("status", before.status, std::string(step->to));
    audit::record(tx, a,
                  {.action = "registry.request." + action,
                   .object_type = "service_request",
                   .object_id = std::to_string(id),
                   .changes = ch.str(),
                   .reason = comment},
                  now);
  });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id), masker_); });
}

Comment Registry::add_comment(const authz::Principal& p, const audit::Actor& a, int64_t request_id,
                              const std::string& body) {
  check_text(body, "body.body", 4000, true);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    writable(tx, p, request_id);
    auto r = tx.one(
        "INSERT INTO service_request_comments (org_id, request_id, author_id, body, "
        "created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, request_id, p.user_id, body, now});
    audit::record(tx, a,
                  {.action = "registry.request.comment",
                   .object_type = "service_request",
                   .object_id = std::to_string(request_id)},
                  now);
    return Comment{db::as_int(r->at(0)), p.user_id, p.name, body, now};
  });
}

std::vector<Comment> Registry::comments(const authz::Principal& p, int64_t request_id) {
  return db_.read([&](db::Tx& tx) {
    visible_row(tx, p, request_id);
    std::vector<Comment> out;
    for (const auto& r : tx.query("SELECT m.id, m.author_id, u.name, m.body, m.created_at FROM "
                                  "service_request_comments m JOIN users u ON u.id = m.author_id "
                                  "WHERE m.org_id = ? AND m.request_id = ? ORDER BY m.id",
                                  {p.org_id, request_id})
                             .rows)
      out.push_back({db::as_int(r[0]), db::as_int(r[1]), db::as_text(r[2]), db::as_text(r[3]),
                     db::as_int(r[4])});
    return out;
  });
}

Feedback Registry::add_feedback(const authz::Principal& p, const audit::Actor& a,
                                int64_t request_id, int satisfaction, const std::string& comment,
                                bool complaint) {
  if (satisfaction < 1 || satisfaction > 5)
    throw Error(ErrorCode::validation_failed, "body.satisfaction", "1 to 5");
  check_text(comment, "body.comment", 2000, false);
  const bool is_complaint = complaint || satisfaction <= 2;
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto r = load_row(tx, p.org_id, request_id);
    if (!r || !authz::may(p, perm::requests_read, request_resource(*r)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::feedback_write, request_resource(*r)));
    const ServiceRequest s = from_row(*r, masker_);
    if (s.status != "resolved" && s.status != "closed")
      throw Error(ErrorCode::transition_not_allowed, "path.id",
                  "feedback is given on a resolved or closed request");
    auto f = tx.one(
        "INSERT INTO feedback (org_id, request_id, satisfaction, comment, complaint, "
        "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, request_id, int64_t{satisfaction}, comment, int64_t{is_complaint}, p.user_id,
         now});
    const int64_t id = db::as_int(f->at(0));
    // A complaint goes to the head of the department that owns the request.
    if (is_complaint && s.department_id)
      if (auto head = tx.one("SELECT head_user_id FROM departments WHERE org_id = ? AND id = ?",
                             {p.org_id, *s.department_id});
          head && !db::is_null(head->at(0)))
        todo_.assign(
            tx, p.org_id, db::as_int(head->at(0)), "registry.complaint",
            "客户投诉：" + s.number + "（满意度 " + std::to_string(satisfaction) + "）",
            "Complaint: " + s.number + " (satisfaction " + std::to_string(satisfaction) + ")",
            "service_request", std::to_string(request_id), std::nullopt, now);
    audit::Changes ch;
    ch.set("satisfaction", satisfaction);
    ch.set("complaint", is_complaint);
    audit::record(tx, a,
                  {.action = "registry.feedback.create",
                   .object_type = "service_request",
                   .object_id = std::to_string(request_id),
                   .changes = ch.str()},
                  now);
    return Feedback{id, request_id, satisfaction, comment, is_complaint, p.user_id, now};
  });
}

std::vector<Feedback> Registry::feedback(const authz::Principal& p, int64_t request_id) {
  return db_.read([&](db::Tx& tx) {
    visible_row(tx, p, request_id);
    std::vector<Feedback> out;
    for (const auto& r : tx.query("SELECT id, request_id, satisfaction, comment, complaint, "
                                  "created_by, created_at FROM feedback WHERE org_id = ? AND "
                                  "request_id = ? ORDER BY id",
                                  {p.org_id, request_id})
                             .rows)
      out.push_back({db::as_int(r[0]), db::as_int(r[1]), static_cast<int>(db::as_int(r[2])),
                     db::as_text(r[3]), db::as_int(r[4]) != 0, db::as_opt_int(r[5]),
                     db::as_int(r[6])});
    return out;
  });
}

// ---- SLA --------------------------------------------------------------------------------------

int Registry::run_sla(int64_t now) {
  return db_.write([&](db::Tx& tx) {
    int n = 0;
    const audit::Actor system{1, std::nullopt, std::nullopt, "", "registry.sla"};
    for (const auto& r :
         tx.query("SELECT org_id, id, number, department_id, resolve_due_at, response_due_at, "
                  "responded_at, response_breached, resolve_breached FROM service_requests WHERE "
                  "status IN ('new', 'assigned', 'in_progress') AND ((resolve_due_at < ? AND "
                  "resolve_breached = 0) OR (response_due_at < ? AND responded_at IS NULL AND "
                  "response_breached = 0)) LIMIT 1000",
                  {now, now})
             .rows) {
      const int64_t org = db::as_int(r[0]), id = db::as_int(r[1]);
      const bool resolve = !db::is_null(r[4]) && db::as_int(r[4]) < now && db::as_int(r[8]) == 0;
      const bool response = !db::is_null(r[5]) && db::as_int(r[5]) < now && db::is_null(r[6]) &&
                            db::as_int(r[7]) == 0;
      tx.exec(
          "UPDATE service_requests SET response_breached = CASE WHEN ? = 1 THEN 1 ELSE "
          "response_breached END, resolve_breached = CASE WHEN ? = 1 THEN 1 ELSE resolve_breached "
          "END, escalated_at = ? WHERE org_id = ? AND id = ?",
          {int64_t{response}, int64_t{resolve}, now, org, id});
      // Escalation through the to-do centre: the department head.
      if (auto dept = db::as_opt_int(r[3]))
        if (auto head = tx.one("SELECT head_user_id FROM departments WHERE org_id = ? AND id = ?",
                               {org, *dept});
            head && !db::is_null(head->at(0)))
          todo_.assign(tx, org, db::as_int(head->at(0)), "registry.sla",
                       "服务请求超时：" + db::as_text(r[2]),
                       "Service request past its SLA: " + db::as_text(r[2]), "service_request",
                       std::to_string(id), std::nullopt, now);
      audit::Actor a = system;
      a.org_id = org;
      audit::record(
          tx, a,
          {.action = "registry.request.sla_breach",
           .object_type = "service_request",
           .object_id = std::to_string(id),
           .changes = json::serialize(json::object{{"response", response}, {"resolve", resolve}})},
          now);
      ++n;
    }
    return n;
  });
}

}  // namespace custos::registry
