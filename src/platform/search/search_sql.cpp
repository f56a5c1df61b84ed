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

NewEntry new_entry(db::Engine engine, const std::string& text) {
  NewEntry e;
  const auto tokens = index_tokens(text);
  if (engine == db::Engine::sqlite) {
    if (!tokens.empty()) e.fts_tokens = joined(tokens);
    return e;
  }
  e.column = ", search_tokens";
  e.value = ", CAST(? AS TEXT[])";
  e.params.emplace_back(pg_array(tokens));
  return e;
}

void NewEntry::added(db::Tx& tx, const std::string& table, int64_t id) const {
  if (!fts_tokens.empty()) add_fts(tx, table, id, fts_tokens);
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
