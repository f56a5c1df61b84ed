// Routes requests by method and path. Patterns are literal segments and `{name}` parameters:
// "/api/v1/users/{id}". Every route carries its OpenAPI description, so the published document
// is assembled from the same table that routes requests.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.h"

namespace custos::http {

using Handler = std::function<Response(Request&)>;

// Where a handler runs. `inline_io` handlers never block (no database, no disk beyond a cache)
// and run on the I/O thread; `blocking` handlers run on the worker pool so a slow query stalls
// no other connection.
enum class Exec { inline_io, blocking };

// The OpenAPI description of one operation. Schemas are JSON text (JSON Schema 2020-12, as
// OpenAPI 3.1 uses), or a "#/components/schemas/Name" reference.
struct RouteDoc {
  std::string summary;
  std::string tag;
  std::string request_schema;   // empty: no body
  std::string response_schema;  // empty: no documented body
  int success_status = 200;
  std::string success_content_type = "application/json";
  std::vector<std::string> query_params;  // names of documented query parameters
  // Non-JSON request bodies (uploads): documented as binary; the handler checks the type.
  std::vector<std::string> request_content_types;
  bool public_route = true;  // false: needs authentication
  // The body may be as large as server.max_upload_bytes (imports, attachments) rather than
  // server.max_body_bytes.
  bool upload = false;
};

struct Route {
  Method method;
  std::string pattern;
  Handler handler;
  RouteDoc doc;
  Exec exec;
  size_t index;  // position in registration order, for metrics
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Throws std::logic_error for a duplicate or malformed pattern.
  const Route& add(Method method, std::string pattern, Handler handler, RouteDoc doc,
                   Exec exec = Exec::blocking);

  struct Match {
    const Route* route = nullptr;  // set when method and path match
    bool path_known = false;       // the path exists for some method (405 otherwise 404)
    std::vector<Method> allowed;
    std::vector<std::pair<std::string, std::string>> params;
  };
  Match match(Method method, std::string_view path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Node;
  std::unique_ptr<Node> root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

}  // namespace custos::http
