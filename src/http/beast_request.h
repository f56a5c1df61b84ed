// Internal to http/: turns a parsed Beast request into a transport-independent Request.
// Included only by server.cpp and parse.cpp (Beast stays inside http/).
#pragma once

#include <boost/beast/http.hpp>

#include "http/request.h"

namespace custos::http::detail {

// Method, target, path, query and headers; the body is moved separately by the caller.
template <class Fields>
void copy_head(const boost::beast::http::request_header<Fields>& msg, Request& req) {
  req.method = parse_method(msg.method_string());
  req.target = std::string(msg.target());
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  for (const auto& f : msg) req.headers.add(std::string(f.name_string()), std::string(f.value()));
}

}  // namespace custos::http::detail
