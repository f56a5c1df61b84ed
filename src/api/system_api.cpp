// Liveness, readiness and metrics: what a load balancer and Prometheus ask of every server.
#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/api.h"
#include "api/json.h"

namespace custos::api {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;

void register_system_routes(http::Router& router, Deps& deps) {
  router.add(
      Method::get, "/healthz", [](Request&) { return Response::json(200, R"({"status":"ok"})"); },
      {.summary = "Liveness: the process answers",
       .tag = "system",
       .response_schema = R"({"type":"object","properties":{"status":{"type":"string"}}})"},
      Exec::inline_io);

  router.add(
      Method::get, "/readyz",
      [&deps](Request& req) {
        try {
          deps.db.ping();
        } catch (const std::exception&) {
          return Response::problem(ErrorCode::service_unavailable, req, "", "database unreachable");
        }
        boost::json::object o;
        o["status"] = "ready";
        o["database"] = deps.db.engine() == db::Engine::sqlite ? "sqlite" : "postgresql";
        return json_response(200, o);
      },
      {.summary = "Readiness: the database is reachable",
       .tag = "system",
       .response_schema =
           R"({"type":"object","properties":{"status":{"type":"string"},"database":{"type":"string"}}})"},
      Exec::blocking);

  router.add(
      Method::get, "/metrics",
      [&deps](Request&) {
        db::PoolStats s = deps.db.stats();
        std::string extra = fmt::format(
            "# HELP custos_db_pool_connections Database connections open.\n"
            "# TYPE custos_db_pool_connections gauge\n"
            "custos_db_pool_connections {}\n"
            "# HELP custos_db_pool_in_use Database connections lent out.\n"
            "# TYPE custos_db_pool_in_use gauge\n"
            "custos_db_pool_in_use {}\n"
            "# HELP custos_db_pool_waits_total Acquisitions that waited for a connection.\n"
            "# TYPE custos_db_pool_waits_total counter\n"
            "custos_db_pool_waits_total {}\n",
            s.size, s.in_use, s.waits);
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = deps.metrics.render(extra);
        return r;
      },
      {.summary = "Prometheus metrics", .tag = "system", .success_content_type = "text/plain"},
      Exec::inline_io);
}

}  // namespace custos::api
