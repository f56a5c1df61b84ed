// Lawful collection and keeping the register current (SI-2): consents and legal bases,
// data-subject requests, reviews and retention.
#include <regex>

#include "modules/registry/internal.h"
#include "platform/search/search_sql.h"

namespace custos::registry {
namespace json = boost::json;
using namespace detail;

namespace {

const std::vector<std::string> kBases{"consent",        "contract",        "legal_obligation",
                                      "vital_interest", "public_interest", "employment"};
const std::vector<std::string> kDsrKinds{"access", "correction", "deletion"};
constexpr int64_t kDsrDays = 30;  // PIPL art. 50 practice: answered within 30 days

struct CustomerRef {
  int64_t id = 0;
  std::string status;
  bool legal_hold = false;
};

// The customer for a privacy action: visible (else not_found), registry:privacy:write (else
// forbidden).
CustomerRef privacy_target(db::Tx& tx, const authz::Principal& p, int64_t id, bool write) {
  auto r = tx.one(
      "SELECT c.id, c.department_id, COALESCE(d.path, ''), c.owner_user_id, c.classification, "
      "c.status, c.legal_hold FROM customers c LEFT JOIN departments d ON d.id = c.department_id "
      "WHERE c.org_id = ? AND c.id = ?",
      {p.org_id, id});
  if (!r) throw Error(ErrorCode::not_found, "path.id");
  const auto res = resource("customer", id, db::as_opt_int(r->at(1)), db::as_text(r->at(2)),
                            db::as_opt_int(r->at(3)), static_cast<int>(db::as_int(r->at(4))));
  if (!authz::may(p, perm::customers_read, res)) throw Error(ErrorCode::not_found, "path.id");
  if (write) require(authz::may(p, perm::privacy_write, res));
  return {id, db::as_text(r->at(5)), db::as_int(r->at(6)) != 0};
}

Consent consent_from(const std::vector<db::Value>& r) {
  return {db::as_int(r[0]),
          db::as_int(r[1]),
          db::as_text(r[2]),
          db::as_text(r[3]),
          db::as_text(r[4]),
          db::as_text(r[5]),
          db::as_text(r[6]),
          db::as_text(r[7]),
          db::as_int(r[8]),
          db::as_opt_int(r[9]),
          db::as_opt_text(r[10]).value_or("")};
}

constexpr const char* kConsentColumns =
    "id, customer_id, purpose, legal_basis, policy_version, scope, given_by, source, given_at, "
    "withdrawn_at, withdraw_reason";

SubjectRequest dsr_from(const std::vector<db::Value>& r) {
  return {db::as_int(r[0]),    db::as_int(r[1]),  db::as_text(r[2]),
          db::as_text(r[3]),   db::as_text(r[4]), db::as_opt_text(r[5]).value_or(""),
          db::as_int(r[6]),    db::as_int(r[7]),  db::as_opt_int(r[8]),
          db::as_opt_int(r[9])};
}

constexpr const char* kDsrColumns =
    "id, customer_id, kind, status, detail, response, received_at, due_at, completed_at, "
    "handled_by";

// The customer's personal data wiped; the row stays as a tombstone (its id, its history).
void anonymise(db::Tx& tx, int64_t org, int64_t id, const std::string& status, int64_t now) {
  tx.exec(
      "UPDATE customers SET name = ?, mobile = NULL, id_card = NULL, address = NULL, email = "
      "NULL, mobile_bidx = NULL, id_card_bidx = NULL, email_bidx = NULL, tags = '[]', source = "
      "'', custom = '{}', external_key = NULL, status = ?, stale = 0, version = version + 1, "
      "updated_at = ? WHERE org_id = ? AND id = ?",
      {std::string(status == "deleted" ? "已删除客户 #" : "匿名客户 #") + std::to_string(id),
       status, now, org, id});
  search::remove(tx, "customers", id);
}

}  // namespace

// ---- consents ---------------------------------------------------------------------------------

Consent Registry::add_consent(const authz::Principal& p, const audit::Actor& a, int64_t customer_id,
                              const ConsentInput& in) {
  static const std::regex purpose_re("[a-z][a-z0-9_]{0,31}");
  if (!std::regex_match(in.purpose, purpose_re))
    throw Error(ErrorCode::validation_failed, "body.purpose", "lower-case letters, digits, '_'");
  if (std::find(kBases.begin(), kBases.end(), in.legal_basis) == kBases.end())
    throw Error(ErrorCode::validation_failed, "body.legal_basis",
                "consent, contract, legal_obligation, vital_interest, public_interest or "
                "employment");
  check_text(in.policy_version, "body.policy_version", 32, in.legal_basis == "consent");
  check_text(in.scope, "body.scope", 500, false);
  check_text(in.given_by, "body.given_by", 100, in.legal_basis == "consent");
  check_text(in.source, "body.source", 100, false);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const auto c = privacy_target(tx, p, customer_id, true);
    if (c.status != "active")
      throw Error(ErrorCode::conflict, "path.id", "the customer is " + c.status);
    auto r = tx.one(
        "INSERT INTO customer_consents (org_id, customer_id, purpose, legal_basis, "
        "policy_version, scope, given_by, source, given_at, recorded_by, recorded_at) VALUES (?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        {p.org_id, customer_id, in.purpose, in.legal_basis, in.policy_version, in.scope,
         in.given_by, in.source, in.given_at.value_or(now), p.user_id, now});
    const int64_t id = db::as_int(r->at(0));
    audit::Changes ch;
    ch.set("purpose", in.purpose);
    ch.set("legal_basis", in.legal_basis);
    ch.set("policy_version", in.policy_version);
    audit::record(tx, a,
                  {.action = "registry.consent.record",
                   .object_type = "customer",
                   .object_id = std::to_string(customer_id),
                   .changes = ch.str()},
                  now);
    return consent_from(*tx.one(
        std::string("SELECT ") + kConsentColumns + " FROM customer_consents WHERE id = ?", {id}));
  });
}

