#include "platform/authn/auth_service.h"

#include <mutex>
#include <sstream>

#include "platform/audit/changes.h"
#include "platform/authz/grants.h"
#include "platform/errors/error.h"

namespace custos::authn {

namespace {

constexpr int64_t kTouchIntervalMs = 60'000;  // last_seen_at is written at most this often
constexpr int64_t kSessionCacheMs = 500;      // how long a resolved session is reused

std::string token_hash(const std::string& token) {
  return crypto::hex(crypto::sha256(token));
}

audit::Actor actor_of(int64_t org_id, std::optional<int64_t> user, std::optional<int64_t> session,
                      const Client& c) {
  audit::Actor a;
  a.org_id = org_id;
  a.user_id = user;
  a.session_id = session;
  a.ip = c.ip;
  a.request_id = c.request_id;
  return a;
}

audit::Actor actor_of(const authz::Principal& p, const Client& c) {
  return audit::actor_of(p, c);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

bool status_may_log_in(const std::string& status) {
  return status == "active" || status == "departing" || status == "transferring";
}

void log_login(db::Tx& tx, int64_t org_id, std::optional<int64_t> user_id,
               const std::string& username, const Client& c, std::string_view outcome,
               std::string_view reason, int64_t now) {
  tx.exec(
      "INSERT INTO login_events (org_id, user_id, username, ip, user_agent, outcome, reason, at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      {org_id, user_id ? db::Value{*user_id} : db::null(), username.substr(0, 128), c.ip,
       c.user_agent.substr(0, 512), std::string(outcome), std::string(reason), now});
}

}  // namespace

AuthService::AuthService(db::Db& db, const Clock& clock, SecurityPolicy policy)
    : db_(db), clock_(clock), policy_(std::move(policy)) {
  dummy_hash_ = crypto::hash_password(crypto::random_token(16), policy_.password_cost);
}

LoginResult AuthService::login(const std::string& username, const std::string& password,
                               const std::optional<std::string>& totp, const Client& client) {
  const int64_t now = clock_.now_ms();
  const int64_t org_id = 1;

  struct UserRow {
    int64_t id;
    std::string hash, status, totp_secret, admin_role;
    std::optional<int64_t> locked_until, totp_last_step;
    bool totp_enabled, must_change;
  };
  int64_t ip_failures = 0;
  std::optional<UserRow> user = db_.read([&](db::Tx& tx) -> std::optional<UserRow> {
    ip_failures = db::as_int(
        tx.query(
              "SELECT COUNT(*) FROM login_events WHERE ip = ? AND at > ? AND outcome = 'failure'",
              {client.ip, now - policy_.ip_window_ms})
            .rows.at(0)
            .at(0));
    auto r = tx.one(
        "SELECT id, COALESCE(password_hash, ''), status, COALESCE(totp_secret, ''), "
        "COALESCE(admin_role, ''), locked_until, totp_last_step, totp_enabled, "
        "must_change_password FROM users WHERE org_id = ? AND username = ?",
        {org_id, username});
    if (!r) return std::nullopt;
    return UserRow{db::as_int(r->at(0)),     db::as_text(r->at(1)),     db::as_text(r->at(2)),
                   db::as_text(r->at(3)),    db::as_text(r->at(4)),     db::as_opt_int(r->at(5)),
                   db::as_opt_int(r->at(6)), db::as_int(r->at(7)) != 0, db::as_int(r->at(8)) != 0};
  });

  // Records a refusal (login log + audit, and the failure counter when the password was
  // wrong) in its own transaction, then throws.
  auto refuse = [&](ErrorCode code, std::string_view reason, bool count_failure,
                    std::string field = {}) {
    db_.write([&](db::Tx& tx) {
      std::optional<int64_t> uid = user ? std::optional<int64_t>(user->id) : std::nullopt;
      bool locked_now = false;
      if (count_failure && user) {
        auto r = tx.one(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING "
            "failed_logins",
            {user->id});
        if (r && db::as_int(r->at(0)) >= policy_.lockout_threshold) {
          tx.exec("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?",
                  {now + policy_.lockout_ms, user->id});
          locked_now = true;
          code = ErrorCode::account_locked;  // what the client is told, and the record says
        }
      }
      log_login(tx, org_id, uid, username, client, "failure", reason, now);
      audit::record(tx, actor_of(org_id, uid, std::nullopt, client),
                    {.action = "auth.login",
                     .object_type = "user",
                     .object_id = uid ? std::to_string(*uid) : std::string(),
                     .outcome = audit::Outcome::failed,
                     .error_code = std::string(error_info(code).code),
                     .reason = std::string(reason)},
                    now);
      if (locked_now) {
        audit::record(
            tx, actor_of(org_id, uid, std::nullopt, client),
            {.action = "auth.lockout",
             .object_type = "user",
             .object_id = std::to_string(*uid),
             .changes = "{\"locked_until\":" + std::to_string(now + policy_.lockout_ms) + "}"},
            now);
      }
    });
    throw Error(code, std::move(field));
  };

  if (ip_failures >= policy_.ip_max_failures)
    refuse(ErrorCode::too_many_requests, "ip_throttled", false);
  if (!user) {
    crypto::verify_password(dummy_hash_, password);
    refuse(ErrorCode::invalid_credentials, "unknown_user", false);
  }
  if (user->locked_until && *user->locked_until > now)
    refuse(ErrorCode::account_locked, "locked", false);
  if (user->hash.empty() || !crypto::verify_password(user->hash, password))
    refuse(ErrorCode::invalid_credentials, "wrong_password", true);
  if (!status_may_log_in(user->status)) refuse(ErrorCode::account_disabled, user->status, false);

  std::optional<int64_t> totp_step;
  if (user->totp_enabled) {
    if (!totp || totp->empty()) refuse(ErrorCode::mfa_required, "totp_missing", false, "body.totp");
    auto key = crypto::base32_decode(user->totp_secret);
    totp_step = key ? crypto::totp_verify(*key, *totp, now / 1000) : std::nullopt;
    if (!totp_step || (user->totp_last_step && *totp_step <= *user->totp_last_step))
      refuse(ErrorCode::invalid_credentials, "wrong_totp", true, "body.totp");
  }

  const bool rehash = crypto::password_needs_rehash(user->hash, policy_.password_cost);
  const std::string new_hash = rehash ? crypto::hash_password(password, policy_.password_cost) : "";
  LoginResult result;
  result.token = crypto::random_token(32);
  result.csrf_token = csrf_token_for(result.token);
  result.expires_at = now + policy_.absolute_timeout_ms;
  result.user_id = user->id;
  result.must_change_password = user->must_change;
  if (!result.must_change_password) {
    auto changed = db_.read([&](db::Tx& tx) {
      return tx.one("SELECT COALESCE(password_changed_at, 0) FROM users WHERE id = ?", {user->id});
    });
    result.must_change_password = changed && password_expired(db::as_int(changed->at(0)), now);
  }
  result.mfa_enrollment_required = !user->admin_role.empty() && !user->totp_enabled;
  db_.write([&](db::Tx& tx) {
    tx.exec(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, totp_last_step = COALESCE(?, "
        "totp_last_step), password_hash = COALESCE(?, password_hash) WHERE id = ?",
        {totp_step ? db::Value{*totp_step} : db::null(), rehash ? db::Value{new_hash} : db::null(),
         user->id});
    auto s = tx.one(
        "INSERT INTO sessions (org_id, user_id, token_hash, kind, csrf_hash, ip, user_agent, "
        "created_at, last_seen_at, expires_at, reauth_at) VALUES (?, ?, ?, 'session', ?, ?, ?, "
        "?, ?, ?, ?) RETURNING id",
        {org_id, user->id, token_hash(result.token), token_hash(result.csrf_token), client.ip,
         client.user_agent.substr(0, 512), now, now, result.expires_at, now});
    const int64_t session_id = db::as_int(s->at(0));
    log_login(tx, org_id, user->id, username, client, "success", "", now);
    audit::record(
        tx, actor_of(org_id, user->id, session_id, client),
        {.action = "auth.login", .object_type = "session", .object_id = std::to_string(session_id)},
        now);
  });
  return result;
}

std::vector<authz::Grant> AuthService::load_grants(db::Tx& tx, int64_t org_id, int64_t user_id) {
  std::vector<authz::Grant> out;
  auto grants = tx.query(
      "SELECT rp.permission, r.scope, r.id FROM user_roles ur "
      "JOIN roles r ON r.id = ur.role_id "
      "JOIN role_permissions rp ON rp.org_id = ur.org_id AND rp.role_id = r.id "
      "WHERE ur.org_id = ? AND ur.user_id = ?",
      {org_id, user_id});
  for (const auto& row : grants.rows) {
    authz::Grant g;
    g.permission = db::as_text(row[0]);
    g.scope = authz::parse_scope(db::as_text(row[1])).value_or(authz::Scope::own);
    if (g.scope == authz::Scope::custom) {
      auto deps = tx.query(
          "SELECT d.id, d.path FROM role_departments rd JOIN departments d ON d.id = "
          "rd.department_id WHERE rd.org_id = ? AND rd.role_id = ?",
          {org_id, row[2]});
      for (const auto& d : deps.rows) {
        g.departments.push_back(db::as_int(d[0]));
        g.department_paths.push_back(db::as_text(d[1]));
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

AuthService::CachedGrants AuthService::grants_for(db::Tx& tx, int64_t org_id, int64_t user_id,
                                                  int64_t version) {
  {
    std::shared_lock lock(grants_mu_);
    auto it = grants_cache_.find(user_id);
    if (it != grants_cache_.end() && it->second.version == version) return it->second;
  }
  CachedGrants loaded{version, load_grants(tx, org_id, user_id),
                      authz::GrantService::load_for(tx, org_id, user_id)};
  std::unique_lock lock(grants_mu_);
  if (grants_cache_.size() > 50'000) grants_cache_.clear();  // bound memory; refills on demand
  grants_cache_[user_id] = loaded;
  return loaded;
}

std::shared_ptr<const authz::Principal> AuthService::authenticate(const std::string& token) {
  if (token.empty() || token.size() > 256) return nullptr;
  const int64_t now = clock_.now_ms();
  const std::string hash = token_hash(token);
  {
    std::shared_lock lock(sessions_mu_);
    auto it = session_cache_.find(hash);
    if (it != session_cache_.end() && now - it->second.loaded_at < kSessionCacheMs &&
        now < it->second.principal->expires_at &&
        (it->second.principal->kind != "session" ||
         now - it->second.last_seen <= policy_.idle_timeout_ms))
      return it->second.principal;
  }
  bool touch = false;
  int64_t last_seen = 0;
  auto loaded = load_session(hash, now, touch, last_seen);
  if (!loaded) {
    std::unique_lock lock(sessions_mu_);
    session_cache_.erase(hash);
    return nullptr;
  }
  auto principal = std::make_shared<const authz::Principal>(std::move(*loaded));
  if (touch) {
    db_.write([&](db::Tx& tx) {
      tx.exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?", {now, principal->session_id});
    });
    last_seen = now;
  }
  std::unique_lock lock(sessions_mu_);
  if (session_cache_.size() > 10'000) session_cache_.clear();
  session_cache_[hash] = {now, principal, last_seen};
  return principal;
}

void AuthService::invalidate_sessions() {
  std::unique_lock lock(sessions_mu_);
  session_cache_.clear();
}

std::optional<authz::Principal> AuthService::load_session(const std::string& hash, int64_t now,
                                                          bool& touch, int64_t& last_seen_out) {
  return db_.read([&](db::Tx& tx) -> std::optional<authz::Principal> {
    // One query for the session, its user and the user's department.
    auto s = tx.one(
        "SELECT s.id, s.org_id, s.user_id, s.kind, COALESCE(s.scopes, ''), s.last_seen_at, "
        "s.expires_at, s.reauth_at, s.revoked_at, u.status, COALESCE(s.csrf_hash, ''), "
        "u.username, u.name, COALESCE(u.admin_role, ''), u.department_id, COALESCE(d.path, ''), "
        "u.clearance, u.must_change_password, u.totp_enabled, u.authz_version, "
        "COALESCE(u.password_changed_at, 0) "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "LEFT JOIN departments d ON d.id = u.department_id WHERE s.token_hash = ?",
        {hash});
    if (!s) return std::nullopt;
    const std::string kind = db::as_text(s->at(3));
    const int64_t last_seen = db::as_int(s->at(5));
    if (!db::is_null(s->at(8))) return std::nullopt;       // revoked
    if (db::as_int(s->at(6)) <= now) return std::nullopt;  // absolute lifetime
    if (kind == "session" && now - last_seen > policy_.idle_timeout_ms) return std::nullopt;
    if (!status_may_log_in(db::as_text(s->at(9)))) return std::nullopt;  // suspended, departed
    authz::Principal p;
    p.org_id = db::as_int(s->at(1));
    p.user_id = db::as_int(s->at(2));
    p.session_id = db::as_int(s->at(0));
    p.kind = kind;
    p.reauth_at = db::as_int(s->at(7));
    p.expires_at = db::as_int(s->at(6));
    p.csrf_hash = db::as_text(s->at(10));
    p.username = db::as_text(s->at(11));
    p.name = db::as_text(s->at(12));
    p.admin_role = db::as_text(s->at(13));
    p.department_id = db::as_opt_int(s->at(14));
    p.department_path = db::as_text(s->at(15));
    p.clearance = static_cast<int>(db::as_int(s->at(16)));
    p.must_change_password =
        db::as_int(s->at(17)) != 0 || password_expired(db::as_int(s->at(20)), now);
    p.mfa_enrollment_required = !p.admin_role.empty() && db::as_int(s->at(18)) == 0;
    CachedGrants g = grants_for(tx, p.org_id, p.user_id, db::as_int(s->at(19)));
    p.grants = std::move(g.grants);
    // Explicit grants in force now; the session cache keeps this list at most kSessionCacheMs.
    for (auto& og : g.object_grants)
      if (og.expires_at > now) p.object_grants.push_back(std::move(og));
    if (kind == "api_token") {
      p.token_scopes = split(db::as_text(s->at(4)));
      // A token acts for a user who has already set a password and second factor.
      p.must_change_password = false;
      p.mfa_enrollment_required = false;
    }
    touch = now - last_seen >= kTouchIntervalMs;
    last_seen_out = last_seen;
    return p;
  });
}

bool AuthService::password_expired(int64_t changed_at, int64_t now) const {
  // Optional rotation (MLPS assessors may ask for ≤ 90 days): an old password works for one
  // more login, which then only lets the user change it.
  const int days = policy_.password.rotation_days;
  return days > 0 && now - changed_at > int64_t{days} * 86'400'000;
}

std::string AuthService::csrf_token_for(const std::string& session_token) {
  // Derived from the session token, so GET /auth/me can hand it to the console again after a
  // reload (the cookie is HttpOnly; a cross-site page can neither read it nor this answer).
  return crypto::hex(crypto::sha256("custos-csrf\x00" + session_token)).substr(0, 48);
}

bool AuthService::check_csrf(const authz::Principal& p, const std::string& csrf_token) {
  if (p.csrf_hash.empty() || csrf_token.empty()) return false;
  return crypto::constant_time_equal(p.csrf_hash, token_hash(csrf_token));
}

void AuthService::logout(const authz::Principal& p, const Client& client) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    tx.exec("UPDATE sessions SET revoked_at = ?, revoked_reason = 'logout' WHERE id = ?",
            {now, p.session_id});
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.logout",
                   .object_type = "session",
                   .object_id = std::to_string(p.session_id)},
                  now);
  });
  invalidate_sessions();
}

void AuthService::change_password(const authz::Principal& p, const std::string& old_password,
                                  const std::string& new_password, const Client& client) {
  const int64_t now = clock_.now_ms();
  auto row = db_.read([&](db::Tx& tx) {
    return tx.one(
        "SELECT COALESCE(password_hash, ''), username, name, COALESCE(employee_no, '') FROM users "
        "WHERE id = ?",
        {p.user_id});
  });
  if (!row) throw Error(ErrorCode::unauthorized);
  const std::string current = db::as_text(row->at(0));
  if (current.empty() || !crypto::verify_password(current, old_password))
    throw Error(ErrorCode::invalid_credentials, "body.old_password");
  if (auto why = check_password(policy_.password, new_password, db::as_text(row->at(1)),
                                db::as_text(row->at(2)), db::as_text(row->at(3))))
    throw Error(ErrorCode::weak_password, "body.new_password", *why);
  if (crypto::verify_password(current, new_password))
    throw Error(ErrorCode::weak_password, "body.new_password", "same_as_old");
  const std::string hash = crypto::hash_password(new_password, policy_.password_cost);
  db_.write([&](db::Tx& tx) {
    tx.exec(
        "UPDATE users SET password_hash = ?, must_change_password = 0, password_changed_at = ?, "
        "version = version + 1, updated_at = ? WHERE id = ?",
        {hash, now, now, p.user_id});
    // Every other session of the user ends: whoever knew the old password is out.
    tx.exec(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = 'password_changed' WHERE user_id = "
        "? AND id <> ? AND revoked_at IS NULL AND kind = 'session'",
        {now, p.user_id, p.session_id});
    tx.exec("UPDATE sessions SET reauth_at = ? WHERE id = ?", {now, p.session_id});
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.password.change",
                   .object_type = "user",
                   .object_id = std::to_string(p.user_id),
                   .changes = R"({"password":"changed"})"},
                  now);
  });
  invalidate_sessions();
}

void AuthService::reauthenticate(const authz::Principal& p, const std::string& password,
                                 const Client& client) {
  const int64_t now = clock_.now_ms();
  auto row = db_.read([&](db::Tx& tx) {
    return tx.one("SELECT COALESCE(password_hash, '') FROM users WHERE id = ?", {p.user_id});
  });
  const bool ok = row && crypto::verify_password(db::as_text(row->at(0)), password);
  db_.write([&](db::Tx& tx) {
    if (ok) tx.exec("UPDATE sessions SET reauth_at = ? WHERE id = ?", {now, p.session_id});
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.reauthenticate",
                   .object_type = "session",
                   .object_id = std::to_string(p.session_id),
                   .outcome = ok ? audit::Outcome::success : audit::Outcome::failed},
                  now);
  });
  invalidate_sessions();
  if (!ok) throw Error(ErrorCode::invalid_credentials, "body.password");
}

