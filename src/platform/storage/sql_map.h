// Prepared statements cached per connection, keyed by their SQL text. Lookups take the text as
// a string_view, so a cache hit (every statement after the first) allocates nothing.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace custos::db {

// Hashes the length, the middle and the end of the text rather than all of it: a hot read's SQL
// runs to hundreds of characters, hashed on every execution, and statements that share a prefix
// differ in their length or their WHERE clause. Equal hashes are told apart by the full compare.
struct SqlHash {
  using is_transparent = void;
  size_t operator()(std::string_view sql) const noexcept {
    constexpr size_t kPart = 48;
    if (sql.size() <= 2 * kPart) return std::hash<std::string_view>{}(sql);
    const std::hash<std::string_view> h;
    const size_t middle = h(sql.substr(sql.size() / 2 - kPart / 2, kPart));
    const size_t end = h(sql.substr(sql.size() - kPart));
    return (middle * 31 + end) ^ sql.size();
  }
};

template <class V>
using SqlMap = std::unordered_map<std::string, V, SqlHash, std::equal_to<>>;

}  // namespace custos::db
