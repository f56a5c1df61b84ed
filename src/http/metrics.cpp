#include "http/metrics.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>

#include "http/router.h"

namespace custos::http {
namespace {

constexpr std::array<int, 26> kStatuses = {200, 201, 202, 204, 206, 301, 302, 304, 400,
                                           401, 403, 404, 405, 408, 409, 412, 413, 415,
                                           422, 423, 428, 429, 431, 500, 503, 0};
constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};

size_t status_slot(int status) {
  for (size_t i = 0; i + 1 < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return i;
  return kStatuses.size() - 1;  // "other"
}

}  // namespace

struct Metrics::Series {
  std::array<std::atomic<uint64_t>, kStatuses.size()> by_status{};
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
  std::atomic<uint64_t> sum_us{0};
};

Metrics::Metrics(const Router& router)
    : router_(router), series_(new Series[kMaxRoutes + 1]), count_(kMaxRoutes + 1) {}

Metrics::~Metrics() = default;

void Metrics::record(size_t route_index, int status, double seconds) {
  Series& s = series_[route_index < kMaxRoutes ? route_index : kMaxRoutes];
  s.by_status[status_slot(status)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  s.buckets[b].fetch_add(1, std::memory_order_relaxed);
  s.sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string Metrics::render(const std::string& extra) const {
  fmt::memory_buffer out;
  const size_t routes = std::min(router_.routes().size(), kMaxRoutes);
  auto label = [&](size_t i) -> std::string {
    if (i >= routes) return "unmatched";
    const Route& r = *router_.routes()[i];
    return std::string(method_name(r.method)) + " " + r.pattern;
  };
  fmt::format_to(std::back_inserter(out),
                 "# HELP custos_http_requests_total HTTP requests by route and status.\n"
                 "# TYPE custos_http_requests_total counter\n");
  auto rows = [&](auto&& fn) {
    for (size_t i = 0; i < routes; ++i) fn(i);
    fn(kMaxRoutes);
  };
  rows([&](size_t i) {
    const Series& s = series_[i];
    for (size_t k = 0; k < kStatuses.size(); ++k) {
      uint64_t v = s.by_status[k].load(std::memory_order_relaxed);
      if (!v) continue;
      fmt::format_to(std::back_inserter(out),
                     "custos_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", label(i),
                     kStatuses[k] ? std::to_string(kStatuses[k]) : std::string("other"), v);
    }
  });
  fmt::format_to(std::back_inserter(out),
                 "# HELP custos_http_request_duration_seconds Time from request read to "
                 "response ready.\n"
                 "# TYPE custos_http_request_duration_seconds histogram\n");
  rows([&](size_t i) {
    const Series& s = series_[i];
    uint64_t total = 0;
    for (const auto& b : s.buckets) total += b.load(std::memory_order_relaxed);
    if (!total) return;
    const std::string l = label(i);
    uint64_t cumulative = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += s.buckets[b].load(std::memory_order_relaxed);
      fmt::format_to(std::back_inserter(out),
                     "custos_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                     l, kBuckets[b], cumulative);
    }
    fmt::format_to(std::back_inserter(out),
                   "custos_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n"
                   "custos_http_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n"
                   "custos_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                   l, total, l, s.sum_us.load(std::memory_order_relaxed) / 1e6, l, total);
  });
  fmt::format_to(std::back_inserter(out),
                 "# HELP custos_http_open_connections Open client connections.\n"
                 "# TYPE custos_http_open_connections gauge\n"
                 "custos_http_open_connections {}\n",
                 open_connections());
  out.append(extra);
  return fmt::to_string(out);
}

}  // namespace custos::http
