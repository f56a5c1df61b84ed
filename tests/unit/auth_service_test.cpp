// Issue #3 (identity and access): authentication. MLPS 身份鉴别 (unique identity, password
// complexity, login-failure handling with lockout, session timeout, two factors for
// administrators) and 安全审计 (every login attempt recorded); ASVS 2.2.1 (anti-automation:
// lockout and per-IP throttle), 2.8.4/2.8.5 (TOTP used once per step), 3.2.1/3.2.2 (a new random
// token at each login, stored hashed), 3.3.1–3.3.3 (logout, idle and absolute timeouts, other
// sessions ended on password change), 3.5 (API tokens narrowed by scopes). Every case runs on
// SQLite and, when TEST_PG_URL is set, on PostgreSQL.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "expect_error.h"
#include "platform/authn/auth_service.h"
#include "platform/errors/error.h"
#include "platform/storage/migrations.h"
#include "test_db.h"

namespace custos::authn {
namespace {

constexpr int64_t kStart = 1'700'000'010'000;  // the start of a 30 s TOTP step
constexpr int64_t kMinute = 60'000;
const std::string kPassword = "Correct-Horse-42";
const std::string kNewPassword = "Battery-Staple-77";
const Client kClient{"10.0.0.1", "gtest/1.0", "req-1"};

SecurityPolicy fast_policy() {
  SecurityPolicy p;
  p.password_cost = {1, 8u << 20};
  return p;
}

using testing_err::detail_of;
using testing_err::throws_code;

std::string cell_text(const db::Value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, db::Null>)
          return "";
        else if constexpr (std::is_same_v<T, int64_t>)
          return std::to_string(x);
        else if constexpr (std::is_same_v<T, double>)
          return std::to_string(x);
        else if constexpr (std::is_same_v<T, std::string>)
          return x;
        else
          return x.bytes;
      },
      v);
}

class AuthServiceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    crypto::init();
    database = testing_db::open_fresh(GetParam());
    db::migrate(*database);
    service = std::make_unique<AuthService>(*database, clock, fast_policy());
    department_id = database->write([&](db::Tx& tx) {
      auto r = tx.one(
          "INSERT INTO departments (org_id, code, name, path, created_at, updated_at) "
          "VALUES (1, 'ops', '运维部', '/', ?, ?) RETURNING id",
          {kStart, kStart});
      const int64_t id = db::as_int(r->at(0));
      tx.exec("UPDATE departments SET path = ? WHERE id = ?", {"/" + std::to_string(id) + "/", id});
      return id;
    });
    alice = add_user("alice", "Alice Zhang", "E1001");
  }
  void TearDown() override { database->close(); }

  int64_t add_user(const std::string& username, const std::string& name,
                   const std::string& employee_no, const std::string& admin_role = "") {
    return database->write([&](db::Tx& tx) {
      auto r = tx.one(
          "INSERT INTO users (org_id, username, employee_no, name, department_id, admin_role, "
          "created_at, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
          {username, employee_no, name, department_id,
           admin_role.empty() ? db::null() : db::Value{admin_role}, kStart, kStart});
      const int64_t id = db::as_int(r->at(0));
      service->set_initial_password(tx, id, kPassword);
      return id;
    });
  }

  // A role of scope `all` holding the permissions, given to the user.
  void grant(int64_t user_id, const std::string& code, const std::vector<std::string>& perms) {
    database->write([&](db::Tx& tx) {
      auto r = tx.one(
          "INSERT INTO roles (org_id, code, name, scope, created_at, updated_at) "
          "VALUES (1, ?, ?, 'all', ?, ?) RETURNING id",
          {code, code, kStart, kStart});
      const int64_t role = db::as_int(r->at(0));
      for (const auto& perm : perms)
        tx.exec("INSERT INTO role_permissions (org_id, role_id, permission) VALUES (1, ?, ?)",
                {role, perm});
      tx.exec("INSERT INTO user_roles (org_id, user_id, role_id) VALUES (1, ?, ?)",
              {user_id, role});
    });
  }

  LoginResult login(const std::string& user, const std::string& password,
                    const std::optional<std::string>& totp = std::nullopt,
                    const Client& client = kClient) {
    return service->login(user, password, totp, client);
  }

  authz::Principal session(const std::string& user = "alice") {
    const LoginResult r = login(user, kPassword);
    auto p = service->authenticate(r.token);
    EXPECT_TRUE(p);
    return p ? *p : authz::Principal{};
  }

  int64_t scalar(const std::string& sql, std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return db::as_int(tx.query(sql, params).rows.at(0).at(0)); });
  }
  std::optional<int64_t> opt_scalar(const std::string& sql,
                                    std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return db::as_opt_int(tx.query(sql, params).rows.at(0).at(0)); });
  }
  std::string text(const std::string& sql, std::initializer_list<db::Value> params = {}) {
    return database->read(
        [&](db::Tx& tx) { return cell_text(tx.query(sql, params).rows.at(0).at(0)); });
  }

  // The current 6-digit code for a base32 secret at the clock's time.
  std::string code_now(const std::string& secret, int64_t offset_steps = 0) {
    auto key = crypto::base32_decode(secret);
    EXPECT_TRUE(key);
    return crypto::totp(key.value_or(""), clock.now_ms() / 1000 + offset_steps * 30);
  }
  // A 6-digit code accepted for no step of the window around now.
  std::string wrong_code(const std::string& secret) {
    auto key = crypto::base32_decode(secret).value_or("");
    std::string code = code_now(secret);
    for (int i = 0; i < 10; ++i) {
      code[0] = static_cast<char>('0' + (code[0] - '0' + 1) % 10);
      if (!crypto::totp_verify(key, code, clock.now_ms() / 1000)) return code;
    }
    ADD_FAILURE() << "no wrong code found";
    return "000000";
  }

  // Enrols and confirms TOTP for the principal; returns the secret.
  std::string enable_totp(const authz::Principal& p) {
    const auto e = service->enroll_totp(p, kClient);
    service->confirm_totp(p, code_now(e.secret), kClient);
    return e.secret;
  }

  ManualClock clock{kStart};
  std::unique_ptr<db::Db> database;
  std::unique_ptr<AuthService> service;
  int64_t department_id = 0;
  int64_t alice = 0;
};

