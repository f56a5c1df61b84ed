// Issue #3 item 6 — offboarding (OA-4, IT-2): confirming a departure or transfer opens the
// information-system permission form (信息系统权限审批单) with a deadline of N days; when it is
// late, the job suspends the user's access (every session and token revoked) and alerts the
// security administrator; registered "must finish before departure completes" checks block
// completion and are listed. Time is a ManualClock: nothing sleeps. Every case runs on SQLite
// and, when TEST_PG_URL is set, on PostgreSQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "expect_error.h"
#include "modules/org/offboarding.h"
#include "platform/errors/error.h"
#include "platform/jobs/job_runner.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::org {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kDay = 86'400'000;
const std::string kPassword = "Correct-Horse-42";
const authn::Client kClient{"10.0.0.9", "gtest/1.0", "req-off"};

using testing_err::throws_code;

template <class F>
std::string conflict_detail(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::conflict) << e.detail();
    return e.detail();
  }
  ADD_FAILURE() << "nothing thrown, expected conflict";
  return {};
}

class OffboardingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    crypto::init();
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    authn::SecurityPolicy policy;
    policy.password_cost = {1, 8u << 20};
    auth = std::make_unique<authn::AuthService>(*database, clock, policy);
    offboarding = std::make_unique<Offboarding>(*database, clock, *auth, 3);
    runner = std::make_unique<jobs::JobRunner>(*database, clock, "test-server");
    // Interval 1 ms: every run_due_now at a later time runs the job.
    offboarding->register_jobs(*runner, 1);

    dept_a = add_department("A", "客服部");
    dept_b = add_department("B", "信息管理部");
    sys_id = add_user("sysadmin", "系统管理员", std::nullopt, "system");
    sec_id = add_user("secadmin", "安全管理员", std::nullopt, "security");
    alice = add_user("alice", "王丽", dept_a);
    bob = add_user("bob", "李强", dept_b);
    head_a = add_user("head.a", "赵敏", dept_a);
    clerk = add_user("clerk", "孙杰", dept_a);

    sys = principal(sys_id,
                    {{"org:users:read", authz::Scope::all}, {"org:users:write", authz::Scope::all}},
                    "system");
    sec = principal(
        sec_id,
        {{"org:users:read", authz::Scope::all}, {"iam:user_roles:write", authz::Scope::all}},
        "security");
    head = principal(head_a,
                     {{"org:users:read", authz::Scope::department_tree},
                      {"org:users:write", authz::Scope::department_tree}},
                     "", dept_a);
    reader = principal(clerk, {{"org:users:read", authz::Scope::all}}, "", dept_a);
  }
  void TearDown() override {
    runner->stop();
    database->close();
  }

  int64_t add_department(const std::string& code, const std::string& name) {
    return database->write([&](db::Tx& tx) {
      auto r = tx.one(
          "INSERT INTO departments (org_id, code, name, path, created_at, updated_at) VALUES "
          "(1, ?, ?, '', ?, ?) RETURNING id",
          {code, name, kStart, kStart});
      const int64_t id = db::as_int(r->at(0));
      tx.exec("UPDATE departments SET path = ? WHERE id = ?", {"/" + std::to_string(id) + "/", id});
      return id;
    });
  }

  int64_t add_user(const std::string& username, const std::string& name,
                   std::optional<int64_t> dept, const std::string& admin_role = "") {
    return database->write([&](db::Tx& tx) {
      auto r = tx.one(
          "INSERT INTO users (org_id, username, name, department_id, admin_role, created_at, "
          "updated_at) VALUES (1, ?, ?, ?, ?, ?, ?) RETURNING id",
          {username, name, db::optional(dept),
           admin_role.empty() ? db::null() : db::Value{admin_role}, kStart, kStart});
      const int64_t id = db::as_int(r->at(0));
      auth->set_initial_password(tx, id, kPassword);
      return id;
    });
  }

  std::string path_of(int64_t dept) { return "/" + std::to_string(dept) + "/"; }

  authz::Principal principal(int64_t user_id, std::vector<std::pair<std::string, authz::Scope>> g,
                             const std::string& admin_role = "",
                             std::optional<int64_t> dept = std::nullopt) {
    authz::Principal p;
    p.org_id = 1;
    p.user_id = user_id;
    p.kind = "session";
    p.admin_role = admin_role;
    p.department_id = dept;
    if (dept) p.department_path = path_of(*dept);
    for (auto& [perm, scope] : g) p.grants.push_back({perm, scope, {}, {}});
    return p;
  }

  // A role holding `perm`, given to the user.
  void give_role(int64_t user_id, const std::string& code, const std::string& perm) {
    database->write([&](db::Tx& tx) {
      auto r = tx.one(
          "INSERT INTO roles (org_id, code, name, scope, created_at, updated_at) VALUES "
          "(1, ?, ?, 'department', ?, ?) RETURNING id",
          {code, code, kStart, kStart});
      const int64_t role = db::as_int(r->at(0));
      tx.exec("INSERT INTO role_permissions (org_id, role_id, permission) VALUES (1, ?, ?)",
              {role, perm});
      tx.exec("INSERT INTO user_roles (org_id, user_id, role_id) VALUES (1, ?, ?)",
              {user_id, role});
    });
  }

  int64_t scalar(const std::string& sql, std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return db::as_int(tx.query(sql, params).rows.at(0).at(0)); });
  }
  std::string text(const std::string& sql, std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return db::as_text(tx.query(sql, params).rows.at(0).at(0)); });
  }
  std::string status_of(int64_t user) {
    return text("SELECT status FROM users WHERE id = ?", {user});
  }
  int64_t audits(const std::string& action) {
    return scalar("SELECT COUNT(*) FROM audit_events WHERE action = ?", {action});
  }

  // A session token of the user (the initial password still works for authenticate()).
  std::string login(const std::string& username) {
    return auth->login(username, kPassword, std::nullopt, kClient).token;
  }
  std::string api_token(const std::string& session_token) {
    auto p = auth->authenticate(session_token);
    EXPECT_TRUE(p);
    return auth->create_api_token(*p, "sync", {}, clock.now_ms() + 30 * kDay, kClient).first;
  }

  // Runs due jobs at the clock's time, as the background thread would.
  std::vector<jobs::RunReport> run_jobs() { return runner->run_due_now(clock.now_ms()); }

  OffboardingCase open_departure(int64_t user, const authz::Principal& by) {
    return offboarding->open(by, kClient, user, "departure", "合同到期不再续签");
  }

  static const OffboardingCheck* find_check(const OffboardingCase& c, const std::string& name) {
    for (const auto& ch : c.checks)
      if (ch.name == name) return &ch;
    return nullptr;
  }

  ManualClock clock{kStart};
  std::unique_ptr<db::Db> database;
  std::unique_ptr<authn::AuthService> auth;
  std::unique_ptr<Offboarding> offboarding;
  std::unique_ptr<jobs::JobRunner> runner;
  int64_t dept_a = 0, dept_b = 0, sys_id = 0, sec_id = 0, alice = 0, bob = 0, head_a = 0, clerk = 0;
  authz::Principal sys, sec, head, reader;
};