Consent Registry::withdraw_consent(const authz::Principal& p, const audit::Actor& a,
                                   int64_t customer_id, int64_t consent_id,
                                   const std::string& reason) {
  check_text(reason, "body.reason", 500, false);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    privacy_target(tx, p, customer_id, true);
    auto r = tx.one(std::string("SELECT ") + kConsentColumns +
                        " FROM customer_consents WHERE org_id = ? AND customer_id = ? AND id = ?",
                    {p.org_id, customer_id, consent_id});
    if (!r) throw Error(ErrorCode::not_found, "path.consent_id");
    if (!db::is_null(r->at(9))) throw Error(ErrorCode::conflict, "path.consent_id", "withdrawn");
    tx.exec(
        "UPDATE customer_consents SET withdrawn_at = ?, withdrawn_by = ?, withdraw_reason = ? "
        "WHERE id = ?",
        {now, p.user_id, reason, consent_id});
    audit::record(tx, a,
                  {.action = "registry.consent.withdraw",
                   .object_type = "customer",
                   .object_id = std::to_string(customer_id),
                   .changes = json::serialize(
                       json::object{{"purpose", db::as_text(r->at(2))}, {"consent", consent_id}}),
                   .reason = reason},
                  now);
    return consent_from(
        *tx.one(std::string("SELECT ") + kConsentColumns + " FROM customer_consents WHERE id = ?",
                {consent_id}));
  });
}

std::vector<Consent> Registry::consents(const authz::Principal& p, int64_t customer_id) {
  return db_.read([&](db::Tx& tx) {
    privacy_target(tx, p, customer_id, false);
    std::vector<Consent> out;
    for (const auto& r : tx.query(std::string("SELECT ") + kConsentColumns +
                                      " FROM customer_consents WHERE org_id = ? AND customer_id "
                                      "= ? ORDER BY id",
                                  {p.org_id, customer_id})
                             .rows)
      out.push_back(consent_from(r));
    return out;
  });
}

// ---- data-subject requests --------------------------------------------------------------------

SubjectRequest Registry::open_subject_request(const authz::Principal& p, const audit::Actor& a,
                                              int64_t customer_id, const std::string& kind,
                                              const std::string& detail) {
  if (std::find(kDsrKinds.begin(), kDsrKinds.end(), kind) == kDsrKinds.end())
    throw Error(ErrorCode::validation_failed, "body.kind", "access, correction or deletion");
  check_text(detail, "body.detail", 2000, false);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const auto c = privacy_target(tx, p, customer_id, true);
    if (c.status == "deleted") throw Error(ErrorCode::conflict, "path.id", "already deleted");
    auto r = tx.one(
        "INSERT INTO data_subject_requests (org_id, customer_id, kind, status, detail, "
        "received_at, due_at) VALUES (?, ?, ?, 'open', ?, ?, ?) RETURNING id",
        {p.org_id, customer_id, kind, detail, now, now + kDsrDays * kDayMs});
    const int64_t id = db::as_int(r->at(0));
    todo_.assign(tx, p.org_id, p.user_id, "registry.dsr",
                 "处理个人信息主体请求（" + kind + "）#" + std::to_string(id),
                 "Handle the data-subject request (" + kind + ") #" + std::to_string(id),
                 "data_subject_request", std::to_string(id), now + kDsrDays * kDayMs, now);
    audit::record(tx, a,
                  {.action = "registry.dsr.open",
                   .object_type = "customer",
                   .object_id = std::to_string(customer_id),
                   .changes = json::serialize(json::object{{"kind", kind}, {"request", id}})},
                  now);
    return dsr_from(*tx.one(
        std::string("SELECT ") + kDsrColumns + " FROM data_subject_requests WHERE id = ?", {id}));
  });
}