// ---- login ----------------------------------------------------------------------------------

TEST_P(AuthServiceTest, LoginIssuesTokensAndStoresOnlyTheirHashes) {
  const LoginResult r = login("alice", kPassword);
  EXPECT_EQ(r.token.size(), 43u);
  EXPECT_FALSE(r.csrf_token.empty());
  EXPECT_NE(r.csrf_token, r.token);
  EXPECT_EQ(r.user_id, alice);
  EXPECT_TRUE(r.must_change_password);  // an initial password
  EXPECT_FALSE(r.mfa_enrollment_required);
  EXPECT_EQ(r.expires_at, kStart + 12 * 60 * kMinute);

  const auto rows = database->read([](db::Tx& tx) { return tx.query("SELECT * FROM sessions"); });
  ASSERT_EQ(rows.size(), 1u);
  for (size_t i = 0; i < rows.rows[0].size(); ++i) {
    const std::string cell = cell_text(rows.rows[0][i]);
    EXPECT_EQ(cell.find(r.token), std::string::npos) << "column " << i;
    EXPECT_EQ(cell.find(r.csrf_token), std::string::npos) << "column " << i;
  }
  EXPECT_EQ(text("SELECT token_hash FROM sessions"), crypto::hex(crypto::sha256(r.token)));
  EXPECT_EQ(text("SELECT csrf_hash FROM sessions"), crypto::hex(crypto::sha256(r.csrf_token)));
  EXPECT_EQ(text("SELECT kind FROM sessions"), "session");
  EXPECT_EQ(text("SELECT ip FROM sessions"), kClient.ip);

  const auto p = service->authenticate(r.token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->user_id, alice);
  EXPECT_EQ(p->kind, "session");
  EXPECT_EQ(p->username, "alice");
  EXPECT_EQ(p->name, "Alice Zhang");
  EXPECT_EQ(p->department_id, department_id);
  EXPECT_EQ(p->department_path, "/" + std::to_string(department_id) + "/");
  EXPECT_EQ(p->clearance, 1);
  EXPECT_TRUE(p->must_change_password);
  EXPECT_GT(p->session_id, 0);
  EXPECT_TRUE(service->check_csrf(*p, r.csrf_token));
  EXPECT_FALSE(service->check_csrf(*p, r.token));
  EXPECT_FALSE(service->check_csrf(*p, ""));

  // Two logins: two different sessions.
  const LoginResult again = login("alice", kPassword);
  EXPECT_NE(again.token, r.token);
  EXPECT_NE(again.csrf_token, r.csrf_token);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sessions"), 2);
}

