#include "modules/assets/assets.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "modules/assets/internal.h"
#include "platform/audit/changes.h"
#include "platform/authz/records.h"
#include "platform/errors/error.h"

namespace custos::assets {

using authz::check_text;

namespace detail {

void check_in(const std::string& v, const std::vector<std::string>& allowed, const char* field) {
  if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw Error(ErrorCode::validation_failed, field, "one of " + list);
  }
}

std::optional<int64_t> check_user(db::Tx& tx, int64_t org, int64_t id, const char* field) {
  auto r = tx.one(
      "SELECT department_id FROM users WHERE org_id = ? AND id = ? AND status = 'active' AND "
      "admin_role IS NULL",
      {org, id});
  if (!r) throw Error(ErrorCode::validation_failed, field, "no such active user");
  return db::as_opt_int(r->at(0));
}

std::optional<int64_t> it_head(db::Tx& tx, int64_t org) {
  auto r = tx.one(
      "SELECT head_user_id FROM departments WHERE org_id = ? AND kind = 'it' AND head_user_id IS "
      "NOT NULL ORDER BY id LIMIT 1",
      {org});
  return r ? std::optional(db::as_int(r->at(0))) : std::nullopt;
}

bool in_it_department(db::Tx& tx, int64_t org, const std::string& path) {
  if (path.empty()) return false;
  return tx
      .one("SELECT 1 FROM departments WHERE org_id = ? AND kind = 'it' AND ? LIKE path || '%'",
           {org, path})
      .has_value();
}

void add_event(db::Tx& tx, const authz::Principal& p, int64_t asset, int64_t now,
               const std::string& kind, const std::string& from, const std::string& to,
               std::optional<int64_t> cost, const std::string& note) {
  tx.exec(
      "INSERT INTO asset_events (org_id, asset_id, at, actor_id, kind, from_value, to_value, "
      "cost_cents, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      {p.org_id, asset, now, p.user_id, kind, from, to,
       cost ? db::Value(*cost) : db::Value(db::Null{}), note});
}

db::Value opt(const std::optional<int64_t>& v) {
  return v ? db::Value(*v) : db::Value(db::Null{});
}

db::Value opt(const std::optional<std::string>& v) {
  return v ? db::Value(*v) : db::Value(db::Null{});
}

}  // namespace detail

using namespace detail;

std::string yuan_text(int64_t cents) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(cents / 100),
                static_cast<long long>(cents % 100));
  return buf;
}

const std::vector<std::string>& categories() {
  static const std::vector<std::string> v{"desktop", "laptop",  "printer",        "network",
                                          "server",  "storage", "storage_medium", "peripheral",
                                          "mobile",  "other"};
  return v;
}

const std::vector<std::string>& states() {
  static const std::vector<std::string> v{
      "ordered",          "in_stock", "in_use", "idle", "in_repair", "in_external_repair",
      "pending_disposal", "scrapped", "sold"};
  return v;
}

