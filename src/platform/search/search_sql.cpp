#include "platform/search/search_sql.h"

#include "platform/search/tokens.h"

namespace custos::search {
namespace {

void add_fts(db::Tx& tx, const std::string& table, int64_t id, const std::string& tokens) {
  tx.exec("INSERT INTO " + table + "_fts (rowid, tokens) VALUES (?, ?)", {id, tokens});
}

}  // namespace

void put(db::Tx& tx, const std::string& table, int64_t id, const std::string& text) {
  const auto tokens = index_tokens(text);
  if (tx.engine() == db::Engine::sqlite) {
    tx.exec("DELETE FROM " + table + "_fts WHERE rowid = ?", {id});
    if (!tokens.empty()) add_fts(tx, table, id, joined(tokens));
    return;
  }
  tx.exec("UPDATE " + table + " SET search_tokens = CAST(? AS TEXT[]) WHERE id = ?",
          {pg_array(tokens), id});
}

void insert(db::Tx& tx, const std::string& table, int64_t id, const std::string& columns,
            const std::string& values, std::vector<db::Value> params, const std::string& text) {
  const auto tokens = index_tokens(text);
  const bool pg = tx.engine() == db::Engine::postgres;
  if (pg) params.emplace_back(pg_array(tokens));
  tx.query("INSERT INTO " + table + " (" + columns + (pg ? ", search_tokens" : "") + ") VALUES (" +
               values + (pg ? ", CAST(? AS TEXT[])" : "") + ")",
           params);
  if (!pg && !tokens.empty()) add_fts(tx, table, id, joined(tokens));
}

void remove(db::Tx& tx, const std::string& table, int64_t id) {
  if (tx.engine() == db::Engine::sqlite)
    tx.exec("DELETE FROM " + table + "_fts WHERE rowid = ?", {id});
  else
    tx.exec("UPDATE " + table + " SET search_tokens = '{}' WHERE id = ?", {id});
}

Match match(db::Engine engine, const std::string& table, const std::string& id_col,
            const std::string& tokens_col, const std::vector<std::string>& tokens) {
  if (engine == db::Engine::sqlite)
    return {table + "_fts sf CROSS JOIN ",
            "sf.rowid = " + id_col + " AND sf." + table + "_fts MATCH ?",
            {fts5_match(tokens)},
            "sf.rowid"};
  return {"", tokens_col + " @> CAST(? AS TEXT[])", {pg_array(tokens)}, id_col};
}

}  // namespace custos::search
