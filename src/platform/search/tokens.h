// Full-text search that works for Chinese (issue #6 item 5): a two-character query such as 漏水
// must find "楼上卫生间漏水". Texts are cut into tokens here, once, the same way on both
// engines: runs of Latin letters and digits become lower-case words; runs of CJK characters
// (Chinese, kana, Hangul) become every single character and every pair of neighbours (bigrams).
// A query's tokens are its words, the bigrams of its CJK runs (a one-character run: that
// character); a text matches when it holds every query token. SQLite keeps the tokens in an FTS5
// table, PostgreSQL in a text[] column under a GIN index (search_sql.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace custos::search {

// Tokens of a stored text, each once (at most `max` of them).
std::vector<std::string> index_tokens(std::string_view text, size_t max = 4000);
// What a match must contain; empty when the query has nothing searchable.
std::vector<std::string> query_tokens(std::string_view query, size_t max = 32);

// "a b c": an FTS5 column's text.
std::string joined(const std::vector<std::string>& tokens);
// "\"a\" AND \"b\"": an FTS5 MATCH expression.
std::string fts5_match(const std::vector<std::string>& tokens);
// {"a","b"}: a PostgreSQL text[] literal.
std::string pg_array(const std::vector<std::string>& tokens);

}  // namespace custos::search