TEST_P(AuthServiceTest, WrongPasswordAndUnknownUserGiveTheSameError) {
  EXPECT_TRUE(
      throws_code([&] { login("alice", "Wrong-Horse-42"); }, ErrorCode::invalid_credentials, ""));
  EXPECT_TRUE(throws_code([&] { login("alice", ""); }, ErrorCode::invalid_credentials, ""));
  EXPECT_TRUE(
      throws_code([&] { login("mallory", kPassword); }, ErrorCode::invalid_credentials, ""));
  EXPECT_TRUE(throws_code([&] { login("ALICE", kPassword); }, ErrorCode::invalid_credentials));
  EXPECT_EQ(scalar("SELECT failed_logins FROM users WHERE id = ?", {alice}), 2);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sessions"), 0);
}

TEST_P(AuthServiceTest, FiveFailuresLockTheAccountForThirtyMinutes) {
  for (int i = 1; i <= 4; ++i)
    EXPECT_TRUE(throws_code([&] { login("alice", "Wrong-Horse-4" + std::to_string(i)); },
                            ErrorCode::invalid_credentials))
        << "attempt " << i;
  EXPECT_TRUE(throws_code([&] { login("alice", "Wrong-Horse-45"); }, ErrorCode::account_locked));
  EXPECT_EQ(opt_scalar("SELECT locked_until FROM users WHERE id = ?", {alice}),
            kStart + 30 * kMinute);
  // Even the right password is refused while locked.
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword); }, ErrorCode::account_locked));
  clock.advance_ms(30 * kMinute - 1);
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword); }, ErrorCode::account_locked));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sessions"), 0);

  clock.advance_ms(2);  // 30 min + 1 ms after the lock
  const LoginResult r = login("alice", kPassword);
  EXPECT_TRUE(service->authenticate(r.token));
  EXPECT_EQ(scalar("SELECT failed_logins FROM users WHERE id = ?", {alice}), 0);
  EXPECT_EQ(opt_scalar("SELECT locked_until FROM users WHERE id = ?", {alice}), std::nullopt);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.lockout'"), 1);
  // The counter starts afresh: four more failures do not lock.
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(throws_code([&] { login("alice", "nope"); }, ErrorCode::invalid_credentials));
  EXPECT_NO_THROW(login("alice", kPassword));
}

TEST_P(AuthServiceTest, ASuccessResetsTheFailureCounter) {
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(throws_code([&] { login("alice", "nope"); }, ErrorCode::invalid_credentials));
  EXPECT_EQ(scalar("SELECT failed_logins FROM users WHERE id = ?", {alice}), 4);
  EXPECT_NO_THROW(login("alice", kPassword));
  EXPECT_EQ(scalar("SELECT failed_logins FROM users WHERE id = ?", {alice}), 0);
  for (int i = 0; i < 4; ++i)
    EXPECT_TRUE(throws_code([&] { login("alice", "nope"); }, ErrorCode::invalid_credentials))
        << "attempt " << i;
  EXPECT_NO_THROW(login("alice", kPassword));
}

