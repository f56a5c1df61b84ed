#include "modules/org/offboarding.h"

#include <boost/json.hpp>
#include <mutex>
#include <regex>
#include <stdexcept>

#include "platform/audit/changes.h"
#include "platform/errors/error.h"
#include "platform/log/log.h"
#include "platform/text/time.h"
#include "platform/text/utf8.h"

namespace custos::org {
namespace json = boost::json;

using audit::actor_of;

namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr const char* kFormCheck = "permission_form";
constexpr const char* kFormLabelZh = "信息系统权限审批单";
constexpr const char* kFormLabelEn = "information-system permission form";
constexpr const char* kSecurityAudience = "security_admin";
constexpr int kDeadlineBatch = 1000;  // cases escalated per organisation per run, at most

void require(bool allowed) {
  if (!allowed) throw Error(ErrorCode::forbidden);
}

json::value opt_json(const std::optional<int64_t>& v) {
  return v ? json::value(*v) : json::value(nullptr);
}

json::object change(json::value before, json::value after) {
  return {{"before", std::move(before)}, {"after", std::move(after)}};
}

// The case, its user and the user's department (for the authorization decision).
constexpr const char* kCaseSelect =
    "SELECT c.id, c.user_id, u.username, u.name, c.kind, c.status, c.permission_form_status, "
    "c.deadline_at, c.target_department_id, c.reason, c.opened_by, c.opened_at, c.form_done_by, "
    "c.form_done_at, c.completed_at, c.cancelled_at, c.closed_by, c.escalated_at, c.version, "
    "c.updated_at, u.department_id, COALESCE(d.path, ''), u.status "
    "FROM offboarding_cases c JOIN users u ON u.id = c.user_id "
    "LEFT JOIN departments d ON d.id = u.department_id";

struct CaseRow {
  OffboardingCase c;
  authz::Resource user;  // the case's user, as the authorization decision sees it
  std::string user_status;
};

CaseRow case_from(const std::vector<db::Value>& r) {
  CaseRow out;
  OffboardingCase& c = out.c;
  c.id = db::as_int(r[0]);
  c.user_id = db::as_int(r[1]);
  c.username = db::as_text(r[2]);
  c.user_name = db::as_text(r[3]);
  c.kind = db::as_text(r[4]);
  c.status = db::as_text(r[5]);
  c.permission_form_status = db::as_text(r[6]);
  c.deadline_at = db::as_int(r[7]);
  c.target_department_id = db::as_opt_int(r[8]);
  c.reason = db::as_text(r[9]);
  c.opened_by = db::as_opt_int(r[10]);
  c.opened_at = db::as_int(r[11]);
  c.form_done_by = db::as_opt_int(r[12]);
  c.form_done_at = db::as_opt_int(r[13]);
  c.completed_at = db::as_opt_int(r[14]);
  c.cancelled_at = db::as_opt_int(r[15]);
  c.closed_by = db::as_opt_int(r[16]);
  c.escalated_at = db::as_opt_int(r[17]);
  c.version = db::as_int(r[18]);
  c.updated_at = db::as_int(r[19]);
  out.user.department_id = db::as_opt_int(r[20]);
  out.user.department_path = db::as_text(r[21]);
  out.user.owner_user_id = c.user_id;
  out.user_status = db::as_text(r[22]);
  return out;
}

std::optional<CaseRow> load_case(db::Tx& tx, int64_t org_id, int64_t id) {
  auto r = tx.one(std::string(kCaseSelect) + " WHERE c.org_id = ? AND c.id = ?", {org_id, id});
  if (!r) return std::nullopt;
  return case_from(*r);
}

// Not there, or the caller may not read its user: not_found either way.
CaseRow visible_case(db::Tx& tx, const authz::Principal& p, int64_t id) {
  auto row = load_case(tx, p.org_id, id);
  if (!row || !authz::may(p, perm::users_read, row->user))
    throw Error(ErrorCode::not_found, "path.id");
  return *row;
}

void require_open(const CaseRow& row) {
  if (row.c.status != "open") throw Error(ErrorCode::conflict, "", "the case is " + row.c.status);
}

void add_alert(db::Tx& tx, int64_t org_id, const std::string& audience, const std::string& kind,
               int64_t case_id, const std::string& zh, const std::string& en, int64_t now) {
  tx.exec(
      "INSERT INTO alerts (org_id, audience, kind, object_type, object_id, message_zh, "
      "message_en, created_at) VALUES (?, ?, ?, 'offboarding_case', ?, ?, ?, ?)",
      {org_id, audience, kind, std::to_string(case_id), zh, en, now});
}

// The case's alerts need no more attention once the form is done or the case is cancelled.
void resolve_alerts(db::Tx& tx, int64_t org_id, int64_t case_id, std::optional<int64_t> by,
                    int64_t now) {
  tx.exec(
      "UPDATE alerts SET read_at = ?, read_by = ? WHERE org_id = ? AND object_type = "
      "'offboarding_case' AND object_id = ? AND read_at IS NULL",
      {now, db::optional(by), org_id, std::to_string(case_id)});
}

std::string detail_of_open(const std::vector<OffboardingCheck>& checks) {
  std::string out;
  for (const auto& ch : checks) {
    if (ch.status != "open") continue;
    out += out.empty() ? "open checks: " : "; ";
    out += ch.name + " (";
    for (size_t i = 0; i < ch.open_items.size(); ++i) out += (i ? ", " : "") + ch.open_items[i];
    out += ")";
  }
  return out;
}

json::array open_checks_json(const std::vector<OffboardingCheck>& checks) {
  json::array out;
  for (const auto& ch : checks) {
    if (ch.status != "open") continue;
    json::array items;
    for (const auto& i : ch.open_items) items.emplace_back(i);
    out.push_back(json::object{{"check", ch.name}, {"open_items", items}});
  }
  return out;
}

const std::regex& check_name_re() {
  static const std::regex re("[a-z0-9_]{1,64}");
  return re;
}

Alert alert_from(const std::vector<db::Value>& r) {
  Alert a;
  a.id = db::as_int(r[0]);
  a.audience = db::as_text(r[1]);
  a.kind = db::as_text(r[2]);
  a.object_type = db::as_opt_text(r[3]).value_or("");
  a.object_id = db::as_opt_text(r[4]).value_or("");
  a.message_zh = db::as_text(r[5]);
  a.message_en = db::as_text(r[6]);
  a.created_at = db::as_int(r[7]);
  a.read_at = db::as_opt_int(r[8]);
  a.read_by = db::as_opt_int(r[9]);
  return a;
}

constexpr const char* kAlertColumns =
    "id, audience, kind, object_type, object_id, message_zh, message_en, created_at, read_at, "
    "read_by";

}  // namespace