// ---- opening ---------------------------------------------------------------------------------

TEST_P(OffboardingTest, OpeningSetsDepartingOpensTheFormAndAlertsTheSecurityAdministrator) {
  const OffboardingCase c = open_departure(alice, sys);
  EXPECT_EQ(c.user_id, alice);
  EXPECT_EQ(c.kind, "departure");
  EXPECT_EQ(c.status, "open");
  EXPECT_EQ(c.permission_form_status, "pending");
  EXPECT_EQ(c.deadline_at, kStart + 3 * kDay);
  EXPECT_EQ(c.opened_by, sys_id);
  EXPECT_EQ(status_of(alice), "departing");
  const OffboardingCheck* form = find_check(c, "permission_form");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, "open");
  EXPECT_EQ(form->label_zh, "信息系统权限审批单");

  // The security administrator's inbox holds the form; the system administrator's does not.
  const auto alerts = offboarding->list_alerts(sec, {});
  ASSERT_EQ(alerts.total, 1);
  EXPECT_EQ(alerts.items[0].kind, "offboarding.permission_form");
  EXPECT_EQ(alerts.items[0].object_id, std::to_string(c.id));
  EXPECT_EQ(alerts.items[0].message_zh.rfind("信息系统权限审批单待处理：王丽 (截止 ", 0), 0u)
      << alerts.items[0].message_zh;
  EXPECT_EQ(offboarding->list_alerts(sys, {}).total, 0);
  EXPECT_EQ(offboarding->list_alerts(reader, {}).total, 0);  // no administrator role, no inbox

  EXPECT_EQ(audits("org.offboarding.open"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM offboarding_checks WHERE case_id = ? AND status = 'open'",
                   {c.id}),
            1);

  // A transfer sets transferring.
  const OffboardingCase t = offboarding->open(sys, kClient, bob, "transfer", "轮岗", dept_a);
  EXPECT_EQ(t.target_department_id, dept_a);
  EXPECT_EQ(status_of(bob), "transferring");
}