namespace {

constexpr const char* kColumns =
    "a.id, a.asset_tag, a.category, a.name, a.model, a.serial, a.specs, a.supplier, a.location, "
    "a.notes, a.status, a.purchase_date, a.warranty_end, a.cost_cents, a.department_id, "
    "a.custodian_id, a.repairer_id, COALESCE(d.name, ''), COALESCE(u.name, ''), "
    "COALESCE(rp.name, ''), a.created_at, a.updated_at, a.version, COALESCE(d.path, '')";
constexpr const char* kFrom =
    " FROM assets a LEFT JOIN departments d ON d.id = a.department_id LEFT JOIN users u ON u.id = "
    "a.custodian_id LEFT JOIN users rp ON rp.id = a.repairer_id";
constexpr int64_t kMaxCents = 1'000'000'000'000;  // ten billion yuan

Asset from_row(const std::vector<db::Value>& r) {
  Asset x;
  x.id = db::as_int(r[0]);
  x.asset_tag = db::as_text(r[1]);
  x.category = db::as_text(r[2]);
  x.name = db::as_text(r[3]);
  x.model = db::as_text(r[4]);
  x.serial = db::as_text(r[5]);
  x.specs = db::as_text(r[6]);
  x.supplier = db::as_text(r[7]);
  x.location = db::as_text(r[8]);
  x.notes = db::as_text(r[9]);
  x.status = db::as_text(r[10]);
  x.purchase_date = db::as_opt_text(r[11]);
  x.warranty_end = db::as_opt_text(r[12]);
  x.cost_cents = db::as_opt_int(r[13]);
  x.department_id = db::as_opt_int(r[14]);
  x.custodian_id = db::as_opt_int(r[15]);
  x.repairer_id = db::as_opt_int(r[16]);
  x.department_name = db::as_text(r[17]);
  x.custodian_name = db::as_text(r[18]);
  x.repairer_name = db::as_text(r[19]);
  x.created_at = db::as_int(r[20]);
  x.updated_at = db::as_int(r[21]);
  x.version = db::as_int(r[22]);
  return x;
}

authz::Resource resource_of(const std::vector<db::Value>& r) {
  return authz::resource("asset", db::as_int(r[0]), db::as_opt_int(r[14]), db::as_text(r[23]),
                         db::as_opt_int(r[15]), authz::kPublic);
}

std::optional<std::vector<db::Value>> load_row(db::Tx& tx, int64_t org, int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + kFrom + " WHERE a.org_id = ? AND a.id = ?";
  return tx.one(sql, {org, id});
}

// An asset the caller may see (else not_found, as if it did not exist) …
std::vector<db::Value> visible(db::Tx& tx, const authz::Principal& p, int64_t id) {
  auto r = load_row(tx, p.org_id, id);
  if (!r || !authz::may(p, perm::read, resource_of(*r)))
    throw Error(ErrorCode::not_found, "path.id");
  return *r;
}
// … and may change (else forbidden).
std::vector<db::Value> writable(db::Tx& tx, const authz::Principal& p, int64_t id) {
  auto r = visible(tx, p, id);
  authz::require(authz::may(p, perm::write, resource_of(r)));
  return r;
}

bool leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

void check_date(const std::optional<std::string>& v, const char* field) {
  if (!v) return;
  const std::string& s = *v;
  int y = 0, m = 0, d = 0;
  const bool shape = s.size() == 10 && s[4] == '-' && s[7] == '-' &&
                     std::from_chars(s.data(), s.data() + 4, y).ptr == s.data() + 4 &&
                     std::from_chars(s.data() + 5, s.data() + 7, m).ptr == s.data() + 7 &&
                     std::from_chars(s.data() + 8, s.data() + 10, d).ptr == s.data() + 10;
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (!shape || y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1 ||
      d > days[m - 1] + (m == 2 && leap(y) ? 1 : 0))
    throw Error(ErrorCode::validation_failed, field, "a date YYYY-MM-DD");
}

void check_cents(const std::optional<int64_t>& v, const char* field) {
  if (v && (*v < 0 || *v > kMaxCents))
    throw Error(ErrorCode::validation_failed, field, "an amount from 0 to 10,000,000,000.00");
}

// A designated repairer (IT-4) is a member of the IT department.
void check_repairer(db::Tx& tx, int64_t org, int64_t id) {
  const auto dept = check_user(tx, org, id, "body.repairer_id");
  if (!in_it_department(tx, org, authz::department_path(tx, org, dept)))
    throw Error(ErrorCode::validation_failed, "body.repairer_id",
                "a member of the IT department (信息管理部)");
}

void check_fields(const AssetInput& in) {
  if (in.asset_tag) check_text(*in.asset_tag, "body.asset_tag", 64, true);
  if (in.category) check_in(*in.category, categories(), "body.category");
  if (in.name) check_text(*in.name, "body.name", 100, true);
  if (in.model) check_text(*in.model, "body.model", 100, false);
  if (in.serial) check_text(*in.serial, "body.serial", 100, false);
  if (in.specs) check_text(*in.specs, "body.specs", 2000, false);
  if (in.supplier) check_text(*in.supplier, "body.supplier", 100, false);
  if (in.location) check_text(*in.location, "body.location", 200, false);
  if (in.notes) check_text(*in.notes, "body.notes", 2000, false);
  if (in.purchase_date) check_date(*in.purchase_date, "body.purchase_date");
  if (in.warranty_end) check_date(*in.warranty_end, "body.warranty_end");
  if (in.cost_cents) check_cents(*in.cost_cents, "body.purchase_cost");
}

std::string id_text(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : "";
}

void unique_tag(db::Tx& tx, int64_t org, const std::string& tag, int64_t except) {
  if (tx.one("SELECT 1 FROM assets WHERE org_id = ? AND asset_tag = ? AND id <> ?",
             {org, tag, except}))
    throw Error(ErrorCode::conflict, "body.asset_tag", "another asset has this tag");
}

}  // namespace