Offboarding::Offboarding(db::Db& db, const Clock& clock, authn::AuthService& auth,
                         int deadline_days)
    : db_(db), clock_(clock), auth_(auth), deadline_days_(deadline_days) {
  if (deadline_days < 1) throw std::invalid_argument("offboarding: deadline_days must be >= 1");
}

void Offboarding::register_check(std::string name, std::string label_zh, std::string label_en,
                                 OpenItems open_items, OnOpen on_open) {
  if (!std::regex_match(name, check_name_re()) || name == kFormCheck)
    throw std::invalid_argument("offboarding: bad check name " + name);
  if (!open_items) throw std::invalid_argument("offboarding: no function for check " + name);
  std::unique_lock lock(checks_mu_);
  for (const auto& r : checks_)
    if (r.name == name) throw std::invalid_argument("offboarding: duplicate check " + name);
  checks_.push_back({std::move(name), std::move(label_zh), std::move(label_en),
                     std::move(open_items), std::move(on_open)});
}

void Offboarding::register_jobs(jobs::JobRunner& runner, int64_t interval_ms) {
  runner.add("offboarding.deadlines", interval_ms, [this](int64_t now) { run_deadlines(now); });
}

std::string Offboarding::audience_of(const authz::Principal& p) {
  if (p.admin_role.empty()) return {};
  return p.admin_role + "_admin";  // "security" → "security_admin", …
}