TEST_P(OffboardingTest, OpeningChecksItsInput) {
  EXPECT_TRUE(throws_code([&] { offboarding->open(sys, kClient, alice, "retire", "x"); },
                          ErrorCode::validation_failed));
  EXPECT_TRUE(throws_code([&] { offboarding->open(sys, kClient, alice, "departure", ""); },
                          ErrorCode::validation_failed));
  EXPECT_TRUE(throws_code([&] { offboarding->open(sys, kClient, alice, "transfer", "轮岗"); },
                          ErrorCode::validation_failed));
  EXPECT_TRUE(
      throws_code([&] { offboarding->open(sys, kClient, alice, "departure", "离职", dept_b); },
                  ErrorCode::validation_failed));
  EXPECT_TRUE(throws_code(
      [&] { offboarding->open(sys, kClient, alice, "transfer", "轮岗", dept_a); },  // same dept
      ErrorCode::validation_failed));
  EXPECT_TRUE(
      throws_code([&] { offboarding->open(sys, kClient, alice, "transfer", "轮岗", 99'999); },
                  ErrorCode::validation_failed));
  EXPECT_TRUE(throws_code([&] { offboarding->open(sys, kClient, 99'999, "departure", "离职"); },
                          ErrorCode::not_found));
  EXPECT_EQ(status_of(alice), "active");
  EXPECT_EQ(audits("org.offboarding.open"), 0);

  // One open case per user; a user who is not active cannot be offboarded.
  open_departure(alice, sys);
  EXPECT_TRUE(throws_code([&] { open_departure(alice, sys); }, ErrorCode::conflict));
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET status = 'suspended' WHERE id = ?", {bob}); });
  EXPECT_TRUE(throws_code([&] { open_departure(bob, sys); }, ErrorCode::conflict));
}

// ---- the deadline ----------------------------------------------------------------------------

TEST_P(OffboardingTest, TheDeadlineSuspendsAccessAndAlertsTheSecurityAdministrator) {
  // An API token (valid for 30 days) from before the departure, and a session signed in
  // shortly before the deadline (sessions end after 30 idle minutes anyway).
  const std::string token = api_token(login("alice"));
  const OffboardingCase c = open_departure(alice, sys);
  clock.advance_ms(3 * kDay - 10 * 60'000);
  run_jobs();
  const std::string session = login("alice");
  ASSERT_TRUE(auth->authenticate(session));
  ASSERT_TRUE(auth->authenticate(token));

  // One millisecond before the deadline: nothing happens.
  clock.set_ms(kStart + 3 * kDay - 1);
  auto reports = run_jobs();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].name, "offboarding.deadlines");
  EXPECT_EQ(reports[0].outcome, jobs::Outcome::ran);
  EXPECT_EQ(status_of(alice), "departing");
  EXPECT_EQ(offboarding->get(sys, c.id).permission_form_status, "pending");
  EXPECT_TRUE(auth->authenticate(session));  // still works during the notice period
  EXPECT_TRUE(auth->authenticate(token));
  // At the deadline itself the form is due, not yet late.
  clock.advance_ms(1);
  run_jobs();
  EXPECT_EQ(status_of(alice), "departing");
  EXPECT_EQ(audits("org.offboarding.overdue"), 0);

  // Past the deadline: suspended, every session and token revoked, alert and audit record.
  clock.advance_ms(1);
  reports = run_jobs();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].outcome, jobs::Outcome::ran) << reports[0].error;
  EXPECT_EQ(status_of(alice), "suspended");
  const OffboardingCase after = offboarding->get(sys, c.id);
  EXPECT_EQ(after.permission_form_status, "overdue");
  EXPECT_EQ(after.escalated_at, kStart + 3 * kDay + 1);
  EXPECT_EQ(after.status, "open");
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoked_at IS NULL", {alice}), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoked_reason = "
                   "'offboarding_overdue'",
                   {alice}),
            3);  // the two sessions and the token
  // Within the 500 ms session cache too: the job cleared it.
  EXPECT_FALSE(auth->authenticate(session));
  EXPECT_FALSE(auth->authenticate(token));
  clock.advance_ms(1000);
  EXPECT_FALSE(auth->authenticate(session));
  EXPECT_TRUE(throws_code([&] { login("alice"); }, ErrorCode::account_disabled));

  const auto alerts = offboarding->list_alerts(sec, {});
  ASSERT_EQ(alerts.total, 2);
  EXPECT_EQ(alerts.items[0].kind, "offboarding.overdue");  // newest first
  EXPECT_NE(alerts.items[0].message_zh.find("王丽"), std::string::npos);
  EXPECT_EQ(audits("org.offboarding.overdue"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'org.offboarding.overdue' "
                   "AND actor_user_id IS NULL AND object_id = ?",
                   {std::to_string(c.id)}),
            1);

  // The next runs find nothing more to do: one alert, one record.
  clock.advance_ms(kDay);
  run_jobs();
  EXPECT_EQ(audits("org.offboarding.overdue"), 1);
  EXPECT_EQ(offboarding->list_alerts(sec, {}).total, 2);

  // A late form can still be done, and the departure then completes.
  offboarding->complete_permission_form(sec, kClient, c.id);
  EXPECT_EQ(offboarding->complete(sys, kClient, c.id).status, "completed");
  EXPECT_EQ(status_of(alice), "departed");
}