void detail::check_asset_fields(const AssetInput& in) {
  check_fields(in);
}

Asset detail::visible_asset(db::Tx& tx, const authz::Principal& p, int64_t id) {
  return from_row(visible(tx, p, id));
}
Asset detail::writable_asset(db::Tx& tx, const authz::Principal& p, int64_t id) {
  return from_row(writable(tx, p, id));
}

Assets::Assets(db::Db& db, const Clock& clock, const workflow::Todo& todo)
    : db_(db), clock_(clock), todo_(todo) {}

Asset Assets::create(const authz::Principal& p, const audit::Actor& a, const AssetInput& in) {
  if (!in.asset_tag) throw Error(ErrorCode::validation_failed, "body.asset_tag", "required");
  if (!in.category) throw Error(ErrorCode::validation_failed, "body.category", "required");
  if (!in.name) throw Error(ErrorCode::validation_failed, "body.name", "required");
  check_fields(in);
  const std::string status = in.status.value_or("ordered");
  if (status != "ordered" && status != "in_stock")
    throw Error(ErrorCode::validation_failed, "body.status",
                "ordered or in_stock (later states are reached through actions)");
  const int64_t now = clock_.now_ms();
  const int64_t id = db_.write([&](db::Tx& tx) {
    const auto dept = in.department_id.value_or(std::nullopt).has_value()
                          ? *in.department_id
                          : std::optional<int64_t>(p.department_id);
    authz::check_department(tx, p, perm::write, dept, "body.department_id");
    if (auto r = in.repairer_id.value_or(std::nullopt)) check_repairer(tx, p.org_id, *r);
    if (in.custodian_id.value_or(std::nullopt))
      throw Error(ErrorCode::validation_failed, "body.custodian_id",
                  "an asset gets its custodian when it is issued (action issue)");
    unique_tag(tx, p.org_id, *in.asset_tag, 0);
    const auto s = [](const std::optional<std::string>& v) { return v.value_or(""); };
    auto r = tx.one(
        "INSERT INTO assets (org_id, asset_tag, category, name, model, serial, specs, supplier, "
        "location, notes, status, purchase_date, warranty_end, cost_cents, department_id, "
        "repairer_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?) RETURNING id",
        {p.org_id, *in.asset_tag, *in.category, *in.name, s(in.model), s(in.serial), s(in.specs),
         s(in.supplier), s(in.location), s(in.notes), status,
         opt(in.purchase_date.value_or(std::nullopt)), opt(in.warranty_end.value_or(std::nullopt)),
         opt(in.cost_cents.value_or(std::nullopt)), opt(dept),
         opt(in.repairer_id.value_or(std::nullopt)), now, now});
    const int64_t asset = db::as_int(r->at(0));
    add_event(tx, p, asset, now, "created", "", status, in.cost_cents.value_or(std::nullopt));
    audit::Changes ch;
    ch.set("asset_tag", *in.asset_tag);
    ch.set("category", *in.category);
    ch.set("name", *in.name);
    ch.set("status", status);
    if (in.serial) ch.set("serial", *in.serial);
    if (dept) ch.set("department_id", *dept);
    audit::record(tx, a,
                  {.action = "assets.asset.create",
                   .object_type = "asset",
                   .object_id = std::to_string(asset),
                   .changes = ch.str()},
                  now);
    return asset;
  });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id)); });
}

