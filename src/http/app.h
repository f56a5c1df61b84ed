// The request pipeline between the transport and the handlers: request id, language, routing,
// content-type checks, error mapping to problem+json, security headers, metrics and the access
// log. It knows nothing of sockets, so the server, the fuzz target and tests share it.
#pragma once

#include <cstdint>

#include "http/metrics.h"
#include "http/router.h"
#include "http/static_files.h"

namespace custos::http {

class App {
 public:
  App(Router& router, Metrics& metrics, StaticFiles* static_files, bool tls);

  // Fills request id, language and route; says where the handler must run.
  Exec prepare(Request& req);
  // Runs the request to a response. Never throws.
  Response handle(Request& req) noexcept;
  // A request the transport refused before it was complete (bad syntax, too large, timeout):
  // answered, counted and logged like any other.
  Response refuse(Request& req, ErrorCode code) noexcept;

  // True when the route for method and path takes an upload-sized body (RouteDoc::upload).
  bool accepts_upload(Method method, std::string_view path) const;

  Metrics& metrics() { return metrics_; }

 private:
  Response dispatch(Request& req);
  void finish(Request& req, Response& res) noexcept;

  Router& router_;
  Metrics& metrics_;
  StaticFiles* static_files_;
  bool tls_;
};

// A fresh 128-bit request id in hex.
std::string new_request_id();
// True when s is an acceptable client-supplied request id: 1–64 of [A-Za-z0-9._-].
bool valid_request_id(std::string_view s);

}  // namespace custos::http