bool AuthService::recently_authenticated(const authz::Principal& p) const {
  return p.kind == "session" && clock_.now_ms() - p.reauth_at <= policy_.reauth_window_ms;
}

AuthService::TotpEnrollment AuthService::enroll_totp(const authz::Principal& p,
                                                     const Client& client) {
  const int64_t now = clock_.now_ms();
  TotpEnrollment e;
  e.secret = crypto::base32_encode(crypto::random_bytes(20));
  db_.write([&](db::Tx& tx) {
    auto r = tx.one("SELECT totp_enabled FROM users WHERE id = ?", {p.user_id});
    if (r && db::as_int(r->at(0)) != 0)
      throw Error(ErrorCode::conflict, "", "two-factor authentication is already set up");
    tx.exec("UPDATE users SET totp_secret = ? WHERE id = ?", {e.secret, p.user_id});
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.totp.enroll",
                   .object_type = "user",
                   .object_id = std::to_string(p.user_id)},
                  now);
  });
  e.otpauth_uri = "otpauth://totp/Custos:" + p.username + "?secret=" + e.secret +
                  "&issuer=Custos&algorithm=SHA1&digits=6&period=30";
  return e;
}

void AuthService::confirm_totp(const authz::Principal& p, const std::string& code,
                               const Client& client) {
  const int64_t now = clock_.now_ms();
  bool ok = false;
  db_.write([&](db::Tx& tx) {
    auto r = tx.one("SELECT COALESCE(totp_secret, ''), totp_enabled FROM users WHERE id = ?",
                    {p.user_id});
    if (!r || db::as_text(r->at(0)).empty()) throw Error(ErrorCode::conflict, "", "enrol first");
    if (db::as_int(r->at(1)) != 0) throw Error(ErrorCode::conflict, "", "already set up");
    auto key = crypto::base32_decode(db::as_text(r->at(0)));
    auto step = key ? crypto::totp_verify(*key, code, now / 1000) : std::nullopt;
    ok = step.has_value();
    if (ok)
      tx.exec("UPDATE users SET totp_enabled = 1, totp_last_step = ? WHERE id = ?",
              {*step, p.user_id});
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.totp.confirm",
                   .object_type = "user",
                   .object_id = std::to_string(p.user_id),
                   .outcome = ok ? audit::Outcome::success : audit::Outcome::failed},
                  now);
  });
  invalidate_sessions();
  if (!ok) throw Error(ErrorCode::validation_failed, "body.code", "wrong code");
}

