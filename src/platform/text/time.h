#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace custos::text {

// Milliseconds since the Unix epoch, now.
int64_t now_ms();
// RFC 3339 in UTC with milliseconds: 2026-11-28T02:00:00.000Z
std::string rfc3339(int64_t epoch_ms);
// Parses RFC 3339 (Z or ±hh:mm offset, optional fraction) to epoch milliseconds.
std::optional<int64_t> parse_rfc3339(std::string_view s);

}  // namespace custos::text
