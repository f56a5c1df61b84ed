// Google Benchmark: the pieces of the request path that run for every request.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "api/json.h"
#include "http/router.h"
#include "platform/text/utf8.h"

namespace {

using namespace custos;

void BM_RouterMatch(benchmark::State& state) {
  http::Router router;
  const char* resources[] = {"users",   "departments", "customers",  "service-requests", "assets",
                             "vendors", "documents",   "violations", "ip-subnets",       "roles"};
  for (const char* r : resources) {
    std::string base = std::string("/api/v1/") + r;
    auto h = [](http::Request&) { return http::Response{}; };
    router.add(http::Method::get, base, h, {});
    router.add(http::Method::post, base, h, {});
    router.add(http::Method::get, base + "/{id}", h, {});
    router.add(http::Method::patch, base + "/{id}", h, {});
  }
  for (auto _ : state) {
    auto m = router.match(http::Method::get, "/api/v1/service-requests/123456");
    benchmark::DoNotOptimize(m.route);
  }
}
BENCHMARK(BM_RouterMatch);

std::string sample_json() {
  boost::json::object o;
  o["customer"] = "张三";
  o["note"] = "楼上卫生间漏水，请尽快派人维修。";
  for (int i = 0; i < 30; ++i) o["field_" + std::to_string(i)] = "value value value";
  return boost::json::serialize(o);
}

void BM_ParseObject1KiB(benchmark::State& state) {
  http::Request req;
  req.body = sample_json();
  for (auto _ : state) {
    auto o = api::parse_object(req);
    benchmark::DoNotOptimize(o);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * req.body.size()));
}
BENCHMARK(BM_ParseObject1KiB);

void BM_Utf8Validate(benchmark::State& state) {
  std::string s;
  while (s.size() < 64 * 1024) s += "楼上卫生间漏水 water leak upstairs ";
  for (auto _ : state) benchmark::DoNotOptimize(text::valid_utf8(s));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_Utf8Validate);

}  // namespace

BENCHMARK_MAIN();