std::pair<std::string, ApiTokenInfo> AuthService::create_api_token(
    const authz::Principal& p, const std::string& name, const std::vector<std::string>& scopes,
    int64_t expires_at, const Client& client) {
  const int64_t now = clock_.now_ms();
  if (expires_at <= now || expires_at > now + policy_.api_token_max_days * 86'400'000)
    throw Error(
        ErrorCode::validation_failed, "body.expires_at",
        "must be in the future and within " + std::to_string(policy_.api_token_max_days) + " days");
  // Tokens do not mint tokens: a leaked token must not be able to extend itself.
  if (p.kind != "session")
    throw Error(ErrorCode::forbidden, "", "only a session may create tokens");
  // A token can only narrow what its owner may do: each scope must be a permission the owner
  // holds, or one of the owner's own grant patterns verbatim (e.g. "org:*:read").
  for (const auto& scope : scopes) {
    bool held = authz::may(p, scope);
    for (const auto& g : p.grants) held = held || g.permission == scope;
    if (!held) throw Error(ErrorCode::forbidden, "body.scopes", "scope not held: " + scope);
  }
  std::string token = crypto::random_token(32);
  ApiTokenInfo info;
  info.name = name;
  info.scopes = scopes;
  info.created_at = now;
  info.expires_at = expires_at;
  db_.write([&](db::Tx& tx) {
    auto r = tx.one(
        "INSERT INTO sessions (org_id, user_id, token_hash, kind, name, scopes, created_at, "
        "last_seen_at, expires_at, reauth_at) VALUES (?, ?, ?, 'api_token', ?, ?, ?, ?, ?, 0) "
        "RETURNING id",
        {p.org_id, p.user_id, token_hash(token), name, join(scopes), now, now, expires_at});
    info.id = db::as_int(r->at(0));
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.api_token.create",
                   .object_type = "api_token",
                   .object_id = std::to_string(info.id),
                   .changes = "{\"scopes\":\"" + join(scopes) + "\"}"},
                  now);
  });
  return {token, info};
}

