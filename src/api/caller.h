// Who is calling: the session or API token behind a request, resolved once per request by the
// one AuthService, with the CSRF rule for cookie-authenticated writes and the gates that hold
// an account until its initial password is changed and (for administrators) TOTP is set up.
#pragma once

#include "api/api.h"
#include "platform/authn/auth_service.h"
#include "platform/authz/authz.h"

namespace custos::api {

struct Caller {
  std::shared_ptr<const authz::Principal> holder;  // shared with the session cache
  const authz::Principal& principal;
  authn::Client client;
  std::string csrf_token;  // cookie sessions: the token writes must send (for GET /auth/me)
};

inline constexpr const char* kSessionCookie = "custos_session";
inline constexpr const char* kCsrfHeader = "X-CSRF-Token";

authn::Client client_of(const http::Request& req);

enum class Pending { refuse, allow };
// Throws Error(unauthorized | csrf_failed | password_change_required | mfa_enrollment_required).
Caller authenticate(const http::Request& req, Deps& deps, Pending pending = Pending::refuse);

// Sensitive actions (export, unmask, permission change) need a password entered within the
// last few minutes: throws reauth_required otherwise.
void require_recent_auth(const Caller& c, Deps& deps);

// limit/cursor of a list request; throws validation_failed naming the parameter.
struct PageParams {
  int limit = 50;
  std::optional<int64_t> after_id;
};
PageParams page_params(const http::Request& req);
// ?limit= from 1 to max (fallback when absent); validation_failed on query.limit otherwise.
int limit_param(const http::Request& req, int fallback, int max);
// ?name=<id>: nullopt when absent or empty, validation_failed on query.<name> when not an id.
std::optional<int64_t> query_id(const http::Request& req, const char* name);
// ?name= as text ("" when absent); validation_failed on query.<name> when longer than max bytes.
std::string query_text(const http::Request& req, const char* name, size_t max);
// A numeric path id; anything else is not_found.
int64_t path_id(const http::Request& req, std::string_view name = "id");
// If-Match: "<version>"; missing → precondition_required, malformed → precondition_failed.
int64_t if_match_version(const http::Request& req);
std::string etag_of(int64_t version);

}  // namespace custos::api
