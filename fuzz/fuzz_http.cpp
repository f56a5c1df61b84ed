// libFuzzer target: arbitrary bytes through the server's HTTP parser, the request pipeline
// (routing, content-type checks, handlers, error mapping) and the JSON decoder. Any crash,
// sanitizer report or out-of-range status is a bug.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "api/api.h"
#include "api/json.h"
#include "api/services.h"
#include "http/app.h"
#include "http/parse.h"
#include "platform/clock.h"
#include "platform/storage/migrations.h"

namespace {

using namespace custos;

struct World {
  Config config;
  std::unique_ptr<db::Db> database;
  SystemClock clock;
  std::unique_ptr<api::Services> services;
  http::Router router;
  std::unique_ptr<http::Metrics> metrics;
  std::unique_ptr<api::Deps> deps;
  std::unique_ptr<http::App> app;

  World() {
    config.diagnostics.enabled = true;
    db::Options o;
    o.url = "sqlite::memory:";
    database = db::open(o);
    db::migrate(*database);
    authn::SecurityPolicy policy;
    policy.password_cost = {1, 8u << 20};  // keep fuzz iterations fast
    services = std::make_unique<api::Services>(*database, clock, config, policy);
    metrics = std::make_unique<http::Metrics>(router);
    deps = std::make_unique<api::Deps>(services->deps(*metrics));
    api::register_routes(router, *deps);
    app = std::make_unique<http::App>(router, *metrics, nullptr, false);
  }
};

World& world() {
  static World* w = new World();
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  World& w = world();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);

  http::ParseResult parsed = http::parse_request(bytes, http::ParseLimits{});
  if (parsed.request) {
    http::Request& req = *parsed.request;
    req.received = std::chrono::steady_clock::now();
    w.app->prepare(req);
    http::Response res = w.app->handle(req);
    if (res.status < 100 || res.status > 599) std::abort();
  }

  // The body decoder on its own, with the raw bytes as a body.
  http::Request body_only;
  body_only.body = std::string(bytes);
  try {
    api::parse_object(body_only);
  } catch (const Error&) {
  }
  return 0;
}