TEST_P(AuthServiceTest, PerIpThrottle) {
  SecurityPolicy policy = fast_policy();
  policy.ip_max_failures = 3;
  AuthService throttled(*database, clock, policy);
  const Client a{"192.0.2.1", "bot", "r"}, b{"192.0.2.2", "browser", "r"};
  for (int i = 1; i <= 3; ++i)
    EXPECT_TRUE(throws_code(
        [&] { throttled.login("ghost" + std::to_string(i), kPassword, std::nullopt, a); },
        ErrorCode::invalid_credentials))
        << i;
  EXPECT_TRUE(throws_code([&] { throttled.login("ghost4", kPassword, std::nullopt, a); },
                          ErrorCode::too_many_requests));
  // The throttle is per IP, not per account: the right password from that IP is refused too.
  EXPECT_TRUE(throws_code([&] { throttled.login("alice", kPassword, std::nullopt, a); },
                          ErrorCode::too_many_requests));
  EXPECT_TRUE(throws_code([&] { throttled.login("ghost5", kPassword, std::nullopt, b); },
                          ErrorCode::invalid_credentials));
  EXPECT_NO_THROW(throttled.login("alice", kPassword, std::nullopt, b));
  // The window passes.
  clock.advance_ms(policy.ip_window_ms + 1);
  EXPECT_TRUE(throws_code([&] { throttled.login("ghost6", kPassword, std::nullopt, a); },
                          ErrorCode::invalid_credentials));
  EXPECT_NO_THROW(throttled.login("alice", kPassword, std::nullopt, a));
}

TEST_P(AuthServiceTest, EveryLoginAttemptIsLoggedAndAudited) {
  EXPECT_NO_THROW(login("alice", kPassword));                                               // 1
  EXPECT_ANY_THROW(login("alice", "nope"));                                                 // 2
  EXPECT_ANY_THROW(login("nobody", "nope"));                                                // 3
  for (int i = 0; i < 4; ++i) EXPECT_ANY_THROW(login("alice", "nope"));                     // 4-7
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword); }, ErrorCode::account_locked));  // 8
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE outcome = 'success'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE outcome = 'failure'"), 7);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE reason = 'wrong_password'"), 5);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE reason = 'unknown_user'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE reason = 'locked'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE username = 'nobody' AND user_id IS "
                   "NULL"),
            1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM login_events WHERE ip = ? AND user_agent = ?",
                   {kClient.ip, kClient.user_agent}),
            8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login'"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login' AND outcome = "
                   "'success'"),
            1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.login' AND outcome = "
                   "'failed'"),
            7);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.lockout'"), 1);
  // Neither log holds the password tried.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE changes LIKE '%nope%' OR reason "
                   "LIKE '%nope%'"),
            0);
}

// ---- sessions -------------------------------------------------------------------------------

TEST_P(AuthServiceTest, AuthenticateRefusesUnknownTokens) {
  const LoginResult r = login("alice", kPassword);
  EXPECT_FALSE(service->authenticate(""));
  EXPECT_FALSE(service->authenticate(crypto::random_token()));
  EXPECT_FALSE(service->authenticate(std::string(300, 'a')));
  EXPECT_FALSE(service->authenticate(r.csrf_token));
  EXPECT_FALSE(service->authenticate(crypto::hex(crypto::sha256(r.token))));  // the stored hash
  EXPECT_FALSE(service->authenticate(r.token.substr(0, 42)));
  EXPECT_TRUE(service->authenticate(r.token));
}

TEST_P(AuthServiceTest, IdleTimeoutMovesWithUse) {
  const LoginResult r = login("alice", kPassword);
  clock.advance_ms(29 * kMinute);
  EXPECT_TRUE(service->authenticate(r.token));
  EXPECT_EQ(scalar("SELECT last_seen_at FROM sessions"), kStart + 29 * kMinute);
  clock.advance_ms(29 * kMinute);  // 58 min after login, 29 after the last use
  EXPECT_TRUE(service->authenticate(r.token));
  clock.advance_ms(31 * kMinute);  // 31 min idle
  EXPECT_FALSE(service->authenticate(r.token));
  // Another session idle for exactly 30 min is still valid; 30 min + 1 ms is not.
  const LoginResult s = login("alice", kPassword);
  clock.advance_ms(30 * kMinute);
  EXPECT_TRUE(service->authenticate(s.token));
  const LoginResult t = login("alice", kPassword);
  clock.advance_ms(30 * kMinute + 1);
  EXPECT_FALSE(service->authenticate(t.token));
}

