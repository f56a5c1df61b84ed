#include <regex>

#include "modules/registry/internal.h"
#include "platform/search/search_sql.h"
#include "platform/search/tokens.h"
#include "platform/text/utf8.h"

namespace custos::registry {
namespace json = boost::json;
using namespace detail;

// ---- normalised forms -------------------------------------------------------------------------

std::optional<std::string> normal_mobile(std::string_view v) {
  std::string d;
  for (char c : v) {
    if (c >= '0' && c <= '9')
      d += c;
    else if (c != ' ' && c != '-' && c != '+' && c != '(' && c != ')')
      return std::nullopt;
  }
  if (d.size() == 13 && d.rfind("86", 0) == 0) d = d.substr(2);
  if (d.size() < 5 || d.size() > 15) return std::nullopt;
  return d;
}

std::optional<std::string> normal_id_card(std::string_view v) {
  std::string d;
  for (char c : v) {
    if (c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) return std::nullopt;
    d += c;
  }
  if (d.size() < 6 || d.size() > 20) return std::nullopt;
  return d;
}

std::optional<std::string> normal_email(std::string_view v) {
  std::string d;
  for (char c : v) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (static_cast<unsigned char>(c) <= 0x20) return std::nullopt;
    d += c;
  }
  static const std::regex re("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
  if (d.size() > 254 || !std::regex_match(d, re)) return std::nullopt;
  return d;
}

// ---- sealing ----------------------------------------------------------------------------------

namespace {

std::string context(const char* field, int64_t id) {
  return std::string("customers.") + field + ":" + std::to_string(id);
}

db::Value seal_one(const crypto::FieldCipher& c, const char* field, int64_t id,
                   const std::optional<std::string>& v) {
  if (!v || v->empty()) return db::null();
  return db::Blob{c.encrypt(*v, context(field, id))};
}

std::optional<std::string> open_one(const crypto::FieldCipher& c, const char* field, int64_t id,
                                    const db::Value& v) {
  if (db::is_null(v)) return std::nullopt;
  const auto* b = std::get_if<db::Blob>(&v);
  auto plain = c.decrypt(b ? b->bytes : db::as_text(v), context(field, id));
  // A value that no longer decrypts (altered in the database) reads as unknown, never garbage.
  return plain ? plain : std::optional<std::string>("?");
}

}  // namespace

Registry::Registry(db::Db& db, const Clock& clock, const crypto::FieldCipher& cipher,
                   const privacy::Masker& masker, const notify::Notifier& notifier,
                   const workflow::Todo& todo)
    : db_(db), clock_(clock), cipher_(cipher), masker_(masker), notifier_(notifier), todo_(todo) {}

Registry::Sealed Registry::seal(int64_t id, const Personal& clear) const {
  Sealed s;
  s.mobile = seal_one(cipher_, "mobile", id, clear.mobile);
  s.id_card = seal_one(cipher_, "id_card", id, clear.id_card);
  s.address = seal_one(cipher_, "address", id, clear.address);
  s.email = seal_one(cipher_, "email", id, clear.email);
  auto bidx = [&](const char* field, const std::optional<std::string>& v,
                  std::optional<std::string> (*norm)(std::string_view)) -> db::Value {
    if (!v || v->empty()) return db::null();
    auto n = norm(*v);
    return n ? db::Value{cipher_.blind_index(field, *n)} : db::null();
  };
  s.mobile_bidx = bidx("mobile", clear.mobile, normal_mobile);
  s.id_card_bidx = bidx("id_card", clear.id_card, normal_id_card);
  s.email_bidx = bidx("email", clear.email, normal_email);
  return s;
}

Personal Registry::open(int64_t id, const std::vector<db::Value>& cells) const {
  return {
      open_one(cipher_, "mobile", id, cells.at(0)), open_one(cipher_, "id_card", id, cells.at(1)),
      open_one(cipher_, "address", id, cells.at(2)), open_one(cipher_, "email", id, cells.at(3))};
}

Personal Registry::mask(const Personal& c) const {
  auto m = [](const std::optional<std::string>& v, auto fn) -> std::optional<std::string> {
    return v ? std::optional<std::string>(fn(*v)) : std::nullopt;
  };
  return {m(c.mobile, [&](const std::string& v) { return masker_.mobile(v); }),
          m(c.id_card, [&](const std::string& v) { return masker_.id_card(v); }),
          m(c.address, [&](const std::string& v) { return masker_.address(v); }),
          m(c.email, [&](const std::string& v) { return masker_.email(v); })};
}

// ---- rows -------------------------------------------------------------------------------------

namespace {

constexpr const char* kColumns =
    "c.id, c.kind, c.name, c.mobile, c.id_card, c.address, c.email, c.tags, c.department_id, "
    "c.owner_user_id, c.classification, c.source, c.custom, c.external_key, c.status, "
    "c.legal_hold, c.stale, c.review_due_at, c.reviewed_at, c.created_at, c.updated_at, "
    "c.version, COALESCE(d.path, '')";
constexpr const char* kTables = "customers c LEFT JOIN departments d ON d.id = c.department_id";
const std::string kFrom = std::string(" FROM ") + kTables;

std::vector<std::string> tags_of(const std::string& stored) {
  std::vector<std::string> out;
  json::error_code ec;
  json::value v = json::parse(stored, ec);
  if (!ec && v.is_array())
    for (const auto& t : v.as_array())
      if (t.is_string()) out.emplace_back(t.as_string());
  return out;
}

std::string tags_json(const std::vector<std::string>& tags) {
  json::array a;
  for (const auto& t : tags) a.emplace_back(t);
  return json::serialize(a);
}

authz::Resource customer_resource(const std::vector<db::Value>& r) {
  return resource("customer", db::as_int(r[0]), db::as_opt_int(r[8]), db::as_text(r[22]),
                  db::as_opt_int(r[9]), static_cast<int>(db::as_int(r[10])));
}

std::optional<std::vector<db::Value>> load_row(db::Tx& tx, int64_t org, int64_t id) {
  static const std::string sql =
      std::string("SELECT ") + kColumns + kFrom + " WHERE c.org_id = ? AND c.id = ?";
  return tx.one(sql, {org, id});
}

std::string search_text(const std::string& name, const std::vector<std::string>& tags,
                        const std::string& source) {
  std::string t = name + " " + source;
  for (const auto& x : tags) t += " " + x;
  return t;
}

// Read once per transaction and kind of record (an import asks for each of its rows); nothing
// here changes the policies.
int review_days(db::Tx& tx, int64_t org, const std::string& type, int classification) {
  struct Known {
    int64_t org;
    std::string type;
    int classification, days;
  };
  static constexpr char kKey = 0;
  auto& slot = tx.local(&kKey);
  if (!slot) slot = std::make_shared<std::vector<Known>>();
  auto& known = *static_cast<std::vector<Known>*>(slot.get());
  for (const Known& k : known)
    if (k.org == org && k.type == type && k.classification == classification) return k.days;
  auto r = tx.one(
      "SELECT interval_days FROM review_policies WHERE org_id = ? AND record_type = ? AND "
      "classification <= ? ORDER BY classification DESC LIMIT 1",
      {org, type, int64_t{classification}});
  const int days = r ? static_cast<int>(db::as_int(r->at(0))) : 365;
  known.push_back({org, type, classification, days});
  return days;
}

void check_tags(const std::vector<std::string>& tags) {
  if (tags.size() > 20) throw Error(ErrorCode::validation_failed, "body.tags", "at most 20 tags");
  static const std::regex bad("[\"\\\\,%_<>]");
  for (const auto& t : tags) {
    check_text(t, "body.tags", 32, true);
    if (std::regex_search(t, bad))
      throw Error(ErrorCode::validation_failed, "body.tags", "a tag has no quotes, commas, % or _");
  }
}

}  // namespace

// The caller-facing form: masked unless `clear`.
static Customer to_customer(const Registry& reg, const std::vector<db::Value>& r, bool clear) {
  Customer c;
  c.id = db::as_int(r[0]);
  c.kind = db::as_text(r[1]);
  const std::string name = db::as_text(r[2]);
  const Personal plain = reg.open(c.id, {r[3], r[4], r[5], r[6]});
  c.name = clear ? name : reg.masker().name(name);
  c.personal = clear ? plain : reg.mask(plain);
  c.tags = tags_of(db::as_text(r[7]));
  c.department_id = db::as_opt_int(r[8]);
  c.owner_user_id = db::as_opt_int(r[9]);
  c.classification = static_cast<int>(db::as_int(r[10]));
  c.source = db::as_opt_text(r[11]).value_or("");
  c.custom_json = db::as_opt_text(r[12]).value_or("{}");
  c.external_key = db::as_opt_text(r[13]);
  c.status = db::as_text(r[14]);
  c.legal_hold = db::as_int(r[15]) != 0;
  c.stale = db::as_int(r[16]) != 0;
  c.review_due_at = db::as_opt_int(r[17]);
  c.reviewed_at = db::as_opt_int(r[18]);
  c.created_at = db::as_int(r[19]);
  c.updated_at = db::as_int(r[20]);
  c.version = db::as_int(r[21]);
  return c;
}

// ---- create / read / update -------------------------------------------------------------------

int64_t Registry::insert_customer(db::Tx& tx, const authz::Principal& p, const audit::Actor& a,
                                  const CustomerInput& in, int64_t now, Apply mode) {
  const std::string kind = in.kind.value_or("individual");
  if (kind != "individual" && kind != "organization")
    throw Error(ErrorCode::validation_failed, "body.kind", "individual or organization");
  const std::string name = in.name.value_or("");
  check_text(name, "body.name", 100, true);
  Personal clear;
  auto take = [](const std::optional<std::optional<std::string>>& v) {
    return v ? *v : std::nullopt;
  };
  clear.mobile = take(in.mobile);
  clear.id_card = take(in.id_card);
  clear.address = take(in.address);
  clear.email = take(in.email);
  if (clear.mobile && !clear.mobile->empty() && !normal_mobile(*clear.mobile))
    throw Error(ErrorCode::validation_failed, "body.mobile", "a telephone number");
  if (clear.id_card && !clear.id_card->empty() && !normal_id_card(*clear.id_card))
    throw Error(ErrorCode::validation_failed, "body.id_card", "an ID-card number");
  if (clear.email && !clear.email->empty() && !normal_email(*clear.email))
    throw Error(ErrorCode::validation_failed, "body.email", "an e-mail address");
  if (clear.address) check_text(*clear.address, "body.address", 200, false);
  const auto tags = in.tags.value_or(std::vector<std::string>{});
  check_tags(tags);
  const std::string source = in.source.value_or("");
  check_text(source, "body.source", 100, false);
  if (in.external_key) check_text(*in.external_key, "body.external_key", 64, true);
  std::string custom = in.custom_json.value_or("{}");
  if (custom.size() > 8000) throw Error(ErrorCode::validation_failed, "body.custom", "too large");
  const auto dept = in.department_id ? *in.department_id : p.department_id;
  check_department(tx, p, perm::customers_write, dept, "body.department_id");
  const int classification = in.classification.value_or(authz::kSensitive);
  check_classification(tx, p, classification, "body.classification");
  if (in.classification && *in.classification != authz::kSensitive)
    require(authz::may(p, perm::classify));
  if (in.external_key && tx.one("SELECT 1 FROM customers WHERE org_id = ? AND external_key = ?",
                                {p.org_id, *in.external_key}))
    throw Error(ErrorCode::conflict, "body.external_key", "taken");
  const auto owner = in.owner_user_id ? *in.owner_user_id : std::optional<int64_t>(p.user_id);
  if (mode == Apply::check) return 0;
  // The row whole, in one statement: its sealed fields are bound to the id it is given.
  const int64_t id = db::next_id(tx, "customers");
  const Sealed s = seal(id, clear);
  search::insert(tx, "customers", id,
                 "org_id, id, kind, name, tags, department_id, owner_user_id, classification, "
                 "source, custom, external_key, status, review_due_at, created_at, updated_at, "
                 "mobile, id_card, address, email, mobile_bidx, id_card_bidx, email_bidx",
                 "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?",
                 {p.org_id,
                  id,
                  kind,
                  name,
                  tags_json(tags),
                  db::optional(dept),
                  db::optional(owner),
                  int64_t{classification},
                  source,
                  custom,
                  db::optional(in.external_key),
                  now + review_days(tx, p.org_id, "customer", classification) * kDayMs,
                  now,
                  now,
                  s.mobile,
                  s.id_card,
                  s.address,
                  s.email,
                  s.mobile_bidx,
                  s.id_card_bidx,
                  s.email_bidx},
                 search_text(name, tags, source));
  // Personal fields enter the audit trail masked.
  const Personal m = mask(clear);
  audit::Changes ch;
  ch.set("name", masker_.name(name));
  ch.set("mobile", m.mobile);
  ch.set("id_card", m.id_card);
  ch.set("email", m.email);
  ch.set("department_id", dept);
  ch.set("classification", classification);
  audit::record(tx, a,
                {.action = "registry.customer.create",
                 .object_type = "customer",
                 .object_id = std::to_string(id),
                 .changes = ch.str()},
                now);
  return id;
}

Customer Registry::create_customer(const authz::Principal& p, const audit::Actor& a,
                                   const CustomerInput& in) {
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const int64_t id = insert_customer(tx, p, a, in, now, Apply::write);
    return to_customer(*this, *load_row(tx, p.org_id, id), false);
  });
}

