#include "platform/search/search_sql.h"

#include "platform/search/tokens.h"

namespace custos::search {

void put(db::Tx& tx, const std::string& table, int64_t id, const std::string& text) {
  const auto tokens = index_tokens(text);
  if (tx.engine() == db::Engine::sqlite) {
    tx.exec("DELETE FROM " + table + "_fts WHERE rowid = ?", {id});
    if (!tokens.empty())
      tx.exec("INSERT INTO " + table + "_fts (rowid, tokens) VALUES (?, ?)", {id, joined(tokens)});
    return;
  }
  tx.exec("UPDATE " + table + " SET search_tokens = CAST(? AS TEXT[]) WHERE id = ?",
          {pg_array(tokens), id});
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
