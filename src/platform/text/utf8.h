#pragma once

#include <string_view>

namespace custos::text {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s);

// Number of code points; s must be valid UTF-8.
size_t utf8_length(std::string_view s);

}  // namespace custos::text
