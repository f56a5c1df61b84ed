// Prometheus counters and histograms for the request path. Lock-free on the hot path: one
// relaxed atomic increment per counter; rendering walks the arrays.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace custos::http {

class Router;

class Metrics {
 public:
  // Room for kMaxRoutes routes plus one slot for unmatched requests; labels come from the
  // router when rendering, so routes may be added after construction.
  static constexpr size_t kMaxRoutes = 1024;
  explicit Metrics(const Router& router);
  ~Metrics();

  static constexpr size_t kUnmatched = static_cast<size_t>(-1);
  void record(size_t route_index, int status, double seconds);
  void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }
  int64_t open_connections() const { return connections_.load(std::memory_order_relaxed); }

  // Text exposition format 0.0.4. `extra` is appended verbatim (database pool gauges).
  std::string render(const std::string& extra) const;

 private:
  struct Series;
  const Router& router_;
  std::unique_ptr<Series[]> series_;
  size_t count_;  // kMaxRoutes + 1
  std::atomic<int64_t> connections_{0};
};

}  // namespace custos::http
