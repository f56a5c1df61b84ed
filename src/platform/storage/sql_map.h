// Prepared statements cached per connection, keyed by their SQL text. Lookups take the text as
// a string_view, so a cache hit (every statement after the first) allocates nothing.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace custos::db {

struct SqlHash {
  using is_transparent = void;
  size_t operator()(std::string_view sql) const noexcept {
    return std::hash<std::string_view>{}(sql);
  }
};

template <class V>
using SqlMap = std::unordered_map<std::string, V, SqlHash, std::equal_to<>>;

}  // namespace custos::db