std::vector<OffboardingCheck> Offboarding::evaluate(db::Tx& tx, int64_t org_id,
                                                    const OffboardingCase& c) const {
  std::vector<OffboardingCheck> out;
  OffboardingCheck form{kFormCheck, kFormLabelZh, kFormLabelEn, "done", {}};
  if (c.permission_form_status != "done") {
    form.status = "open";
    form.open_items.push_back(c.permission_form_status);  // "pending" or "overdue"
  }
  out.push_back(std::move(form));
  std::shared_lock lock(checks_mu_);
  for (const auto& r : checks_) {
    OffboardingCheck ch{r.name, r.label_zh, r.label_en, "done",
                        r.open_items(tx, org_id, c.user_id)};
    if (!ch.open_items.empty()) ch.status = "open";
    out.push_back(std::move(ch));
  }
  return out;
}

void Offboarding::store_checks(db::Tx& tx, int64_t org_id, int64_t case_id,
                               const std::vector<OffboardingCheck>& checks, int64_t now) const {
  for (const auto& ch : checks) {
    json::array items;
    for (const auto& i : ch.open_items) items.emplace_back(i);
    tx.exec(
        "INSERT INTO offboarding_checks (org_id, case_id, check_name, status, detail, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, case_id, check_name) DO UPDATE SET "
        "status = excluded.status, detail = excluded.detail, updated_at = excluded.updated_at",
        {org_id, case_id, ch.name, ch.status, json::serialize(items), now});
  }
}

// ---- open ------------------------------------------------------------------------------------

