#include "modules/assets/violations.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "modules/assets/internal.h"
#include "modules/assets/network.h"
#include "platform/audit/changes.h"
#include "platform/authz/records.h"
#include "platform/errors/error.h"

namespace custos::assets {

const std::vector<std::string>& software_categories() {
  static const std::vector<std::string> v{"games", "hacking",   "trojan", "chat",
                                          "p2p",   "unrelated", "other"};
  return v;
}

const std::vector<std::string>& violation_kinds() {
  static const std::vector<std::string> v{"prohibited_software", "address_mismatch",
                                          "address_conflict",    "unapproved_proxy",
                                          "acceptable_use",      "other"};
  return v;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  // One UTF-8 character's length at text[i].
  auto char_len = [&](size_t i) {
    size_t n = 1;
    while (i + n < text.size() && (static_cast<unsigned char>(text[i + n]) & 0xC0) == 0x80) ++n;
    return n;
  };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      t += char_len(t);
    } else if (p < pattern.size() && lower(pattern[p]) == lower(text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      mark += char_len(mark);
      t = mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

using authz::check_text;
using detail::opt;

constexpr const char* kColumns =
    "v.id, v.kind, v.use_case, v.source, v.asset_id, v.subject, v.detail, v.user_id, "
    "v.department_id, v.head_id, v.status, v.reported_by, v.created_at, v.last_seen_at, "
    "v.resolved_at, v.resolved_by, v.resolution, COALESCE(a.asset_tag, ''), COALESCE(u.name, ''), "
    "COALESCE(d.name, ''), COALESCE(h.name, ''), COALESCE(d.path, '')";
constexpr const char* kFrom =
    " FROM violations v LEFT JOIN assets a ON a.id = v.asset_id LEFT JOIN users u ON u.id = "
    "v.user_id LEFT JOIN departments d ON d.id = v.department_id LEFT JOIN users h ON h.id = "
    "v.head_id";

Violation from_row(const std::vector<db::Value>& r) {
  Violation v;
  v.id = db::as_int(r[0]);
  v.kind = db::as_text(r[1]);
  v.use_case = db::as_text(r[2]);
  v.source = db::as_text(r[3]);
  v.asset_id = db::as_opt_int(r[4]);
  v.subject = db::as_text(r[5]);
  v.detail = db::as_text(r[6]);
  v.user_id = db::as_opt_int(r[7]);
  v.department_id = db::as_opt_int(r[8]);
  v.head_id = db::as_opt_int(r[9]);
  v.status = db::as_text(r[10]);
  v.reported_by = db::as_opt_int(r[11]);
  v.created_at = db::as_int(r[12]);
  v.last_seen_at = db::as_int(r[13]);
  v.resolved_at = db::as_opt_int(r[14]);
  v.resolved_by = db::as_opt_int(r[15]);
  v.resolution = db::as_text(r[16]);
  v.asset_tag = db::as_text(r[17]);
  v.user_name = db::as_text(r[18]);
  v.department_name = db::as_text(r[19]);
  v.head_name = db::as_text(r[20]);
  return v;
}

authz::Resource resource_of(const std::vector<db::Value>& r) {
  return authz::resource("violation", db::as_int(r[0]), db::as_opt_int(r[8]), db::as_text(r[21]),
                         db::as_opt_int(r[7]), authz::kInternal);
}

// The person and the department head see what is assigned to them; others need the permission.
bool assigned_to(const authz::Principal& p, const std::vector<db::Value>& r) {
  return db::as_opt_int(r[7]) == p.user_id || db::as_opt_int(r[9]) == p.user_id;
}

std::optional<std::vector<db::Value>> load(db::Tx& tx, int64_t org, int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + kFrom + " WHERE v.org_id = ? AND v.id = ?";
  return tx.one(sql, {org, id});
}

std::vector<db::Value> visible(db::Tx& tx, const authz::Principal& p, int64_t id) {
  auto r = load(tx, p.org_id, id);
  if (!r || !(assigned_to(p, *r) || authz::may(p, perm::violations_read, resource_of(*r))))
    throw Error(ErrorCode::not_found, "path.id");
  return *r;
}

// "http://user:secret@proxy.example:3128/" → "proxy.example:3128" (credentials never kept).
std::string proxy_address(std::string_view v) {
  if (auto s = v.find("://"); s != std::string_view::npos) v.remove_prefix(s + 3);
  if (auto at = v.rfind('@'); at != std::string_view::npos) v.remove_prefix(at + 1);
  if (auto slash = v.find('/'); slash != std::string_view::npos) v = v.substr(0, slash);
  std::string out(v);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

void audit_simple(db::Tx& tx, const audit::Actor& a, const char* action, const char* type,
                  int64_t id, const audit::Changes& ch, int64_t now) {
  audit::record(
      tx, a,
      {.action = action, .object_type = type, .object_id = std::to_string(id), .changes = ch.str()},
      now);
}

}  // namespace

Violations::Violations(db::Db& db, const Clock& clock, const workflow::Todo& todo)
    : db_(db), clock_(clock), todo_(todo) {}

std::vector<SoftwareRule> Violations::rules(const authz::Principal& p) {
  authz::require(authz::may(p, perm::inventory_read));
  return db_.read([&](db::Tx& tx) {
    std::vector<SoftwareRule> out;
    for (const auto& r :
         tx.query("SELECT id, kind, category, name_pattern, publisher_pattern, note, created_at "
                  "FROM software_rules WHERE org_id = ? ORDER BY id",
                  {p.org_id})
             .rows)
      out.push_back({db::as_int(r[0]), db::as_int(r[6]), db::as_text(r[1]), db::as_text(r[2]),
                     db::as_text(r[3]), db::as_text(r[4]), db::as_text(r[5])});
    return out;
  });
}

SoftwareRule Violations::add_rule(const authz::Principal& p, const audit::Actor& a,
                                  const SoftwareRule& in) {
  authz::require(authz::may(p, perm::inventory_write));
  detail::check_in(in.kind, {"prohibit", "allow"}, "body.kind");
  detail::check_in(in.category, software_categories(), "body.category");
  check_text(in.name_pattern, "body.name_pattern", 200, true);
  check_text(in.publisher_pattern, "body.publisher_pattern", 200, false);
  check_text(in.note, "body.note", 1000, false);
  if (in.name_pattern.find_first_not_of('*') == std::string::npos)
    throw Error(ErrorCode::validation_failed, "body.name_pattern",
                "a pattern that names something (not only *)");
  const int64_t now = clock_.now_ms();
  SoftwareRule out = in;
  out.created_at = now;
  out.id = db_.write([&](db::Tx& tx) {
    auto r = tx.one(
        "INSERT INTO software_rules (org_id, kind, category, name_pattern, publisher_pattern, "
        "note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, in.kind, in.category, in.name_pattern, in.publisher_pattern, in.note, p.user_id,
         now});
    const int64_t id = db::as_int(r->at(0));
    audit::Changes ch;
    ch.set("kind", in.kind);
    ch.set("category", in.category);
    ch.set("name_pattern", in.name_pattern);
    if (!in.publisher_pattern.empty()) ch.set("publisher_pattern", in.publisher_pattern);
    audit_simple(tx, a, "assets.software_rule.create", "software_rule", id, ch, now);
    return id;
  });
  return out;
}

void Violations::delete_rule(const authz::Principal& p, const audit::Actor& a, int64_t id) {
  authz::require(authz::may(p, perm::inventory_write));
  db_.write([&](db::Tx& tx) {
    auto r = tx.one("SELECT name_pattern FROM software_rules WHERE org_id = ? AND id = ?",
                    {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    tx.exec("DELETE FROM software_rules WHERE org_id = ? AND id = ?", {p.org_id, id});
    audit::Changes ch;
    ch.add("name_pattern", db::as_text(r->at(0)), nullptr);
    audit_simple(tx, a, "assets.software_rule.delete", "software_rule", id, ch, clock_.now_ms());
  });
}

std::vector<Proxy> Violations::proxies(const authz::Principal& p) {
  authz::require(authz::may(p, perm::inventory_read));
  return db_.read([&](db::Tx& tx) {
    std::vector<Proxy> out;
    for (const auto& r : tx.query("SELECT id, address, note, created_at FROM approved_proxies "
                                  "WHERE org_id = ? ORDER BY address",
                                  {p.org_id})
                             .rows)
      out.push_back({db::as_int(r[0]), db::as_int(r[3]), db::as_text(r[1]), db::as_text(r[2])});
    return out;
  });
}

Proxy Violations::add_proxy(const authz::Principal& p, const audit::Actor& a, const Proxy& in) {
  authz::require(authz::may(p, perm::inventory_write));
  check_text(in.address, "body.address", 255, true);
  check_text(in.note, "body.note", 1000, false);
  const std::string address = proxy_address(in.address);
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() ||
      address.find_first_of(" \t") != std::string::npos)
    throw Error(ErrorCode::validation_failed, "body.address", "host:port, such as proxy.corp:3128");
  const int64_t now = clock_.now_ms();
  Proxy out{0, now, address, in.note};
  out.id = db_.write([&](db::Tx& tx) {
    if (tx.one("SELECT 1 FROM approved_proxies WHERE org_id = ? AND address = ?",
               {p.org_id, address}))
      throw Error(ErrorCode::conflict, "body.address", "already approved");
    auto r = tx.one(
        "INSERT INTO approved_proxies (org_id, address, note, created_at) VALUES (?, ?, ?, ?) "
        "RETURNING id",
        {p.org_id, address, in.note, now});
    const int64_t id = db::as_int(r->at(0));
    audit::Changes ch;
    ch.set("address", address);
    audit_simple(tx, a, "assets.proxy.approve", "proxy", id, ch, now);
    return id;
  });
  return out;
}

void Violations::delete_proxy(const authz::Principal& p, const audit::Actor& a, int64_t id) {
  authz::require(authz::may(p, perm::inventory_write));
  db_.write([&](db::Tx& tx) {
    auto r =
        tx.one("SELECT address FROM approved_proxies WHERE org_id = ? AND id = ?", {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    tx.exec("DELETE FROM approved_proxies WHERE org_id = ? AND id = ?", {p.org_id, id});
    audit::Changes ch;
    ch.add("address", db::as_text(r->at(0)), nullptr);
    audit_simple(tx, a, "assets.proxy.withdraw", "proxy", id, ch, clock_.now_ms());
  });
}

ViolationList Violations::list(const authz::Principal& p, const ViolationQuery& q) {
  if (!q.status.empty())
    detail::check_in(q.status, {"open", "resolved", "cleared"}, "query.status");
  if (!q.kind.empty()) detail::check_in(q.kind, violation_kinds(), "query.kind");
  std::string where = " WHERE v.org_id = ?";
  std::vector<db::Value> params{p.org_id};
  if (q.mine) {
    where += " AND (v.user_id = ? OR v.head_id = ?)";
    params.emplace_back(p.user_id);
    params.emplace_back(p.user_id);
  } else {
    authz::Filter f = authz::visible(p, perm::violations_read,
                                     {.department_id = "v.department_id",
                                      .department_path = "d.path",
                                      .owner_user_id = "v.user_id"});
    where += " AND " + f.sql;
    params.insert(params.end(), f.params.begin(), f.params.end());
  }
  auto eq = [&](const char* col, db::Value v) {
    where += std::string(" AND ") + col + " = ?";
    params.push_back(std::move(v));
  };
  if (!q.status.empty()) eq("v.status", q.status);
  if (!q.kind.empty()) eq("v.kind", q.kind);
  if (q.asset_id) eq("v.asset_id", *q.asset_id);
  if (q.department_id) eq("v.department_id", *q.department_id);
  return db_.read([&](db::Tx& tx) {
    ViolationList out;
    const auto n = db::bounded_count(tx, kFrom + where, params, db::kListCountLimit);
    out.total = n.n;
    out.total_exact = n.exact;
    if (q.after_id) {
      where += " AND v.id < ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows =
        tx.query(std::string("SELECT ") + kColumns + kFrom + where + " ORDER BY v.id DESC LIMIT ?",
                 params)
            .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      out.items.push_back(from_row(rows[i]));
    if (rows.size() > static_cast<size_t>(q.limit) && !out.items.empty())
      out.next_cursor = std::to_string(out.items.back().id);
    return out;
  });
}

Violations::Summary Violations::summary(const authz::Principal& p) {
  authz::Filter f = authz::visible(p, perm::violations_read,
                                   {.department_id = "v.department_id",
                                    .department_path = "d.path",
                                    .owner_user_id = "v.user_id"});
  return db_.read([&](db::Tx& tx) {
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    const std::string from =
        " FROM violations v LEFT JOIN departments d ON d.id = v.department_id WHERE v.org_id = ? "
        "AND v.status = 'open' AND " +
        f.sql;
    Summary s;
    for (const auto& r : tx.query("SELECT v.department_id, COALESCE(MAX(d.name), ''), COUNT(*)" +
                                      from + " GROUP BY v.department_id ORDER BY 3 DESC",
                                  params)
                             .rows)
      s.by_department.push_back({db::as_opt_int(r[0]), db::as_text(r[1]), db::as_int(r[2])});
    for (const auto& r :
         tx.query("SELECT v.kind, COUNT(*)" + from + " GROUP BY v.kind", params).rows)
      s.by_kind.emplace_back(db::as_text(r[0]), db::as_int(r[1]));
    return s;
  });
}

Violation Violations::get(const authz::Principal& p, int64_t id) {
  return db_.read([&](db::Tx& tx) { return from_row(visible(tx, p, id)); });
}

int64_t Violations::open(db::Tx& tx, const audit::Actor& a, const std::string& kind,
                         const std::string& use_case, const std::string& source,
                         std::optional<int64_t> asset_id, std::optional<int64_t> user_id,
                         const std::string& subject, const std::string& detail_text,
                         std::optional<int64_t> reported_by, int64_t now) const {
  const int64_t org = a.org_id;
  std::optional<int64_t> dept;
  std::string tag;
  if (asset_id) {
    auto r = tx.one(
        "SELECT custodian_id, department_id, asset_tag FROM assets WHERE org_id = ? "
        "AND id = ?",
        {org, *asset_id});
    if (!user_id) user_id = db::as_opt_int(r->at(0));
    dept = db::as_opt_int(r->at(1));
    tag = db::as_text(r->at(2));
  }
  if (user_id)
    if (auto u =
            tx.one("SELECT department_id FROM users WHERE org_id = ? AND id = ?", {org, *user_id}))
      if (auto d = db::as_opt_int(u->at(0))) dept = d;
  // The head of the person's department; when the person is the head, the head above.
  std::optional<int64_t> head;
  for (auto d = dept; d && !head;) {
    auto r = tx.one("SELECT head_user_id, parent_id FROM departments WHERE org_id = ? AND id = ?",
                    {org, *d});
    if (!r) break;
    head = db::as_opt_int(r->at(0));
    if (head && head == user_id) head.reset();
    d = db::as_opt_int(r->at(1));
  }
  auto r = tx.one(
      "INSERT INTO violations (org_id, kind, use_case, source, asset_id, subject, detail, "
      "user_id, department_id, head_id, status, reported_by, created_at, last_seen_at) VALUES "
      "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?) RETURNING id",
      {org, kind, use_case, source, opt(asset_id), subject, detail_text, opt(user_id), opt(dept),
       opt(head), opt(reported_by), now, now});
  const int64_t id = db::as_int(r->at(0));
  const std::string what = subject.empty() ? kind : kind + " " + subject;
  const std::string where = tag.empty() ? "" : "（" + tag + "）";
  for (auto who : {user_id, head})
    if (who && !(who == head && head == user_id))
      todo_.assign(tx, org, *who, "assets.violation", "处理违规 #" + std::to_string(id) + where,
                   "Deal with violation #" + std::to_string(id) + " (" + what + ")", "violation",
                   std::to_string(id), std::nullopt, now);
  audit::Changes ch;
  ch.set("kind", kind);
  if (!use_case.empty()) ch.set("use_case", use_case);
  ch.set("source", source);
  if (asset_id) ch.set("asset_id", *asset_id);
  if (user_id) ch.set("user_id", *user_id);
  if (!subject.empty()) ch.set("subject", subject);
  audit_simple(tx, a, "assets.violation.open", "violation", id, ch, now);
  return id;
}

Violation Violations::record(const authz::Principal& p, const audit::Actor& a,
                             const ViolationInput& in) {
  authz::require(authz::may(p, perm::violations_write));
  detail::check_in(in.kind, {"acceptable_use", "other"}, "body.kind");
  if (in.kind == "acceptable_use")
    detail::check_in(in.use_case, {"a", "b", "c", "d"}, "body.use_case");
  else if (!in.use_case.empty())
    throw Error(ErrorCode::validation_failed, "body.use_case", "only for acceptable_use");
  check_text(in.detail, "body.detail", 2000, true);
  if (!in.asset_id && !in.user_id)
    throw Error(ErrorCode::validation_failed, "body.user_id", "the person or the asset concerned");
  const int64_t now = clock_.now_ms();
  const int64_t id = db_.write([&](db::Tx& tx) {
    if (in.asset_id) detail::visible_asset(tx, p, *in.asset_id);
    if (in.user_id) detail::check_user(tx, p.org_id, *in.user_id, "body.user_id");
    return open(tx, a, in.kind, in.use_case, "manual", in.asset_id, in.user_id, "", in.detail,
                p.user_id, now);
  });
  return db_.read([&](db::Tx& tx) { return from_row(*load(tx, p.org_id, id)); });
}

Violation Violations::resolve(const authz::Principal& p, const audit::Actor& a, int64_t id,
                              const std::string& resolution) {
  check_text(resolution, "body.resolution", 2000, true);
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    const auto r = visible(tx, p, id);
    // The department head deals with it, or whoever may write the register.
    authz::require(db::as_opt_int(r[9]) == p.user_id ||
                   authz::may(p, perm::violations_write, resource_of(r)));
    if (db::as_text(r[10]) != "open")
      throw Error(ErrorCode::transition_not_allowed, "", "the violation is not open");
    tx.exec(
        "UPDATE violations SET status = 'resolved', resolved_at = ?, resolved_by = ?, "
        "resolution = ? WHERE org_id = ? AND id = ?",
        {now, p.user_id, resolution, p.org_id, id});
    todo_.close(tx, p.org_id, "violation", std::to_string(id), "assets.violation", now);
    audit::Changes ch;
    ch.add("status", std::string("open"), std::string("resolved"));
    ch.set("resolution", resolution);
    audit_simple(tx, a, "assets.violation.resolve", "violation", id, ch, now);
  });
  return get(p, id);
}

std::vector<Finding> Violations::check(db::Tx& tx, int64_t org, int64_t asset_id,
                                       const agent::Inventory& inv) const {
  std::vector<Finding> out;
  // Software against the rules: the allow list wins.
  struct Rule {
    bool allow;
    std::string category, name, publisher;
  };
  std::vector<Rule> rules;
  for (const auto& r :
       tx.query("SELECT kind, category, name_pattern, publisher_pattern FROM software_rules "
                "WHERE org_id = ?",
                {org})
           .rows)
    rules.push_back(
        {db::as_text(r[0]) == "allow", db::as_text(r[1]), db::as_text(r[2]), db::as_text(r[3])});
  if (!rules.empty()) {
    std::set<std::string> seen;
    for (const auto& s : inv.software) {
      const Rule* hit = nullptr;
      bool allowed = false;
      for (const auto& rule : rules) {
        if (!glob_match(rule.name, s.name)) continue;
        if (!rule.publisher.empty() && !glob_match(rule.publisher, s.publisher)) continue;
        if (rule.allow)
          allowed = true;
        else if (!hit)
          hit = &rule;
      }
      if (hit && !allowed && seen.insert(s.name).second)
        out.push_back({"prohibited_software", s.name,
                       hit->category + ": " + s.name + (s.version.empty() ? "" : " " + s.version) +
                           (s.publisher.empty() ? "" : " (" + s.publisher + ")")});
    }
  }
  // Addresses against the plan.
  std::vector<std::string> mine;
  for (const auto& r : tx.query("SELECT address FROM ip_allocations WHERE org_id = ? AND "
                                "asset_id = ?",
                                {org, asset_id})
                           .rows)
    mine.push_back(db::as_text(r[0]));
  struct Net {
    ip::Cidr cidr;
    std::optional<ip::Address> lo, hi;
  };
  std::vector<Net> nets;
  for (const auto& r :
       tx.query("SELECT cidr, dhcp_start, dhcp_end FROM ip_subnets WHERE org_id = ?", {org}).rows)
    if (auto c = ip::parse_cidr(db::as_text(r[0])))
      nets.push_back({*c, ip::parse(db::as_text(r[1])), ip::parse(db::as_text(r[2]))});
  std::set<std::string> seen;
  for (const auto& nic : inv.interfaces)
    for (const auto& raw : nic.addresses) {
      auto addr = ip::parse(raw);
      if (!addr || ip::is_local(*addr)) continue;
      const std::string t = ip::text(*addr);
      if (!seen.insert(t).second || std::find(mine.begin(), mine.end(), t) != mine.end()) continue;
      if (auto other = tx.one("SELECT x.kind, COALESCE(a.asset_tag, '') FROM ip_allocations x "
                              "LEFT JOIN assets a ON a.id = x.asset_id WHERE x.org_id = ? AND "
                              "x.address = ?",
                              {org, t})) {
        out.push_back({"address_conflict", t,
                       db::as_text(other->at(0)) == "reservation"
                           ? "uses a reserved address (" + nic.name + ")"
                           : "uses the address allocated to " + db::as_text(other->at(1)) + " (" +
                                 nic.name + ")"});
        continue;
      }
      const auto net = std::find_if(nets.begin(), nets.end(),
                                    [&](const Net& n) { return ip::contains(n.cidr, *addr); });
      if (net == nets.end()) continue;  // a network the plan does not manage
      if (net->lo && net->hi && *net->lo <= *addr && *addr <= *net->hi) continue;  // DHCP
      std::string allocated;
      for (const auto& m : mine) allocated += (allocated.empty() ? "" : ", ") + m;
      out.push_back({"address_mismatch", t,
                     "not allocated to this asset (" + nic.name +
                         "; allocated: " + (allocated.empty() ? "none" : allocated) + ")"});
    }
  // Proxy settings against the approved list.
  if (!inv.proxies.empty()) {
    std::vector<std::string> approved;
    for (const auto& r :
         tx.query("SELECT address FROM approved_proxies WHERE org_id = ?", {org}).rows)
      approved.push_back(db::as_text(r[0]));
    std::set<std::string> proxies;
    for (const auto& [name, value] : inv.proxies) {
      const std::string addr = proxy_address(value);
      if (addr.empty() || std::find(approved.begin(), approved.end(), addr) != approved.end())
        continue;
      if (proxies.insert(addr).second) out.push_back({"unapproved_proxy", addr, "set in " + name});
    }
  }
  return out;
}

int Violations::reconcile(db::Tx& tx, const audit::Actor& a, int64_t asset_id,
                          const std::vector<Finding>& found, int64_t now) const {
  const int64_t org = a.org_id;
  auto existing = tx.query(
                        "SELECT id, kind, subject FROM violations WHERE org_id = ? AND asset_id = "
                        "? AND source = 'inventory' AND status = 'open'",
                        {org, asset_id})
                      .rows;
  int opened = 0;
  std::vector<int64_t> still;
  for (const auto& f : found) {
    auto e = std::find_if(existing.begin(), existing.end(), [&](const std::vector<db::Value>& r) {
      return db::as_text(r[1]) == f.kind && db::as_text(r[2]) == f.subject;
    });
    if (e != existing.end()) {
      still.push_back(db::as_int((*e)[0]));
      continue;
    }
    open(tx, a, f.kind, "", "inventory", asset_id, std::nullopt, f.subject, f.detail, std::nullopt,
         now);
    ++opened;
  }
  for (const auto& r : existing) {
    const int64_t id = db::as_int(r[0]);
    if (std::find(still.begin(), still.end(), id) != still.end()) {
      tx.exec("UPDATE violations SET last_seen_at = ? WHERE org_id = ? AND id = ?", {now, org, id});
      continue;
    }
    tx.exec(
        "UPDATE violations SET status = 'cleared', resolved_at = ?, resolution = ? WHERE "
        "org_id = ? AND id = ?",
        {now, std::string("no longer shown by the inventory"), org, id});
    todo_.close(tx, org, "violation", std::to_string(id), "assets.violation", now);
    audit::Changes ch;
    ch.add("status", std::string("open"), std::string("cleared"));
    audit_simple(tx, a, "assets.violation.clear", "violation", id, ch, now);
  }
  return opened;
}

}  // namespace custos::assets