TEST_P(OffboardingTest, AFormDoneInTimeIsNotEscalated) {
  const OffboardingCase c = open_departure(alice, sys);
  clock.advance_ms(kDay);
  offboarding->complete_permission_form(sec, kClient, c.id);
  clock.advance_ms(10 * kDay);
  run_jobs();
  EXPECT_EQ(status_of(alice), "departing");
  EXPECT_EQ(offboarding->get(sys, c.id).permission_form_status, "done");
  EXPECT_EQ(audits("org.offboarding.overdue"), 0);
}

// ---- the permission form ---------------------------------------------------------------------

TEST_P(OffboardingTest, ThePermissionFormRemovesRolesAndApiTokens) {
  give_role(alice, "agent", "service:requests:write");
  const std::string session = login("alice");
  const std::string token = api_token(session);
  const int64_t authz_before = scalar("SELECT authz_version FROM users WHERE id = ?", {alice});
  const OffboardingCase c = open_departure(alice, sys);

  // Only the security administrator's permission processes it.
  EXPECT_TRUE(throws_code([&] { offboarding->complete_permission_form(sys, kClient, c.id); },
                          ErrorCode::forbidden));
  const OffboardingCase done = offboarding->complete_permission_form(sec, kClient, c.id);
  EXPECT_EQ(done.permission_form_status, "done");
  EXPECT_EQ(done.form_done_by, sec_id);
  EXPECT_EQ(find_check(done, "permission_form")->status, "done");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM user_roles WHERE user_id = ?", {alice}), 0);
  EXPECT_GT(scalar("SELECT authz_version FROM users WHERE id = ?", {alice}), authz_before);
  EXPECT_FALSE(auth->authenticate(token));  // the API token is revoked
  auto p = auth->authenticate(session);     // the interactive session stays, without roles
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->grants.empty());
  EXPECT_EQ(audits("org.offboarding.permission_form"), 1);
  // The form's alert needs no more attention.
  AlertQuery unread;
  unread.unread_only = true;
  EXPECT_EQ(offboarding->list_alerts(sec, unread).total, 0);
  EXPECT_TRUE(throws_code([&] { offboarding->complete_permission_form(sec, kClient, c.id); },
                          ErrorCode::conflict));
}