OffboardingCase Offboarding::open(const authz::Principal& p, const authn::Client& c,
                                  int64_t user_id, const std::string& kind,
                                  const std::string& reason,
                                  std::optional<int64_t> target_department_id) {
  if (kind != "departure" && kind != "transfer")
    throw Error(ErrorCode::validation_failed, "body.kind", "one of departure, transfer");
  if (reason.empty()) throw Error(ErrorCode::validation_failed, "body.reason", "required");
  if (text::utf8_length(reason) > 500)
    throw Error(ErrorCode::validation_failed, "body.reason", "at most 500 characters");
  if (kind == "transfer" && !target_department_id)
    throw Error(ErrorCode::validation_failed, "body.target_department_id",
                "required for a transfer");
  if (kind == "departure" && target_department_id)
    throw Error(ErrorCode::validation_failed, "body.target_department_id", "only for a transfer");
  const int64_t now = clock_.now_ms();
  const int64_t deadline = now + int64_t{deadline_days_} * kDayMs;
  const std::string new_status = kind == "departure" ? "departing" : "transferring";
  const int64_t case_id = db_.write([&](db::Tx& tx) {
    auto u = tx.one(
        "SELECT u.id, u.name, u.status, u.department_id, COALESCE(d.path, '') FROM users u "
        "LEFT JOIN departments d ON d.id = u.department_id WHERE u.org_id = ? AND u.id = ?",
        {p.org_id, user_id});
    authz::Resource res;
    if (u) {
      res.department_id = db::as_opt_int(u->at(3));
      res.department_path = db::as_text(u->at(4));
      res.owner_user_id = user_id;
    }
    if (!u || !authz::may(p, perm::users_read, res)) throw Error(ErrorCode::not_found, "path.id");
    require(authz::may(p, perm::users_write, res));
    if (p.user_id == user_id) throw Error(ErrorCode::forbidden, "path.id", "not oneself");
    const std::string name = db::as_text(u->at(1)), status = db::as_text(u->at(2));
    if (status != "active") throw Error(ErrorCode::conflict, "path.id", "the user is " + status);
    if (target_department_id) {
      auto d = tx.one("SELECT id, path FROM departments WHERE org_id = ? AND id = ?",
                      {p.org_id, *target_department_id});
      authz::Resource dres;
      if (d) {
        dres.department_id = *target_department_id;
        dres.department_path = db::as_text(d->at(1));
      }
      if (!d || !authz::may(p, perm::users_write, dres))
        throw Error(ErrorCode::validation_failed, "body.target_department_id",
                    "no such department");
      if (db::as_opt_int(u->at(3)) == target_department_id)
        throw Error(ErrorCode::validation_failed, "body.target_department_id",
                    "the user is in this department already");
    }
    int64_t id = 0;
    try {
      auto r = tx.one(
          "INSERT INTO offboarding_cases (org_id, user_id, kind, status, permission_form_status, "
          "deadline_at, target_department_id, reason, opened_by, opened_at, updated_at) VALUES "
          "(?, ?, ?, 'open', 'pending', ?, ?, ?, ?, ?, ?) RETURNING id",
          {p.org_id, user_id, kind, deadline, db::optional(target_department_id), reason, p.user_id,
           now, now});
      id = db::as_int(r->at(0));
    } catch (const db::DbError& e) {
      if (e.kind() == db::DbError::Kind::unique_violation)
        throw Error(ErrorCode::conflict, "path.id", "an offboarding case is open already");
      throw;
    }
    tx.exec(
        "UPDATE users SET status = ?, version = version + 1, updated_at = ? WHERE org_id = ? AND "
        "id = ?",
        {new_status, now, p.org_id, user_id});
    OffboardingCase fresh;
    fresh.user_id = user_id;
    fresh.permission_form_status = "pending";
    store_checks(tx, p.org_id, id, evaluate(tx, p.org_id, fresh), now);
    {
      std::shared_lock lock(checks_mu_);
      for (const auto& r : checks_)
        if (r.on_open) r.on_open(tx, p.org_id, user_id, id, now);
    }
    const std::string due = text::rfc3339(deadline);
    add_alert(tx, p.org_id, kSecurityAudience, "offboarding.permission_form", id,
              "信息系统权限审批单待处理：" + name + " (截止 " + due + ")",
              "Information-system permission form to process: " + name + " (due " + due + ")", now);
    json::object changes{{"user_id", user_id},
                         {"kind", kind},
                         {"deadline_at", deadline},
                         {"target_department_id", opt_json(target_department_id)},
                         {"user_status", change(json::string(status), json::string(new_status))}};
    audit::record(tx, actor_of(p, c),
                  {.action = "org.offboarding.open",
                   .object_type = "offboarding_case",
                   .object_id = std::to_string(id),
                   .changes = json::serialize(changes),
                   .reason = reason},
                  now);
    return id;
  });
  return get(p, case_id);
}

// ---- the permission form ---------------------------------------------------------------------

OffboardingCase Offboarding::complete_permission_form(const authz::Principal& p,
                                                      const authn::Client& c, int64_t case_id) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    CaseRow row = visible_case(tx, p, case_id);
    require(authz::may(p, perm::user_roles_write));
    // Nobody removes their own roles (separation of duties, as in OrgService::set_user_roles).
    if (p.user_id == row.c.user_id) throw Error(ErrorCode::forbidden, "path.id", "not oneself");
    require_open(row);
    if (row.c.permission_form_status == "done")
      throw Error(ErrorCode::conflict, "", "the permission form is done already");
    json::array roles_before;
    for (const auto& r : tx.query("SELECT role_id FROM user_roles WHERE org_id = ? AND user_id = ? "
                                  "ORDER BY role_id",
                                  {p.org_id, row.c.user_id})
                             .rows)
      roles_before.emplace_back(db::as_int(r[0]));
    tx.exec("DELETE FROM user_roles WHERE org_id = ? AND user_id = ?", {p.org_id, row.c.user_id});
    tx.exec(
        "UPDATE users SET admin_role = NULL, version = version + 1, authz_version = authz_version "
        "+ 1, updated_at = ? WHERE org_id = ? AND id = ?",
        {now, p.org_id, row.c.user_id});
    const int64_t tokens = tx.exec(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = 'offboarding' WHERE org_id = ? AND "
        "user_id = ? AND kind = 'api_token' AND revoked_at IS NULL",
        {now, p.org_id, row.c.user_id});
    tx.exec(
        "UPDATE offboarding_cases SET permission_form_status = 'done', form_done_by = ?, "
        "form_done_at = ?, version = version + 1, updated_at = ? WHERE org_id = ? AND id = ?",
        {p.user_id, now, now, p.org_id, case_id});
    OffboardingCase after = row.c;
    after.permission_form_status = "done";
    store_checks(tx, p.org_id, case_id, evaluate(tx, p.org_id, after), now);
    resolve_alerts(tx, p.org_id, case_id, p.user_id, now);
    json::object changes{{"user_id", row.c.user_id},
                         {"permission_form_status",
                          change(json::string(row.c.permission_form_status), json::string("done"))},
                         {"role_ids", change(roles_before, json::array())},
                         {"api_tokens_revoked", tokens}};
    audit::record(tx, actor_of(p, c),
                  {.action = "org.offboarding.permission_form",
                   .object_type = "offboarding_case",
                   .object_id = std::to_string(case_id),
                   .changes = json::serialize(changes)},
                  now);
  });
  auth_.invalidate_sessions();  // roles and tokens are gone
  return get(p, case_id);
}

