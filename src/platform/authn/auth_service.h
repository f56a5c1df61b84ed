// Authentication (MLPS 身份鉴别; ASVS V2/V3): password login with Argon2id, lockout after
// consecutive failures, a per-IP throttle, TOTP second factor (required for the three
// administrator roles), server-side sessions with idle and absolute expiry, personal API
// tokens, re-authentication for sensitive actions, and the login log. Tokens are 256 random
// bits, stored only as SHA-256 hashes.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "platform/authn/client.h"
#include "platform/authn/password_policy.h"
#include "platform/authz/authz.h"
#include "platform/clock.h"
#include "platform/crypto/crypto.h"
#include "platform/storage/db.h"

namespace custos::authn {

struct SecurityPolicy {
  PasswordPolicy password;
  int lockout_threshold = 5;         // consecutive failures
  int64_t lockout_ms = 30 * 60'000;  // locked for
  int ip_max_failures = 50;          // failures per IP per window before 429
  int64_t ip_window_ms = 15 * 60'000;
  int64_t idle_timeout_ms = 30 * 60'000;
  int64_t absolute_timeout_ms = 12 * 3'600'000;
  int64_t reauth_window_ms = 5 * 60'000;
  int64_t api_token_max_days = 365;
  crypto::PasswordCost password_cost;
};

struct LoginResult {
  std::string token;
  std::string csrf_token;
  int64_t expires_at = 0;
  int64_t user_id = 0;
  bool must_change_password = false;
  bool mfa_enrollment_required = false;
};

struct ApiTokenInfo {
  int64_t id = 0;
  std::string name;
  std::vector<std::string> scopes;
  int64_t created_at = 0;
  int64_t expires_at = 0;
  std::optional<int64_t> revoked_at;
  std::optional<int64_t> last_used_at;
};

struct SessionInfo {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string username;
  std::string kind;
  std::string ip;
  std::string user_agent;
  int64_t created_at = 0;
  int64_t last_seen_at = 0;
  int64_t expires_at = 0;
};

class AuthService {
 public:
  AuthService(db::Db& db, const Clock& clock, SecurityPolicy policy);

  const SecurityPolicy& policy() const { return policy_; }

  // Throws Error: invalid_credentials (401), account_locked (423), mfa_required (401),
  // account_disabled (403), too_many_requests (429). Every attempt is logged and audited.
  LoginResult login(const std::string& username, const std::string& password,
                    const std::optional<std::string>& totp, const Client& client);

  // The principal behind a session or API token; nullopt when unknown, expired or revoked.
  // Extends the idle deadline (written at most once a minute).
  std::shared_ptr<const authz::Principal> authenticate(const std::string& token);
  // Cookie-authenticated writes must present the CSRF token issued with the session.
  bool check_csrf(const authz::Principal& p, const std::string& csrf_token);
  // The CSRF token of a session (what login returned).
  static std::string csrf_token_for(const std::string& session_token);

  void logout(const authz::Principal& p, const Client& client);
  void change_password(const authz::Principal& p, const std::string& old_password,
                       const std::string& new_password, const Client& client);
  // Confirms the password again; opens the re-authentication window for sensitive actions.
  void reauthenticate(const authz::Principal& p, const std::string& password, const Client& client);
  bool recently_authenticated(const authz::Principal& p) const;
  // True when password rotation is on and the password is older than it allows.
  bool password_expired(int64_t changed_at, int64_t now) const;

  struct TotpEnrollment {
    std::string secret;  // base32
    std::string otpauth_uri;
  };
  TotpEnrollment enroll_totp(const authz::Principal& p, const Client& client);
  void confirm_totp(const authz::Principal& p, const std::string& code, const Client& client);

  // API tokens: shown once at creation.
  std::pair<std::string, ApiTokenInfo> create_api_token(const authz::Principal& p,
                                                        const std::string& name,
                                                        const std::vector<std::string>& scopes,
                                                        int64_t expires_at, const Client& client);
  std::vector<ApiTokenInfo> list_api_tokens(const authz::Principal& p);
  void revoke_api_token(const authz::Principal& p, int64_t id, const Client& client);

  // Online sessions of the organisation, and forced logout (security administrator).
  std::vector<SessionInfo> list_sessions(const authz::Principal& p);
  void revoke_session(const authz::Principal& p, int64_t session_id, const Client& client);

  // Sets a password without the old one (administrators, `admin init`): must change at login.
  void set_initial_password(db::Tx& tx, int64_t user_id, const std::string& password);

  // Forgets every cached session: called after any change that can narrow what a session may
  // do (logout, revocation, password change, roles, clearance, department, status).
  void invalidate_sessions();

  // The grants a user's roles give, inside tx.
  static std::vector<authz::Grant> load_grants(db::Tx& tx, int64_t org_id, int64_t user_id);

 private:
  // Grants by user, valid while users.authz_version is unchanged: a hit costs no query, and a
  // change anywhere (another server included) bumps the version the session query returns.
  // Explicit grants are cached with their expiry and filtered when a session is loaded.
  struct CachedGrants {
    int64_t version = 0;
    std::vector<authz::Grant> grants;
    std::vector<authz::ObjectGrant> object_grants;
  };
  CachedGrants grants_for(db::Tx& tx, int64_t org_id, int64_t user_id, int64_t version);
  std::shared_mutex grants_mu_;
  std::unordered_map<int64_t, CachedGrants> grants_cache_;

  // Sessions resolved in the last kSessionCacheMs, by token hash. A change made on this server
  // clears it at once (invalidate_sessions); one made on another server is seen within that
  // window. See docs/architecture.md.
  struct CachedSession {
    int64_t loaded_at = 0;
    std::shared_ptr<const authz::Principal> principal;
    int64_t last_seen = 0;
  };
  std::optional<authz::Principal> load_session(const std::string& hash, int64_t now, bool& touch,
                                               int64_t& last_seen);
  std::shared_mutex sessions_mu_;
  std::unordered_map<std::string, CachedSession> session_cache_;

  db::Db& db_;
  const Clock& clock_;
  SecurityPolicy policy_;
  std::string dummy_hash_;  // verified against for unknown users, so timing reveals nothing
};

}  // namespace custos::authn