// ---- completing ------------------------------------------------------------------------------

TEST_P(OffboardingTest, CompletingWithThePermissionFormPendingIsRefusedAndListsIt) {
  const OffboardingCase c = open_departure(alice, sys);
  const std::string detail = conflict_detail([&] { offboarding->complete(sys, kClient, c.id); });
  EXPECT_NE(detail.find("permission_form (pending)"), std::string::npos) << detail;
  EXPECT_EQ(offboarding->get(sys, c.id).status, "open");
  EXPECT_EQ(status_of(alice), "departing");
  // The refusal is on record.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'org.offboarding.complete' "
                   "AND outcome = 'failed' AND error_code = 'conflict'"),
            1);
}

TEST_P(OffboardingTest, ARegisteredCheckWithAnOpenItemBlocksCompletionAndIsListed) {
  std::vector<std::string> unreturned{"LT-001", "MON-7"};
  int64_t asked_for = 0;
  offboarding->register_check("asset_handover", "资产交接", "asset handover",
                              [&](db::Tx&, int64_t org_id, int64_t user_id) {
                                EXPECT_EQ(org_id, 1);
                                asked_for = user_id;
                                return unreturned;
                              });
  EXPECT_THROW(offboarding->register_check(
                   "asset_handover", "x", "x",
                   [](db::Tx&, int64_t, int64_t) { return std::vector<std::string>{}; }),
               std::invalid_argument);
  EXPECT_THROW(offboarding->register_check(
                   "permission_form", "x", "x",
                   [](db::Tx&, int64_t, int64_t) { return std::vector<std::string>{}; }),
               std::invalid_argument);

  const std::string session = login("alice");
  const OffboardingCase c = open_departure(alice, sys);
  // Both open: both listed.
  std::string detail = conflict_detail([&] { offboarding->complete(sys, kClient, c.id); });
  EXPECT_NE(detail.find("permission_form (pending)"), std::string::npos) << detail;
  EXPECT_NE(detail.find("asset_handover (LT-001, MON-7)"), std::string::npos) << detail;
  EXPECT_EQ(asked_for, alice);

  // The form done, the handover still open: only the handover is listed.
  offboarding->complete_permission_form(sec, kClient, c.id);
  detail = conflict_detail([&] { offboarding->complete(sys, kClient, c.id); });
  EXPECT_EQ(detail.find("permission_form"), std::string::npos) << detail;
  EXPECT_NE(detail.find("asset_handover (LT-001, MON-7)"), std::string::npos) << detail;
  const OffboardingCase seen = offboarding->get(sys, c.id);
  const OffboardingCheck* handover = find_check(seen, "asset_handover");
  ASSERT_TRUE(handover);
  EXPECT_EQ(handover->status, "open");
  EXPECT_EQ(handover->label_zh, "资产交接");
  EXPECT_EQ(handover->open_items, unreturned);
  EXPECT_EQ(text("SELECT detail FROM offboarding_checks WHERE case_id = ? AND check_name = "
                 "'asset_handover'",
                 {c.id}),
            R"(["LT-001","MON-7"])");
  EXPECT_EQ(status_of(alice), "departing");

  // Everything handed over: the departure completes; every session ends.
  unreturned.clear();
  clock.advance_ms(60'000);
  const OffboardingCase closed = offboarding->complete(sys, kClient, c.id);
  EXPECT_EQ(closed.status, "completed");
  EXPECT_EQ(closed.completed_at, clock.now_ms());
  EXPECT_EQ(closed.closed_by, sys_id);
  EXPECT_EQ(status_of(alice), "departed");
  EXPECT_FALSE(auth->authenticate(session));
  EXPECT_EQ(find_check(closed, "asset_handover")->status, "done");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'org.offboarding.complete' "
                   "AND outcome = 'success'"),
            1);
  EXPECT_TRUE(throws_code([&] { offboarding->complete(sys, kClient, c.id); },
                          ErrorCode::conflict));  // closed already
}