// ---- complete --------------------------------------------------------------------------------

OffboardingCase Offboarding::complete(const authz::Principal& p, const authn::Client& c,
                                      int64_t case_id) {
  const int64_t now = clock_.now_ms();
  // Empty when completed; otherwise what is open. A refusal is audited, so its transaction
  // commits and the conflict is thrown afterwards.
  const std::string refused = db_.write([&](db::Tx& tx) -> std::string {
    CaseRow row = visible_case(tx, p, case_id);
    require(authz::may(p, perm::users_write, row.user));
    if (p.user_id == row.c.user_id) throw Error(ErrorCode::forbidden, "path.id", "not oneself");
    require_open(row);
    std::optional<authz::Resource> target;
    if (row.c.kind == "transfer") {
      auto d = tx.one("SELECT path FROM departments WHERE org_id = ? AND id = ?",
                      {p.org_id, row.c.target_department_id.value_or(0)});
      if (!d) throw Error(ErrorCode::conflict, "", "the target department is gone");
      target.emplace();
      target->department_id = row.c.target_department_id;
      target->department_path = db::as_text(d->at(0));
      require(authz::may(p, perm::users_write, *target));
    }
    auto checks = evaluate(tx, p.org_id, row.c);
    store_checks(tx, p.org_id, case_id, checks, now);
    const std::string open = detail_of_open(checks);
    if (!open.empty()) {
      json::object changes{{"open_checks", open_checks_json(checks)}};
      audit::record(tx, actor_of(p, c),
                    {.action = "org.offboarding.complete",
                     .object_type = "offboarding_case",
                     .object_id = std::to_string(case_id),
                     .outcome = audit::Outcome::failed,
                     .error_code = "conflict",
                     .changes = json::serialize(changes)},
                    now);
      return open;
    }
    json::object changes{{"user_id", row.c.user_id},
                         {"status", change(json::string("open"), json::string("completed"))}};
    if (row.c.kind == "departure") {
      tx.exec(
          "UPDATE users SET status = 'departed', version = version + 1, updated_at = ? WHERE "
          "org_id = ? AND id = ?",
          {now, p.org_id, row.c.user_id});
      const int64_t revoked = tx.exec(
          "UPDATE sessions SET revoked_at = ?, revoked_reason = 'departed' WHERE org_id = ? AND "
          "user_id = ? AND revoked_at IS NULL",
          {now, p.org_id, row.c.user_id});
      changes["user_status"] = change(json::string(row.user_status), json::string("departed"));
      changes["sessions_revoked"] = revoked;
    } else {
      tx.exec(
          "UPDATE users SET status = 'active', department_id = ?, version = version + 1, "
          "updated_at = ? WHERE org_id = ? AND id = ?",
          {*row.c.target_department_id, now, p.org_id, row.c.user_id});
      changes["user_status"] = change(json::string(row.user_status), json::string("active"));
      changes["department_id"] =
          change(opt_json(row.user.department_id), opt_json(row.c.target_department_id));
    }
    tx.exec(
        "UPDATE offboarding_cases SET status = 'completed', completed_at = ?, closed_by = ?, "
        "version = version + 1, updated_at = ? WHERE org_id = ? AND id = ?",
        {now, p.user_id, now, p.org_id, case_id});
    audit::record(tx, actor_of(p, c),
                  {.action = "org.offboarding.complete",
                   .object_type = "offboarding_case",
                   .object_id = std::to_string(case_id),
                   .changes = json::serialize(changes)},
                  now);
    return {};
  });
  if (!refused.empty()) throw Error(ErrorCode::conflict, "", refused);
  auth_.invalidate_sessions();  // departed: sessions revoked; transferred: department changed
  return get(p, case_id);
}