Asset Assets::get(const authz::Principal& p, int64_t id) {
  return db_.read([&](db::Tx& tx) { return from_row(visible(tx, p, id)); });
}

std::vector<std::pair<std::string, int64_t>> Assets::count_by_status(const authz::Principal& p) {
  authz::Filter f = authz::visible(p, perm::read,
                                   {.department_id = "a.department_id",
                                    .department_path = "d.path",
                                    .owner_user_id = "a.custodian_id"});
  return db_.read([&](db::Tx& tx) {
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& r : tx.query("SELECT a.status, COUNT(*) FROM assets a LEFT JOIN departments "
                                  "d ON d.id = a.department_id WHERE a.org_id = ? AND " +
                                      f.sql + " GROUP BY a.status",
                                  params)
                             .rows)
      out.emplace_back(db::as_text(r[0]), db::as_int(r[1]));
    return out;
  });
}

List Assets::list(const authz::Principal& p, const Query& q) {
  authz::Filter f = authz::visible(p, perm::read,
                                   {.department_id = "a.department_id",
                                    .department_path = "d.path",
                                    .owner_user_id = "a.custodian_id"});
  if (!q.status.empty()) check_in(q.status, states(), "query.status");
  if (!q.category.empty()) check_in(q.category, categories(), "query.category");
  if (!q.q.empty()) check_text(q.q, "query.q", 64, false);
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE a.org_id = ? AND " + f.sql;
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    if (!q.q.empty()) {
      where +=
          " AND (a.asset_tag LIKE ? ESCAPE '\\' OR a.serial LIKE ? ESCAPE '\\' OR a.name LIKE ? "
          "ESCAPE '\\' OR a.model LIKE ? ESCAPE '\\')";
      for (int i = 0; i < 4; ++i) params.emplace_back(db::like_contains(q.q));
    }
    auto eq = [&](const char* col, db::Value v) {
      where += std::string(" AND ") + col + " = ?";
      params.push_back(std::move(v));
    };
    if (!q.status.empty()) eq("a.status", q.status);
    if (!q.category.empty()) eq("a.category", q.category);
    if (q.department_id) eq("a.department_id", *q.department_id);
    if (q.custodian_id) eq("a.custodian_id", *q.custodian_id);
    List out;
    const auto n = db::bounded_count(tx, kFrom + where, params, db::kListCountLimit);
    out.total = n.n;
    out.total_exact = n.exact;
    if (q.after_id) {
      where += " AND a.id < ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows =
        tx.query(std::string("SELECT ") + kColumns + kFrom + where + " ORDER BY a.id DESC LIMIT ?",
                 params)
            .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      out.items.push_back(from_row(rows[i]));
    if (rows.size() > static_cast<size_t>(q.limit) && !out.items.empty())
      out.next_cursor = std::to_string(out.items.back().id);
    return out;
  });
}

