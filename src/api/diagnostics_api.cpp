// Operator probes, registered only when [diagnostics] enabled = true. They let an operator (and
// bench/run) measure the request path and prove on new hardware that an acknowledged write
// survives a crash: POST writes one row and answers only after the commit is durable.
#include <boost/json.hpp>
#include <charconv>
#include <chrono>

#include "api/api.h"
#include "api/json.h"
#include "platform/audit/audit.h"
#include "platform/text/time.h"

namespace custos::api {

using http::Exec;
using http::Method;
using http::Request;
using http::Response;

void register_diagnostics_routes(http::Router& router, Deps& deps) {
  router.add(
      Method::post, "/api/v1/diagnostics/echo",
      [](Request& req) { return json_response(200, parse_object(req)); },
      {.summary = "Decode a JSON object and encode it back (request-path probe)",
       .tag = "diagnostics",
       .request_schema = R"({"type":"object"})",
       .response_schema = R"({"type":"object"})"},
      Exec::inline_io);

  deps.schemas["DiagnosticWrite"] =
      R"({"type":"object","required":["id","payload","created_at"],"properties":{"id":{"type":"string"},"payload":{"type":"string"},"created_at":{"type":"string","format":"date-time"}}})";

  router.add(
      Method::post, "/api/v1/diagnostics/writes",
      [&deps](Request& req) {
        boost::json::object body = parse_object(req);
        std::string payload = required_string(body, "payload", 4000);
        const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        int64_t id = deps.db.write([&](db::Tx& tx) {
          auto row = tx.one(
              "INSERT INTO diagnostic_writes (org_id, payload, created_at) VALUES (1, ?, ?) "
              "RETURNING id",
              {payload, now});
          const int64_t id = db::as_int(row->at(0));
          // Like every write, with its audit record (the probe has no user: the actor is the
          // request's address).
          audit::record(tx, {1, std::nullopt, std::nullopt, req.remote_ip, req.request_id},
                        {.action = "diagnostic.write",
                         .object_type = "diagnostic_write",
                         .object_id = std::to_string(id)},
                        now);
          return id;
        });
        boost::json::object o;
        o["id"] = std::to_string(id);
        o["payload"] = payload;
        o["created_at"] = text::rfc3339(now);
        Response r = json_response(201, o);
        r.headers.set("Location", "/api/v1/diagnostics/writes/" + std::to_string(id));
        return r;
      },
      {.summary = "Write one row durably and acknowledge it (durability probe)",
       .tag = "diagnostics",
       .request_schema =
           R"({"type":"object","required":["payload"],"properties":{"payload":{"type":"string","maxLength":4000}}})",
       .response_schema = "#/components/schemas/DiagnosticWrite",
       .success_status = 201},
      Exec::blocking);

  router.add(
      Method::get, "/api/v1/diagnostics/writes/{id}",
      [&deps](Request& req) {
        std::string_view raw = req.param("id");
        int64_t id = 0;
        auto [p, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
        if (ec != std::errc() || p != raw.data() + raw.size() || id <= 0)
          throw Error(ErrorCode::not_found, "path.id");
        auto row = deps.db.read([&](db::Tx& tx) {
          return tx.one(
              "SELECT id, payload, created_at FROM diagnostic_writes WHERE org_id = 1 AND id = ?",
              {id});
        });
        if (!row) throw Error(ErrorCode::not_found, "path.id");
        boost::json::object o;
        o["id"] = std::to_string(db::as_int(row->at(0)));
        o["payload"] = db::as_text(row->at(1));
        o["created_at"] = text::rfc3339(db::as_int(row->at(2)));
        return json_response(200, o);
      },
      {.summary = "Read back a durability-probe row",
       .tag = "diagnostics",
       .response_schema = "#/components/schemas/DiagnosticWrite"},
      Exec::blocking);
}

}  // namespace custos::api