// ---- cancel ----------------------------------------------------------------------------------

OffboardingCase Offboarding::cancel(const authz::Principal& p, const authn::Client& c,
                                    int64_t case_id) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    CaseRow row = visible_case(tx, p, case_id);
    require(authz::may(p, perm::users_write, row.user));
    if (p.user_id == row.c.user_id) throw Error(ErrorCode::forbidden, "path.id", "not oneself");
    require_open(row);
    // Back to active, also from a suspension the late form caused: the departure is off. Roles
    // removed by a completed form stay removed (the security administrator grants them again).
    tx.exec(
        "UPDATE users SET status = 'active', version = version + 1, updated_at = ? WHERE org_id "
        "= ? AND id = ? AND status IN ('departing', 'transferring', 'suspended')",
        {now, p.org_id, row.c.user_id});
    tx.exec(
        "UPDATE offboarding_cases SET status = 'cancelled', cancelled_at = ?, closed_by = ?, "
        "version = version + 1, updated_at = ? WHERE org_id = ? AND id = ?",
        {now, p.user_id, now, p.org_id, case_id});
    resolve_alerts(tx, p.org_id, case_id, p.user_id, now);
    json::object changes{
        {"user_id", row.c.user_id},
        {"status", change(json::string("open"), json::string("cancelled"))},
        {"user_status", change(json::string(row.user_status), json::string("active"))}};
    audit::record(tx, actor_of(p, c),
                  {.action = "org.offboarding.cancel",
                   .object_type = "offboarding_case",
                   .object_id = std::to_string(case_id),
                   .changes = json::serialize(changes)},
                  now);
  });
  return get(p, case_id);
}

// ---- reading ---------------------------------------------------------------------------------

OffboardingCase Offboarding::get(const authz::Principal& p, int64_t case_id) {
  return db_.read([&](db::Tx& tx) {
    CaseRow row = visible_case(tx, p, case_id);
    if (row.c.status == "open") {
      row.c.checks = evaluate(tx, p.org_id, row.c);
    } else {
      // A closed case shows the checks as they stood when it closed.
      auto rows = tx.query(
          "SELECT check_name, status, detail FROM offboarding_checks WHERE org_id = ? AND "
          "case_id = ? ORDER BY CASE WHEN check_name = 'permission_form' THEN 0 ELSE 1 END, "
          "check_name",
          {p.org_id, case_id});
      std::shared_lock lock(checks_mu_);
      for (const auto& r : rows.rows) {
        OffboardingCheck ch;
        ch.name = db::as_text(r[0]);
        ch.status = db::as_text(r[1]);
        if (ch.name == kFormCheck) {
          ch.label_zh = kFormLabelZh;
          ch.label_en = kFormLabelEn;
        }
        for (const auto& reg : checks_)
          if (reg.name == ch.name) {
            ch.label_zh = reg.label_zh;
            ch.label_en = reg.label_en;
          }
        boost::system::error_code ec;
        json::value items = json::parse(db::as_text(r[2]), ec);
        if (!ec && items.is_array())
          for (const auto& i : items.as_array())
            if (i.is_string()) ch.open_items.emplace_back(i.as_string());
        row.c.checks.push_back(std::move(ch));
      }
    }
    return row.c;
  });
}