Customer Registry::get_customer(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                DeferredAudit* deferred) {
  // The record and whether reading it is audited, in one statement (as a request by id).
  static const std::string sql = std::string("SELECT ") + kColumns + ", " +
                                 authz::audits_reads_sql("c.org_id", "c.classification") + kFrom +
                                 " WHERE c.org_id = ? AND c.id = ?";
  std::optional<int64_t> via_grant;
  db::Value audits;
  Customer c = db_.read_one([&](db::Tx& tx) {
    auto r = tx.one(sql, {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    const authz::Decision d = authz::decide(p, perm::customers_read, customer_resource(*r));
    if (!d.allowed) throw Error(ErrorCode::not_found, "path.id");
    via_grant = d.grant_id;
    audits = r->back();
    return to_customer(*this, *r, false);
  });
  if (via_grant || read_is_audited(db_, p.org_id, c.classification, audits))
    audit_read_by_id(a, via_grant, perm::customers_read, "registry.customer.read", "customer", id,
                     c.classification, deferred);
  return c;
}

Page<Customer> Registry::list_customers(const authz::Principal& p, const audit::Actor& a,
                                        const CustomerQuery& q) {
  authz::Filter f = authz::visible(p, perm::customers_read,
                                   {.department_id = "c.department_id",
                                    .department_path = "d.path",
                                    .owner_user_id = "c.owner_user_id",
                                    .classification = "c.classification",
                                    .id = "c.id",
                                    .object_type = "customer"});
  std::vector<int64_t> audited;
  int top_audited = 0;
  auto page = db_.read([&](db::Tx& tx) {
    std::string where = " WHERE c.org_id = ? AND c.status <> 'deleted' AND " + f.sql;
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    std::string from = kFrom, id = "c.id";
    if (!q.q.empty()) {
      const auto tokens = search::query_tokens(q.q);
      if (tokens.empty()) throw Error(ErrorCode::validation_failed, "query.q", "nothing to search");
      auto m = search::match(tx.engine(), "customers", "c.id", "c.search_tokens", tokens);
      from = " FROM " + m.from + kTables;
      id = m.id;
      where += " AND " + m.sql;
      params.insert(params.end(), m.params.begin(), m.params.end());
    }
    auto exact = [&](const std::string& v, const char* field, const char* column,
                     std::optional<std::string> (*norm)(std::string_view)) {
      if (v.empty()) return;
      auto n = norm(v);
      if (!n) throw Error(ErrorCode::validation_failed, std::string("query.") + field, "malformed");
      where += std::string(" AND ") + column + " = ?";
      params.emplace_back(cipher_.blind_index(field, *n));
    };
    exact(q.mobile, "mobile", "c.mobile_bidx", normal_mobile);
    exact(q.id_card, "id_card", "c.id_card_bidx", normal_id_card);
    exact(q.email, "email", "c.email_bidx", normal_email);
    if (q.department_id) {
      where += " AND c.department_id = ?";
      params.emplace_back(*q.department_id);
    }
    if (q.classification) {
      where += " AND c.classification = ?";
      params.emplace_back(int64_t{*q.classification});
    }
    if (!q.tag.empty()) {
      check_tags({q.tag});
      where += " AND c.tags LIKE ?";
      params.emplace_back("%\"" + q.tag + "\"%");
    }
    if (q.stale) {
      where += " AND c.stale = ?";
      params.emplace_back(int64_t{*q.stale});
    }
    if (q.created_from) {
      where += " AND c.created_at >= ?";
      params.emplace_back(*q.created_from);
    }
    if (q.created_to) {
      where += " AND c.created_at < ?";
      params.emplace_back(*q.created_to);
    }
    Page<Customer> page;
    if (q.count_total) {
      const auto n = db::bounded_count(tx, from + where, params, q.count_limit);
      page.total = n.n;
      page.total_exact = n.exact;
    }
    if (q.after_id) {
      where += " AND " + id + " < ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows = tx.query(std::string("SELECT ") + kColumns + from + where + " ORDER BY " + id +
                             " DESC LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    const auto levels = authz::load_levels(tx, p.org_id);
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i) {
      page.items.push_back(to_customer(*this, rows[i], false));
      const int cl = page.items.back().classification;
      if (q.record_reads && authz::level_of(levels, cl).audit_reads) {
        audited.push_back(page.items.back().id);
        top_audited = std::max(top_audited, cl);
      }
    }
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
  // One record names every sensitive customer the page showed (masked, but read).
  if (!audited.empty()) {
    std::string ids;
    for (int64_t id : audited) ids += (ids.empty() ? "" : ",") + std::to_string(id);
    if (ids.size() > 1000) ids = ids.substr(0, ids.rfind(',', 1000)) + ",…";
    read_audits_.write([&](db::Tx& tx) {
      audit_read(tx, a, "registry.customers.list", "customer", ids, top_audited, clock_.now_ms());
    });
  }
  return page;
}

std::vector<std::string> Registry::change_customer(db::Tx& tx, const authz::Principal& p,
                                                   const audit::Actor& a, int64_t id,
                                                   std::optional<int64_t> version,
                                                   const CustomerInput& in, int64_t now,
                                                   Apply mode) {
  auto r = load_row(tx, p.org_id, id);
  if (!r || !authz::may(p, perm::customers_read, customer_resource(*r)))
    throw Error(ErrorCode::not_found, "path.id");
  require(authz::may(p, perm::customers_write, customer_resource(*r)));
  if (version && db::as_int(r->at(21)) != *version)
    throw Error(ErrorCode::precondition_failed, "header.if-match", "the record has changed");
  if (db::as_text(r->at(14)) != "active")
    throw Error(ErrorCode::conflict, "path.id", "the customer is " + db::as_text(r->at(14)));
  const Customer before = to_customer(*this, *r, true);
  Customer after = before;
  if (in.kind && *in.kind != before.kind)
    throw Error(ErrorCode::validation_failed, "body.kind", "cannot change");
  // A value equal to the masked form of the stored one (an edited export, a form filled from a
  // masked read) means "unchanged", never the mask itself.
  if (in.name && *in.name != masker_.name(before.name)) {
    check_text(*in.name, "body.name", 100, true);
    after.name = *in.name;
  }
  const Personal masked = mask(before.personal);
  auto personal = [&](const std::optional<std::optional<std::string>>& v,
                      std::optional<std::string>& field, const std::optional<std::string>& shown,
                      const char* name, std::optional<std::string> (*norm)(std::string_view)) {
    if (!v) return;
    if (*v && shown && **v == *shown) return;
    if (*v && !(*v)->empty() && norm && !norm(**v))
      throw Error(ErrorCode::validation_failed, std::string("body.") + name, "malformed");
    field = (*v && !(*v)->empty()) ? *v : std::nullopt;
  };
  personal(in.mobile, after.personal.mobile, masked.mobile, "mobile", normal_mobile);
  personal(in.id_card, after.personal.id_card, masked.id_card, "id_card", normal_id_card);
  personal(in.email, after.personal.email, masked.email, "email", normal_email);
  personal(in.address, after.personal.address, masked.address, "address", nullptr);
  if (after.personal.address) check_text(*after.personal.address, "body.address", 200, false);
  if (in.tags) {
    check_tags(*in.tags);
    after.tags = *in.tags;
  }
  if (in.source) {
    check_text(*in.source, "body.source", 100, false);
    after.source = *in.source;
  }
  if (in.department_id && *in.department_id != before.department_id) {
    check_department(tx, p, perm::customers_write, *in.department_id, "body.department_id");
    after.department_id = *in.department_id;
  }
  if (in.owner_user_id) after.owner_user_id = *in.owner_user_id;
  if (in.classification && *in.classification != before.classification) {
    check_classification(tx, p, *in.classification, "body.classification");
    require(authz::may(p, perm::classify));
    after.classification = *in.classification;
  }
  if (in.custom_json) after.custom_json = *in.custom_json;
  std::vector<std::string> changed;
  auto note = [&](bool differs, const char* field) {
    if (differs) changed.emplace_back(field);
  };
  note(after.name != before.name, "name");
  note(after.personal.mobile != before.personal.mobile, "mobile");
  note(after.personal.id_card != before.personal.id_card, "id_card");
  note(after.personal.address != before.personal.address, "address");
  note(after.personal.email != before.personal.email, "email");
  note(after.tags != before.tags, "tags");
  note(after.source != before.source, "source");
  note(after.department_id != before.department_id, "department_id");
  note(after.owner_user_id != before.owner_user_id, "owner_user_id");
  note(after.classification != before.classification, "classification");
  note(after.custom_json != before.custom_json, "custom");
  if (mode == Apply::check || (mode == Apply::write_changes && changed.empty())) return changed;
  const Sealed s = seal(id, after.personal);
  tx.exec(
      "UPDATE customers SET name = ?, mobile = ?, id_card = ?, address = ?, email = ?, "
      "mobile_bidx = ?, id_card_bidx = ?, email_bidx = ?, tags = ?, source = ?, "
      "department_id = ?, owner_user_id = ?, classification = ?, custom = ?, version = version "
      "+ 1, updated_at = ? WHERE org_id = ? AND id = ?",
      {after.name, s.mobile, s.id_card, s.address, s.email, s.mobile_bidx, s.id_card_bidx,
       s.email_bidx, tags_json(after.tags), after.source, db::optional(after.department_id),
       db::optional(after.owner_user_id), int64_t{after.classification}, after.custom_json, now,
       p.org_id, id});
  search::put(tx, "customers", id, search_text(after.name, after.tags, after.source));
  const Personal mb = mask(before.personal), ma = mask(after.personal);
  audit::Changes ch;
  if (after.name != before.name)
    ch.add("name", masker_.name(before.name), masker_.name(after.name));
  if (after.personal.mobile != before.personal.mobile) ch.add("mobile", mb.mobile, ma.mobile);
  if (after.personal.id_card != before.personal.id_card) ch.add("id_card", mb.id_card, ma.id_card);
  if (after.personal.email != before.personal.email) ch.add("email", mb.email, ma.email);
  if (after.personal.address != before.personal.address) ch.add("address", mb.address, ma.address);
  ch.add("tags", before.tags, after.tags);
  ch.add("source", before.source, after.source);
  ch.add("department_id", before.department_id, after.department_id);
  ch.add("owner_user_id", before.owner_user_id, after.owner_user_id);
  ch.add("classification", before.classification, after.classification);
  audit::record(
      tx, a,
      {.action = after.classification != before.classification ? "registry.customer.classify"
                                                               : "registry.customer.update",
       .object_type = "customer",
       .object_id = std::to_string(id),
       .changes = ch.str()},
      now);
  return changed;
}

Customer Registry::update_customer(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                   int64_t version, const CustomerInput& in) {
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    change_customer(tx, p, a, id, version, in, now, Apply::write);
    return to_customer(*this, *load_row(tx, p.org_id, id), false);
  });
}

std::map<std::string, std::string> Registry::unmask_customer(const authz::Principal& p,
                                                             const audit::Actor& a, int64_t id,
                                                             const std::vector<std::string>& fields,
                                                             const std::string& reason) {
  static const std::vector<std::string> known{"name", "mobile", "id_card", "address", "email"};
  if (fields.empty()) throw Error(ErrorCode::validation_failed, "body.fields", "name a field");
  for (const auto& f : fields)
    if (std::find(known.begin(), known.end(), f) == known.end())
      throw Error(ErrorCode::validation_failed, "body.fields", "unknown field " + f);
  check_text(reason, "body.reason", 200, true);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto r = load_row(tx, p.org_id, id);
    if (!r || !authz::may(p, perm::customers_read, customer_resource(*r)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::customers_unmask, customer_resource(*r)));
    const Customer c = to_customer(*this, *r, true);
    std::map<std::string, std::string> out;
    json::array names;
    for (const auto& f : fields) {
      std::optional<std::string> v = f == "name"      ? std::optional<std::string>(c.name)
                                     : f == "mobile"  ? c.personal.mobile
                                     : f == "id_card" ? c.personal.id_card
                                     : f == "address" ? c.personal.address
                                                      : c.personal.email;
      out[f] = v.value_or("");
      names.emplace_back(f);
    }
    audit::record(tx, a,
                  {.action = "registry.customer.unmask",
                   .object_type = "customer",
                   .object_id = std::to_string(id),
                   .changes = json::serialize(
                       json::object{{"fields", names}, {"classification", c.classification}}),
                   .reason = reason},
                  now);
    return out;
  });
}

