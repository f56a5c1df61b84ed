// Transport-independent request and response. The Beast server converts to and from these, so
// routing, handlers, the fuzz target and unit tests never include Beast or Asio.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/errors/error.h"

namespace custos::http {

enum class Method { get, head, post, put, patch, delete_, options, other };

std::string_view method_name(Method m);
Method parse_method(std::string_view s);

bool iequals(std::string_view a, std::string_view b);
// Decodes %XX escapes (and '+' as space in query strings); malformed escapes stay as they are.
std::string percent_decode(std::string_view s, bool plus_is_space);

class Headers {
 public:
  // The first value of a header, case-insensitive; empty when absent.
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const;
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  void set(std::string_view name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Route;

struct Request {
  Method method = Method::get;
  std::string target;  // as received: path and query
  std::string path;    // raw path, not decoded (the router decodes each segment)
  std::string query;   // raw query string without '?'
  Headers headers;
  std::string body;
  std::string remote_ip;
  std::string request_id;
  Lang lang = Lang::zh_CN;
  std::chrono::steady_clock::time_point received{};
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> path_params;

  // A path parameter by name ("id" for /things/{id}); empty when absent.
  std::string_view param(std::string_view name) const;
  // A query parameter, percent-decoded; nullopt when absent.
  std::optional<std::string> query_param(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string content_type = "application/json";
  std::string body;
  // A body too big to hold in memory (exports): the server sends this file's content instead of
  // `body`, and removes the file as soon as it has opened it. Its size is `body_file_size`.
  std::string body_file;
  uint64_t body_file_size = 0;
  bool close = false;  // close the connection after writing
  // An answer that may go out only once something else is durable (the audit record of a read,
  // SI-7): the server calls this with a function to call then, and meanwhile serves others on
  // the worker. ok = false sends a 500 problem instead of this answer. Empty for the rest.
  std::function<void(std::function<void(bool ok)>)> hold;

  // The response's body comes from a (temporary) file, removed once sent.
  void send_file(std::string path, uint64_t size) {
    body.clear();
    body_file = std::move(path);
    body_file_size = size;
  }
  uint64_t body_size() const { return body_file.empty() ? body.size() : body_file_size; }

  static Response json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static Response problem(ErrorCode code, const Request& req, std::string_view field = {},
                          std::string_view detail = {}, std::string_view members = {});
};

}  // namespace custos::http