TEST_P(AuthServiceTest, AbsoluteTimeoutEndsEvenAnActiveSession) {
  const LoginResult r = login("alice", kPassword);
  for (int i = 1; i <= 35; ++i) {  // every 20 minutes for 11 h 40 min
    clock.advance_ms(20 * kMinute);
    ASSERT_TRUE(service->authenticate(r.token)) << "after " << i * 20 << " min";
  }
  clock.advance_ms(20 * kMinute - 1);  // 12 h - 1 ms
  EXPECT_TRUE(service->authenticate(r.token));
  clock.advance_ms(1);  // 12 h
  EXPECT_FALSE(service->authenticate(r.token));
}

TEST_P(AuthServiceTest, LogoutRevokesOnlyThatSession) {
  const LoginResult r = login("alice", kPassword);
  const LoginResult other = login("alice", kPassword);
  const auto p = service->authenticate(r.token);
  ASSERT_TRUE(p);
  service->logout(*p, kClient);
  EXPECT_FALSE(service->authenticate(r.token));
  EXPECT_TRUE(service->authenticate(other.token));
  EXPECT_EQ(text("SELECT revoked_reason FROM sessions WHERE id = ?", {p->session_id}), "logout");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.logout'"), 1);
}

TEST_P(AuthServiceTest, SuspendedUserCannotUseAnExistingSession) {
  const LoginResult r = login("alice", kPassword);
  ASSERT_TRUE(service->authenticate(r.token));
  // A change made behind the service's back (another server, here plain SQL) is seen once the
  // session cache's half-second window has passed; changes made through this process's
  // services clear the cache at once.
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET status = 'suspended' WHERE id = ?", {alice}); });
  clock.advance_ms(501);
  EXPECT_FALSE(service->authenticate(r.token));
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword); }, ErrorCode::account_disabled));
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET status = 'departed' WHERE id = ?", {alice}); });
  clock.advance_ms(501);
  EXPECT_FALSE(service->authenticate(r.token));
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET status = 'active' WHERE id = ?", {alice}); });
  clock.advance_ms(501);
  EXPECT_TRUE(service->authenticate(r.token));
}

TEST_P(AuthServiceTest, ReauthenticationWindow) {
  const LoginResult r = login("alice", kPassword);
  auto p = service->authenticate(r.token);
  ASSERT_TRUE(p);
  EXPECT_TRUE(service->recently_authenticated(*p));
  clock.advance_ms(5 * kMinute + 1);
  EXPECT_FALSE(service->recently_authenticated(*p));
  EXPECT_TRUE(throws_code([&] { service->reauthenticate(*p, "nope", kClient); },
                          ErrorCode::invalid_credentials, "body.password"));
  service->reauthenticate(*p, kPassword, kClient);
  p = service->authenticate(r.token);
  ASSERT_TRUE(p);
  EXPECT_TRUE(service->recently_authenticated(*p));
}

// ---- password change ------------------------------------------------------------------------

TEST_P(AuthServiceTest, ChangePassword) {
  const LoginResult current = login("alice", kPassword);
  const LoginResult other = login("alice", kPassword, std::nullopt, {"10.9.9.9", "other", "r"});
  const auto p = service->authenticate(current.token);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->must_change_password);

  EXPECT_TRUE(
      throws_code([&] { service->change_password(*p, "Wrong-Horse-42", kNewPassword, kClient); },
                  ErrorCode::invalid_credentials, "body.old_password"));
  EXPECT_TRUE(throws_code([&] { service->change_password(*p, kPassword, "Sh0rt!", kClient); },
                          ErrorCode::weak_password, "body.new_password"));
  EXPECT_EQ(detail_of([&] { service->change_password(*p, kPassword, "Sh0rt!", kClient); }),
            "too_short");
  EXPECT_EQ(detail_of([&] { service->change_password(*p, kPassword, "Password123!", kClient); }),
            "common");
  EXPECT_EQ(detail_of([&] { service->change_password(*p, kPassword, "My-alice-Pw-99", kClient); }),
            "contains_identity");
  EXPECT_EQ(detail_of([&] { service->change_password(*p, kPassword, "Badge-E1001-xy", kClient); }),
            "contains_identity");
  EXPECT_EQ(detail_of([&] { service->change_password(*p, kPassword, kPassword, kClient); }),
            "same_as_old");
  // Nothing changed so far.
  EXPECT_TRUE(service->authenticate(other.token));
  EXPECT_EQ(scalar("SELECT must_change_password FROM users WHERE id = ?", {alice}), 1);

  service->change_password(*p, kPassword, kNewPassword, kClient);
  EXPECT_EQ(scalar("SELECT must_change_password FROM users WHERE id = ?", {alice}), 0);
  const auto still = service->authenticate(current.token);
  ASSERT_TRUE(still);
  EXPECT_FALSE(still->must_change_password);
  EXPECT_FALSE(service->authenticate(other.token));
  EXPECT_EQ(text("SELECT revoked_reason FROM sessions WHERE token_hash = ?",
                 {crypto::hex(crypto::sha256(other.token))}),
            "password_changed");
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.password.change'"), 1);
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM audit_events WHERE changes LIKE ?", {"%" + kNewPassword + "%"}),
      0);

  EXPECT_TRUE(throws_code([&] { login("alice", kPassword); }, ErrorCode::invalid_credentials));
  const LoginResult fresh = login("alice", kNewPassword);
  EXPECT_FALSE(fresh.must_change_password);
}

