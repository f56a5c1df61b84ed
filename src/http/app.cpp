#include "http/app.h"

#include <random>

#include "platform/log/log.h"
#include "platform/storage/db.h"

namespace custos::http {

std::string new_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 16; ++i) {
    out[i] = kHex[(a >> (i * 4)) & 15];
    out[16 + i] = kHex[(b >> (i * 4)) & 15];
  }
  return out;
}

bool valid_request_id(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

App::App(Router& router, Metrics& metrics, StaticFiles* static_files, bool tls)
    : router_(router), metrics_(metrics), static_files_(static_files), tls_(tls) {}

Exec App::prepare(Request& req) {
  std::string_view rid = req.headers.get("X-Request-Id");
  req.request_id = valid_request_id(rid) ? std::string(rid) : new_request_id();
  req.lang = lang_from_accept_language(req.headers.get("Accept-Language"));
  Router::Match m = router_.match(req.method, req.path);
  req.route = m.route;
  req.path_params = std::move(m.params);
  return m.route ? m.route->exec : Exec::inline_io;
}

bool App::accepts_upload(Method method, std::string_view path) const {
  const Router::Match m = router_.match(method, path);
  return m.route && m.route->doc.upload;
}

namespace {

bool is_json_content_type(std::string_view ct) {
  // application/json, optionally with parameters; also application/*+json.
  size_t semi = ct.find(';');
  std::string_view type = ct.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  if (iequals(type, "application/json")) return true;
  return type.size() > 5 && iequals(type.substr(type.size() - 5), "+json") &&
         iequals(type.substr(0, 12), "application/");
}

}  // namespace

Response App::dispatch(Request& req) {
  if (!req.route) {
    if (static_files_)
      if (auto r = static_files_->serve(req)) return std::move(*r);
    Router::Match m = router_.match(req.method, req.path);
    if (m.path_known) {
      Response r = Response::problem(ErrorCode::method_not_allowed, req);
      std::string allow;
      for (Method a : m.allowed) allow += (allow.empty() ? "" : ", ") + std::string(method_name(a));
      r.headers.set("Allow", allow);
      return r;
    }
    return Response::problem(ErrorCode::route_not_found, req);
  }
  const Route& route = *req.route;
  if (!route.doc.request_schema.empty() && !is_json_content_type(req.headers.get("Content-Type")))
    return Response::problem(ErrorCode::unsupported_media_type, req, "header.content-type",
                             "send application/json");
  return route.handler(req);
}

Response App::handle(Request& req) noexcept {
  Response res;
  try {
    try {
      res = dispatch(req);
    } catch (const Error& e) {
      res = Response::problem(e.code(), req, e.field(), e.detail(), e.members());
    } catch (const db::DbError& e) {
      using K = db::DbError::Kind;
      ErrorCode code = ErrorCode::internal_error;
      if (e.kind() == K::unique_violation) code = ErrorCode::conflict;
      if (e.kind() == K::busy || e.kind() == K::connection) code = ErrorCode::service_unavailable;
      if (code != ErrorCode::conflict)
        log::app().error("request {} failed in storage: {}", req.request_id, e.what());
      res = Response::problem(code, req);
    } catch (const std::exception& e) {
      log::app().error("request {} failed: {}", req.request_id, e.what());
      res = Response::problem(ErrorCode::internal_error, req);
    }
  } catch (...) {
    // Building the problem itself failed (out of memory): answer without allocating much.
    res = Response{};
    res.status = 500;
    res.content_type = "application/problem+json";
    res.body = R"({"code":"internal_error","status":500})";
  }
  finish(req, res);
  return res;
}

Response App::refuse(Request& req, ErrorCode code) noexcept {
  Response res;
  try {
    // The header may have been read in full (a body too large): honour its id and language.
    std::string_view rid = req.headers.get("X-Request-Id");
    if (req.request_id.empty())
      req.request_id = valid_request_id(rid) ? std::string(rid) : new_request_id();
    req.lang = lang_from_accept_language(req.headers.get("Accept-Language"));
    res = Response::problem(code, req);
  } catch (...) {
    res.status = error_info(code).status;
  }
  res.close = true;
  finish(req, res);
  return res;
}

void App::finish(Request& req, Response& res) noexcept {
  try {
    // Handlers never set these, so they are appended without a search.
    res.headers.add("X-Request-Id", req.request_id);
    res.headers.add("X-Content-Type-Options", "nosniff");
    res.headers.add("X-Frame-Options", "DENY");
    res.headers.add("Referrer-Policy", "no-referrer");
    if (tls_) res.headers.add("Strict-Transport-Security", "max-age=31536000");
    if (!res.headers.has("Cache-Control")) res.headers.add("Cache-Control", "no-store");

    const auto elapsed = std::chrono::steady_clock::now() - req.received;
    const double seconds = std::chrono::duration<double>(elapsed).count();
    metrics_.record(req.route ? req.route->index : Metrics::kUnmatched, res.status, seconds);
    if (log::access_enabled()) {
      std::string line;
      line.reserve(256);
      line += R"("request_id":")";
      log::json_escape(line, req.request_id);
      line += R"(","remote":")";
      log::json_escape(line, req.remote_ip);
      line += R"(","method":")";
      line += method_name(req.method);
      line += R"(","path":")";
      log::json_escape(line, req.path.size() > 512 ? req.path.substr(0, 512) : req.path);
      line += R"(","route":")";
      if (req.route) log::json_escape(line, req.route->pattern);
      line += R"(","status":)";
      line += std::to_string(res.status);
      line += R"(,"bytes":)";
      line += std::to_string(res.body_size());
      // Milliseconds with microsecond precision, without printf's floating-point path.
      const auto us = static_cast<int64_t>(seconds * 1e6);
      const std::string frac = std::to_string(1000 + us % 1000);
      line += R"(,"ms":)";
      line += std::to_string(us / 1000);
      line += '.';
      line += frac.substr(1);
      log::access(line);
    }
  } catch (...) {
    // Logging must never take a response down with it.
  }
}

}  // namespace custos::http