Page<OffboardingCase> Offboarding::list(const authz::Principal& p, const OffboardingQuery& q) {
  authz::Filter f = authz::visible(
      p, perm::users_read,
      {.department_id = "u.department_id", .department_path = "d.path", .owner_user_id = "u.id"});
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE c.org_id = ? AND " + f.sql;
    std::vector<db::Value> params{p.org_id};
    params.insert(params.end(), f.params.begin(), f.params.end());
    if (!q.status.empty()) {
      where += " AND c.status = ?";
      params.emplace_back(q.status);
    }
    if (q.user_id) {
      where += " AND c.user_id = ?";
      params.emplace_back(*q.user_id);
    }
    Page<OffboardingCase> page;
    page.total = db::as_int(
        tx.query("SELECT COUNT(*) FROM offboarding_cases c JOIN users u ON u.id = c.user_id "
                 "LEFT JOIN departments d ON d.id = u.department_id" +
                     where,
                 std::span<const db::Value>(params))
            .rows.at(0)
            .at(0));
    if (q.after_id) {
      where += " AND c.id > ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows = tx.query(std::string(kCaseSelect) + where + " ORDER BY c.id LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      page.items.push_back(case_from(rows[i]).c);
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

// ---- the deadline job ------------------------------------------------------------------------

int Offboarding::run_deadlines(int64_t now) {
  const auto orgs = db_.read([](db::Tx& tx) {
    std::vector<int64_t> out;
    for (const auto& r : tx.query("SELECT id FROM organizations ORDER BY id").rows)
      out.push_back(db::as_int(r[0]));
    return out;
  });
  int escalated = 0, failed = 0;
  for (int64_t org_id : orgs) {
    const auto due = db_.read([&](db::Tx& tx) {
      std::vector<int64_t> out;
      for (const auto& r :
           tx.query("SELECT id FROM offboarding_cases WHERE org_id = ? AND status = 'open' AND "
                    "permission_form_status = 'pending' AND deadline_at < ? ORDER BY id LIMIT ?",
                    {org_id, now, int64_t{kDeadlineBatch}})
               .rows)
        out.push_back(db::as_int(r[0]));
      return out;
    });
    for (int64_t case_id : due) {
      try {
        // One transaction per case; the conditional UPDATE makes a second runner (or a second
        // pass) a no-op, and a form done meanwhile wins.
        const bool done = db_.write([&](db::Tx& tx) {
          auto row = load_case(tx, org_id, case_id);
          if (!row) return false;
          const int64_t n = tx.exec(
              "UPDATE offboarding_cases SET permission_form_status = 'overdue', escalated_at = ?, "
              "version = version + 1, updated_at = ? WHERE org_id = ? AND id = ? AND status = "
              "'open' AND permission_form_status = 'pending' AND deadline_at < ?",
              {now, now, org_id, case_id, now});
          if (n == 0) return false;
          const OffboardingCase& cs = row->c;
          tx.exec(
              "UPDATE users SET status = 'suspended', version = version + 1, updated_at = ? WHERE "
              "org_id = ? AND id = ? AND status <> 'departed'",
              {now, org_id, cs.user_id});
          const int64_t revoked = tx.exec(
              "UPDATE sessions SET revoked_at = ?, revoked_reason = 'offboarding_overdue' WHERE "
              "org_id = ? AND user_id = ? AND revoked_at IS NULL",
              {now, org_id, cs.user_id});
          OffboardingCase after = cs;
          after.permission_form_status = "overdue";
          store_checks(tx, org_id, case_id, evaluate(tx, org_id, after), now);
          const std::string due_at = text::rfc3339(cs.deadline_at);
          add_alert(
              tx, org_id, kSecurityAudience, "offboarding.overdue", case_id,
              "信息系统权限审批单逾期，账号已暂停：" + cs.user_name + " (截止 " + due_at + ")",
              "Permission form overdue, access suspended: " + cs.user_name + " (was due " + due_at +
                  ")",
              now);
          json::object changes{
              {"user_id", cs.user_id},
              {"permission_form_status", change(json::string("pending"), json::string("overdue"))},
              {"user_status", change(json::string(row->user_status), json::string("suspended"))},
              {"sessions_revoked", revoked},
              {"deadline_at", cs.deadline_at}};
          // The actor is the system: no user, no session, no request.
          audit::record(tx, audit::Actor{.org_id = org_id},
                        {.action = "org.offboarding.overdue",
                         .object_type = "offboarding_case",
                         .object_id = std::to_string(case_id),
                         .changes = json::serialize(changes),
                         .reason = "permission form not processed by the deadline"},
                        now);
          return true;
        });
        if (done) {
          ++escalated;
          log::app().warn("offboarding case {} (org {}) overdue: access suspended", case_id,
                          org_id);
        }
      } catch (const std::exception& e) {
        ++failed;
        log::app().error("offboarding case {} (org {}) could not be escalated: {}", case_id, org_id,
                         e.what());
      }
    }
  }
  if (escalated > 0) auth_.invalidate_sessions();
  if (failed > 0)
    throw std::runtime_error(std::to_string(failed) + " overdue case(s) could not be escalated");
  return escalated;
}

// ---- alerts ----------------------------------------------------------------------------------

Page<Alert> Offboarding::list_alerts(const authz::Principal& p, const AlertQuery& q) {
  Page<Alert> page;
  const std::string audience = audience_of(p);
  if (audience.empty()) return page;
  return db_.read([&](db::Tx& tx) {
    std::string where = " WHERE org_id = ? AND audience = ?";
    std::vector<db::Value> params{p.org_id, audience};
    if (q.unread_only) where += " AND read_at IS NULL";
    page.total = db::as_int(
        tx.query("SELECT COUNT(*) FROM alerts" + where, std::span<const db::Value>(params))
            .rows.at(0)
            .at(0));
    // Newest first; the cursor is the last id seen.
    if (q.after_id) {
      where += " AND id < ?";
      params.emplace_back(*q.after_id);
    }
    params.emplace_back(int64_t{q.limit + 1});
    auto rows = tx.query(std::string("SELECT ") + kAlertColumns + " FROM alerts" + where +
                             " ORDER BY id DESC LIMIT ?",
                         std::span<const db::Value>(params))
                    .rows;
    for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(q.limit); ++i)
      page.items.push_back(alert_from(rows[i]));
    if (rows.size() > static_cast<size_t>(q.limit) && !page.items.empty())
      page.next_cursor = std::to_string(page.items.back().id);
    return page;
  });
}

Alert Offboarding::mark_alert_read(const authz::Principal& p, const authn::Client& c,
                                   int64_t alert_id) {
  const std::string audience = audience_of(p);
  if (audience.empty()) throw Error(ErrorCode::not_found, "path.id");
  const int64_t now = clock_.now_ms();
  return db_.write([&](db::Tx& tx) {
    const std::string sql = std::string("SELECT ") + kAlertColumns +
                            " FROM alerts WHERE org_id = ? AND id = ? AND audience = ?";
    auto r = tx.one(sql, {p.org_id, alert_id, audience});
    if (!r) throw Error(ErrorCode::not_found, "path.id");
    Alert a = alert_from(*r);
    if (a.read_at) return a;  // already read: nothing changes
    tx.exec("UPDATE alerts SET read_at = ?, read_by = ? WHERE org_id = ? AND id = ?",
            {now, p.user_id, p.org_id, alert_id});
    audit::record(
        tx, actor_of(p, c),
        {.action = "alert.read", .object_type = "alert", .object_id = std::to_string(alert_id)},
        now);
    a.read_at = now;
    a.read_by = p.user_id;
    return a;
  });
}

}  // namespace custos::org