// ---- TOTP -----------------------------------------------------------------------------------

TEST_P(AuthServiceTest, TotpSecondFactor) {
  const auto p = session();
  const auto e = service->enroll_totp(p, kClient);
  EXPECT_EQ(e.secret.size(), 32u);  // 160 bits
  ASSERT_EQ(crypto::base32_decode(e.secret).value_or("").size(), 20u);
  EXPECT_EQ(e.otpauth_uri.rfind("otpauth://totp/Custos:alice?", 0), 0u) << e.otpauth_uri;
  EXPECT_NE(e.otpauth_uri.find("secret=" + e.secret), std::string::npos);
  // Not enabled until confirmed: login still needs only the password.
  EXPECT_NO_THROW(login("alice", kPassword));
  EXPECT_TRUE(throws_code([&] { service->confirm_totp(p, wrong_code(e.secret), kClient); },
                          ErrorCode::validation_failed, "body.code"));
  EXPECT_EQ(scalar("SELECT totp_enabled FROM users WHERE id = ?", {alice}), 0);

  const std::string confirm_code = code_now(e.secret);
  service->confirm_totp(p, confirm_code, kClient);
  EXPECT_EQ(scalar("SELECT totp_enabled FROM users WHERE id = ?", {alice}), 1);

  EXPECT_TRUE(
      throws_code([&] { login("alice", kPassword); }, ErrorCode::mfa_required, "body.totp"));
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword, ""); }, ErrorCode::mfa_required));
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword, wrong_code(e.secret)); },
                          ErrorCode::invalid_credentials, "body.totp"));
  // The code used to confirm the enrolment is spent.
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword, confirm_code); },
                          ErrorCode::invalid_credentials));

  clock.advance_ms(30'000);
  const std::string code = code_now(e.secret);
  const LoginResult r = login("alice", kPassword, code);
  EXPECT_TRUE(service->authenticate(r.token));
  // The same code again, within the same step: a replay.
  EXPECT_TRUE(throws_code([&] { login("alice", kPassword, code); }, ErrorCode::invalid_credentials,
                          "body.totp"));
  // Wrong password with a right code: the password decides, no hint about the code.
  clock.advance_ms(30'000);
  EXPECT_TRUE(throws_code([&] { login("alice", "nope", code_now(e.secret)); },
                          ErrorCode::invalid_credentials, ""));
  EXPECT_NO_THROW(login("alice", kPassword, code_now(e.secret)));
  // A second enrolment is refused while one is active.
  EXPECT_TRUE(throws_code([&] { service->enroll_totp(p, kClient); }, ErrorCode::conflict));
}

TEST_P(AuthServiceTest, AdministratorsMustEnrolTotp) {
  add_user("secadmin", "Security Admin", "E9001", "security");
  const LoginResult first = login("secadmin", kPassword);
  EXPECT_TRUE(first.mfa_enrollment_required);
  auto p = service->authenticate(first.token);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->admin_role, "security");
  EXPECT_TRUE(p->mfa_enrollment_required);
  EXPECT_FALSE(login("alice", kPassword).mfa_enrollment_required);  // not an administrator

  const std::string secret = enable_totp(*p);
  p = service->authenticate(first.token);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->mfa_enrollment_required);
  clock.advance_ms(30'000);
  const LoginResult second = login("secadmin", kPassword, code_now(secret));
  EXPECT_FALSE(second.mfa_enrollment_required);
  p = service->authenticate(second.token);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->mfa_enrollment_required);
}