std::vector<ApiTokenInfo> AuthService::list_api_tokens(const authz::Principal& p) {
  return db_.read([&](db::Tx& tx) {
    std::vector<ApiTokenInfo> out;
    auto r = tx.query(
        "SELECT id, COALESCE(name, ''), COALESCE(scopes, ''), created_at, expires_at, revoked_at, "
        "last_seen_at FROM sessions WHERE org_id = ? AND user_id = ? AND kind = 'api_token' "
        "ORDER BY id",
        {p.org_id, p.user_id});
    for (const auto& row : r.rows)
      out.push_back({db::as_int(row[0]), db::as_text(row[1]), split(db::as_text(row[2])),
                     db::as_int(row[3]), db::as_int(row[4]), db::as_opt_int(row[5]),
                     db::as_opt_int(row[6])});
    return out;
  });
}

void AuthService::revoke_api_token(const authz::Principal& p, int64_t id, const Client& client) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    // Someone else's token answers exactly like a missing one.
    const int64_t n = tx.exec(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = 'revoked' WHERE id = ? AND org_id = "
        "? AND user_id = ? AND kind = 'api_token' AND revoked_at IS NULL",
        {now, id, p.org_id, p.user_id});
    if (n == 0) throw Error(ErrorCode::not_found, "path.id");
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.api_token.revoke",
                   .object_type = "api_token",
                   .object_id = std::to_string(id)},
                  now);
  });
  invalidate_sessions();
}