TEST_P(OffboardingTest, ATransferCompletesIntoTheNewDepartmentAndTheUserStaysActive) {
  const std::string session = login("alice");
  const OffboardingCase c =
      offboarding->open(sys, kClient, alice, "transfer", "调往信息管理部", dept_b);
  EXPECT_EQ(status_of(alice), "transferring");
  offboarding->complete_permission_form(sec, kClient, c.id);
  const OffboardingCase closed = offboarding->complete(sys, kClient, c.id);
  EXPECT_EQ(closed.status, "completed");
  EXPECT_EQ(status_of(alice), "active");
  EXPECT_EQ(scalar("SELECT department_id FROM users WHERE id = ?", {alice}), dept_b);
  auto p = auth->authenticate(session);  // still signed in, now in B
  ASSERT_TRUE(p);
  EXPECT_EQ(p->department_id, dept_b);
}

TEST_P(OffboardingTest, CancellingMakesTheUserActiveAgain) {
  const OffboardingCase c = open_departure(alice, sys);
  const OffboardingCase cancelled = offboarding->cancel(sys, kClient, c.id);
  EXPECT_EQ(cancelled.status, "cancelled");
  EXPECT_EQ(cancelled.cancelled_at, kStart);
  EXPECT_EQ(status_of(alice), "active");
  EXPECT_EQ(audits("org.offboarding.cancel"), 1);
  EXPECT_TRUE(throws_code([&] { offboarding->cancel(sys, kClient, c.id); }, ErrorCode::conflict));
  // A new case may be opened after a cancelled one.
  EXPECT_EQ(open_departure(alice, sys).status, "open");
}

// ---- who may ---------------------------------------------------------------------------------

TEST_P(OffboardingTest, APrincipalWithoutPermissionIsForbidden) {
  // May read users, may not write them.
  EXPECT_TRUE(throws_code([&] { open_departure(alice, reader); }, ErrorCode::forbidden));
  const OffboardingCase c = open_departure(alice, sys);
  EXPECT_TRUE(
      throws_code([&] { offboarding->complete(reader, kClient, c.id); }, ErrorCode::forbidden));
  EXPECT_TRUE(
      throws_code([&] { offboarding->cancel(reader, kClient, c.id); }, ErrorCode::forbidden));
  EXPECT_TRUE(throws_code([&] { offboarding->complete_permission_form(reader, kClient, c.id); },
                          ErrorCode::forbidden));
  EXPECT_EQ(offboarding->get(reader, c.id).id, c.id);  // reading is allowed
  // Nobody offboards themselves or processes their own form.
  EXPECT_TRUE(throws_code([&] { open_departure(sys_id, sys); }, ErrorCode::forbidden));
  const OffboardingCase own = open_departure(sec_id, sys);
  EXPECT_TRUE(throws_code([&] { offboarding->complete_permission_form(sec, kClient, own.id); },
                          ErrorCode::forbidden));
  EXPECT_EQ(status_of(alice), "departing");
}