Customer Registry::review_customer(const authz::Principal& p, const audit::Actor& a, int64_t id) {
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto r = load_row(tx, p.org_id, id);
    if (!r || !authz::may(p, perm::customers_read, customer_resource(*r)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::customers_write, customer_resource(*r)));
    const int cl = static_cast<int>(db::as_int(r->at(10)));
    tx.exec(
        "UPDATE customers SET reviewed_at = ?, review_due_at = ?, stale = 0, version = version + "
        "1, updated_at = ? WHERE org_id = ? AND id = ?",
        {now, now + review_days(tx, p.org_id, "customer", cl) * kDayMs, now, p.org_id, id});
    todo_.close(tx, p.org_id, "customer", std::to_string(id), "registry.review", now);
    audit::record(tx, a,
                  {.action = "registry.customer.review",
                   .object_type = "customer",
                   .object_id = std::to_string(id)},
                  now);
    return to_customer(*this, *load_row(tx, p.org_id, id), false);
  });
}

Customer Registry::set_legal_hold(const authz::Principal& p, const audit::Actor& a, int64_t id,
                                  bool hold, const std::string& reason) {
  check_text(reason, "body.reason", 500, true);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto r = load_row(tx, p.org_id, id);
    if (!r || !authz::may(p, perm::customers_read, customer_resource(*r)))
      throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::privacy_write, customer_resource(*r)));
    tx.exec(
        "UPDATE customers SET legal_hold = ?, version = version + 1, updated_at = ? WHERE org_id "
        "= ? AND id = ?",
        {int64_t{hold}, now, p.org_id, id});
    audit::Changes ch;
    ch.add("legal_hold", db::as_int(r->at(15)) != 0, hold);
    audit::record(tx, a,
                  {.action = "registry.customer.legal_hold",
                   .object_type = "customer",
                   .object_id = std::to_string(id),
                   .changes = ch.str(),
                   .reason = reason},
                  now);
    return to_customer(*this, *load_row(tx, p.org_id, id), false);
  });
}

}  // namespace custos::registry