SubjectRequest Registry::complete_subject_request(const authz::Principal& p, const audit::Actor& a,
                                                  int64_t id, const std::string& note) {
  check_text(note, "body.note", 2000, false);
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    auto r = tx.one(std::string("SELECT ") + kDsrColumns +
                        " FROM data_subject_requests WHERE org_id = ? AND id = ?",
                    {p.org_id, id});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    SubjectRequest d = dsr_from(*r);
    const auto c = privacy_target(tx, p, d.customer_id, true);
    if (d.status != "open") throw Error(ErrorCode::conflict, "path.id", "already " + d.status);
    std::string status = "completed", response = note;
    std::string action = "registry.dsr.complete";
    if (d.kind == "access") {
      // A copy of what is held, in clear (PIPL art. 45): the caller hands it over.
      auto row = tx.one(
          "SELECT name, mobile, id_card, address, email, tags, source FROM customers WHERE id = ?",
          {d.customer_id});
      const Personal clear = open(d.customer_id, {row->at(1), row->at(2), row->at(3), row->at(4)});
      json::object copy{{"name", db::as_text(row->at(0))},
                        {"mobile", clear.mobile ? json::value(*clear.mobile) : nullptr},
                        {"id_card", clear.id_card ? json::value(*clear.id_card) : nullptr},
                        {"address", clear.address ? json::value(*clear.address) : nullptr},
                        {"email", clear.email ? json::value(*clear.email) : nullptr},
                        {"tags", json::parse(db::as_text(row->at(5)))},
                        {"source", db::as_opt_text(row->at(6)).value_or("")}};
      json::array purposes;
      for (const auto& x : tx.query("SELECT purpose, legal_basis, given_at, withdrawn_at FROM "
                                    "customer_consents WHERE customer_id = ? ORDER BY id",
                                    {d.customer_id})
                               .rows)
        purposes.push_back({{"purpose", db::as_text(x[0])},
                            {"legal_basis", db::as_text(x[1])},
                            {"given_at", db::as_int(x[2])},
                            {"withdrawn", !db::is_null(x[3])}});
      copy["purposes"] = std::move(purposes);
      response = json::serialize(copy);
    } else if (d.kind == "deletion") {
      if (c.legal_hold) {
        status = "refused";
        response = "legal hold: the record must be kept";
        action = "registry.dsr.refuse";
      } else {
        anonymise(tx, p.org_id, d.customer_id, "deleted", now);
        tx.exec(
            "UPDATE customer_consents SET withdrawn_at = COALESCE(withdrawn_at, ?) WHERE "
            "customer_id = ?",
            {now, d.customer_id});
        audit::record(tx, a,
                      {.action = "registry.customer.delete",
                       .object_type = "customer",
                       .object_id = std::to_string(d.customer_id),
                       .reason = "data-subject request #" + std::to_string(id)},
                      now);
      }
    }
    tx.exec(
        "UPDATE data_subject_requests SET status = ?, response = ?, completed_at = ?, "
        "handled_by = ? WHERE id = ?",
        {status, response, now, p.user_id, id});
    todo_.close(tx, p.org_id, "data_subject_request", std::to_string(id), "registry.dsr", now);
    // The record of what was done never holds the copy itself.
    audit::record(tx, a,
                  {.action = action,
                   .object_type = "customer",
                   .object_id = std::to_string(d.customer_id),
                   .changes = json::serialize(
                       json::object{{"kind", d.kind}, {"request", id}, {"status", status}}),
                   .reason = d.kind == "access" ? "copy handed over" : note},
                  now);
    return dsr_from(*tx.one(
        std::string("SELECT ") + kDsrColumns + " FROM data_subject_requests WHERE id = ?", {id}));
  });
}