std::vector<SessionInfo> AuthService::list_sessions(const authz::Principal& p) {
  const int64_t now = clock_.now_ms();
  return db_.read([&](db::Tx& tx) {
    std::vector<SessionInfo> out;
    auto r = tx.query(
        "SELECT s.id, s.user_id, u.username, s.kind, COALESCE(s.ip, ''), "
        "COALESCE(s.user_agent, ''), s.created_at, s.last_seen_at, s.expires_at FROM sessions s "
        "JOIN users u ON u.id = s.user_id WHERE s.org_id = ? AND s.revoked_at IS NULL AND "
        "s.expires_at > ? AND (s.kind <> 'session' OR s.last_seen_at > ?) ORDER BY s.id",
        {p.org_id, now, now - policy_.idle_timeout_ms});
    for (const auto& row : r.rows)
      out.push_back({db::as_int(row[0]), db::as_int(row[1]), db::as_text(row[2]),
                     db::as_text(row[3]), db::as_text(row[4]), db::as_text(row[5]),
                     db::as_int(row[6]), db::as_int(row[7]), db::as_int(row[8])});
    return out;
  });
}

void AuthService::revoke_session(const authz::Principal& p, int64_t session_id,
                                 const Client& client) {
  const int64_t now = clock_.now_ms();
  db_.write([&](db::Tx& tx) {
    const int64_t n = tx.exec(
        "UPDATE sessions SET revoked_at = ?, revoked_reason = 'forced' WHERE id = ? AND org_id = "
        "? AND revoked_at IS NULL",
        {now, session_id, p.org_id});
    if (n == 0) throw Error(ErrorCode::not_found, "path.id");
    audit::record(tx, actor_of(p, client),
                  {.action = "auth.session.revoke",
                   .object_type = "session",
                   .object_id = std::to_string(session_id)},
                  now);
  });
  invalidate_sessions();
}

void AuthService::set_initial_password(db::Tx& tx, int64_t user_id, const std::string& password) {
  const int64_t now = clock_.now_ms();
  tx.exec(
      "UPDATE users SET password_hash = ?, must_change_password = 1, password_changed_at = ?, "
      "failed_logins = 0, locked_until = NULL WHERE id = ?",
      {crypto::hash_password(password, policy_.password_cost), now, user_id});
  // A reset ends every session of the user: whoever held one is out.
  tx.exec(
      "UPDATE sessions SET revoked_at = ?, revoked_reason = 'password_reset' WHERE user_id = ? "
      "AND revoked_at IS NULL",
      {now, user_id});
  invalidate_sessions();
}

}  // namespace custos::authn