// ---- API tokens -----------------------------------------------------------------------------

TEST_P(AuthServiceTest, ApiTokens) {
  grant(alice, "reader", {"org:users:read"});
  const auto p = session();
  ASSERT_EQ(p.grants.size(), 1u);
  EXPECT_EQ(p.grants[0].permission, "org:users:read");
  const int64_t expires = clock.now_ms() + 30LL * 24 * 60 * kMinute;

  const auto created = service->create_api_token(p, "ci", {"org:users:read"}, expires, kClient);
  const std::string token = created.first;
  const ApiTokenInfo info = created.second;
  EXPECT_EQ(token.size(), 43u);
  EXPECT_GT(info.id, 0);
  EXPECT_EQ(info.scopes, std::vector<std::string>{"org:users:read"});
  EXPECT_EQ(info.expires_at, expires);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = ?",
                   {crypto::hex(crypto::sha256(token))}),
            1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = ? OR name = ? OR scopes = ?",
                   {token, token, token}),
            0);

  auto t = service->authenticate(token);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, "api_token");
  EXPECT_EQ(t->user_id, alice);
  EXPECT_EQ(t->session_id, info.id);
  EXPECT_EQ(t->token_scopes, std::vector<std::string>{"org:users:read"});
  EXPECT_FALSE(t->must_change_password);
  EXPECT_TRUE(authz::may(*t, "org:users:read"));
  EXPECT_FALSE(authz::may(*t, "org:users:write"));
  // API tokens have no idle timeout, only their expiry.
  clock.advance_ms(120 * kMinute);
  EXPECT_TRUE(service->authenticate(token));

  // A scope the user does not hold.
  EXPECT_TRUE(
      throws_code([&] { service->create_api_token(p, "x", {"org:users:write"}, expires, kClient); },
                  ErrorCode::forbidden, "body.scopes"));
  EXPECT_TRUE(throws_code(
      [&] {
        service->create_api_token(p, "x", {"org:users:read", "*:*:*"}, expires, kClient);
      },
      ErrorCode::forbidden, "body.scopes"));
  // Expiry in the past or beyond the maximum.
  EXPECT_TRUE(throws_code(
      [&] { service->create_api_token(p, "x", {"org:users:read"}, clock.now_ms(), kClient); },
      ErrorCode::validation_failed, "body.expires_at"));
  EXPECT_TRUE(throws_code(
      [&] {
        service->create_api_token(p, "x", {"org:users:read"},
                                  clock.now_ms() + 366LL * 24 * 60 * kMinute, kClient);
      },
      ErrorCode::validation_failed, "body.expires_at"));

  auto listed = service->list_api_tokens(p);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, info.id);
  EXPECT_EQ(listed[0].name, "ci");
  EXPECT_FALSE(listed[0].revoked_at);

  // Someone else's token answers like a missing one, and stays valid.
  add_user("bob", "Bob Li", "E1002");
  const auto bob = session("bob");
  EXPECT_TRUE(throws_code([&] { service->revoke_api_token(bob, info.id, kClient); },
                          ErrorCode::not_found, "path.id"));
  EXPECT_TRUE(service->list_api_tokens(bob).empty());
  EXPECT_TRUE(service->authenticate(token));
  EXPECT_TRUE(throws_code([&] { service->revoke_api_token(p, info.id + 1000, kClient); },
                          ErrorCode::not_found));
  // A login session is not an API token.
  EXPECT_TRUE(throws_code([&] { service->revoke_api_token(p, p.session_id, kClient); },
                          ErrorCode::not_found));

  service->revoke_api_token(p, info.id, kClient);
  EXPECT_FALSE(service->authenticate(token));
  EXPECT_TRUE(
      throws_code([&] { service->revoke_api_token(p, info.id, kClient); }, ErrorCode::not_found));
  listed = service->list_api_tokens(p);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].revoked_at);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.api_token.create'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'auth.api_token.revoke'"), 1);
}