Page<SubjectRequest> Registry::subject_requests(const authz::Principal& p, bool open_only,
                                                int limit, std::optional<int64_t> after_id) {
  require(authz::may(p, perm::privacy_write));
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE org_id = ?";
    std::vector<db::Value> params{p.org_id};
    if (open_only) where += " AND status = 'open'";
    Page<SubjectRequest> page;
    page.total = db::as_int(tx.query("SELECT COUNT(*) FROM data_subject_requests" + where,
                                     std::span<const db::Value>(params))
                                .rows.at(0)
                                .at(0));
    if (after_id) {
      where += " AND id < ?";
      params.emplace_back(*after_id);
    }
    params.emplace_back(int64_t{limit + 1});
    auto rows = tx.query(std::string("SELECT ") + kDsrColumns + " FROM data_subject_requests" +
                             where + " ORDER BY id DESC LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(limit); ++i)
      page.items.push_back(dsr_from(rows[i]));
    if (rows.size() > static_cast<size_t>(limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

// ---- jobs -------------------------------------------------------------------------------------

int Registry::run_reviews(int64_t now) {
  return db_.write([&](db::Tx& tx) {
    int n = 0;
    for (const auto& r :
         tx.query("SELECT c.org_id, c.id, c.owner_user_id, d.head_user_id, c.name FROM customers c "
                  "LEFT JOIN departments d ON d.id = c.department_id WHERE c.status = 'active' AND "
                  "c.stale = 0 AND c.review_due_at IS NOT NULL AND c.review_due_at <= ? LIMIT 1000",
                  {now})
             .rows) {
      const int64_t org = db::as_int(r[0]), id = db::as_int(r[1]);
      tx.exec("UPDATE customers SET stale = 1 WHERE org_id = ? AND id = ?", {org, id});
      auto owner = db::as_opt_int(r[2]);
      if (!owner) owner = db::as_opt_int(r[3]);
      if (owner)
        todo_.assign(tx, org, *owner, "registry.review", "复核客户资料 #" + std::to_string(id),
                     "Review the customer record #" + std::to_string(id), "customer",
                     std::to_string(id), now + 7 * kDayMs, now);
      audit::record(tx, {org, std::nullopt, std::nullopt, "", "registry.reviews"},
                    {.action = "registry.customer.stale",
                     .object_type = "customer",
                     .object_id = std::to_string(id)},
                    now);
      ++n;
    }
    return n;
  });
}

int Registry::run_retention(int64_t now) {
  return db_.write([&](db::Tx& tx) {
    int n = 0;
    for (const auto& pol : tx.query("SELECT org_id, record_type, retain_days, action FROM "
                                    "retention_policies ORDER BY org_id, record_type")
                               .rows) {
      const int64_t org = db::as_int(pol[0]);
      const std::string type = db::as_text(pol[1]), action = db::as_text(pol[3]);
      const int64_t before = now - db::as_int(pol[2]) * kDayMs;
      const audit::Actor system{org, std::nullopt, std::nullopt, "", "registry.retention"};
      if (type == "service_request") {
        // Closed requests past the period; a customer's legal hold keeps theirs.
        for (const auto& r :
             tx.query(
                   "SELECT r.id FROM service_requests r LEFT JOIN customers c ON c.id = "
                   "r.customer_id WHERE r.org_id = ? AND r.status = 'closed' AND r.closed_at < ? "
                   "AND r.title <> '(已匿名)' AND COALESCE(c.legal_hold, 0) = 0 LIMIT 1000",
                   {org, before})
                 .rows) {
          const int64_t id = db::as_int(r[0]);
          tx.exec(
              "UPDATE service_requests SET title = '(已匿名)', description = '', customer_id "
              "= NULL, external_key = NULL, version = version + 1, updated_at = ? WHERE id = ?",
              {now, id});
          search::remove(tx, "service_requests", id);
          audit::record(tx, system,
                        {.action = "registry.request.anonymise",
                         .object_type = "service_request",
                         .object_id = std::to_string(id),
                         .reason = "retention " + std::to_string(db::as_int(pol[2])) + " days"},
                        now);
          ++n;
        }
      } else if (type == "customer") {
        for (const auto& r :
             tx.query(
                   "SELECT id FROM customers WHERE org_id = ? AND status = 'active' AND legal_hold "
                   "= 0 AND updated_at < ? AND NOT EXISTS (SELECT 1 FROM service_requests s WHERE "
                   "s.customer_id = customers.id AND s.status <> 'closed') LIMIT 1000",
                   {org, before})
                 .rows) {
          const int64_t id = db::as_int(r[0]);
          anonymise(tx, org, id, action == "delete" ? "deleted" : "anonymised", now);
          audit::record(tx, system,
                        {.action = action == "delete" ? "registry.customer.delete"
                                                      : "registry.customer.anonymise",
                         .object_type = "customer",
                         .object_id = std::to_string(id),
                         .reason = "retention " + std::to_string(db::as_int(pol[2])) + " days"},
                        now);
          ++n;
        }
      }
    }
    return n;
  });
}

void Registry::register_jobs(jobs::JobRunner& runner, int64_t interval_ms) {
  runner.add("registry.sla", interval_ms, [this](int64_t now) { run_sla(now); });
  runner.add("registry.reviews", interval_ms, [this](int64_t now) { run_reviews(now); });
  runner.add("registry.retention", interval_ms, [this](int64_t now) { run_retention(now); });
}

}  // namespace custos::registry
