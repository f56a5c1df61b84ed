// Offboarding (OA-4, IT-2): confirming a departure or a transfer opens a case, and with it the
// information-system permission form (信息系统权限审批单) for that user, due within
// `security.offboarding_days` (default 3). The security administrator processes the form: every
// role and API token of the user goes. A departure or transfer completes only when the form is
// done and every check other modules registered ("must finish before departure completes", e.g.
// the asset handover) has no open item; otherwise 409 `conflict` lists what is open. When the
// form is late, the job `offboarding.deadlines` suspends the user's access, revokes every session
// and token, and alerts the security administrator. Every step is an audit record in the step's
// own transaction.
//
// User status: active → departing | transferring (case open) → departed (departure completed) |
// active in the new department (transfer completed) | active (case cancelled); → suspended when
// the form is overdue (AuthService refuses suspended and departed users).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "modules/org/org_service.h"
#include "platform/authn/auth_service.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/jobs/job_runner.h"
#include "platform/storage/db.h"

namespace custos::org {

// One "must finish before the case completes" check, as evaluated now.
struct OffboardingCheck {
  std::string name;  // "permission_form" or a registered name such as "asset_handover"
  std::string label_zh, label_en;
  std::string status;                   // "open" | "done"
  std::vector<std::string> open_items;  // what is still to do (e.g. asset tags)
};

struct OffboardingCase {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string username, user_name;
  std::string kind;                    // "departure" | "transfer"
  std::string status;                  // "open" | "completed" | "cancelled"
  std::string permission_form_status;  // "pending" | "done" | "overdue"
  int64_t deadline_at = 0;
  std::optional<int64_t> target_department_id;
  std::string reason;
  std::optional<int64_t> opened_by;
  int64_t opened_at = 0;
  std::optional<int64_t> form_done_by, form_done_at, completed_at, cancelled_at, closed_by,
      escalated_at;
  int64_t version = 0, updated_at = 0;
  std::vector<OffboardingCheck> checks;  // filled by get() and the operations, not by list()
};

struct OffboardingQuery {
  int limit = 50;
  std::optional<int64_t> after_id;
  std::string status;  // empty: any
  std::optional<int64_t> user_id;
};

// A minimal persistent alert inbox until the notification centre exists: alerts go to an
// audience (an administrator role), e.g. "security_admin".
struct Alert {
  int64_t id = 0;
  std::string audience, kind, object_type, object_id, message_zh, message_en;
  int64_t created_at = 0;
  std::optional<int64_t> read_at, read_by;
};

struct AlertQuery {
  int limit = 50;
  std::optional<int64_t> after_id;
  bool unread_only = false;
};

class Offboarding {
 public:
  // The open items of a check for one user, read inside the caller's transaction; empty when
  // nothing blocks the departure. Must not write. Items are short identifiers (asset tags, form
  // numbers), never personal data: they appear in the 409 response's `detail`.
  using OpenItems =
      std::function<std::vector<std::string>(db::Tx& tx, int64_t org_id, int64_t user_id)>;

  Offboarding(db::Db& db, const Clock& clock, authn::AuthService& auth, int deadline_days);

  // For other modules, at start-up (before requests are served). Names are unique,
  // [a-z0-9_]{1,64}; "permission_form" is taken. Throws std::invalid_argument.
  // on_open, when given, runs in the transaction that opens a case (e.g. the assets module opens
  // a handover task for each asset the person holds); it may write, and must not throw.
  using OnOpen = std::function<void(db::Tx& tx, int64_t org_id, int64_t user_id, int64_t case_id,
                                    int64_t now)>;
  void register_check(std::string name, std::string label_zh, std::string label_en,
                      OpenItems open_items, OnOpen on_open = nullptr);

  // Registers the job `offboarding.deadlines` with the runner.
  void register_jobs(jobs::JobRunner& runner, int64_t interval_ms);

  // Confirms a departure or transfer of an active user: org:users:write on the user, never
  // oneself. A transfer names the target department. Throws validation_failed, not_found,
  // forbidden, conflict (user not active, or a case is open already).
  OffboardingCase open(const authz::Principal& p, const authn::Client& c, int64_t user_id,
                       const std::string& kind, const std::string& reason,
                       std::optional<int64_t> target_department_id = std::nullopt);

  // The security administrator (iam:user_roles:write) processes the permission form: removes
  // every role of the user and revokes the user's API tokens. (When the workflow engine exists
  // this becomes the outcome of the form's approval.) A late (overdue) form can still be done.
  OffboardingCase complete_permission_form(const authz::Principal& p, const authn::Client& c,
                                           int64_t case_id);

  // Completes the departure (user departed, every session revoked) or transfer (user active in
  // the target department). Refused with 409 conflict listing every open check in `detail`;
  // the refusal is audited too.
  OffboardingCase complete(const authz::Principal& p, const authn::Client& c, int64_t case_id);

  // The departure or transfer is off: the user is active again, the case cancelled.
  OffboardingCase cancel(const authz::Principal& p, const authn::Client& c, int64_t case_id);

  // Visible when the caller may read the user (org:users:read scope); otherwise not_found.
  OffboardingCase get(const authz::Principal& p, int64_t case_id);
  Page<OffboardingCase> list(const authz::Principal& p, const OffboardingQuery& q);

  // The body of `offboarding.deadlines`: escalates every open case whose form is still pending
  // after its deadline (strictly later than deadline_at). Returns how many it escalated.
  int run_deadlines(int64_t now);

  // Alerts of the caller's audience (the security administrator sees "security_admin").
  Page<Alert> list_alerts(const authz::Principal& p, const AlertQuery& q);
  Alert mark_alert_read(const authz::Principal& p, const authn::Client& c, int64_t alert_id);

  // The audience of a principal's inbox: "security_admin", "system_admin", "audit_admin" or
  // empty (no inbox).
  static std::string audience_of(const authz::Principal& p);

  int deadline_days() const { return deadline_days_; }

 private:
  struct Registered {
    std::string name, label_zh, label_en;
    OpenItems open_items;
    OnOpen on_open;
  };
  std::vector<OffboardingCheck> evaluate(db::Tx& tx, int64_t org_id,
                                         const OffboardingCase& c) const;
  void store_checks(db::Tx& tx, int64_t org_id, int64_t case_id,
                    const std::vector<OffboardingCheck>& checks, int64_t now) const;

  db::Db& db_;
  const Clock& clock_;
  authn::AuthService& auth_;
  int deadline_days_;
  mutable std::shared_mutex checks_mu_;
  std::vector<Registered> checks_;
};

}  // namespace custos::org
