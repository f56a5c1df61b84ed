// The token index of a table, on each engine (the one place their full-text search differs):
// SQLite keeps the tokens in an FTS5 table `<table>_fts` whose rowid is the record's id;
// PostgreSQL in the record's own `search_tokens text[]` column under a GIN index.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "platform/storage/db.h"

namespace custos::search {

// Replaces the tokens of record `id` of `table` with those of `text`.
void put(db::Tx& tx, const std::string& table, int64_t id, const std::string& text);
void remove(db::Tx& tx, const std::string& table, int64_t id);

// Inserts record `id` of `table` with the tokens of `text`: `columns` and `values` are the
// INSERT's lists (`values` with a ? per entry of `params`). On PostgreSQL the tokens are one more
// column of the same INSERT; on SQLite a row of the FTS table once the record is in.
void insert(db::Tx& tx, const std::string& table, int64_t id, const std::string& columns,
            const std::string& values, std::vector<db::Value> params, const std::string& text);

// Rows holding every token of `tokens` (non-empty), as a query's driver: the matches come in id
// order, so a first page stops after its rows however many match. SQLite reads the FTS table
// first (`from` goes before the table in FROM, `id` is the FTS rowid); PostgreSQL filters the
// table itself under its GIN index. `id_col` names the table's id, `tokens_col` its token column
// (for PostgreSQL), both qualified as the query needs.
struct Match {
  std::string from;  // "" or "<table>_fts sf CROSS JOIN "
  std::string sql;   // the WHERE condition
  std::vector<db::Value> params;
  std::string id;  // the column to order and page by
};
Match match(db::Engine engine, const std::string& table, const std::string& id_col,
            const std::string& tokens_col, const std::vector<std::string>& tokens);

}  // namespace custos::search