TEST_P(OffboardingTest, ACaseOutsideTheCallersScopeIsNotFound) {
  // The head of A manages A's people only.
  EXPECT_TRUE(throws_code([&] { open_departure(bob, head); }, ErrorCode::not_found));
  const OffboardingCase in_a = open_departure(alice, head);
  const OffboardingCase in_b = open_departure(bob, sys);
  EXPECT_EQ(offboarding->get(head, in_a.id).id, in_a.id);
  EXPECT_TRUE(throws_code([&] { offboarding->get(head, in_b.id); }, ErrorCode::not_found));
  EXPECT_TRUE(
      throws_code([&] { offboarding->complete(head, kClient, in_b.id); }, ErrorCode::not_found));
  EXPECT_TRUE(
      throws_code([&] { offboarding->cancel(head, kClient, in_b.id); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_code([&] { offboarding->get(head, 99'999); }, ErrorCode::not_found));
  const auto seen = offboarding->list(head, {});
  EXPECT_EQ(seen.total, 1);
  ASSERT_EQ(seen.items.size(), 1u);
  EXPECT_EQ(seen.items[0].id, in_a.id);
  EXPECT_EQ(offboarding->list(sys, {}).total, 2);

  // Another organisation's case by id: not found.
  const int64_t other_case = database->write([&](db::Tx& tx) {
    tx.exec("INSERT INTO organizations (code, name, created_at) VALUES ('other', '其他', 0)");
    const int64_t org2 =
        db::as_int(tx.one("SELECT id FROM organizations WHERE code = 'other'")->at(0));
    auto u = tx.one(
        "INSERT INTO users (org_id, username, name, created_at, updated_at) VALUES (?, 'zed', "
        "'Zed', 0, 0) RETURNING id",
        {org2});
    auto r = tx.one(
        "INSERT INTO offboarding_cases (org_id, user_id, kind, deadline_at, reason, opened_at, "
        "updated_at) VALUES (?, ?, 'departure', 0, 'x', 0, 0) RETURNING id",
        {org2, db::as_int(u->at(0))});
    return db::as_int(r->at(0));
  });
  EXPECT_TRUE(throws_code([&] { offboarding->get(sys, other_case); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_code([&] { offboarding->complete_permission_form(sec, kClient, other_case); },
                          ErrorCode::not_found));
}

TEST_P(OffboardingTest, TransferIntoADepartmentOutsideScopeIsRefusedLikeAMissingOne) {
  const int64_t dana = add_user("dana", "周丹", dept_a);
  EXPECT_TRUE(throws_code([&] { offboarding->open(head, kClient, dana, "transfer", "x", dept_b); },
                          ErrorCode::validation_failed));
  EXPECT_EQ(status_of(dana), "active");
}

// ---- alerts ----------------------------------------------------------------------------------

TEST_P(OffboardingTest, AlertsAreReadOnlyByTheirAudience) {
  open_departure(alice, sys);
  const auto alerts = offboarding->list_alerts(sec, {});
  ASSERT_EQ(alerts.total, 1);
  const int64_t id = alerts.items[0].id;
  EXPECT_TRUE(
      throws_code([&] { offboarding->mark_alert_read(sys, kClient, id); }, ErrorCode::not_found));
  EXPECT_TRUE(throws_code([&] { offboarding->mark_alert_read(reader, kClient, id); },
                          ErrorCode::not_found));
  clock.advance_ms(5);
  const Alert read = offboarding->mark_alert_read(sec, kClient, id);
  EXPECT_EQ(read.read_at, kStart + 5);
  EXPECT_EQ(read.read_by, sec_id);
  offboarding->mark_alert_read(sec, kClient, id);  // again: no change, no second record
  EXPECT_EQ(audits("alert.read"), 1);
}

INSTANTIATE_TEST_SUITE_P(Engines, OffboardingTest, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::org