TEST_P(AuthServiceTest, ApiTokenExpires) {
  grant(alice, "reader", {"org:users:read"});
  const auto p = session();
  const int64_t expires = clock.now_ms() + 24 * 60 * kMinute;
  const auto created = service->create_api_token(p, "ci", {"org:users:read"}, expires, kClient);
  const std::string token = created.first;
  clock.set_ms(expires - 1);
  EXPECT_TRUE(service->authenticate(token));
  clock.set_ms(expires);
  EXPECT_FALSE(service->authenticate(token));
}

TEST_P(AuthServiceTest, ApiTokenOfASuspendedUserIsRefused) {
  grant(alice, "reader", {"org:users:read"});
  const auto p = session();
  const auto created = service->create_api_token(p, "ci", {"org:users:read"},
                                                 clock.now_ms() + 24 * 60 * kMinute, kClient);
  const std::string token = created.first;
  database->write(
      [&](db::Tx& tx) { tx.exec("UPDATE users SET status = 'suspended' WHERE id = ?", {alice}); });
  EXPECT_FALSE(service->authenticate(token));
}

// A token only narrows: a caller authenticated by an API token cannot mint a token with a scope
// its own token does not carry, even one the owner holds verbatim as a grant.
TEST_P(AuthServiceTest, ApiTokenCannotMintAWiderToken) {
  grant(alice, "reader", {"org:users:read", "org:departments:read"});
  const auto p = session();
  const int64_t expires = clock.now_ms() + 24 * 60 * kMinute;
  const auto created = service->create_api_token(p, "narrow", {"org:users:read"}, expires, kClient);
  const std::string token = created.first;
  const auto t = service->authenticate(token);
  ASSERT_TRUE(t);
  // A token mints no tokens at all, not even as narrow as itself: a leaked token cannot
  // extend its own life.
  EXPECT_TRUE(throws_code(
      [&] { service->create_api_token(*t, "same", {"org:users:read"}, expires, kClient); },
      ErrorCode::forbidden, ""));
  EXPECT_TRUE(throws_code(
      [&] { service->create_api_token(*t, "wider", {"org:departments:read"}, expires, kClient); },
      ErrorCode::forbidden, ""));
}

TEST_P(AuthServiceTest, PasswordRotationForcesAChangeWhenOn) {
  // Rotation off (the default): an old password stays usable.
  database->write([&](db::Tx& tx) {
    tx.exec("UPDATE users SET must_change_password = 0 WHERE id = ?", {alice});
  });
  clock.advance_ms(400LL * 86'400'000);
  EXPECT_FALSE(login("alice", kPassword).must_change_password);
  // Rotation after 90 days: a password older than that logs in only to be changed.
  SecurityPolicy policy = fast_policy();
  policy.password.rotation_days = 90;
  AuthService rotating(*database, clock, policy);
  const LoginResult r = rotating.login("alice", kPassword, std::nullopt, kClient);
  EXPECT_TRUE(r.must_change_password);
  auto p = rotating.authenticate(r.token);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->must_change_password);
  rotating.change_password(*p, kPassword, "Fresh-Rotation-77!", kClient);
  clock.advance_ms(1000);
  EXPECT_FALSE(rotating.authenticate(r.token)->must_change_password);
  EXPECT_FALSE(
      rotating.login("alice", "Fresh-Rotation-77!", std::nullopt, kClient).must_change_password);
  // 89 days later still fine; 91 days later due again.
  clock.advance_ms(89LL * 86'400'000);
  EXPECT_FALSE(
      rotating.login("alice", "Fresh-Rotation-77!", std::nullopt, kClient).must_change_password);
  clock.advance_ms(2LL * 86'400'000);
  EXPECT_TRUE(
      rotating.login("alice", "Fresh-Rotation-77!", std::nullopt, kClient).must_change_password);
}

INSTANTIATE_TEST_SUITE_P(Engines, AuthServiceTest, ::testing::ValuesIn(testing_db::engines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace custos::authn
