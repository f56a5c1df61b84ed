// Time as a dependency: services take a Clock so tests can move time (lockout expiry, session
// timeouts, deadlines) without sleeping.
#pragma once

#include <atomic>
#include <cstdint>

#include "platform/text/time.h"

namespace custos {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t now_ms() const = 0;  // Unix epoch milliseconds, UTC
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override { return text::now_ms(); }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace custos