Asset Assets::update(const authz::Principal& p, const audit::Actor& a, int64_t id,
                     int64_t expected_version, const AssetInput& in) {
  check_fields(in);
  if (in.status)
    throw Error(ErrorCode::validation_failed, "body.status",
                "states change through actions (POST /assets/{id}/actions)");
  if (in.custodian_id)
    throw Error(ErrorCode::validation_failed, "body.custodian_id",
                "the custodian changes through actions (issue, idle)");
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    const auto row = writable(tx, p, id);
    const Asset before = from_row(row);
    if (before.version != expected_version)
      throw Error(ErrorCode::precondition_failed, "header.if-match", "the asset has changed");
    if (before.status == "scrapped" || before.status == "sold")
      throw Error(ErrorCode::transition_not_allowed, "path.id",
                  "a scrapped or sold asset is kept as it was");
    Asset after = before;
    if (in.asset_tag) {
      unique_tag(tx, p.org_id, *in.asset_tag, id);
      after.asset_tag = *in.asset_tag;
    }
    if (in.department_id) {
      authz::check_department(tx, p, perm::write, *in.department_id, "body.department_id");
      after.department_id = *in.department_id;
    }
    if (in.repairer_id) {
      if (*in.repairer_id) check_repairer(tx, p.org_id, **in.repairer_id);
      after.repairer_id = *in.repairer_id;
    }
    auto set = [](std::string& field, const std::optional<std::string>& v) {
      if (v) field = *v;
    };
    set(after.category, in.category);
    set(after.name, in.name);
    set(after.model, in.model);
    set(after.serial, in.serial);
    set(after.specs, in.specs);
    set(after.supplier, in.supplier);
    set(after.location, in.location);
    set(after.notes, in.notes);
    if (in.purchase_date) after.purchase_date = *in.purchase_date;
    if (in.warranty_end) after.warranty_end = *in.warranty_end;
    if (in.cost_cents) after.cost_cents = *in.cost_cents;
    audit::Changes ch;
    ch.add("asset_tag", before.asset_tag, after.asset_tag);
    ch.add("category", before.category, after.category);
    ch.add("name", before.name, after.name);
    ch.add("model", before.model, after.model);
    ch.add("serial", before.serial, after.serial);
    ch.add("specs", before.specs, after.specs);
    ch.add("supplier", before.supplier, after.supplier);
    ch.add("location", before.location, after.location);
    ch.add("notes", before.notes, after.notes);
    ch.add("purchase_date", before.purchase_date, after.purchase_date);
    ch.add("warranty_end", before.warranty_end, after.warranty_end);
    ch.add("cost_cents", before.cost_cents, after.cost_cents);
    ch.add("department_id", before.department_id, after.department_id);
    ch.add("repairer_id", before.repairer_id, after.repairer_id);
    if (ch.empty()) return;
    tx.exec(
        "UPDATE assets SET asset_tag = ?, category = ?, name = ?, model = ?, serial = ?, specs = "
        "?, supplier = ?, location = ?, notes = ?, purchase_date = ?, warranty_end = ?, "
        "cost_cents = ?, department_id = ?, repairer_id = ?, version = version + 1, updated_at = "
        "? WHERE org_id = ? AND id = ?",
        {after.asset_tag, after.category, after.name, after.model, after.serial, after.specs,
         after.supplier, after.location, after.notes, opt(after.purchase_date),
         opt(after.warranty_end), opt(after.cost_cents), opt(after.department_id),
         opt(after.repairer_id), now, p.org_id, id});
    if (before.location != after.location)
      add_event(tx, p, id, now, "location", before.location, after.location);
    if (before.department_id != after.department_id)
      add_event(tx, p, id, now, "department", id_text(before.department_id),
                id_text(after.department_id));
    if (before.cost_cents != after.cost_cents)
      add_event(tx, p, id, now, "cost", id_text(before.cost_cents), id_text(after.cost_cents),
                after.cost_cents);
    add_event(tx, p, id, now, "edited", "", "");
    audit::record(tx, a,
                  {.action = "assets.asset.update",
                   .object_type = "asset",
                   .object_id = std::to_string(id),
                   .changes = ch.str()},
                  now);
  });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id)); });
}

