#include "api/caller.h"

#include <charconv>

namespace custos::api {

authn::Client client_of(const http::Request& req) {
  return {req.remote_ip, std::string(req.headers.get("User-Agent")), req.request_id};
}

namespace {

std::string token_of(const http::Request& req, bool& via_cookie) {
  via_cookie = false;
  std::string_view auth = req.headers.get("Authorization");
  if (auth.size() > 7 && http::iequals(auth.substr(0, 7), "Bearer "))
    return std::string(auth.substr(7));
  std::string_view cookies = req.headers.get("Cookie");
  const std::string_view name = kSessionCookie;
  size_t pos = 0;
  while (pos < cookies.size()) {
    while (pos < cookies.size() && (cookies[pos] == ' ' || cookies[pos] == ';')) ++pos;
    size_t end = cookies.find(';', pos);
    std::string_view pair = cookies.substr(pos, end == std::string_view::npos ? end : end - pos);
    if (pair.size() > name.size() && pair.substr(0, name.size()) == name &&
        pair[name.size()] == '=') {
      via_cookie = true;
      return std::string(pair.substr(name.size() + 1));
    }
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

bool is_safe(http::Method m) {
  return m == http::Method::get || m == http::Method::head;
}

}  // namespace

Caller authenticate(const http::Request& req, Deps& deps, Pending pending) {
  bool via_cookie = false;
  std::string token = token_of(req, via_cookie);
  if (token.empty()) throw Error(ErrorCode::unauthorized);
  auto principal = deps.auth.authenticate(token);
  if (!principal) throw Error(ErrorCode::unauthorized);
  if (via_cookie && !is_safe(req.method) &&
      !deps.auth.check_csrf(*principal, std::string(req.headers.get(kCsrfHeader))))
    throw Error(ErrorCode::csrf_failed, "header.x-csrf-token");
  if (pending == Pending::refuse) {
    if (principal->must_change_password) throw Error(ErrorCode::password_change_required);
    if (principal->mfa_enrollment_required) throw Error(ErrorCode::mfa_enrollment_required);
  }
  const authz::Principal& ref = *principal;
  return Caller{std::move(principal), ref, client_of(req),
                via_cookie ? authn::AuthService::csrf_token_for(token) : std::string()};
}

void require_recent_auth(const Caller& c, Deps& deps) {
  if (!deps.auth.recently_authenticated(c.principal)) throw Error(ErrorCode::reauth_required);
}

namespace {
std::optional<int64_t> parse_int(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}
}  // namespace

int limit_param(const http::Request& req, int fallback, int max) {
  auto l = req.query_param("limit");
  if (!l) return fallback;
  auto v = parse_int(*l);
  if (!v || *v < 1 || *v > max)
    throw Error(ErrorCode::validation_failed, "query.limit",
                "an integer from 1 to " + std::to_string(max));
  return static_cast<int>(*v);
}

std::optional<int64_t> query_id(const http::Request& req, const char* name) {
  auto v = req.query_param(name);
  if (!v || v->empty()) return std::nullopt;
  auto id = parse_int(*v);
  if (!id || *id <= 0)
    throw Error(ErrorCode::validation_failed, std::string("query.") + name, "an id");
  return *id;
}

std::string query_text(const http::Request& req, const char* name, size_t max) {
  auto v = req.query_param(name).value_or("");
  if (v.size() > max)
    throw Error(ErrorCode::validation_failed, std::string("query.") + name, "too long");
  return v;
}

PageParams page_params(const http::Request& req) {
  PageParams out;
  out.limit = limit_param(req, out.limit, 500);
  if (auto c = req.query_param("cursor"); c && !c->empty()) {
    auto v = parse_int(*c);
    if (!v || *v < 0)
      throw Error(ErrorCode::validation_failed, "query.cursor", "a cursor from next_cursor");
    out.after_id = *v;
  }
  return out;
}

int64_t path_id(const http::Request& req, std::string_view name) {
  auto v = parse_int(req.param(name));
  if (!v || *v <= 0) throw Error(ErrorCode::not_found, "path." + std::string(name));
  return *v;
}

std::string etag_of(int64_t version) {
  return "\"" + std::to_string(version) + "\"";
}

int64_t if_match_version(const http::Request& req) {
  std::string_view h = req.headers.get("If-Match");
  if (h.empty()) throw Error(ErrorCode::precondition_required, "header.if-match");
  if (h.size() >= 2 && h.front() == '"' && h.back() == '"') h = h.substr(1, h.size() - 2);
  auto v = parse_int(h);
  if (!v) throw Error(ErrorCode::precondition_failed, "header.if-match");
  return *v;
}

}  // namespace custos::api
