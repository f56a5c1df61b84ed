// Parses one complete HTTP/1.1 request from a byte buffer with the same parser and limits as
// the server. Used by the fuzz target and by tests that feed raw bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "http/request.h"

namespace custos::http {

struct ParseLimits {
  uint64_t max_body_bytes = 1 << 20;
  uint32_t header_limit_bytes = 16 * 1024;
};

struct ParseResult {
  std::optional<Request> request;  // set when a complete request was read
  std::optional<ErrorCode> error;  // set when the bytes were refused
};

ParseResult parse_request(std::string_view bytes, const ParseLimits& limits);

}  // namespace custos::http