Asset Assets::act(const authz::Principal& p, const audit::Actor& a, int64_t id, const Step& step) {
  struct Rule {
    const char* action;
    std::vector<std::string> from;
    const char* to;  // "" : in_use with a custodian, else idle
  };
  static const std::vector<Rule> rules = {
      {"receive", {"ordered"}, "in_stock"},
      {"issue", {"in_stock", "idle"}, "in_use"},
      {"idle", {"in_use"}, "idle"},
      {"repair", {"in_stock", "in_use", "idle"}, "in_repair"},
      {"external_repair", {"in_stock", "in_use", "idle", "in_repair"}, "in_external_repair"},
      {"repaired", {"in_repair", "in_external_repair"}, ""},
      {"dispose",
       {"in_stock", "in_use", "idle", "in_repair", "in_external_repair"},
       "pending_disposal"},
      {"cancel_disposal", {"pending_disposal"}, ""},
      {"scrap", {"pending_disposal"}, "scrapped"},
      {"sell", {"pending_disposal"}, "sold"}};
  const Rule* rule = nullptr;
  for (const auto& r : rules)
    if (step.action == r.action) rule = &r;
  if (!rule) {
    std::vector<std::string> names;
    for (const auto& r : rules) names.emplace_back(r.action);
    check_in(step.action, names, "body.action");
  }
  check_text(step.note, "body.note", 1000, false);
  if (step.location) check_text(*step.location, "body.location", 200, false);
  check_cents(step.cost_cents, "body.cost");
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    const auto row = writable(tx, p, id);
    const Asset before = from_row(row);
    if (std::find(rule->from.begin(), rule->from.end(), before.status) == rule->from.end())
      throw Error(ErrorCode::transition_not_allowed, "body.action",
                  step.action + " is not allowed from " + before.status);
    // IT-4: only the IT department sends equipment out for repair.
    if (step.action == "external_repair" && !in_it_department(tx, p.org_id, p.department_path))
      throw Error(ErrorCode::it_department_only, "body.action");
    // IT-6: a write-off or sale goes through the finance approval (forms.h, assets.disposal).
    if (step.action == "scrap" || step.action == "sell")
      throw Error(ErrorCode::approval_required, "body.action",
                  "start the disposal approval (assets.disposal) for this asset");
    Asset after = before;
    if (step.action == "issue") {
      if (!step.custodian_id)
        throw Error(ErrorCode::validation_failed, "body.custodian_id", "required to issue");
      const auto dept = check_user(tx, p.org_id, *step.custodian_id, "body.custodian_id");
      after.custodian_id = step.custodian_id;
      // The asset goes where its custodian works, if the caller may file assets there.
      if (dept && dept != before.department_id) {
        authz::check_department(tx, p, perm::write, dept, "body.custodian_id");
        after.department_id = dept;
      }
    }
    if (step.action == "idle" || step.action == "scrap" || step.action == "sell")
      after.custodian_id.reset();
    if (step.location) after.location = *step.location;
    after.status = *rule->to ? rule->to : (after.custodian_id ? "in_use" : "idle");
    tx.exec(
        "UPDATE assets SET status = ?, custodian_id = ?, department_id = ?, location = ?, version "
        "= version + 1, updated_at = ? WHERE org_id = ? AND id = ?",
        {after.status, opt(after.custodian_id), opt(after.department_id), after.location, now,
         p.org_id, id});
    add_event(tx, p, id, now, "state", before.status, after.status, step.cost_cents,
              step.action + (step.note.empty() ? "" : ": " + step.note));
    if (before.custodian_id != after.custodian_id)
      add_event(tx, p, id, now, "custodian", id_text(before.custodian_id),
                id_text(after.custodian_id));
    if (before.location != after.location)
      add_event(tx, p, id, now, "location", before.location, after.location);
    audit::Changes ch;
    ch.add("status", before.status, after.status);
    ch.add("custodian_id", before.custodian_id, after.custodian_id);
    ch.add("department_id", before.department_id, after.department_id);
    ch.add("location", before.location, after.location);
    if (step.cost_cents) ch.set("cost_cents", *step.cost_cents);
    audit::record(tx, a,
                  {.action = "assets.asset." + step.action,
                   .object_type = "asset",
                   .object_id = std::to_string(id),
                   .changes = ch.str(),
                   .reason = step.note},
                  now);
    // IT-4: a repair request goes to the asset's designated repairer (else the head of the IT
    // department), as a task closed when the asset is repaired or goes out for repair.
    if (step.action == "repair") {
      std::optional<int64_t> to = before.repairer_id;
      if (!to) to = it_head(tx, p.org_id);
      if (to)
        todo_.assign(tx, p.org_id, *to, "assets.repair",
                     "维修设备：" + before.asset_tag + " " + before.name +
                         (step.note.empty() ? "" : "（" + step.note + "）"),
                     "Repair " + before.asset_tag + " " + before.name, "asset", std::to_string(id),
                     std::nullopt, now);
    }
    if (step.action == "repaired" || step.action == "external_repair" || step.action == "dispose")
      todo_.close(tx, p.org_id, "asset", std::to_string(id), "assets.repair", now);
    // The last asset of a procurement received: the purchase task is done (IT-1).
    if (step.action == "receive")
      if (auto proc = tx.one("SELECT procurement_id FROM assets WHERE org_id = ? AND id = ? AND "
                             "procurement_id IS NOT NULL",
                             {p.org_id, id}))
        if (!tx.one("SELECT 1 FROM assets WHERE org_id = ? AND procurement_id = ? AND status = "
                    "'ordered'",
                    {p.org_id, proc->at(0)}))
          todo_.close(tx, p.org_id, "procurement", std::to_string(db::as_int(proc->at(0))),
                      "assets.purchase", now);
  });
  return db_.read([&](db::Tx& tx) { return from_row(*load_row(tx, p.org_id, id)); });
}

