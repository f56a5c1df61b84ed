#include "http/request.h"

#include <cctype>

namespace custos::http {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::patch:
      return "PATCH";
    case Method::delete_:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::other:
      break;
  }
  return "OTHER";
}

Method parse_method(std::string_view s) {
  if (s == "GET") return Method::get;
  if (s == "POST") return Method::post;
  if (s == "PATCH") return Method::patch;
  if (s == "PUT") return Method::put;
  if (s == "DELETE") return Method::delete_;
  if (s == "HEAD") return Method::head;
  if (s == "OPTIONS") return Method::options;
  return Method::other;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view Headers::get(std::string_view name) const {
  for (const auto& [n, v] : items_)
    if (iequals(n, name)) return v;
  return {};
}

bool Headers::has(std::string_view name) const {
  for (const auto& [n, v] : items_)
    if (iequals(n, name)) return true;
  return false;
}

void Headers::set(std::string_view name, std::string value) {
  for (auto& [n, v] : items_)
    if (iequals(n, name)) {
      v = std::move(value);
      return;
    }
  items_.emplace_back(std::string(name), std::move(value));
}

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

namespace {
std::string decode_component(std::string_view s) {
  return percent_decode(s, true);
}
}  // namespace

std::string_view Request::param(std::string_view name) const {
  for (const auto& [n, v] : path_params)
    if (n == name) return v;
  return {};
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (decode_component(key) == name)
      return eq == std::string_view::npos ? std::string() : decode_component(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Response Response::problem(ErrorCode code, const Request& req, std::string_view field,
                           std::string_view detail, std::string_view members) {
  Response r;
  r.status = error_info(code).status;
  r.content_type = "application/problem+json";
  r.body = problem_json(code, req.lang, field, detail, req.request_id, members);
  return r;
}

}  // namespace custos::http