std::vector<Event> Assets::history(const authz::Principal& p, int64_t id) {
  return db_.read([&](db::Tx& tx) {
    visible(tx, p, id);
    std::vector<Event> out;
    for (const auto& r :
         tx.query("SELECT e.id, e.at, e.actor_id, COALESCE(u.name, ''), e.kind, e.from_value, "
                  "e.to_value, e.cost_cents, e.note FROM asset_events e LEFT JOIN users u ON "
                  "u.id = e.actor_id WHERE e.org_id = ? AND e.asset_id = ? ORDER BY e.id",
                  {p.org_id, id})
             .rows)
      out.push_back({db::as_int(r[0]), db::as_int(r[1]), db::as_opt_int(r[2]), db::as_text(r[3]),
                     db::as_text(r[4]), db::as_text(r[5]), db::as_text(r[6]), db::as_text(r[8]),
                     db::as_opt_int(r[7])});
    // The custodians named, in one query.
    std::map<std::string, std::string> names;
    for (const auto& e : out)
      if (e.kind == "custodian")
        for (const auto* v : {&e.from, &e.to})
          if (!v->empty()) names.emplace(*v, "");
    if (!names.empty()) {
      std::string sql = "SELECT id, name FROM users WHERE org_id = ? AND id IN (";
      std::vector<db::Value> args{p.org_id};
      for (const auto& [id, _] : names) {
        sql += args.size() == 1 ? "?" : ", ?";
        args.emplace_back(static_cast<int64_t>(std::stoll(id)));
      }
      for (const auto& r : tx.query(sql + ")", args).rows)
        names[std::to_string(db::as_int(r[0]))] = db::as_text(r[1]);
      for (auto& e : out)
        if (e.kind == "custodian") {
          if (!e.from.empty()) e.from_name = names[e.from];
          if (!e.to.empty()) e.to_name = names[e.to];
        }
    }
    return out;
  });
}

}  // namespace custos::assets
